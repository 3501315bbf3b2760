// Tests of the top rooms' exposition: the contract's "Top rooms" families
// rendered from a TopRoomsSnapshot, assembled across apps next to the walk's
// text in the exposition cache, and the per-API tencent_live_api_* families
// of the health text. Oracle for the format: promtool.
#include "exporter/metrics/top_rooms_exposition.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "exporter/metrics/exposition_cache.h"
#include "exporter/metrics/health_exposition.h"
#include "tests/support/metrics_text.h"

namespace tle {
namespace {

using testing::ParseSamples;

using testing::JoinPieces;

TopRoomsSnapshot Sample(std::int64_t sdkappid) {
  TopRoomsSnapshot s;
  s.sdkappid = sdkappid;
  s.round_seconds = 1.25;
  s.last_success_timestamp = 1700000000.5;
  s.rooms.push_back(TopRoom{"a", 12, RoomTotals{100, 5, 800, 3, 4000, 250}});
  s.rooms.push_back(TopRoom{"b", 0, std::nullopt});  // stats failed long ago
  s.rooms.push_back(TopRoom{"c", std::nullopt, RoomTotals{1, 2, 3, 4, 5, 6}});
  return s;
}

TEST_CASE("a round renders the contract's families with exact values") {
  RenderedTopRooms r = RenderTopRooms(Sample(7));
  const std::string text = JoinPieces(AssembleTopRooms({&r}));
  auto samples = ParseSamples(text);
  CHECK(samples["tencent_live_room_members{sdkappid=\"7\",room_id=\"a\"}"] ==
        12);
  CHECK(samples["tencent_live_room_members{sdkappid=\"7\",room_id=\"b\"}"] ==
        0);
  CHECK(samples.count(
            "tencent_live_room_members{sdkappid=\"7\",room_id=\"c\"}") == 0);
  CHECK(samples
            ["tencent_live_room_viewers_total{sdkappid=\"7\",room_id=\"a\"}"] ==
        100);
  CHECK(
      samples["tencent_live_room_gifts_total{sdkappid=\"7\",room_id=\"a\"}"] ==
      5);
  CHECK(samples["tencent_live_room_gift_coins_total{sdkappid=\"7\",room_id="
                "\"a\"}"] == 800);
  CHECK(samples["tencent_live_room_gift_senders_total{sdkappid=\"7\",room_id="
                "\"a\"}"] == 3);
  CHECK(
      samples["tencent_live_room_likes_total{sdkappid=\"7\",room_id=\"a\"}"] ==
      4000);
  CHECK(
      samples
          ["tencent_live_room_messages_total{sdkappid=\"7\",room_id=\"a\"}"] ==
      250);
  CHECK(samples.count(
            "tencent_live_room_likes_total{sdkappid=\"7\",room_id=\"b\"}") ==
        0);
  CHECK(
      samples
          ["tencent_live_room_messages_total{sdkappid=\"7\",room_id=\"c\"}"] ==
      6);
  CHECK(samples
            ["tencent_live_top_rooms_round_duration_seconds{sdkappid=\"7\"}"] ==
        1.25);
  CHECK(samples["tencent_live_top_rooms_last_success_timestamp_seconds{"
                "sdkappid=\"7\"}"] == 1700000000.5);
  CHECK(r.series == 2 + 12 + 2);
  CHECK(text.find("# TYPE tencent_live_room_members gauge\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE tencent_live_room_likes_total counter\n") !=
        std::string::npos);
  CHECK(
      text.find("# HELP tencent_live_room_members People in a live room now") !=
      std::string::npos);
  CHECK(text.find("background top-rooms round") != std::string::npos);
}

TEST_CASE(
    "every series carries the app's constant labels right after sdkappid") {
  RenderedTopRooms r =
      RenderTopRooms(Sample(7), {{"env", "prod"}, {"team", "live"}});
  const std::string text = JoinPieces(AssembleTopRooms({&r}));
  auto samples = ParseSamples(text);
  CHECK(samples["tencent_live_room_members{sdkappid=\"7\",env=\"prod\",team="
                "\"live\","
                "room_id=\"a\"}"] == 12);
  CHECK(samples["tencent_live_top_rooms_round_duration_seconds{sdkappid=\"7\","
                "env=\"prod\","
                "team=\"live\"}"] == 1.25);
  for (const auto& [series, value] : samples) {
    INFO(series);
    CHECK(series.find("{sdkappid=\"7\",env=\"prod\",team=\"live\"") !=
          std::string::npos);
  }
}

TEST_CASE("before a round completes there is no last-success series") {
  TopRoomsSnapshot s;
  s.sdkappid = 7;
  s.round_seconds = 3;
  RenderedTopRooms r = RenderTopRooms(s);
  const std::string text = JoinPieces(AssembleTopRooms({&r}));
  CHECK(text.find("tencent_live_top_rooms_last_success_timestamp_seconds") ==
        std::string::npos);
  CHECK(
      text.find(
          "tencent_live_top_rooms_round_duration_seconds{sdkappid=\"7\"} 3") !=
      std::string::npos);
  CHECK(text.find("tencent_live_room_members") == std::string::npos);
}

TEST_CASE("RoomIds are made valid UTF-8, without duplicate series") {
  TopRoomsSnapshot s;
  s.sdkappid = 1;
  s.rooms.push_back(TopRoom{"x\xff", 1, std::nullopt});
  s.rooms.push_back(
      TopRoom{"x\xfe", 2, std::nullopt});  // repairs to the same id
  RenderedTopRooms r = RenderTopRooms(s);
  auto samples = ParseSamples(JoinPieces(AssembleTopRooms({&r})));
  CHECK(samples["tencent_live_room_members{sdkappid=\"1\",room_id="
                "\"x\xEF\xBF\xBD\"}"] == 1);
  int n = 0;
  testing::SumOf(samples, "tencent_live_room_members", "", &n);
  CHECK(n == 1);
}

TEST_CASE(
    "two apps share one header per family, and promtool accepts the text") {
  RenderedTopRooms a = RenderTopRooms(Sample(1));
  RenderedTopRooms b = RenderTopRooms(Sample(2));
  const std::string text = JoinPieces(AssembleTopRooms({&a, &b}));
  std::size_t headers = 0;
  for (std::size_t at = text.find("# TYPE tencent_live_room_members ");
       at != std::string::npos;
       at = text.find("# TYPE tencent_live_room_members ", at + 1)) {
    ++headers;
  }
  CHECK(headers == 1);
  std::string output;
  const int status = testing::PromtoolCheckMetrics(text, &output);
  INFO(output);
  REQUIRE(status != -1);  // promtool: scripts/install-deps.sh test
  CHECK(status == 0);
}

TEST_CASE(
    "the cache serves the round next to the walk, and forgets it with the "
    "app") {
  ExpositionCache cache;
  auto walk = std::make_shared<RenderedSnapshot>();
  walk->sdkappid = 1;
  walk->completed_at = 1000;
  walk->samples[static_cast<std::size_t>(SnapshotFamily::kRooms)] =
      "tencent_live_rooms{sdkappid=\"1\"} 3\n";
  cache.Update(walk, 300);
  cache.UpdateTopRooms(
      std::make_shared<RenderedTopRooms>(RenderTopRooms(Sample(1))));
  std::string text = cache.Build(1001, "", false).Join();
  CHECK(text.find("tencent_live_rooms{sdkappid=\"1\"} 3") != std::string::npos);
  CHECK(
      text.find("tencent_live_room_members{sdkappid=\"1\",room_id=\"a\"} 12") !=
      std::string::npos);
  // The walk going stale does not take the round with it.
  text = cache.Build(2000, "", false).Join();
  CHECK(text.find("tencent_live_rooms{") == std::string::npos);
  CHECK(text.find("tencent_live_room_members{") != std::string::npos);
  cache.RemoveTopRooms(1);
  CHECK(cache.Build(1001, "", false).Join().find("tencent_live_room_members") ==
        std::string::npos);
  cache.UpdateTopRooms(
      std::make_shared<RenderedTopRooms>(RenderTopRooms(Sample(1))));
  cache.Remove(1);
  CHECK(cache.Build(1001, "", false).Join().empty());
}

TEST_CASE("health text carries the api families per API the app uses") {
  AppHealth app;
  app.sdkappid = 7;
  ApiStatsView& stats = app.stats.api(Api::kGetRoomStats);
  stats.used = true;
  stats.requests = 9;
  stats.errors_by_code["100004"] = 2;
  stats.failed = 2;
  stats.retries = 1;
  stats.duration_buckets[3] = 9;
  stats.duration_count = 9;
  stats.duration_sum = 0.36;
  const std::string text = RenderHealth({app}, ReloadStatus{}, std::nullopt);
  auto samples = ParseSamples(text);
  CHECK(samples["tencent_live_api_requests_total{sdkappid=\"7\",api=\"get_room_"
                "stats\"}"] == 9);
  CHECK(samples["tencent_live_api_requests_total{sdkappid=\"7\",api=\"get_room_"
                "list\"}"] == 0);
  CHECK(samples["tencent_live_api_errors_total{sdkappid=\"7\",api=\"get_room_"
                "stats\",code="
                "\"100004\"}"] == 2);
  CHECK(samples["tencent_live_api_failed_requests_total{sdkappid=\"7\",api="
                "\"get_room_stats\"}"] == 2);
  CHECK(samples["tencent_live_api_failed_requests_total{sdkappid=\"7\",api="
                "\"get_room_list\"}"] == 0);
  CHECK(samples["tencent_live_api_retries_total{sdkappid=\"7\",api=\"get_room_"
                "stats\"}"] == 1);
  CHECK(samples["tencent_live_api_request_duration_seconds_count{sdkappid="
                "\"7\",api=\"get_room_"
                "stats\"}"] == 9);
  CHECK(samples["tencent_live_api_request_duration_seconds_bucket{sdkappid="
                "\"7\",api=\"get_room_"
                "stats\",le=\"0.05\"}"] == 9);
  CHECK(text.find("api=\"get_member_list\"") == std::string::npos);  // not used
  std::string output;
  const int status = testing::PromtoolCheckMetrics(text, &output);
  INFO(output);
  REQUIRE(status != -1);
  CHECK(status == 0);
}

}  // namespace
}  // namespace tle
