// TopRoomsRound: one round over the top rooms of an app, as a state machine
// that the round runner drives: one get_member_list and one get_room_stats
// request per room (each when enabled), paced by one ApiGate per API, at most
// `concurrency` requests in flight over both, with retries as on the walk.
//
// The owner asks Take(now) for the requests that may go now, sends them, and
// reports each outcome with Done(now, ...); NextWake(now) says when Take may
// have more. Nothing here sends, sleeps or reads a clock, so tests drive a
// round on a fake clock and a fake client. Per outcome:
// - success: the room's value for that API;
// - 100004 (the room closed since the walk): the room is gone, its other
//   request is not sent; not a failure of the round;
// - retryable codes (ClassifyError): retried up to max_retries with
//   exponential backoff and jitter; 70001 once, after RenewCredential; a
//   rate-limit answer slows that API's gate only; 70050 holds both gates;
// - anything else: that request failed, and the round does not complete; a
//   configuration error (UserSig, account, TLS: every request would fail)
//   also drops the requests not yet sent.
// Each request, error and retry is counted in WalkStats under its API.
//
// Not thread-safe: one round thread owns it. The gates outlive a round (their
// slots stay held a second after the last answers, and a slowdown lasts
// across rounds).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "exporter/client/upstream_client.h"
#include "exporter/common/fetch_error.h"
#include "exporter/snapshot/top_rooms_snapshot.h"
#include "exporter/top_rooms/api_gate.h"
#include "exporter/walker/walk_stats.h"

namespace tle {

// Timings that are not part of the config; tests shrink them.
struct TopRoomsTuning {
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds rate_limit_hold{30000};
  std::chrono::milliseconds long_backoff{60000};  // after 70050
};

struct TopRoomsRoundOptions {
  bool members = true;  // send get_member_list
  bool stats = true;    // send get_room_stats
  int concurrency = 8;  // >= 1
  int max_retries = 3;
  TopRoomsTuning tuning;
};

// The APIs of a round, in the order of their gates.
inline constexpr std::array<Api, 2> kTopRoomsApis = {Api::kGetMemberList,
                                                     Api::kGetRoomStats};

class TopRoomsRound {
 public:
  using TimePoint = ApiGate::TimePoint;

  enum class Fetch {
    kNotAsked,  // the API is off, or the request was dropped
    kPending,   // not answered yet
    kOk,
    kGone,    // 100004, here or from the room's other API
    kFailed,  // gave up: the room keeps its previous value
  };
  struct RoomOutcome {
    Fetch members = Fetch::kNotAsked;
    std::int64_t member_count = 0;  // when members == kOk
    Fetch stats = Fetch::kNotAsked;
    RoomTotals totals;  // when stats == kOk
    bool gone() const {
      return members == Fetch::kGone || stats == Fetch::kGone;
    }
  };
  struct Request {
    std::uint64_t id = 0;
    Api api = Api::kGetMemberList;
    std::string body;
  };

  // `gates` are get_member_list's and get_room_stats' (kTopRoomsApis order);
  // `stats` may be null. REQUIRES: options.concurrency >= 1.
  TopRoomsRound(std::vector<std::string> room_ids,
                const TopRoomsRoundOptions& options,
                std::array<ApiGate*, 2> gates, WalkStats* stats,
                std::uint64_t seed);

  // The requests to send now; each holds a gate slot and counts as in flight
  // until its Done.
  std::vector<Request> Take(TimePoint now);
  // The outcome of request `id` (from Take), seen at `now`. Returns true when
  // the client should mint a new UserSig before the next send (70001).
  bool Done(TimePoint now, std::uint64_t id, const ApiResponse& response);

  // When Take may next return a request: `now` or later; TimePoint::max()
  // when only an answer can change anything (or the round is finished).
  TimePoint NextWake(TimePoint now) const;
  // Every request answered or given up, none in flight.
  bool finished() const;
  // Finished without a failed or dropped request (100004 is not a failure).
  bool completed() const;

  const std::vector<std::string>& room_ids() const { return room_ids_; }
  const std::vector<RoomOutcome>& outcomes() const { return outcomes_; }
  int failed_requests() const { return failed_; }
  int dropped_requests() const { return dropped_; }
  // The last error a request gave up on (for the round's log line).
  const FetchError& last_error() const { return last_error_; }
  Api last_error_api() const { return last_error_api_; }
  int in_flight() const { return static_cast<int>(in_flight_.size()); }

 private:
  struct Task {
    std::size_t room = 0;
    std::size_t api = 0;  // index into kTopRoomsApis
    int attempt = 0;
    bool renewed = false;
  };
  struct Retry {
    TimePoint due;
    std::size_t task;
  };

  Fetch& StateOf(const Task& task);
  void MoveDueRetries(TimePoint now);
  // The API to send next among those with work due and a free slot, or -1.
  int PickApi(TimePoint now) const;
  std::chrono::milliseconds Backoff(int attempt);
  void GiveUp(std::size_t task, const FetchError& error);
  void MarkGone(std::size_t room);
  void DropUnsent();

  std::vector<std::string> room_ids_;
  TopRoomsRoundOptions options_;
  std::array<ApiGate*, 2> gates_;
  WalkStats* stats_;
  std::mt19937_64 rng_;

  std::vector<RoomOutcome> outcomes_;
  std::vector<Task> tasks_;
  std::array<std::deque<std::size_t>, 2> ready_;  // tasks to send, per API
  std::array<int, 2> unfinished_{};  // tasks per API not yet answered
  std::vector<Retry> retries_;
  std::unordered_map<std::uint64_t, std::size_t> in_flight_;  // id -> task
  std::uint64_t next_id_ = 1;
  int failed_ = 0;
  int dropped_ = 0;
  FetchError last_error_;
  Api last_error_api_ = Api::kGetMemberList;
};

}  // namespace tle
