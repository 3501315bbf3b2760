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
  LifecycleDelta& delta = step.delta;
  LifecycleState& next = step.state;
  next.baseline = true;
  next.rooms.reserve(rooms.size() + previous.rooms.size() / 8);

  for (const Room& room : rooms) {
    auto [it, fresh] = next.rooms.try_emplace(room.room_id);
    if (!fresh) continue;  // a repeated RoomId: its first occurrence counts
    TrackedRoom& tracked = it->second;
    tracked.view_count = room.view_count;
    tracked.create_time = room.create_time;
    tracked.last_seen = walk_end;
    auto old = previous.rooms.find(room.room_id);
    if (old == previous.rooms.end()) {
      // Not seen by the last two walks: opened (unless this is the baseline).
      if (previous.baseline) {
        ++delta.opened;
        delta.entries += Entries(room.view_count);
      }
      continue;
    }
    const TrackedRoom& before = old->second;
    if (room.view_count < before.view_count ||
        room.create_time != before.create_time) {
      // A reused RoomId: the old room closed, a new one opened.
      Close(before, &delta);
      ++delta.opened;
      delta.entries += Entries(room.view_count);
    } else {
      delta.entries += Entries(room.view_count - before.view_count);
    }
    previous.rooms.erase(old);
  }

  // What is left was missed by this walk.
  for (auto& [room_id, tracked] : previous.rooms) {
    if (tracked.missed == 0) {
      tracked.missed = 1;
      next.rooms.emplace(room_id, tracked);
    } else {
      Close(tracked, &delta);
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
