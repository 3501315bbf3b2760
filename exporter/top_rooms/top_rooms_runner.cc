#include "exporter/top_rooms/top_rooms_runner.h"

#include <deque>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "exporter/common/log.h"

namespace tle {
namespace {

TopRoomsRoundOptions RoundOptions(const AppConfig& app,
                                  const TopRoomsTuning& tuning) {
  TopRoomsRoundOptions options;
  options.members = app.walk.top_rooms.members;
  options.stats = app.walk.top_rooms.stats;
  options.concurrency = std::max(1, app.walk.top_rooms.concurrency);
  options.max_retries = app.walk.max_retries;
  options.tuning = tuning;
  return options;
}

double Seconds(SteadyDuration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

// What other threads hand the round thread: answers (from the client's I/O
// thread), a new top list (from the walker), a stop (from the owner).
struct TopRoomsRunner::Inbox {
  std::mutex mutex;
  // (round serial, request id, outcome); guarded by mutex
  std::deque<std::tuple<std::uint64_t, std::uint64_t, ApiResponse>> answers;
  std::optional<std::vector<std::string>> new_rooms;  // guarded by mutex
  bool stopping = false;                              // guarded by mutex
  Wakeup wakeup;
};

TopRoomsRunner::TopRoomsRunner(AppConfig app,
                               std::unique_ptr<UpstreamClient> client,
                               WalkStats* stats, TopRoomsPublisher publish,
                               TopRoomsTuning tuning, Clock& clock)
    : app_(std::move(app)),
      client_(std::move(client)),
      stats_(stats),
      publish_(std::move(publish)),
      options_(RoundOptions(app_, tuning)),
      clock_(clock),
      app_label_(std::to_string(app_.sdkappid)),
      inbox_(std::make_shared<Inbox>()),
      gates_{ApiGate(app_.walk.top_rooms.member_list_qps),
             ApiGate(app_.walk.top_rooms.room_stats_qps)},
      rng_(std::random_device{}()) {
  // Their counters exist from the start, at 0.
  if (stats_ != nullptr) {
    if (options_.members) stats_->UseApi(Api::kGetMemberList);
    if (options_.stats) stats_->UseApi(Api::kGetRoomStats);
  }
}

TopRoomsRunner::~TopRoomsRunner() { Stop(); }

void TopRoomsRunner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void TopRoomsRunner::Stop() {
  {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    inbox_->stopping = true;
  }
  inbox_->wakeup.Notify();
  client_->Cancel();
  if (thread_.joinable()) thread_.join();
}

void TopRoomsRunner::SetRooms(std::vector<std::string> room_ids) {
  const auto count =
      static_cast<std::size_t>(std::max(0, app_.walk.top_rooms.count));
  if (room_ids.size() > count) room_ids.resize(count);
  {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    inbox_->new_rooms = std::move(room_ids);
  }
  inbox_->wakeup.Notify();
}

bool TopRoomsRunner::TakeNewRooms() {
  std::optional<std::vector<std::string>> rooms;
  {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    rooms.swap(inbox_->new_rooms);
  }
  if (!rooms) return false;
  const bool changed = *rooms != rooms_;
  rooms_ = std::move(*rooms);
  // Rooms that left the top list leave the series now, not a round later.
  if (changed && published_) Publish();
  return true;
}

void TopRoomsRunner::Run() {
  Log(LogLevel::kInfo, "top-rooms rounds started",
      {{"sdkappid", app_label_},
       {"count", std::to_string(app_.walk.top_rooms.count)},
       {"interval",
        std::to_string(Seconds(app_.walk.top_rooms.interval)) + "s"}});
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    return inbox_->stopping;
  };
  while (!stopping()) {
    TakeNewRooms();
    if (rooms_.empty()) {
      // Nothing to ask about until a walk completes.
      clock_.WaitUntil(SteadyTime::max(), inbox_->wakeup);
      continue;
    }
    const SteadyTime start = clock_.NowSteady();
    RunRound();
    const SteadyTime next = start + app_.walk.top_rooms.interval;
    while (!stopping() && clock_.NowSteady() < next) {
      clock_.WaitUntil(next, inbox_->wakeup);
      TakeNewRooms();
    }
  }
  Log(LogLevel::kInfo, "top-rooms rounds stopped", {{"sdkappid", app_label_}});
}

bool TopRoomsRunner::RunRound() {
  TakeNewRooms();
  if (rooms_.empty()) return false;
  const std::uint64_t serial = ++round_serial_;
  const SteadyTime start = clock_.NowSteady();
  TopRoomsRound round(rooms_, options_, {&gates_[0], &gates_[1]}, stats_,
                      rng_());
  std::deque<std::tuple<std::uint64_t, std::uint64_t, ApiResponse>> answers;
  while (true) {
    bool stop = false;
    {
      std::lock_guard<std::mutex> lock(inbox_->mutex);
      answers.swap(inbox_->answers);
      stop = inbox_->stopping;
    }
    if (stop) return false;  // requests in flight end as "cancelled"
    SteadyTime now = clock_.NowSteady();
    bool renew = false;
    for (auto& [round_serial, id, response] : answers) {
      if (round_serial == serial)
        renew = round.Done(now, id, response) || renew;
    }
    answers.clear();
    if (renew) client_->RenewCredential();
    if (round.finished()) break;
    for (TopRoomsRound::Request& request : round.Take(now)) {
      std::weak_ptr<Inbox> inbox = inbox_;
      const std::uint64_t id = request.id;
      client_->Send(request.api, std::move(request.body),
                    [inbox, serial, id](ApiResponse response) {
                      std::shared_ptr<Inbox> alive = inbox.lock();
                      if (!alive) return;
                      {
                        std::lock_guard<std::mutex> lock(alive->mutex);
                        alive->answers.emplace_back(serial, id,
                                                    std::move(response));
                      }
                      alive->wakeup.Notify();
                    });
    }
    clock_.WaitUntil(round.NextWake(clock_.NowSteady()), inbox_->wakeup);
  }
  const double seconds = Seconds(clock_.NowSteady() - start);
  const double end = clock_.NowUnix();
  Merge(round, end);
  round_seconds_ = seconds;
  if (round.completed()) last_success_ = end;
  // The top list may have changed during the round: publish for the latest.
  {
    std::lock_guard<std::mutex> lock(inbox_->mutex);
    if (inbox_->new_rooms) {
      rooms_ = std::move(*inbox_->new_rooms);
      inbox_->new_rooms.reset();
    }
  }
  Publish();
  LogRound(round, seconds);
  return round.completed();
}

void TopRoomsRunner::Merge(const TopRoomsRound& round, double now) {
  using Fetch = TopRoomsRound::Fetch;
  const auto& ids = round.room_ids();
  const auto& outcomes = round.outcomes();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const TopRoomsRound::RoomOutcome& outcome = outcomes[i];
    if (outcome.gone()) {
      known_.erase(ids[i]);
      continue;
    }
    if (outcome.members != Fetch::kOk && outcome.stats != Fetch::kOk) continue;
    Known& known = known_[ids[i]];
    if (outcome.members == Fetch::kOk) {
      known.members = outcome.member_count;
      known.members_at = now;
    }
    if (outcome.stats == Fetch::kOk) {
      known.totals = outcome.totals;
      known.totals_at = now;
    }
  }
}

void TopRoomsRunner::Publish() {
  const double now = clock_.NowUnix();
  const double stale =
      std::chrono::duration<double>(app_.walk.stale_after).count();
  auto snapshot = std::make_shared<TopRoomsSnapshot>();
  snapshot->sdkappid = app_.sdkappid;
  snapshot->round_seconds = round_seconds_;
  snapshot->last_success_timestamp = last_success_;
  std::map<std::string, Known> keep;
  for (const std::string& room_id : rooms_) {
    auto it = known_.find(room_id);
    if (it == known_.end()) continue;
    Known& known = it->second;
    if (known.members && now - known.members_at > stale) known.members.reset();
    if (known.totals && now - known.totals_at > stale) known.totals.reset();
    if (!options_.members) known.members.reset();
    if (!options_.stats) known.totals.reset();
    if (!known.members && !known.totals) continue;
    snapshot->rooms.push_back(TopRoom{room_id, known.members, known.totals});
    keep.insert(known_.extract(it));
  }
  known_ = std::move(keep);  // rooms off the list, or all stale, are forgotten
  published_ = true;
  if (publish_) publish_(std::move(snapshot));
}

void TopRoomsRunner::LogRound(const TopRoomsRound& round,
                              double seconds) const {
  int gone = 0;
  for (const auto& outcome : round.outcomes()) gone += outcome.gone() ? 1 : 0;
  if (round.completed()) {
    Log(LogLevel::kDebug, "top-rooms round completed",
        {{"sdkappid", app_label_},
         {"rooms", std::to_string(round.room_ids().size())},
         {"closed", std::to_string(gone)},
         {"seconds", std::to_string(seconds)}});
    return;
  }
  const FetchError& error = round.last_error();
  Log(LogLevel::kWarn, "top-rooms round incomplete",
      {{"sdkappid", app_label_},
       {"rooms", std::to_string(round.room_ids().size())},
       {"failed", std::to_string(round.failed_requests())},
       {"not_sent", std::to_string(round.dropped_requests())},
       {"api", Info(round.last_error_api()).name},
       {"code", error.CodeLabel()},
       {"request_id", error.request_id},
       {"error", error.message},
       {"likely_cause", LikelyCause(error)},
       {"seconds", std::to_string(seconds)}});
}

}  // namespace tle
