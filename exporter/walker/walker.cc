#include "exporter/walker/walker.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

#include "exporter/common/log.h"

namespace tle {
namespace {

// The least wait after a rate-limit answer before the next request.
constexpr std::chrono::milliseconds kMinRateLimitBackoff{1000};

double Seconds(SteadyDuration d) {
  return std::chrono::duration<double>(d).count();
}

// A duration in seconds to the millisecond, for log lines.
double RoundedSeconds(SteadyDuration d) {
  return std::round(Seconds(d) * 1000) / 1000;
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

Walker::Walker(AppConfig app, std::unique_ptr<RoomSource> source,
               SnapshotPublisher publish, WalkerTuning tuning, Clock& clock)
    : app_(std::move(app)),
      tuning_(tuning),
      clock_(clock),
      source_(std::move(source)),
      publish_(std::move(publish)),
      limiter_(app_.walk.max_qps, clock),
      rng_(std::random_device{}()) {}

Walker::~Walker() { Stop(); }

void Walker::Start() {
  std::lock_guard<std::mutex> lock(thread_mutex_);
  // Under the lock: a Start racing a Stop either starts the thread before the
  // Stop joins it, or sees the raised flag and does nothing.
  if (thread_.joinable() || stop_.raised()) return;
  thread_ = std::thread([this] { Run(); });
}

void Walker::RequestStop() {
  // The flag first: a walk between its last check and the request sees it
  // when the request returns, and the source's Cancel is final (a FetchPage
  // started after it fails at once), so no interleaving loses the stop.
  stop_.Raise();
  source_->Cancel();
}

void Walker::Stop() {
  RequestStop();
  std::lock_guard<std::mutex> lock(thread_mutex_);
  if (thread_.joinable()) thread_.join();
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
  while (!stop_.raised()) {
    auto start = clock_.NowSteady();
    WalkOnce();
    // A walk longer than its interval delays the next one: say so, since
    // /metrics then serves older data than the config promises.
    auto took = clock_.NowSteady() - start;
    if (took > app_.walk.interval && !stop_.raised()) {
      Log(LogLevel::kWarn, "walk took longer than its interval",
          {{"sdkappid", app_.sdkappid},
           {"seconds", RoundedSeconds(took)},
           {"interval", app_.walk.interval}});
    }
    // The next walk starts `interval` after this one started, or at once after
    // an overrun.
    if (!clock_.SleepUntil(start + app_.walk.interval, &stop_)) break;
  }
  Log(LogLevel::kInfo, "walker stopped", {{"sdkappid", app_.sdkappid}});
}

std::optional<Result<RoomPage, FetchError>> Walker::FetchWithRetries(
    const std::string& cursor) {
  int attempt = 0;
  bool renewed = false;
  while (true) {
    if (!limiter_.WaitForSlot(hold_until_, &stop_)) return std::nullopt;
    auto sent = clock_.NowSteady();
    Result<RoomPage, FetchError> result =
        source_->FetchPage(cursor, app_.walk.page_size);
    auto done = clock_.NowSteady();
    limiter_.RecordDone(done);
    stats_.RequestDone(Seconds(done - sent));
    if (stop_.raised()) return std::nullopt;
    if (result.ok()) return result;

    const FetchError& error = result.error();
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
    if (!retry) return result;
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
    if (!clock_.SleepUntil(clock_.NowSteady() + delay, &stop_))
      return std::nullopt;
  }
}

bool Walker::WalkOnce() {
  try {
    return Walk();
  } catch (const std::exception& e) {
    // Nothing on the walk is meant to throw; if something does (out of memory,
    // or a bug), the walk ends without a snapshot, `up` goes to 0 and the next
    // interval tries again. None of the failure reasons (all upstream or data
    // problems) describes it, so it is not counted under one.
    std::string why = std::string("internal error: ") + e.what();
    stats_.WalkAborted(why);
    Log(LogLevel::kError, "walk aborted by an exception",
        {{"sdkappid", app_.sdkappid}, {"error", why}});
    return false;
  }
}

bool Walker::Walk() {
  stats_.WalkStarted();
  const auto start = clock_.NowSteady();
  std::string cursor;
  std::unordered_set<std::string> seen_cursors;
  std::unordered_set<std::string> seen_rooms;
  std::vector<Room> rooms;
  int pages = 0;

  auto fail = [&](WalkFailure reason, const std::string& why,
                  const FetchError* error) {
    double seconds = Seconds(clock_.NowSteady() - start);
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
    std::optional<Result<RoomPage, FetchError>> fetched =
        FetchWithRetries(cursor);
    if (!fetched) {
      Log(LogLevel::kInfo, "walk aborted by shutdown",
          {{"sdkappid", app_.sdkappid}});
      return false;
    }
    if (!fetched->ok()) {
      const FetchError& error = fetched->error();
      std::string why = error.CodeLabel() + ": " + error.message;
      return fail(FailureFor(error), why, &error);
    }
    ++pages;
    RoomPage& page = **fetched;
    Log(LogLevel::kDebug, "page fetched",
        {{"sdkappid", app_.sdkappid},
         {"page", pages},
         {"rooms", page.rooms.size()},
         {"request_id", page.request_id}});
    for (const auto& [reason, label] : kRejectReasons) {
      const int count = page.rejected[static_cast<std::size_t>(reason)];
      if (count > 0) {
        Log(LogLevel::kWarn, "rooms rejected",
            {{"sdkappid", app_.sdkappid},
             {"reason", label},
             {"count", count},
             {"request_id", page.request_id}});
      }
      stats_.RoomsRejected(reason, count);
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
  snapshot->completed_at = clock_.NowUnix();
  snapshot->walk_seconds = Seconds(clock_.NowSteady() - start);
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
