// Snapshot -> exposition text (a golden file), UTF-8 repair, gzip assembly and
// staleness.
#include <stdlib.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <clocale>
#include <cstdlib>
#include <fstream>
#include <locale>
#include <random>
#include <sstream>

#include "exporter/metrics/exposition_cache.h"
#include "exporter/metrics/gzip.h"
#include "exporter/metrics/health_exposition.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "tests/support/metrics_text.h"

namespace tle {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Snapshot SampleSnapshot() {
  Snapshot s;
  s.sdkappid = 1400000000;
  s.completed_at = 1700000000;
  s.pages = 1;
  Room a;
  a.room_id = "room_a";
  a.room_name = "Say \"hi\" \\ back\nnow";
  a.owner_account = "bren";
  a.cover_url = "https://example.com/a.png";
  a.categories = {1, 2, 3};
  a.create_time = 1693271354;
  a.activity_status = 1;
  a.view_count = 9007199254740993;  // above 2^53 is refused by the decoder;
                                    // here it is just big
  a.view_count = 1000;
  Room b;
  b.room_id = "room_b";
  b.room_name = "bad \xff\xfe utf8 \xe4\xb8";
  b.owner_account = "12345";
  b.categories = {2, 2};
  b.create_time = 1693271355;
  b.activity_status = 0;
  b.view_count = 900;
  Room c;
  c.room_id = "room_c";
  c.room_name =
      "\xe7\x9b\xb4\xe6\x92\xad \xf0\x9f\x8e\xa4";  // CJK and an emoji, valid
  c.create_time = 1693271356;
  c.activity_status = 2;
  c.view_count = 5;
  s.rooms = {a, b, c};
  SortRooms(&s.rooms);
  return s;
}

std::string Inflate(const std::string& gz) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  CHECK(
      rc ==
      Z_STREAM_END);  // a complete gzip member, CRC and length checked by zlib
  CHECK(zs.avail_in == 0);  // and nothing after it
  inflateEnd(&zs);
  return out;
}

std::string RenderSample(int max_room_series) {
  RenderedSnapshot r = RenderSnapshot(SampleSnapshot(), max_room_series);
  return testing::JoinPieces(AssembleSnapshots({&r}));
}

// Compares `text` with tests/fixtures/golden/NAME (TLE_UPDATE_GOLDEN=1
// rewrites it).
void CheckGolden(const std::string& text, const std::string& name) {
  std::string golden_path = std::string(TLE_FIXTURES_DIR) + "/golden/" + name;
  if (std::getenv("TLE_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << text;
  }
  CHECK(text == ReadFile(golden_path));
}

TEST_CASE("a snapshot renders to the golden exposition") {
  CheckGolden(RenderSample(2), "snapshot.prom");
}

// Names for some IDs (1, 3 and status 1; tag 2 and statuses 0, 2 unmapped),
// constant labels, and lifecycle totals.
RenderOptions NamedOptions() {
  RenderOptions options;
  options.max_room_series = 2;
  options.category_names = {{1, "music"}, {3, "gaming \xff"}, {9, "unused"}};
  options.activity_status_names = {{1, "live"}, {7, "unused"}};
  options.labels = {{"env", "prod"}, {"team", "live \"a\""}};
  return options;
}

LifecycleTotals SampleTotals() {
  LifecycleDelta delta;
  delta.opened = 4;
  delta.closed = 3;
  delta.entries = 1234;
  delta.lifetimes = {45, 4000, 100000};
  LifecycleTotals totals;
  totals.Add(delta);
  return totals;
}

std::string RenderNamed() {
  LifecycleTotals totals = SampleTotals();
  RenderedSnapshot r =
      RenderSnapshot(SampleSnapshot(), NamedOptions(), &totals);
  return testing::JoinPieces(AssembleSnapshots({&r}));
}

TEST_CASE("names, constant labels and lifecycle render to the golden file") {
  CheckGolden(RenderNamed(), "snapshot_named.prom");
}

TEST_CASE("name labels appear exactly where a mapped ID is a label") {
  auto samples = testing::ParseSamples(RenderNamed());
  const std::string app =
      "sdkappid=\"1400000000\",env=\"prod\",team=\"live \\\"a\\\"\"";
  // Mapped tags carry category_name; the unmapped tag and "none" do not.
  CHECK(samples.count("tencent_live_category_rooms{" + app +
                      ",category=\"1\",category_name=\"music\"}") == 1);
  CHECK(samples.count(
            "tencent_live_category_rooms{" + app +
            ",category=\"3\",category_name=\"gaming \xef\xbf\xbd\"}") == 1);
  CHECK(samples.count("tencent_live_category_rooms{" + app +
                      ",category=\"2\"}") == 1);
  CHECK(samples.count("tencent_live_category_rooms{" + app +
                      ",category=\"none\"}") == 1);
  CHECK(samples.count(
            "tencent_live_activity_status_rooms{" + app +
            ",activity_status=\"1\",activity_status_name=\"live\"}") == 1);
  CHECK(samples.count("tencent_live_activity_status_rooms{" + app +
                      ",activity_status=\"0\"}") == 1);
  // Names of IDs no room has make no series.
  std::string text = RenderNamed();
  CHECK(text.find("unused") == std::string::npos);
  // activity_status_name only where the status is a label, never on the
  // room-level status gauge (its value is the status).
  int with_name = 0;
  testing::SumOf(samples, "tencent_live_room_activity_status",
                 "activity_status_name", &with_name);
  CHECK(with_name == 0);
  // room_info keeps categories and gains category_names (IDs where unnamed).
  CHECK(text.find(",categories=\"1,2,3\",category_names=\"music,2,gaming "
                  "\xef\xbf\xbd\"}") != std::string::npos);
  CHECK(text.find(",categories=\"2,2\",category_names=\"2,2\"}") !=
        std::string::npos);
}

TEST_CASE(
    "constant labels are on every series of the app, right after sdkappid") {
  std::string text = RenderNamed();
  auto samples = testing::ParseSamples(text);
  REQUIRE(samples.size() > 20);
  for (const auto& [series, value] : samples) {
    INFO(series);
    CHECK(series.find("{sdkappid=\"1400000000\",env=\"prod\",team=\"live "
                      "\\\"a\\\"\"") != std::string::npos);
  }
  // Without constant labels nothing is added.
  for (const auto& [series, value] : testing::ParseSamples(RenderSample(0))) {
    INFO(series);
    CHECK(series.find("env=") == std::string::npos);
  }
}

TEST_CASE("lifecycle families: counters and a lifetime histogram") {
  std::string text = RenderNamed();
  CHECK(text.find("# TYPE tencent_live_rooms_opened_total counter\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE tencent_live_room_lifetime_seconds histogram\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE tencent_live_room_entries_total counter\n") !=
        std::string::npos);
  auto samples = testing::ParseSamples(text);
  const std::string app =
      "sdkappid=\"1400000000\",env=\"prod\",team=\"live \\\"a\\\"\"";
  CHECK(samples["tencent_live_rooms_opened_total{" + app + "}"] == 4);
  CHECK(samples["tencent_live_rooms_closed_total{" + app + "}"] == 3);
  CHECK(samples["tencent_live_room_entries_total{" + app + "}"] == 1234);
  CHECK(samples["tencent_live_room_lifetime_seconds_bucket{" + app +
                ",le=\"60\"}"] == 1);
  CHECK(samples["tencent_live_room_lifetime_seconds_bucket{" + app +
                ",le=\"3600\"}"] == 1);
  CHECK(samples["tencent_live_room_lifetime_seconds_bucket{" + app +
                ",le=\"7200\"}"] == 2);
  CHECK(samples["tencent_live_room_lifetime_seconds_bucket{" + app +
                ",le=\"86400\"}"] == 2);
  CHECK(samples["tencent_live_room_lifetime_seconds_bucket{" + app +
                ",le=\"+Inf\"}"] == 3);
  CHECK(samples["tencent_live_room_lifetime_seconds_count{" + app + "}"] == 3);
  CHECK(samples["tencent_live_room_lifetime_seconds_sum{" + app + "}"] ==
        104045);
  // Without totals (a caller with no lifecycle) the families are absent.
  CHECK(RenderSample(0).find("tencent_live_rooms_opened_total") ==
        std::string::npos);
  // HELP says where they come from; tencent_live_views says it is no counter.
  CHECK(text.find("# HELP tencent_live_rooms_closed_total Rooms gone: missed "
                  "by two complete background walks in a row, from comparing "
                  "complete background walks") != std::string::npos);
  CHECK(text.find("# HELP tencent_live_views Sum of ViewCount over every room "
                  "of the last complete background walk. Not a counter") !=
        std::string::npos);
  CHECK(text.find(
            "rate(tencent_live_room_entries_total) gives entries per second") !=
        std::string::npos);
}

TEST_CASE("health series of an app carry its constant labels, the rest none") {
  AppHealth a;
  a.sdkappid = 7;
  a.labels = {{"env", "prod"}, {"team", "live"}};
  a.stats.api(Api::kGetRoomList).errors_by_code["70003"] = 2;
  AppHealth b;
  b.sdkappid = 8;
  std::string text = RenderHealth({a, b}, ReloadStatus{}, ReadProcessSample());
  CHECK(text.find("tencent_live_api_errors_total{sdkappid=\"7\",env=\"prod\","
                  "team=\"live\",api=\"get_room_list\",code=\"70003\"} 2") !=
        std::string::npos);
  int apps = 0;
  for (const auto& [series, value] : testing::ParseSamples(text)) {
    INFO(series);
    if (series.find("sdkappid=\"7\"") != std::string::npos) {
      ++apps;
      CHECK(series.find("{sdkappid=\"7\",env=\"prod\",team=\"live\"") !=
            std::string::npos);
    } else {
      // The other app, build info, reload and process_* have none.
      CHECK(series.find("env=") == std::string::npos);
    }
  }
  CHECK(apps > 20);
  CHECK(text.find("tencent_live_exporter_build_info{version=") !=
        std::string::npos);
  CHECK(text.find("tencent_live_up{sdkappid=\"8\"} 0") != std::string::npos);
  std::string output;
  int rc = testing::PromtoolCheckMetrics(text + RenderNamed(), &output);
  REQUIRE(rc != -1);  // promtool: Debian package prometheus (test-packages.txt)
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.empty());
}

// Switches the process to a comma-decimal locale; when none is installed,
// builds de_DE.UTF-8 with localedef (from the `locales` package's sources) into
// a temporary LOCPATH.
bool SwitchToCommaLocale() {
  auto try_names = [] {
    for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"}) {
      try {
        std::locale::global(std::locale(name));
        std::setlocale(LC_ALL, name);
        return true;
      } catch (const std::runtime_error&) {
      }
    }
    return false;
  };
  if (try_names()) return true;
  char dir[] = "/tmp/tle_locale_XXXXXX";
  if (mkdtemp(dir) == nullptr) return false;
  std::string command = std::string("localedef -i de_DE -f UTF-8 ") + dir +
                        "/de_DE.UTF-8 >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return false;
  setenv("LOCPATH", dir, 1);
  return try_names();
}

TEST_CASE("rendering does not depend on the locale") {
  std::string before = RenderSample(0);
  AppHealth app;
  app.sdkappid = 7;
  app.interval_seconds = 1.5;
  app.stats.last_walk_seconds = 1234.25;
  std::string health_before = RenderHealth({app}, ReloadStatus{}, std::nullopt);
  // The install script provides the locales package; without a comma-decimal
  // locale the check fails.
  if (!SwitchToCommaLocale())
    FAIL("no comma-decimal locale (Debian package locales)");
  std::ostringstream probe;
  probe << 1.5;
  CHECK(probe.str() == "1,5");  // the locale really is in force
  std::string after = RenderSample(0);
  std::string health_after = RenderHealth({app}, ReloadStatus{}, std::nullopt);
  std::locale::global(std::locale::classic());
  std::setlocale(LC_ALL, "C");
  CHECK(after == before);
  CHECK(health_after == health_before);
  CHECK(health_before.find(
            "tencent_live_walk_duration_seconds{sdkappid=\"7\"} 1234.25") !=
        std::string::npos);
}

TEST_CASE("max_room_series keeps the top rooms and counts the rest") {
  std::string all = RenderSample(0);
  CHECK(all.find("room_id=\"room_c\"") != std::string::npos);
  CHECK(
      all.find("tencent_live_room_series_omitted{sdkappid=\"1400000000\"} 0") !=
      std::string::npos);
  std::string top1 = RenderSample(1);
  CHECK(top1.find("room_id=\"room_b\"") == std::string::npos);
  CHECK(top1.find(
            "tencent_live_room_series_omitted{sdkappid=\"1400000000\"} 2") !=
        std::string::npos);
  // Aggregates always cover every room.
  CHECK(top1.find("tencent_live_rooms{sdkappid=\"1400000000\"} 3") !=
        std::string::npos);
  CHECK(top1.find("tencent_live_views{sdkappid=\"1400000000\"} 1905") !=
        std::string::npos);
  CHECK(top1.find("tencent_live_category_rooms{sdkappid=\"1400000000\","
                  "category=\"2\"} 2") != std::string::npos);
  CHECK(top1.find("tencent_live_category_rooms{sdkappid=\"1400000000\","
                  "category=\"none\"} 1") != std::string::npos);
}

TEST_CASE(
    "gzip of shared snapshot bytes plus per-scrape text is one valid member") {
  ExpositionCache cache;
  auto rendered = std::make_shared<const RenderedSnapshot>(
      RenderSnapshot(SampleSnapshot(), 0));
  cache.Update(rendered, 300);
  std::string health = "# HELP x y\n# TYPE x gauge\nx 1\n";
  ScrapeBody plain = cache.Build(1700000001, health, false);
  ScrapeBody gz = cache.Build(1700000001, health, true);
  CHECK(plain.Join() == RenderSample(0) + health);
  CHECK(Inflate(gz.Join()) == plain.Join());
  // Both scrapes share the same static bytes.
  CHECK(plain.shared == gz.shared);
  CHECK(Inflate(Gzip("hello")) == "hello");
}

TEST_CASE("deflate output grows past its first guess and stays one member") {
  // Incompressible bytes: the output outgrows the initial (input / 8) buffer
  // several times over, in pieces and across the full flush.
  std::mt19937 rng(7);
  std::string noise(300000, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
  std::vector<std::string_view> pieces = {
      std::string_view(noise).substr(0, 1000), std::string_view(),
      std::string_view(noise).substr(1000)};
  DeflatedPart first = Deflate(pieces, false);
  DeflatedPart second = Deflate(std::string_view("tail\n"), true);
  CHECK(first.data.size() > noise.size() / 8 + 4096);
  std::string member =
      GzipHeader() + first.data + second.data + GzipTrailer(first, second);
  CHECK(Inflate(member) == noise + "tail\n");
  CHECK(Inflate(Gzip("")).empty());
}

TEST_CASE("a stale snapshot leaves the body; a fresh one comes back") {
  ExpositionCache cache;
  auto rendered = std::make_shared<const RenderedSnapshot>(
      RenderSnapshot(SampleSnapshot(), 0));
  cache.Update(rendered, 300);
  CHECK(cache.Build(1700000299, "", false).Join().find("tencent_live_rooms{") !=
        std::string::npos);
  CHECK(cache.Build(1700000300, "", false).Join().empty());
  ScrapeBody gz = cache.Build(1700000301, "x 1\n", true);
  CHECK(Inflate(gz.Join()) == "x 1\n");
  Snapshot fresh = SampleSnapshot();
  fresh.completed_at = 1700000400;
  cache.Update(
      std::make_shared<const RenderedSnapshot>(RenderSnapshot(fresh, 0)), 300);
  CHECK(cache.Build(1700000401, "", false).Join().find("tencent_live_rooms{") !=
        std::string::npos);
}

TEST_CASE("two apps share one HELP/TYPE header per family") {
  Snapshot a = SampleSnapshot();
  Snapshot b = SampleSnapshot();
  b.sdkappid = 1400000001;
  RenderedSnapshot ra = RenderSnapshot(a, 0);
  RenderedSnapshot rb = RenderSnapshot(b, 0);
  const std::string text = testing::JoinPieces(AssembleSnapshots({&ra, &rb}));
  std::size_t count = 0;
  for (std::size_t pos = text.find("# TYPE tencent_live_rooms gauge");
       pos != std::string::npos;
       pos = text.find("# TYPE tencent_live_rooms gauge", pos + 1)) {
    ++count;
  }
  CHECK(count == 1);
  CHECK(text.find("tencent_live_rooms{sdkappid=\"1400000001\"} 3") !=
        std::string::npos);
}

TEST_CASE("health text carries every app's counters and the build info") {
  AppHealth app;
  app.sdkappid = 7;
  app.interval_seconds = 60;
  app.stats.up = true;
  app.stats.walks = 3;
  ApiStatsView& room_list = app.stats.api(Api::kGetRoomList);
  room_list.errors_by_code["70003"] = 2;
  room_list.failed = 2;
  room_list.duration_buckets[0] = 4;
  room_list.duration_count = 4;
  std::string text = RenderHealth({app}, ReloadStatus{}, ReadProcessSample());
  CHECK(text.find("tencent_live_up{sdkappid=\"7\"} 1") != std::string::npos);
  CHECK(text.find("tencent_live_walks_total{sdkappid=\"7\"} 3") !=
        std::string::npos);
  CHECK(text.find("tencent_live_api_errors_total{sdkappid=\"7\",api=\"get_room_"
                  "list\",code=\"70003\"} 2") != std::string::npos);
  CHECK(text.find("tencent_live_walk_failures_total{sdkappid=\"7\",reason="
                  "\"cursor_loop\"} 0") != std::string::npos);
  CHECK(text.find("tencent_live_api_request_duration_seconds_bucket{sdkappid="
                  "\"7\",api=\"get_room_list\",le=\"+Inf\"} 4") !=
        std::string::npos);
  CHECK(text.find("tencent_live_exporter_build_info{version=") !=
        std::string::npos);
  CHECK(text.find("process_resident_memory_bytes ") != std::string::npos);
  CHECK(text.find("tencent_live_last_success_timestamp_seconds") ==
        std::string::npos);
}

}  // namespace
}  // namespace tle

namespace tle {
namespace {

TEST_CASE("RoomIds that become equal after UTF-8 repair give one series") {
  Snapshot s;
  s.sdkappid = 1;
  Room a;
  a.room_id = "r\xff";
  a.view_count = 10;
  Room b;
  b.room_id = "r\xfe";
  b.view_count = 5;
  Room c;
  c.room_id = "ok";
  c.view_count = 1;
  s.rooms = {a, b, c};
  RenderedSnapshot r = RenderSnapshot(s, 0);
  const std::string text = testing::JoinPieces(AssembleSnapshots({&r}));
  CHECK(text.find("tencent_live_room_views{sdkappid=\"1\",room_id="
                  "\"r\xef\xbf\xbd\"} 10") != std::string::npos);
  CHECK(text.find("} 5\n") == std::string::npos);
  CHECK(text.find("tencent_live_room_series_omitted{sdkappid=\"1\"} 1") !=
        std::string::npos);
  CHECK(text.find("tencent_live_rooms{sdkappid=\"1\"} 3") != std::string::npos);
}

}  // namespace
}  // namespace tle
