// Room lifecycle: what changed from one complete walk of an app to the next.
//
// CompareWalk is a pure function: (state after the previous complete walks,
// rooms of a new complete walk, the walk's end time) -> (new state, deltas:
// rooms opened and closed, lifetimes of the closed rooms, room entries). The
// rules (README "Room lifecycle"):
// - The first walk sets the baseline: it opens nothing and adds no entries.
// - A room missed by one walk but back in the next (rankings move during a
//   walk) is neither closed nor opened; its entries continue from its last
//   known ViewCount. A room is closed when two complete walks in a row miss it.
// - A closed room's lifetime is the end of the last walk that saw it minus its
//   CreateTime (never below 0; not observed when CreateTime is 0, unknown).
// - Entries are the ViewCount growth of rooms seen before plus the ViewCount of
//   rooms opened since; they never decrease.
// - A RoomId whose ViewCount went down, or whose CreateTime changed, is a new
//   room under a reused RoomId: the old room counts as closed (with its
//   lifetime) and the new one as opened (adding its whole ViewCount).
// - A failed walk changes nothing: call CompareWalk only for complete walks.
// The state holds only rooms of the last two walks, so memory stays
// proportional to the rooms of the last walks.
//
// RoomLifecycle keeps one app's state and its running totals across walks; its
// methods may be called from any thread (one mutex). The value types are plain
// and safe to copy between threads.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "exporter/snapshot/room.h"
#include "exporter/snapshot/snapshot.h"

namespace tle {

// Upper bounds (seconds) of tencent_live_room_lifetime_seconds: 1 minute to
// 24 hours; the +Inf bucket follows.
inline constexpr std::array<double, 10> kRoomLifetimeBuckets = {
    60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400};

// What the comparison remembers of a room seen by one of the last two walks.
struct TrackedRoom {
  std::int64_t view_count = 0;   // the last known ViewCount
  std::int64_t create_time = 0;  // CreateTime, Unix seconds
  double last_seen = 0;          // end of the last walk that saw it
  int missed = 0;  // complete walks in a row that missed it since (0 or 1)
  std::uint64_t walk = 0;  // LifecycleState::walks when it was last seen
  friend bool operator==(const TrackedRoom&, const TrackedRoom&) = default;
};

struct LifecycleState {
  bool baseline = false;    // a first complete walk has been compared
  std::uint64_t walks = 0;  // complete walks compared
  std::unordered_map<std::string, TrackedRoom> rooms;  // by RoomId
};

struct LifecycleDelta {
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::vector<double> lifetimes;  // seconds, one per closed room whose
                                  // CreateTime is known
  std::uint64_t entries = 0;
};

struct LifecycleStep {
  LifecycleState state;
  LifecycleDelta delta;
};

// REQUIRES: `rooms` is a complete walk. RoomIds should be unique (a snapshot's
// are); a repeated one counts once, as its first occurrence. `previous` is
// taken by value and updated in place: a caller that moves its state in pays
// for neither a copy nor a second map.
LifecycleStep CompareWalk(LifecycleState previous,
                          const std::vector<Room>& rooms, double walk_end);

// The cumulative counters of one app, as exported: counters since the app was
// first configured in this process.
struct LifecycleTotals {
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t entries = 0;
  // Per bucket of kRoomLifetimeBuckets (not cumulative), then +Inf.
  std::array<std::uint64_t, kRoomLifetimeBuckets.size() + 1> lifetime_buckets{};
  std::uint64_t lifetime_count = 0;
  double lifetime_sum = 0;

  void Add(const LifecycleDelta& delta);
};

// One app's lifecycle across walks: its state and totals.
class RoomLifecycle {
 public:
  RoomLifecycle() = default;
  RoomLifecycle(const RoomLifecycle&) = delete;
  RoomLifecycle& operator=(const RoomLifecycle&) = delete;
  RoomLifecycle(RoomLifecycle&&) = delete;
  RoomLifecycle& operator=(RoomLifecycle&&) = delete;

  // Compares a complete walk with the previous ones; returns the totals after
  // it. REQUIRES: snapshot is a complete walk (a failed walk: do not call).
  LifecycleTotals Observe(const Snapshot& snapshot);

  LifecycleTotals Totals() const;

 private:
  mutable std::mutex mutex_;
  LifecycleState state_;    // GUARDED_BY(mutex_)
  LifecycleTotals totals_;  // GUARDED_BY(mutex_)
};

}  // namespace tle
