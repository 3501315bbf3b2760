// Snapshot: the complete result of one walk of one app, and the store that
// publishes it.
//
// A Snapshot is immutable once built and shared as std::shared_ptr<const
// Snapshot>: a scrape that holds one keeps it alive, and it is freed as soon as
// the last holder lets go. SnapshotStore is the hand-over point between a
// walker (Publish) and any number of readers (Current); all its methods may be
// called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "exporter/snapshot/room.h"

namespace tle {

struct Snapshot {
  std::int64_t sdkappid = 0;
  std::vector<Room> rooms;  // every room of the walk, once each, ViewCount
                            // descending, then RoomId
  double completed_at = 0;  // Unix seconds when the walk completed
  double walk_seconds = 0;
  int pages = 0;
};

// Sorts rooms the way a snapshot holds them: ViewCount descending, RoomId
// ascending on ties.
void SortRooms(std::vector<Room>* rooms);

class SnapshotStore {
 public:
  SnapshotStore() = default;
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  void Publish(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> Current()
      const;  // null until the first complete walk

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace tle
