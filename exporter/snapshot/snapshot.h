// Snapshot: the complete result of one walk of one app.
//
// A Snapshot is immutable once built and handed to the walker's publisher as
// std::shared_ptr<const Snapshot>, which renders it and lets it go: scrapes
// are served from the rendered text, never from the rooms. Plain value type;
// safe to read from any thread.
#pragma once

#include <cstdint>
#include <memory>
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

}  // namespace tle
