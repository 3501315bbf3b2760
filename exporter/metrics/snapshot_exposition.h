// Snapshot -> exposition text, rendered once per walk.
//
// A snapshot's series (room-level ones for the top max_room_series rooms,
// aggregates over every room, and the app's room lifecycle counters) are
// rendered when the walk completes, family by family, into RenderedSnapshot;
// the text of several apps is then assembled with one HELP/TYPE header per
// family, as the exposition format requires. Every series starts with the
// app's labels: sdkappid, then the app's constant labels (`labels:`); IDs that
// the app's category_names / activity_status_names map gain a name label.
// prometheus-cpp (MetricFamily, TextSerializer) stays inside the .cc files of
// this folder. Pure functions; safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// ValidUtf8 moved to common/text.h; included here for the callers that still
// reach it through this header (top_rooms_exposition.cc).
#include "exporter/common/enum_labels.h"
#include "exporter/common/text.h"
#include "exporter/config/config.h"
#include "exporter/snapshot/lifecycle.h"
#include "exporter/snapshot/snapshot.h"

namespace tle {

// The families a snapshot contributes, in exposition order. A new family is a
// new enumerator (moving kMaxValue) and a new row of the .cc's family table,
// whose size is kSnapshotFamilyCount.
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
  kRoomsOpened,
  kRoomsClosed,
  kRoomLifetime,
  kRoomEntries,
  kMaxValue = kRoomEntries
};
inline constexpr int kSnapshotFamilyCount =
    static_cast<int>(kEnumSize<SnapshotFamily>);

// How one app's snapshot is rendered: from its config (RenderOptionsFor).
struct RenderOptions {
  int max_room_series = 0;  // 0 = all rooms
  std::map<std::int64_t, std::string> category_names;
  std::map<std::int64_t, std::string> activity_status_names;
  // Constant labels, added right after sdkappid on every series of the app.
  // Names are checked by the config (valid, no clash with the exporter's own).
  std::vector<std::pair<std::string, std::string>> labels;
};
RenderOptions RenderOptionsFor(const AppConfig& app);

struct RenderedSnapshot {
  std::int64_t sdkappid = 0;
  double completed_at = 0;  // copied from the snapshot, for staleness
  std::size_t series = 0;   // number of sample lines, for logs and benchmarks
  std::array<std::string, kSnapshotFamilyCount>
      samples;  // sample lines only, per family
};

// REQUIRES: snapshot.rooms sorted as SortRooms does. `lifecycle`: the app's
// totals after this walk (RoomLifecycle::Observe); null renders no lifecycle
// families.
RenderedSnapshot RenderSnapshot(const Snapshot& snapshot,
                                const RenderOptions& options,
                                const LifecycleTotals* lifecycle = nullptr);
// Without names, constant labels or lifecycle (benchmarks, tests).
RenderedSnapshot RenderSnapshot(const Snapshot& snapshot, int max_room_series);

// HELP/TYPE of each family followed by every app's sample lines for it, as
// pieces pointing into `apps` and into static header text (valid while `apps`
// live).
std::vector<std::string_view> AssembleSnapshots(
    const std::vector<const RenderedSnapshot*>& apps);

}  // namespace tle
