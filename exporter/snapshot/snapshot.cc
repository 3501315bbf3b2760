#include "exporter/snapshot/snapshot.h"

#include <algorithm>

namespace tle {

void SortRooms(std::vector<Room>* rooms) {
  std::sort(rooms->begin(), rooms->end(), [](const Room& a, const Room& b) {
    if (a.view_count != b.view_count) return a.view_count > b.view_count;
    return a.room_id < b.room_id;
  });
}

}  // namespace tle
