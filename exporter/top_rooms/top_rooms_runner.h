// TopRoomsRunner: one app's top-rooms rounds, on a thread of their own.
//
// Every top_rooms.interval (right after an overrun, never two at once) the
// runner makes a TopRoomsRound over the `count` most-viewed rooms of the last
// complete walk, which the walk hands over with SetRooms(). It sends the
// round's requests through its own UpstreamClient, answers come back on the
// client's thread into an inbox, and the round thread alone runs the round,
// its two ApiGates and the values. The walk's thread, rate limiter and
// get_room_list budget are not touched: a long walk does not delay a round,
// and rounds do not slow the walk.
//
// After each round (complete or not) the runner publishes a TopRoomsSnapshot:
// for each room of the latest top list, the newest value per API that is not
// older than stale_after. A room whose request failed keeps its last value
// until then; a room that answered 100004 (closed) or left the top list loses
// its values at once; when the top list changes between rounds, the rooms
// that left it are dropped and the snapshot published again at once.
//
// Time comes from the Clock passed in (RealClock() by default): every wait
// (the next round, a gate slot, a retry) is a Clock::WaitUntil on the inbox's
// Wakeup, which an answer, new rooms or a stop notify, so tests run rounds on
// a FakeClock.
//
// Start/Stop/RunRound from the owning thread; SetRooms from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "exporter/client/upstream_client.h"
#include "exporter/common/clock.h"
#include "exporter/config/config.h"
#include "exporter/snapshot/top_rooms_snapshot.h"
#include "exporter/top_rooms/api_gate.h"
#include "exporter/top_rooms/top_rooms_round.h"
#include "exporter/walker/walk_stats.h"

namespace tle {

using TopRoomsPublisher =
    std::function<void(std::shared_ptr<const TopRoomsSnapshot>)>;

class TopRoomsRunner {
 public:
  // `stats` (the app's, shared with its walker) and `clock` must outlive the
  // runner. REQUIRES: app.walk.top_rooms.count > 0, client not null.
  TopRoomsRunner(AppConfig app, std::unique_ptr<UpstreamClient> client,
                 WalkStats* stats, TopRoomsPublisher publish,
                 TopRoomsTuning tuning = {}, Clock& clock = RealClock());
  ~TopRoomsRunner();  // stops the thread
  TopRoomsRunner(const TopRoomsRunner&) = delete;
  TopRoomsRunner& operator=(const TopRoomsRunner&) = delete;
  TopRoomsRunner(TopRoomsRunner&&) = delete;
  TopRoomsRunner& operator=(TopRoomsRunner&&) = delete;

  void Start();  // REQUIRES: not started
  // Cancels the requests in flight (the round in progress publishes nothing)
  // and returns after the thread ended; idempotent.
  void Stop();

  // The RoomIds of the walk that just completed, most viewed first; the
  // runner keeps the first `count`.
  void SetRooms(std::vector<std::string> room_ids);

  // One round now, on the calling thread (tests, tools); true if it
  // completed. REQUIRES: Start() not called.
  bool RunRound();

 private:
  struct Inbox;
  struct Known {
    std::optional<std::int64_t> members;
    double members_at = 0;  // Unix seconds of the answer
    std::optional<RoomTotals> totals;
    double totals_at = 0;
  };

  void Run();
  // Takes the rooms of a SetRooms since the last call; true if any (the
  // rooms that left the list are dropped and the snapshot republished).
  bool TakeNewRooms();
  void Merge(const TopRoomsRound& round, double now);
  void Publish();
  void LogRound(const TopRoomsRound& round, double seconds) const;

  const AppConfig app_;
  const std::unique_ptr<UpstreamClient> client_;
  WalkStats* const stats_;
  const TopRoomsPublisher publish_;
  const TopRoomsRoundOptions options_;
  Clock& clock_;
  const std::string app_label_;
  const std::shared_ptr<Inbox> inbox_;  // shared with the client's callbacks

  // The round thread's own (RunRound's when there is no thread).
  std::array<ApiGate, 2> gates_;
  std::mt19937_64 rng_;
  std::vector<std::string> rooms_;      // the current top list
  std::map<std::string, Known> known_;  // values of the rooms of rooms_
  bool published_ = false;
  double round_seconds_ = 0;
  double last_success_ = 0;
  std::uint64_t round_serial_ = 0;

  std::thread thread_;
};

}  // namespace tle
