// Snapshot -> exposition text, rendered once per walk.
//
// A snapshot's series (room-level ones for the top max_room_series rooms,
// aggregates over every room) are rendered when the walk completes, family by
// family, into RenderedSnapshot; the text of several apps is then assembled
// with one HELP/TYPE header per family, as the exposition format requires.
// prometheus-cpp (MetricFamily, TextSerializer) stays inside the .cc files of
// this folder. Pure functions; safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/snapshot/snapshot.h"

namespace tle {

// The families a snapshot contributes, in exposition order.
enum class SnapshotFamily {
  kRoomViews,
  kRoomInfo,
  kRoomActivityStatus,
  kRoomCreated,
  kRooms,
  kViews,
  kCategoryRooms,
  kActivityStatusRooms,
  kRoomSeriesOmitted,
};
inline constexpr int kSnapshotFamilyCount = 9;

struct RenderedSnapshot {
  std::int64_t sdkappid = 0;
  double completed_at = 0;  // copied from the snapshot, for staleness
  std::size_t series = 0;   // number of sample lines, for logs and benchmarks
  std::array<std::string, kSnapshotFamilyCount>
      samples;  // sample lines only, per family
};

// REQUIRES: snapshot.rooms sorted as SortRooms does. max_room_series 0 = all
// rooms.
RenderedSnapshot RenderSnapshot(const Snapshot& snapshot, int max_room_series);

// HELP/TYPE of each family followed by every app's sample lines for it, as
// pieces pointing into `apps` and into static header text (valid while `apps`
// live).
std::vector<std::string_view> AssembleSnapshots(
    const std::vector<const RenderedSnapshot*>& apps);

// Replaces every invalid UTF-8 sequence with U+FFFD, so any label value is
// valid UTF-8.
std::string ValidUtf8(std::string_view text);

}  // namespace tle
