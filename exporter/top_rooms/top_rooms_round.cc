#include "exporter/top_rooms/top_rooms_round.h"

#include <algorithm>
#include <utility>

#include "exporter/decoder/top_rooms_decoder.h"

namespace tle {
namespace {

constexpr std::size_t kMembers = 0;  // index of get_member_list in the arrays

// An error that every request of the app would get as well (credentials,
// account, TLS, a proxy answering 4xx): the rest of the round is not sent.
bool FailsEveryRequest(const FetchError& error) {
  switch (error.kind) {
    case ErrorKind::kTls:
      return true;
    case ErrorKind::kHttp:
      return error.code >= 400 && error.code < 500 && error.code != 429;
    case ErrorKind::kApi:
      return error.code >= 60000 && error.code <= 79999;
    default:
      return false;
  }
}

}  // namespace

TopRoomsRound::TopRoomsRound(std::vector<std::string> room_ids,
                             const TopRoomsRoundOptions& options,
                             std::array<ApiGate*, 2> gates, WalkStats* stats,
                             std::uint64_t seed)
    : room_ids_(std::move(room_ids)),
      options_(options),
      gates_(gates),
      stats_(stats),
      rng_(seed),
      outcomes_(room_ids_.size()) {
  const std::array<bool, 2> enabled = {options_.members, options_.stats};
  for (std::size_t room = 0; room < room_ids_.size(); ++room) {
    for (std::size_t api = 0; api < 2; ++api) {
      if (!enabled[api]) continue;
      tasks_.push_back(Task{room, api, 0, false});
      ready_[api].push_back(tasks_.size() - 1);
      ++unfinished_[api];
      StateOf(tasks_.back()) = Fetch::kPending;
    }
  }
}

TopRoomsRound::Fetch& TopRoomsRound::StateOf(const Task& task) {
  RoomOutcome& outcome = outcomes_[task.room];
  return task.api == kMembers ? outcome.members : outcome.stats;
}

void TopRoomsRound::MoveDueRetries(TimePoint now) {
  auto due = std::stable_partition(
      retries_.begin(), retries_.end(),
      [now](const Retry& retry) { return retry.due > now; });
  for (auto it = due; it != retries_.end(); ++it)
    ready_[tasks_[it->task].api].push_front(it->task);
  retries_.erase(due, retries_.end());
}

int TopRoomsRound::PickApi(TimePoint now) const {
  int best = -1;
  double best_backlog = -1;
  for (std::size_t api = 0; api < 2; ++api) {
    if (ready_[api].empty() || gates_[api]->NextFree(now) > now) continue;
    // The API furthest from done, counted in seconds of its own budget, goes
    // first: when `concurrency` is the bottleneck the slower API sets the
    // round's length.
    const double backlog = static_cast<double>(unfinished_[api]) /
                           static_cast<double>(gates_[api]->capacity());
    if (backlog > best_backlog) {
      best = static_cast<int>(api);
      best_backlog = backlog;
    }
  }
  return best;
}

std::vector<TopRoomsRound::Request> TopRoomsRound::Take(TimePoint now) {
  std::vector<Request> out;
  MoveDueRetries(now);
  while (static_cast<int>(in_flight_.size()) < options_.concurrency) {
    const int picked = PickApi(now);
    if (picked < 0) break;
    const auto api = static_cast<std::size_t>(picked);
    if (!gates_[api]->TryAcquire(now)) break;
    const std::size_t task = ready_[api].front();
    ready_[api].pop_front();
    const std::string& room_id = room_ids_[tasks_[task].room];
    Request request;
    request.id = next_id_++;
    request.api = kTopRoomsApis[api];
    request.body = api == kMembers ? MemberListRequest(room_id)
                                   : RoomStatsRequest(room_id);
    in_flight_[request.id] = task;
    out.push_back(std::move(request));
  }
  return out;
}

std::chrono::milliseconds TopRoomsRound::Backoff(int attempt) {
  // As on the walk: exponential with "equal jitter", half fixed, half random.
  long long ceiling =
      static_cast<long long>(options_.tuning.backoff_base.count())
      << std::min(attempt, 16);
  ceiling = std::min(
      ceiling, static_cast<long long>(options_.tuning.backoff_max.count()));
  std::uniform_int_distribution<long long> jitter(0,
                                                  std::max(0LL, ceiling / 2));
  return std::chrono::milliseconds(ceiling / 2 + jitter(rng_));
}

void TopRoomsRound::GiveUp(std::size_t task, const FetchError& error) {
  StateOf(tasks_[task]) = Fetch::kFailed;
  --unfinished_[tasks_[task].api];
  ++failed_;
  last_error_ = error;
  last_error_api_ = kTopRoomsApis[tasks_[task].api];
}

void TopRoomsRound::MarkGone(std::size_t room) {
  RoomOutcome& outcome = outcomes_[room];
  // The room's other request, if still waiting, is not sent: the room is
  // gone whatever it would answer. One in flight is ignored when it returns.
  auto waiting = [&](std::size_t task) { return tasks_[task].room == room; };
  for (std::size_t api = 0; api < 2; ++api) {
    Fetch& state = api == kMembers ? outcome.members : outcome.stats;
    if (state != Fetch::kPending) continue;
    state = Fetch::kGone;
    --unfinished_[api];
  }
  for (auto& queue : ready_)
    queue.erase(std::remove_if(queue.begin(), queue.end(), waiting),
                queue.end());
  retries_.erase(
      std::remove_if(retries_.begin(), retries_.end(),
                     [&](const Retry& r) { return waiting(r.task); }),
      retries_.end());
}

void TopRoomsRound::DropUnsent() {
  auto drop = [&](std::size_t task) {
    StateOf(tasks_[task]) = Fetch::kFailed;
    --unfinished_[tasks_[task].api];
    ++dropped_;
  };
  for (auto& queue : ready_) {
    for (std::size_t task : queue) drop(task);
    queue.clear();
  }
  for (const Retry& retry : retries_) drop(retry.task);
  retries_.clear();
}

bool TopRoomsRound::Done(TimePoint now, std::uint64_t id,
                         const ApiResponse& response) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return false;
  const std::size_t task_index = it->second;
  in_flight_.erase(it);
  Task& task = tasks_[task_index];
  const Api api = kTopRoomsApis[task.api];
  gates_[task.api]->Release(now);
  if (stats_ != nullptr) stats_->RequestDone(response.seconds, api);
  Fetch& state = StateOf(task);

  // No error until the request or the decoding of its answer fails.
  FetchError error;
  if (!response.body.ok()) {
    error = response.body.error();
  } else if (task.api == kMembers) {
    const Result<MemberCount, FetchError> decoded =
        DecodeMemberList(*response.body);
    if (decoded.ok()) {
      outcomes_[task.room].member_count = decoded->member_count;
    } else {
      error = decoded.error();
    }
  } else {
    const Result<RoomStats, FetchError> decoded =
        DecodeRoomStats(*response.body);
    if (decoded.ok()) {
      outcomes_[task.room].totals = decoded->totals;
    } else {
      error = decoded.error();
    }
  }
  if (state != Fetch::kPending) {
    // The room's other API said it is gone while this one was in flight:
    // counted, but changes nothing.
    if (!error.ok() && stats_ != nullptr)
      stats_->ApiError(error.CodeLabel(), api);
    return false;
  }
  if (error.ok()) {
    state = Fetch::kOk;
    --unfinished_[task.api];
    return false;
  }

  if (stats_ != nullptr) stats_->ApiError(error.CodeLabel(), api);
  if (error.kind == ErrorKind::kApi && error.code == 100004) {
    MarkGone(task.room);
    return false;
  }
  const ErrorAction action = ClassifyError(error);
  if (action == ErrorAction::kRateLimited) {
    gates_[task.api]->Slowdown(now, options_.tuning.rate_limit_hold);
  } else if (action == ErrorAction::kBackOffLong) {
    // Too many UserSig checks: the UserSig is the app's, for both APIs.
    for (ApiGate* gate : gates_)
      gate->HoldUntil(now + options_.tuning.long_backoff);
  }
  const bool retry = action == ErrorAction::kRenewUserSig
                         ? !task.renewed
                         : task.attempt < options_.max_retries &&
                               (action == ErrorAction::kRetry ||
                                action == ErrorAction::kRateLimited ||
                                action == ErrorAction::kBackOffLong);
  if (!retry) {
    GiveUp(task_index, error);
    if (FailsEveryRequest(error)) DropUnsent();
    return false;
  }
  if (stats_ != nullptr) stats_->Retry(api);
  ++task.attempt;
  auto delay = Backoff(task.attempt - 1);
  bool renew = false;
  if (action == ErrorAction::kRenewUserSig) {
    task.renewed = true;
    delay = std::chrono::milliseconds(0);
    renew = true;
  }
  retries_.push_back(Retry{now + delay, task_index});
  return renew;
}

TopRoomsRound::TimePoint TopRoomsRound::NextWake(TimePoint now) const {
  if (finished() ||
      static_cast<int>(in_flight_.size()) >= options_.concurrency) {
    return TimePoint::max();
  }
  TimePoint best = TimePoint::max();
  for (std::size_t api = 0; api < 2; ++api) {
    TimePoint work = TimePoint::max();
    if (!ready_[api].empty()) {
      work = now;
    } else {
      for (const Retry& retry : retries_) {
        if (tasks_[retry.task].api == api)
          work = std::min(work, std::max(now, retry.due));
      }
    }
    if (work == TimePoint::max()) continue;
    best = std::min(best, std::max(work, gates_[api]->NextFree(work)));
  }
  return best;
}

bool TopRoomsRound::finished() const {
  return in_flight_.empty() && unfinished_[0] == 0 && unfinished_[1] == 0;
}

bool TopRoomsRound::completed() const {
  return finished() && failed_ == 0 && dropped_ == 0;
}

}  // namespace tle
