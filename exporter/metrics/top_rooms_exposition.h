// TopRoomsSnapshot -> exposition text, rendered once per top-rooms round.
//
// The contract's "Top rooms" families: tencent_live_room_members, the six
// tencent_live_room_*_total counters, and the round's duration and last
// success. Like snapshot_exposition.h, an app's sample lines are rendered
// per family when its round publishes, and several apps' are assembled under
// one HELP/TYPE header per family. prometheus-cpp stays inside the .cc files
// of this folder. Pure functions; safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/snapshot/top_rooms_snapshot.h"

namespace tle {

inline constexpr int kTopRoomsFamilyCount = 9;

struct RenderedTopRooms {
  std::int64_t sdkappid = 0;
  std::size_t series = 0;  // number of sample lines
  std::array<std::string, kTopRoomsFamilyCount>
      samples;  // sample lines only, per family
};

// Every series starts with sdkappid and the app's constant labels
// (AppConfig::labels), like the walk's. Room ids are made valid UTF-8 as for
// the walk's series; a repaired id that equals another keeps only the first
// (most viewed) room.
RenderedTopRooms RenderTopRooms(
    const TopRoomsSnapshot& snapshot,
    const std::vector<std::pair<std::string, std::string>>& labels = {});

// HELP/TYPE of each family followed by every app's sample lines for it, as
// pieces pointing into `apps` and into static header text (valid while `apps`
// live).
std::vector<std::string_view> AssembleTopRooms(
    const std::vector<const RenderedTopRooms*>& apps);

}  // namespace tle
