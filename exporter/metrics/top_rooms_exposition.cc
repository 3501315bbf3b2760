#include "exporter/metrics/top_rooms_exposition.h"

#include <unordered_set>
#include <utility>

#include "exporter/metrics/internal/family_text.h"
#include "exporter/metrics/snapshot_exposition.h"

namespace tle {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

using detail::FamilyInfo;

// Every HELP says where the numbers come from: background rounds, not the
// scrape.
constexpr std::array<FamilyInfo, kTopRoomsFamilyCount> kFamilies = {{
    {"tencent_live_room_members",
     "People in a live room now (get_member_list MemberCount, refreshed by the "
     "vendor about every 40 s), from the last background top-rooms round; top "
     "top_rooms.count rooms only.",
     MetricType::Gauge},
    {"tencent_live_room_viewers_total",
     "TotalViewers of a live room over its life (get_room_stats), from the "
     "last background top-rooms round; top top_rooms.count rooms only.",
     MetricType::Counter},
    {"tencent_live_room_gifts_total",
     "TotalGiftsSent to a live room over its life (get_room_stats), from the "
     "last background top-rooms round; top top_rooms.count rooms only.",
     MetricType::Counter},
    {"tencent_live_room_gift_coins_total",
     "TotalGiftCoins (value of the gifts) received by a live room over its "
     "life (get_room_stats), from the last background top-rooms round; top "
     "top_rooms.count rooms only.",
     MetricType::Counter},
    {"tencent_live_room_gift_senders_total",
     "TotalUniqueGiftSenders of a live room over its life (get_room_stats), "
     "from the last background top-rooms round; top top_rooms.count rooms "
     "only.",
     MetricType::Counter},
    {"tencent_live_room_likes_total",
     "TotalLikesReceived by a live room over its life (get_room_stats), from "
     "the last background top-rooms round; top top_rooms.count rooms only.",
     MetricType::Counter},
    {"tencent_live_room_messages_total",
     "TotalMsgCount of a live room over its life (get_room_stats), from the "
     "last background top-rooms round; top top_rooms.count rooms only.",
     MetricType::Counter},
    {"tencent_live_top_rooms_round_duration_seconds",
     "Duration of the last background top-rooms round (completed or not).",
     MetricType::Gauge},
    {"tencent_live_top_rooms_last_success_timestamp_seconds",
     "Unix time at which the last complete background top-rooms round ended.",
     MetricType::Gauge},
}};
// A row left out would be value-initialized: the last one must be filled in.
static_assert(kFamilies.back().name != nullptr, "a family row is missing");

enum Family : std::size_t {
  kMembers,
  kViewers,
  kGifts,
  kGiftCoins,
  kGiftSenders,
  kLikes,
  kMessages,
  kRoundDuration,
  kLastSuccess,
};

}  // namespace

RenderedTopRooms RenderTopRooms(
    const TopRoomsSnapshot& snapshot,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  RenderedTopRooms out;
  out.sdkappid = snapshot.sdkappid;
  const std::vector<ClientMetric::Label> app_labels =
      detail::AppLabels(std::to_string(snapshot.sdkappid), labels);
  std::array<MetricFamily, kTopRoomsFamilyCount> families;
  for (std::size_t f = 0; f < kFamilies.size(); ++f) {
    families[f].name = kFamilies[f].name;
    families[f].type = kFamilies[f].type;
  }
  auto add = [&](std::size_t family, std::vector<ClientMetric::Label> series,
                 double value) {
    families[family].metric.push_back(
        detail::Sample(std::move(series), kFamilies[family].type, value));
  };
  std::unordered_set<std::string> seen;
  for (const TopRoom& room : snapshot.rooms) {
    std::string room_id = ValidUtf8(room.room_id);
    if (!seen.insert(room_id).second) continue;
    auto room_labels = [&] {
      std::vector<ClientMetric::Label> series = app_labels;
      series.push_back(detail::MakeLabel("room_id", room_id));
      return series;
    };
    if (room.members) {
      add(kMembers, room_labels(), static_cast<double>(*room.members));
    }
    if (room.totals) {
      const RoomTotals& t = *room.totals;
      add(kViewers, room_labels(), static_cast<double>(t.viewers));
      add(kGifts, room_labels(), static_cast<double>(t.gifts));
      add(kGiftCoins, room_labels(), static_cast<double>(t.gift_coins));
      add(kGiftSenders, room_labels(), static_cast<double>(t.gift_senders));
      add(kLikes, room_labels(), static_cast<double>(t.likes));
      add(kMessages, room_labels(), static_cast<double>(t.messages));
    }
  }
  add(kRoundDuration, app_labels, snapshot.round_seconds);
  if (snapshot.last_success_timestamp > 0) {
    add(kLastSuccess, app_labels, snapshot.last_success_timestamp);
  }
  for (std::size_t f = 0; f < families.size(); ++f) {
    out.series += families[f].metric.size();
    detail::AppendSamples(families[f], &out.samples[f]);
  }
  return out;
}

std::vector<std::string_view> AssembleTopRooms(
    const std::vector<const RenderedTopRooms*>& apps) {
  // Headers are made once per process and never change.
  static const auto kHeaders = detail::Headers(kFamilies);
  return detail::AssemblePerFamily(kHeaders, apps);
}

}  // namespace tle
