#include "exporter/metrics/snapshot_exposition.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include "exporter/common/text.h"
#include "exporter/metrics/internal/family_text.h"

namespace tle {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr std::size_t kBatch = 512;  // rooms per serialized batch

using detail::FamilyInfo;

// Every HELP says where the numbers come from: a background walk, not the
// scrape.
constexpr std::array<FamilyInfo, kSnapshotFamilyCount> kFamilies = {{
    {"tencent_live_room_views",
     "ViewCount (total room entries) of a live room, from the last complete "
     "background walk of get_room_list; top max_room_series rooms only.",
     MetricType::Gauge},
    {"tencent_live_room_info",
     "Descriptive labels of a live room (value 1), from the last complete "
     "background walk; top max_room_series rooms only. categories: the "
     "Category tags joined by ','; category_names: the same tags by their "
     "configured name (the ID where a tag has none).",
     MetricType::Gauge},
    {"tencent_live_room_activity_status",
     "ActivityStatus of a live room, from the last complete background walk; "
     "top max_room_series rooms only.",
     MetricType::Gauge},
    {"tencent_live_room_created_timestamp_seconds",
     "CreateTime of a live room in Unix seconds, from the last complete "
     "background walk; top max_room_series rooms only.",
     MetricType::Gauge},
    {"tencent_live_rooms",
     "Live rooms in the last complete background walk of get_room_list (the "
     "walk runs on its own schedule, not per scrape).",
     MetricType::Gauge},
    {"tencent_live_views",
     "Sum of ViewCount over every room of the last complete background walk. "
     "Not a counter: it drops when rooms close, so rate() of it is wrong; "
     "rate(tencent_live_room_entries_total) gives entries per second.",
     MetricType::Gauge},
    {"tencent_live_category_rooms",
     "Rooms of the last complete background walk carrying a Category tag "
     "(category=\"none\" for rooms without tags).",
     MetricType::Gauge},
    {"tencent_live_activity_status_rooms",
     "Rooms of the last complete background walk per ActivityStatus.",
     MetricType::Gauge},
    {"tencent_live_room_series_omitted",
     "Rooms of the last complete background walk left out of room-level series "
     "by max_room_series.",
     MetricType::Gauge},
    {"tencent_live_rooms_opened_total",
     "Rooms seen that the previous complete walks had not seen, from "
     "comparing complete background walks of get_room_list (the first walk "
     "sets the baseline).",
     MetricType::Counter},
    {"tencent_live_rooms_closed_total",
     "Rooms gone: missed by two complete background walks in a row, from "
     "comparing complete background walks of get_room_list.",
     MetricType::Counter},
    {"tencent_live_room_lifetime_seconds",
     "Lifetime of each closed room: end of the last complete background walk "
     "that saw it minus its CreateTime, from comparing complete background "
     "walks.",
     MetricType::Histogram},
    {"tencent_live_room_entries_total",
     "Room entries across the app: ViewCount growth of rooms seen before plus "
     "the ViewCount of rooms opened since, from comparing complete background "
     "walks; rate() of it is entries per second.",
     MetricType::Counter},
}};
// A row left out would be value-initialized: the last one must be filled in.
static_assert(kFamilies.back().name != nullptr, "a family row is missing");

std::size_t Index(SnapshotFamily family) {
  return static_cast<std::size_t>(family);
}

ClientMetric Gauge(std::vector<ClientMetric::Label> labels, double value) {
  return detail::Sample(std::move(labels), MetricType::Gauge, value);
}

ClientMetric Counter(std::vector<ClientMetric::Label> labels, double value) {
  return detail::Sample(std::move(labels), MetricType::Counter, value);
}

ClientMetric LifetimeHistogram(std::vector<ClientMetric::Label> labels,
                               const LifecycleTotals& totals) {
  return detail::Histogram(std::move(labels), totals.lifetime_count,
                           totals.lifetime_sum, totals.lifetime_buckets,
                           kRoomLifetimeBuckets);
}

// Tags joined by ','; with `names`, each tag that has a name there as its name,
// the others as their ID.
std::string JoinCategories(
    const std::vector<std::int64_t>& categories,
    const std::map<std::int64_t, std::string>* names = nullptr) {
  std::string out;
  for (std::int64_t tag : categories) {
    if (!out.empty()) out.push_back(',');
    const std::string* name = nullptr;
    if (names != nullptr) {
      auto it = names->find(tag);
      if (it != names->end()) name = &it->second;
    }
    out.append(name != nullptr ? *name : std::to_string(tag));
  }
  return out;
}

// Appends `label`="the ID's name" when `names` has one for `id`.
void AddName(const std::map<std::int64_t, std::string>& names, std::int64_t id,
             const char* label, std::vector<ClientMetric::Label>* labels) {
  auto name = names.find(id);
  if (name != names.end()) {
    labels->push_back(detail::MakeLabel(label, ValidUtf8(name->second)));
  }
}

// Serializes `batch` of a family into `out` and clears it.
void Flush(SnapshotFamily family, std::vector<ClientMetric>* batch,
           std::string* out) {
  MetricFamily mf;
  mf.name = kFamilies[Index(family)].name;
  mf.type = kFamilies[Index(family)].type;
  mf.metric = std::move(*batch);
  detail::AppendSamples(mf, out);
  batch->clear();
}

}  // namespace

RenderOptions RenderOptionsFor(const AppConfig& app) {
  RenderOptions options;
  options.max_room_series = app.walk.max_room_series;
  options.category_names = app.walk.category_names;
  options.activity_status_names = app.walk.activity_status_names;
  options.labels = app.labels;
  return options;
}

RenderedSnapshot RenderSnapshot(const Snapshot& snapshot, int max_room_series) {
  RenderOptions options;
  options.max_room_series = max_room_series;
  return RenderSnapshot(snapshot, options);
}

RenderedSnapshot RenderSnapshot(const Snapshot& snapshot,
                                const RenderOptions& options,
                                const LifecycleTotals* lifecycle) {
  RenderedSnapshot out;
  out.sdkappid = snapshot.sdkappid;
  out.completed_at = snapshot.completed_at;
  // sdkappid and the constant labels, which start every series of the app.
  const std::vector<ClientMetric::Label> app_labels =
      detail::AppLabels(std::to_string(snapshot.sdkappid), options.labels);
  auto app_label = [&] {
    return std::vector<ClientMetric::Label>(app_labels);  // a copy per series
  };
  const int max_room_series = options.max_room_series;

  std::size_t room_series = snapshot.rooms.size();
  if (max_room_series > 0) {
    room_series =
        std::min(room_series, static_cast<std::size_t>(max_room_series));
  }

  // The rooms that get room-level series, with their room_id label. Repairing
  // invalid UTF-8 can make two RoomIds equal; only the first (most viewed) of
  // them gets series, so the exposition never holds a duplicate series.
  std::vector<std::pair<const Room*, std::string>> shown;
  shown.reserve(room_series);
  bool repaired = false;
  for (std::size_t i = 0; i < room_series; ++i) {
    const Room& room = snapshot.rooms[i];
    shown.emplace_back(&room, ValidUtf8(room.room_id));
    repaired = repaired || shown.back().second.size() != room.room_id.size() ||
               shown.back().second != room.room_id;
  }
  if (repaired) {
    std::unordered_set<std::string> seen;
    shown.erase(std::remove_if(shown.begin(), shown.end(),
                               [&](const auto& entry) {
                                 return !seen.insert(entry.second).second;
                               }),
                shown.end());
  }

  // Room-level families, in batches.
  constexpr std::array<SnapshotFamily, 4> kRoomFamilies = {
      SnapshotFamily::kRoomViews, SnapshotFamily::kRoomInfo,
      SnapshotFamily::kRoomActivityStatus, SnapshotFamily::kRoomCreated};
  std::vector<ClientMetric> batch;
  batch.reserve(kBatch);
  for (SnapshotFamily family : kRoomFamilies) {
    std::string& text = out.samples[Index(family)];
    std::size_t flushes = 0;
    for (const auto& [room_ptr, room_id] : shown) {
      const Room& room = *room_ptr;
      std::vector<ClientMetric::Label> labels = app_label();
      labels.push_back(detail::MakeLabel("room_id", room_id));
      switch (family) {
        case SnapshotFamily::kRoomViews:
          batch.push_back(
              Gauge(std::move(labels), static_cast<double>(room.view_count)));
          break;
        case SnapshotFamily::kRoomInfo:
          labels.push_back(
              detail::MakeLabel("room_name", ValidUtf8(room.room_name)));
          labels.push_back(detail::MakeLabel("owner_account",
                                             ValidUtf8(room.owner_account)));
          labels.push_back(
              detail::MakeLabel("cover_url", ValidUtf8(room.cover_url)));
          labels.push_back(
              detail::MakeLabel("categories", JoinCategories(room.categories)));
          labels.push_back(detail::MakeLabel(
              "category_names",
              ValidUtf8(
                  JoinCategories(room.categories, &options.category_names))));
          batch.push_back(Gauge(std::move(labels), 1));
          break;
        case SnapshotFamily::kRoomActivityStatus:
          batch.push_back(Gauge(std::move(labels),
                                static_cast<double>(room.activity_status)));
          break;
        default:
          batch.push_back(
              Gauge(std::move(labels), static_cast<double>(room.create_time)));
          break;
      }
      if (batch.size() == kBatch) {
        Flush(family, &batch, &text);
        // Size the family's text from its first batch (plus 10%): letting it
        // double as it grows would, for the largest family, hold up to twice
        // its size and copy it at every step.
        if (++flushes == 1) {
          text.reserve(text.size() / kBatch * shown.size() / 10 * 11);
        }
      }
    }
    if (!batch.empty()) Flush(family, &batch, &text);
    out.series += shown.size();
  }

  // Aggregates over every room.
  double views = 0;
  std::map<std::int64_t, std::size_t> by_category;
  std::size_t no_category = 0;
  std::map<std::int64_t, std::size_t> by_status;
  for (const Room& room : snapshot.rooms) {
    views += static_cast<double>(room.view_count);
    std::set<std::int64_t> tags(room.categories.begin(), room.categories.end());
    if (tags.empty()) ++no_category;
    for (std::int64_t tag : tags) ++by_category[tag];
    ++by_status[room.activity_status];
  }
  auto single = [&](SnapshotFamily family, double value) {
    std::vector<ClientMetric> one = {Gauge(app_label(), value)};
    Flush(family, &one, &out.samples[Index(family)]);
    ++out.series;
  };
  single(SnapshotFamily::kRooms, static_cast<double>(snapshot.rooms.size()));
  single(SnapshotFamily::kViews, views);
  for (const auto& [tag, count] : by_category) {
    std::vector<ClientMetric::Label> labels = app_label();
    labels.push_back(detail::MakeLabel("category", std::to_string(tag)));
    AddName(options.category_names, tag, "category_name", &labels);
    batch.push_back(Gauge(std::move(labels), static_cast<double>(count)));
  }
  if (no_category > 0 || by_category.empty()) {
    std::vector<ClientMetric::Label> labels = app_label();
    labels.push_back(detail::MakeLabel("category", "none"));
    batch.push_back(Gauge(std::move(labels), static_cast<double>(no_category)));
  }
  out.series += batch.size();
  Flush(SnapshotFamily::kCategoryRooms, &batch,
        &out.samples[Index(SnapshotFamily::kCategoryRooms)]);
  for (const auto& [status, count] : by_status) {
    std::vector<ClientMetric::Label> labels = app_label();
    labels.push_back(
        detail::MakeLabel("activity_status", std::to_string(status)));
    AddName(options.activity_status_names, status, "activity_status_name",
            &labels);
    batch.push_back(Gauge(std::move(labels), static_cast<double>(count)));
  }
  out.series += batch.size();
  Flush(SnapshotFamily::kActivityStatusRooms, &batch,
        &out.samples[Index(SnapshotFamily::kActivityStatusRooms)]);
  single(SnapshotFamily::kRoomSeriesOmitted,
         static_cast<double>(snapshot.rooms.size() - shown.size()));

  // The app's room lifecycle totals, counters since the app was configured.
  if (lifecycle != nullptr) {
    auto one = [&](SnapshotFamily family, ClientMetric metric) {
      // A histogram is a line per bucket plus _sum and _count.
      out.series += metric.histogram.bucket.empty()
                        ? 1
                        : metric.histogram.bucket.size() + 2;
      std::vector<ClientMetric> metrics;
      metrics.push_back(std::move(metric));
      Flush(family, &metrics, &out.samples[Index(family)]);
    };
    one(SnapshotFamily::kRoomsOpened,
        Counter(app_label(), static_cast<double>(lifecycle->opened)));
    one(SnapshotFamily::kRoomsClosed,
        Counter(app_label(), static_cast<double>(lifecycle->closed)));
    one(SnapshotFamily::kRoomLifetime,
        LifetimeHistogram(app_label(), *lifecycle));
    one(SnapshotFamily::kRoomEntries,
        Counter(app_label(), static_cast<double>(lifecycle->entries)));
  }
  return out;
}

std::vector<std::string_view> AssembleSnapshots(
    const std::vector<const RenderedSnapshot*>& apps) {
  // Headers are made once per process and never change.
  static const auto kHeaders = detail::Headers(kFamilies);
  return detail::AssemblePerFamily(kHeaders, apps);
}

}  // namespace tle
