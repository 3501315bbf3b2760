#include "exporter/walker/walker.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "exporter/common/log.h"

namespace tle {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The least wait after a rate-limit answer before the next request.
constexpr std::chrono::milliseconds kMinRateLimitBackoff{1000};

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A duration in seconds to the millisecond, for log lines.
double RoundedSeconds(SteadyClock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 1000) / 1000;
}

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

WalkFailure FailureFor(const FetchError& error) {
  switch (error.kind) {
    case ErrorKind::kApi:
      return WalkFailure::kApiError;
    case ErrorKind::kTimeout:
      return WalkFailure::kTimeout;
    case ErrorKind::kDecode:
      return WalkFailure::kDecode;
    case ErrorKind::kNone:
    case ErrorKind::kHttp:
    case ErrorKind::kNetwork:
    case ErrorKind::kTls:
      break;
  }
  return WalkFailure::kNetwork;
}

}  // namespace

struct Walker::FetchOutcome {
  DecodeResult result;
  bool stopped = false;
};

Walker::Walker(AppConfig app, std::unique_ptr<RoomSource> source,
               SnapshotPublisher publish, WalkerTuning tuning)
    : app_(std::move(app)),
      source_(std::move(source)),
      publish_(std::move(publish)),
      tuning_(tuning),
      limiter_(app_.walk.max_qps),
      rng_(std::random_device{}()),
      app_label_(std::to_string(app_.sdkappid)) {}

Walker::~Walker() { Stop(); }

void Walker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Walker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  source_->Cancel();
  if (thread_.joinable()) thread_.join();
}

bool Walker::SleepUntil(RateLimiter::TimePoint deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_until(lock, deadline, [this] { return stopping_.load(); });
}

std::chrono::milliseconds Walker::Backoff(int attempt) {
  // Exponential with "equal jitter": half fixed, half random, so retries never
  // bunch up.
  long long ceiling = static_cast<long long>(tuning_.backoff_base.count())
                      << std::min(attempt, 16);
  ceiling =
      std::min(ceiling, static_cast<long long>(tuning_.backoff_max.count()));
  std::uniform_int_distribution<long long> jitter(0,
                                                  std::max(0LL, ceiling / 2));
  return std::chrono::milliseconds(ceiling / 2 + jitter(rng_));
}

void Walker::Run() {
  Log(LogLevel::kInfo, "walker started",
      {{"sdkappid", app_.sdkappid},
       {"endpoint", app_.endpoint},
       {"interval", app_.walk.interval}});
  while (!stopping_) {
    auto start = SteadyClock::now();
    try {
      WalkOnce();
    } catch (const std::exception& e) {
      // Nothing on the walk is meant to throw; if something does (out of
      // memory), the walker logs it and tries again at the next interval.
      stats_.WalkFailed(WalkFailure::kDecode, 0, 0, e.what());
      Log(LogLevel::kError, "walk aborted by an exception",
          {{"sdkappid", app_.sdkappid}, {"error", e.what()}});
    }
    // A walk longer than its interval delays the next one: say so, since
    // /metrics then serves older data than the config promises.
    auto took = SteadyClock::now() - start;
    if (took > app_.walk.interval && !stopping_) {
      Log(LogLevel::kWarn, "walk took longer than its interval",
          {{"sdkappid", app_.sdkappid},
           {"seconds", RoundedSeconds(took)},
           {"interval", app_.walk.interval}});
    }
    // The next walk starts `interval` after this one started, or at once after
    // an overrun.
    if (!SleepUntil(start + app_.walk.interval)) break;
  }
  Log(LogLevel::kInfo, "walker stopped", {{"sdkappid", app_.sdkappid}});
}

Walker::FetchOutcome Walker::FetchWithRetries(const std::string& cursor) {
  int attempt = 0;
  bool renewed = false;
  while (true) {
    auto slot = std::max(limiter_.NextSlot(SteadyClock::now()), hold_until_);
    if (!SleepUntil(slot)) return {{}, true};
    auto sent = SteadyClock::now();
    DecodeResult result = source_->FetchPage(cursor, app_.walk.page_size);
    auto done = SteadyClock::now();
    limiter_.RecordDone(done);
    stats_.RequestDone(std::chrono::duration<double>(done - sent).count());
    if (stopping_) return {std::move(result), true};
    if (result.error.ok()) return {std::move(result), false};

    const FetchError& error = result.error;
    stats_.ApiError(error.CodeLabel());
    ErrorAction action = ClassifyError(error);
    // A throttling answer slows this app down whether or not the request is
    // retried: the hold also covers the first request of the next walk, so a
    // short interval or max_retries 0 never turns into a tight loop.
    if (action == ErrorAction::kRateLimited) {
      limiter_.Slowdown(done, tuning_.rate_limit_hold);
      hold_until_ = done + kMinRateLimitBackoff;
    } else if (action == ErrorAction::kBackOffLong) {
      hold_until_ = done + tuning_.long_backoff;
    }
    // 70001 gets its one retry with a fresh UserSig even when max_retries is 0:
    // it is a credential refresh, not a retry of a failing upstream.
    bool retry = action == ErrorAction::kRenewUserSig
                     ? !renewed
                     : attempt < app_.walk.max_retries &&
                           (action == ErrorAction::kRetry ||
                            action == ErrorAction::kRateLimited ||
                            action == ErrorAction::kBackOffLong);
    // Giving up is reported once, by the "walk failed" line (with the likely
    // cause); only retries get a line of their own.
    if (!retry) return {std::move(result), false};
    Log(LogLevel::kWarn, "request failed, retrying",
        {{"sdkappid", app_.sdkappid},
         {"code", error.CodeLabel()},
         {"request_id", error.request_id},
         {"error", error.message},
         {"attempt", attempt + 1}});

    ++attempt;
    stats_.Retry();
    auto delay = Backoff(attempt - 1);  // the hold above may stretch it
    if (action == ErrorAction::kRenewUserSig) {
      source_->RenewCredential();
      renewed = true;
      delay = std::chrono::milliseconds(0);
    }
    if (!SleepUntil(SteadyClock::now() + delay))
      return {std::move(result), true};
  }
}

bool Walker::WalkOnce() {
  stats_.WalkStarted();
  auto start = SteadyClock::now();
  std::string cursor;
  std::unordered_set<std::string> seen_cursors;
  std::unordered_set<std::string> seen_rooms;
  std::vector<Room> rooms;
  int pages = 0;

  auto fail = [&](WalkFailure reason, const std::string& why,
                  const FetchError* error) {
    double seconds = SecondsSince(start);
    stats_.WalkFailed(reason, seconds, pages, why);
    std::string cause = error != nullptr ? LikelyCause(*error) : "";
    Log(LogLevel::kError, "walk failed",
        {{"sdkappid", app_.sdkappid},
         {"reason", WalkFailureLabel(reason)},
         {"error", why},
         {"code", error != nullptr ? error->CodeLabel() : ""},
         {"request_id", error != nullptr ? error->request_id : ""},
         {"likely_cause", cause},
         {"pages", pages}});
    return false;
  };

  while (true) {
    if (pages >= app_.walk.max_pages) {
      return fail(WalkFailure::kMaxPages,
                  "more than max_pages=" + std::to_string(app_.walk.max_pages) +
                      " pages",
                  nullptr);
    }
    FetchOutcome outcome = FetchWithRetries(cursor);
    if (outcome.stopped) {
      Log(LogLevel::kInfo, "walk aborted by shutdown",
          {{"sdkappid", app_.sdkappid}});
      return false;
    }
    if (!outcome.result.error.ok()) {
      const FetchError& error = outcome.result.error;
      std::string why = error.CodeLabel() + ": " + error.message;
      return fail(FailureFor(error), why, &error);
    }
    ++pages;
    RoomPage& page = outcome.result.page;
    Log(LogLevel::kDebug, "page fetched",
        {{"sdkappid", app_.sdkappid},
         {"page", pages},
         {"rooms", page.rooms.size()},
         {"request_id", page.request_id}});
    for (int i = 0; i < kRejectReasonCount; ++i) {
      if (page.rejected[static_cast<std::size_t>(i)] > 0) {
        Log(LogLevel::kWarn, "rooms rejected",
            {{"sdkappid", app_.sdkappid},
             {"reason", RejectReasonLabel(static_cast<RejectReason>(i))},
             {"count", page.rejected[static_cast<std::size_t>(i)]},
             {"request_id", page.request_id}});
      }
      stats_.RoomsRejected(static_cast<RejectReason>(i),
                           page.rejected[static_cast<std::size_t>(i)]);
    }
    int duplicates = 0;
    for (Room& room : page.rooms) {
      if (seen_rooms.insert(room.room_id).second) {
        rooms.push_back(std::move(room));
      } else {
        ++duplicates;
      }
    }
    if (duplicates > 0) {
      stats_.RoomsRejected(RejectReason::kDuplicate, duplicates);
      Log(LogLevel::kDebug, "duplicate rooms across pages",
          {{"sdkappid", app_.sdkappid}, {"count", duplicates}});
    }
    if (page.next.empty()) break;
    if (!seen_cursors.insert(page.next).second) {
      return fail(WalkFailure::kCursorLoop,
                  "cursor " + page.next + " seen twice in one walk", nullptr);
    }
    cursor = std::move(page.next);
  }

  auto snapshot = std::make_shared<Snapshot>();
  snapshot->sdkappid = app_.sdkappid;
  SortRooms(&rooms);
  snapshot->rooms = std::move(rooms);
  snapshot->completed_at = UnixNow();
  snapshot->walk_seconds = SecondsSince(start);
  snapshot->pages = pages;
  double seconds = snapshot->walk_seconds;
  double completed_at = snapshot->completed_at;
  std::size_t room_count = snapshot->rooms.size();
  if (publish_) publish_(std::move(snapshot));
  stats_.WalkCompleted(seconds, pages, completed_at);
  // At info: after errors, this line is what says the upstream recovered.
  Log(LogLevel::kInfo, "walk completed",
      {{"sdkappid", app_.sdkappid},
       {"rooms", room_count},
       {"pages", pages},
       {"seconds", std::round(seconds * 1000) / 1000}});
  return true;
}

}  // namespace tle
