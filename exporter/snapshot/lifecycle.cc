#include "exporter/snapshot/lifecycle.h"

#include <algorithm>
#include <utility>

namespace tle {
namespace {

// Records a room gone: counted as closed, its lifetime observed when its
// CreateTime is known.
void Close(const TrackedRoom& room, LifecycleDelta* delta) {
  ++delta->closed;
  if (room.create_time > 0) {
    delta->lifetimes.push_back(
        std::max(0.0, room.last_seen - static_cast<double>(room.create_time)));
  }
}

std::uint64_t Entries(std::int64_t view_count) {
  return view_count > 0 ? static_cast<std::uint64_t>(view_count) : 0;
}

}  // namespace

LifecycleStep CompareWalk(LifecycleState previous,
                          const std::vector<Room>& rooms, double walk_end) {
  LifecycleStep step;
  step.state = std::move(previous);
  LifecycleState& state = step.state;
  LifecycleDelta& delta = step.delta;
  const bool baseline = !state.baseline;
  const std::uint64_t walk = ++state.walks;
  state.baseline = true;
  if (state.rooms.size() < rooms.size()) state.rooms.reserve(rooms.size());

  for (const Room& room : rooms) {
    auto [it, fresh] = state.rooms.try_emplace(room.room_id);
    TrackedRoom& tracked = it->second;
    if (!fresh && tracked.walk == walk) continue;  // a repeated RoomId
    if (fresh) {
      // Not seen by the last two walks: opened (unless this is the baseline).
      if (!baseline) {
        ++delta.opened;
        delta.entries += Entries(room.view_count);
      }
    } else if (room.view_count < tracked.view_count ||
               room.create_time != tracked.create_time) {
      // A reused RoomId: the old room closed, a new one opened.
      Close(tracked, &delta);
      ++delta.opened;
      delta.entries += Entries(room.view_count);
    } else {
      delta.entries += Entries(room.view_count - tracked.view_count);
    }
    tracked.view_count = room.view_count;
    tracked.create_time = room.create_time;
    tracked.last_seen = walk_end;
    tracked.missed = 0;
    tracked.walk = walk;
  }

  // The rooms this walk missed: closed when the walk before missed them too.
  for (auto it = state.rooms.begin(); it != state.rooms.end();) {
    TrackedRoom& tracked = it->second;
    if (tracked.walk == walk) {
      ++it;
    } else if (tracked.missed == 0) {
      tracked.missed = 1;
      ++it;
    } else {
      Close(tracked, &delta);
      it = state.rooms.erase(it);
    }
  }
  return step;
}

void LifecycleTotals::Add(const LifecycleDelta& delta) {
  opened += delta.opened;
  closed += delta.closed;
  entries += delta.entries;
  for (double lifetime : delta.lifetimes) {
    auto bucket = static_cast<std::size_t>(
        std::lower_bound(kRoomLifetimeBuckets.begin(),
                         kRoomLifetimeBuckets.end(), lifetime) -
        kRoomLifetimeBuckets.begin());
    ++lifetime_buckets[bucket];
    ++lifetime_count;
    lifetime_sum += lifetime;
  }
}

LifecycleTotals RoomLifecycle::Observe(const Snapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mutex_);
  LifecycleStep step =
      CompareWalk(std::move(state_), snapshot.rooms, snapshot.completed_at);
  state_ = std::move(step.state);
  totals_.Add(step.delta);
  return totals_;
}

LifecycleTotals RoomLifecycle::Totals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return totals_;
}

}  // namespace tle
