#include "exporter/snapshot/snapshot.h"

#include <algorithm>

namespace tle {

void SortRooms(std::vector<Room>* rooms) {
  std::sort(rooms->begin(), rooms->end(), [](const Room& a, const Room& b) {
    if (a.view_count != b.view_count) return a.view_count > b.view_count;
    return a.room_id < b.room_id;
  });
}

void SnapshotStore::Publish(std::shared_ptr<const Snapshot> snapshot) {
  std::shared_ptr<const Snapshot> old;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    old = std::move(current_);
    current_ = std::move(snapshot);
  }
  // `old` is released here, outside the lock.
}

std::shared_ptr<const Snapshot> SnapshotStore::Current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

}  // namespace tle
