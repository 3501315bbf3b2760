// Room lifecycle, names and constant labels end to end: the exporter walking
// two in-process simulators over HTTP (Exporter::WalkAllOnce), with rooms
// opened, closed and viewed between walks by script. The counters must equal
// what was scripted; names and constant labels must sit on exactly the right
// series; promtool must accept the whole scrape.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "exporter/common/clock.h"
#include "exporter/exporter.h"
#include "simulator/simulator.h"
#include "tests/support/metrics_text.h"

namespace tle {
namespace {

using testing::ParseSamples;
using testing::SumOf;

constexpr std::int64_t kLabelled = 1400000000;  // has names and labels
constexpr std::int64_t kPlain = 1400000001;     // has neither

const std::string kApp = "sdkappid=\"1400000000\",env=\"prod\",team=\"live\"";

std::int64_t Now() {
  return static_cast<std::int64_t>(tle::RealClock().NowUnix());
}

SimulatorOptions SimOptions(std::int64_t sdkappid) {
  SimulatorOptions options;
  options.sdkappid = sdkappid;
  options.rooms = 45;  // 3 pages of 20
  options.seed = 11;
  options.max_qps = 1000;  // scripted walks, not the simulator's rate limit
  return options;
}

AppConfig App(const Simulator& sim, std::int64_t sdkappid) {
  AppConfig app;
  app.sdkappid = sdkappid;
  app.endpoint = sim.endpoint();
  app.identifier = "administrator";
  app.credential.value = SimulatorOptions{}.secret_key;
  app.walk.interval = std::chrono::hours(1);  // walks only when told
  app.walk.request_timeout = std::chrono::seconds(5);
  app.walk.max_qps = 1000;
  app.walk.allow_qps_above_limit = true;
  app.walk.max_retries = 0;  // a fault fails the walk at once
  app.walk.max_room_series = 0;
  app.walk.stale_after = std::chrono::hours(1);
  return app;
}

struct Rig {
  Rig() : labelled(SimOptions(kLabelled)), plain(SimOptions(kPlain)) {
    labelled.Start();
    plain.Start();
    config.apps.push_back(App(labelled, kLabelled));
    config.apps.push_back(App(plain, kPlain));
    AppConfig& app = config.apps[0];
    app.walk.category_names = {{1, "music"}, {2, "gaming"}, {42, "unused"}};
    app.walk.activity_status_names = {{0, "idle"}, {1, "live"}};
    app.labels = {{"env", "prod"}, {"team", "live"}};
    exporter = std::make_unique<Exporter>(config, HttpRoomSourceFactory());
  }
  ~Rig() {
    exporter.reset();
    labelled.Stop();
    plain.Stop();
  }
  std::string Scrape() { return exporter->Scrape(false).Join(); }
  std::map<std::string, double> Samples() { return ParseSamples(Scrape()); }
  double Of(const std::string& series) {
    auto samples = Samples();
    auto it = samples.find(series);
    return it == samples.end() ? -1 : it->second;
  }
  double Counter(const std::string& name) {
    return Of(name + "{" + kApp + "}");
  }

  Simulator labelled;
  Simulator plain;
  Config config;
  std::unique_ptr<Exporter> exporter;
};

Room NewRoom(const std::string& id, std::int64_t views, std::int64_t created) {
  Room room;
  room.room_id = id;
  room.room_name = id;
  room.owner_account = "owner";
  room.create_time = created;
  room.activity_status = 1;
  room.view_count = views;
  return room;
}

TEST_CASE("lifecycle counters equal the scripted changes", "[integration]") {
  Rig rig;
  std::vector<Room> rooms = rig.labelled.Rooms();
  REQUIRE(rooms.size() == 45);
  const Room grows = rooms[0];
  const Room closes = rooms[1];
  const Room reused = rooms[2];
  const Room blinks = rooms[3];  // missed by one walk, then back
  const Room survives_failure = rooms[4];

  // Walk 1: the baseline. Every counter is there, at 0.
  REQUIRE(rig.exporter->WalkAllOnce());
  const double walk1_end =
      rig.Of("tencent_live_last_success_timestamp_seconds{" + kApp + "}");
  CHECK(rig.Counter("tencent_live_rooms_opened_total") == 0);
  CHECK(rig.Counter("tencent_live_rooms_closed_total") == 0);
  CHECK(rig.Counter("tencent_live_room_entries_total") == 0);
  CHECK(rig.Counter("tencent_live_room_lifetime_seconds_count") == 0);
  CHECK(rig.Of("tencent_live_rooms_opened_total{sdkappid=\"1400000001\"}") ==
        0);

  // Walk 2: one room opens (30 views), one grows by 50, one closes (missed
  // once: not closed yet), one blinks out.
  const std::int64_t young_created = Now() - 1000;
  rig.labelled.OpenRoom(NewRoom("young", 30, young_created));
  rig.labelled.AddViews(grows.room_id, 50);
  rig.labelled.CloseRoom(closes.room_id);
  rig.labelled.CloseRoom(blinks.room_id);
  REQUIRE(rig.exporter->WalkAllOnce());
  const double walk2_end =
      rig.Of("tencent_live_last_success_timestamp_seconds{" + kApp + "}");
  CHECK(rig.Counter("tencent_live_rooms_opened_total") == 1);
  CHECK(rig.Counter("tencent_live_rooms_closed_total") == 0);
  CHECK(rig.Counter("tencent_live_room_entries_total") == 80);

  // Walk 3: `closes` is missed a second time: closed. `blinks` is back with
  // 10 more views: neither opened nor closed, entries continue. A RoomId is
  // reused by a new room with fewer views. `young` closes (missed once).
  // `survives_failure` is missed once.
  Room back = blinks;
  back.view_count += 10;
  rig.labelled.OpenRoom(back);
  rig.labelled.CloseRoom(reused.room_id);
  rig.labelled.OpenRoom(NewRoom(reused.room_id, 2, Now()));
  rig.labelled.CloseRoom("young");
  rig.labelled.CloseRoom(survives_failure.room_id);
  REQUIRE(rig.exporter->WalkAllOnce());
  CHECK(rig.Counter("tencent_live_rooms_opened_total") == 2);  // young, reused
  CHECK(rig.Counter("tencent_live_rooms_closed_total") == 2);  // closes, reused
  CHECK(rig.Counter("tencent_live_room_entries_total") == 80 + 10 + 2);

  // A failed walk changes nothing, and does not count as a miss.
  rig.labelled.SetFault(FaultKind::kBadSignature, {1.0, -1});
  const std::string before_failure = rig.Scrape();
  CHECK_FALSE(rig.exporter->WalkAllOnce());
  for (const char* name :
       {"tencent_live_rooms_opened_total", "tencent_live_rooms_closed_total",
        "tencent_live_room_entries_total",
        "tencent_live_room_lifetime_seconds_count"}) {
    INFO(name);
    CHECK(rig.Counter(name) ==
          SumOf(ParseSamples(before_failure), name, "sdkappid=\"1400000000\""));
  }
  rig.labelled.ClearFaults();

  // Walk 4: `young` is missed a second time: closed, its lifetime the end of
  // walk 2 minus its CreateTime (about 1000 s: le="1800"). `survives_failure`
  // is back: the failed walk in between was not a second miss.
  rig.labelled.OpenRoom(survives_failure);
  REQUIRE(rig.exporter->WalkAllOnce());
  CHECK(rig.Counter("tencent_live_rooms_opened_total") == 2);
  CHECK(rig.Counter("tencent_live_rooms_closed_total") == 3);
  CHECK(rig.Counter("tencent_live_room_entries_total") == 92);

  // Lifetimes: `closes` and the reused room's first life lived from a
  // CreateTime in 2023/24 to walks 1 and 2 (+Inf), `young` about 1000 s.
  auto samples = rig.Samples();
  const std::string bucket =
      "tencent_live_room_lifetime_seconds_bucket{" + kApp;
  CHECK(samples[bucket + ",le=\"900\"}"] == 0);
  CHECK(samples[bucket + ",le=\"1800\"}"] == 1);
  CHECK(samples[bucket + ",le=\"86400\"}"] == 1);
  CHECK(samples[bucket + ",le=\"+Inf\"}"] == 3);
  CHECK(samples["tencent_live_room_lifetime_seconds_count{" + kApp + "}"] == 3);
  // Each: the end of the last walk that saw it minus its CreateTime.
  const double lifetimes =
      (walk1_end - static_cast<double>(closes.create_time)) +
      (walk2_end - static_cast<double>(reused.create_time)) +
      (walk2_end - static_cast<double>(young_created));
  CHECK(samples["tencent_live_room_lifetime_seconds_sum{" + kApp + "}"] ==
        Approx(lifetimes).margin(0.01));

  // The other app saw no change at all.
  CHECK(samples["tencent_live_rooms_opened_total{sdkappid=\"1400000001\"}"] ==
        0);
  CHECK(samples["tencent_live_rooms_closed_total{sdkappid=\"1400000001\"}"] ==
        0);
  CHECK(samples["tencent_live_room_entries_total{sdkappid=\"1400000001\"}"] ==
        0);
}

std::string Join(const std::vector<std::int64_t>& tags,
                 const std::map<std::int64_t, std::string>& names) {
  std::string out;
  for (std::int64_t tag : tags) {
    if (!out.empty()) out += ',';
    auto name = names.find(tag);
    out += name != names.end() ? name->second : std::to_string(tag);
  }
  return out;
}

TEST_CASE("names and constant labels are on exactly the right series",
          "[integration]") {
  Rig rig;
  REQUIRE(rig.exporter->WalkAllOnce());
  REQUIRE(rig.exporter->WalkAllOnce());
  const std::string text = rig.Scrape();
  auto samples = ParseSamples(text);
  const auto& names = rig.config.apps[0].walk.category_names;

  // Constant labels: right after sdkappid on every series of the labelled app
  // (snapshot, lifecycle and per-scrape health series alike), nowhere else.
  int labelled = 0;
  int others = 0;
  for (const auto& [series, value] : samples) {
    INFO(series);
    if (series.find("sdkappid=\"1400000000\"") != std::string::npos) {
      ++labelled;
      CHECK(series.find("{" + kApp) != std::string::npos);
    } else {
      ++others;
      CHECK(series.find("env=") == std::string::npos);
      CHECK(series.find("team=") == std::string::npos);
    }
  }
  CHECK(labelled > 45 * 4);
  CHECK(others > 45 * 4);
  for (const char* name :
       {"tencent_live_up", "tencent_live_walks_total",
        "tencent_live_rooms_opened_total", "tencent_live_rooms",
        "tencent_live_room_lifetime_seconds_count"}) {
    INFO(name);
    CHECK(samples.count(std::string(name) + "{" + kApp + "}") == 1);
  }
  CHECK(SumOf(samples, "tencent_live_api_requests_total", kApp) == 6);
  CHECK(text.find("tencent_live_exporter_build_info{version=") !=
        std::string::npos);

  // category_name on category_rooms only for mapped tags (1, 2), of the
  // labelled app only; activity_status_name likewise (0, 1).
  std::map<std::string, int> categories;
  std::map<std::int64_t, int> statuses;
  for (const Room& room : rig.labelled.Rooms()) {
    std::set<std::int64_t> tags(room.categories.begin(), room.categories.end());
    if (tags.empty()) ++categories["none"];
    for (std::int64_t tag : tags) ++categories[std::to_string(tag)];
    ++statuses[room.activity_status];
  }
  REQUIRE(categories.count("1") == 1);
  REQUIRE(categories.count("3") == 1);
  for (const auto& [tag, count] : categories) {
    std::string key =
        "tencent_live_category_rooms{" + kApp + ",category=\"" + tag + "\"";
    if (tag == "1") key += ",category_name=\"music\"";
    if (tag == "2") key += ",category_name=\"gaming\"";
    INFO(key);
    CHECK(samples[key + "}"] == count);
  }
  int series = 0;
  SumOf(samples, "tencent_live_category_rooms", kApp, &series);
  CHECK(series == static_cast<int>(categories.size()));
  SumOf(samples, "tencent_live_category_rooms", "category_name=", &series);
  CHECK(series == 2);
  REQUIRE(statuses.size() == 4);  // 0..3
  for (const auto& [status, count] : statuses) {
    std::string key = "tencent_live_activity_status_rooms{" + kApp +
                      ",activity_status=\"" + std::to_string(status) + "\"";
    if (status == 0) key += ",activity_status_name=\"idle\"";
    if (status == 1) key += ",activity_status_name=\"live\"";
    INFO(key);
    CHECK(samples[key + "}"] == count);
  }
  SumOf(samples, "tencent_live_activity_status_rooms",
        "activity_status_name=", &series);
  CHECK(series == 2);
  // Never on the room-level status gauge, never on the other app.
  SumOf(samples, "tencent_live_room_activity_status",
        "activity_status_name=", &series);
  CHECK(series == 0);
  int plain_series = 0;
  for (const auto& [key, value] : samples) {
    if (key.find("sdkappid=\"1400000001\"") == std::string::npos) continue;
    ++plain_series;
    INFO(key);
    CHECK(key.find("category_name=") == std::string::npos);
    CHECK(key.find("activity_status_name=") == std::string::npos);
  }
  CHECK(plain_series > 45 * 4);

  // room_info: categories as before, category_names by name (IDs unmapped).
  int info = 0;
  for (const Room& room : rig.labelled.Rooms()) {
    std::string tail = ",categories=\"" + Join(room.categories, {}) +
                       "\",category_names=\"" + Join(room.categories, names) +
                       "\"}";
    for (const auto& [key, value] : samples) {
      if (key.rfind("tencent_live_room_info{" + kApp + ",room_id=\"" +
                        room.room_id + "\",",
                    0) == 0) {
        ++info;
        INFO(key);
        CHECK(key.size() > tail.size());
        CHECK(key.compare(key.size() - tail.size(), tail.size(), tail) == 0);
      }
    }
  }
  CHECK(info == 45);
  for (const Room& room : rig.plain.Rooms()) {
    std::string tail = ",categories=\"" + Join(room.categories, {}) +
                       "\",category_names=\"" + Join(room.categories, {}) +
                       "\"}";
    bool found = false;
    for (const auto& [key, value] : samples) {
      found = found ||
              (key.rfind("tencent_live_room_info{sdkappid=\"1400000001\","
                         "room_id=\"" +
                             room.room_id + "\",",
                         0) == 0 &&
               key.compare(key.size() - tail.size(), tail.size(), tail) == 0);
    }
    INFO(room.room_id);
    CHECK(found);
  }

  std::string output;
  int rc = testing::PromtoolCheckMetrics(text, &output);
  REQUIRE(rc != -1);  // promtool: Debian package prometheus (test-packages.txt)
  INFO(output);
  CHECK(rc == 0);
  CHECK(output.empty());
}

TEST_CASE("a reload keeps an app's counters; removing the app ends them",
          "[integration]") {
  Rig rig;
  REQUIRE(rig.exporter->WalkAllOnce());
  rig.labelled.OpenRoom(NewRoom("new", 7, Now()));
  rig.plain.OpenRoom(NewRoom("new", 9, Now()));
  REQUIRE(rig.exporter->WalkAllOnce());
  REQUIRE(rig.Counter("tencent_live_rooms_opened_total") == 1);

  // Changed labels and names restart the app's walker; its counters and its
  // comparison state carry over (no new baseline: the next opened room
  // counts).
  Config changed = rig.config;
  changed.apps[0].labels = {{"env", "staging"}};
  changed.apps[0].walk.category_names.clear();
  changed.apps.pop_back();  // the plain app leaves
  rig.exporter->Apply(changed);
  rig.labelled.OpenRoom(NewRoom("newer", 5, Now()));
  REQUIRE(rig.exporter->WalkAllOnce());
  auto samples = rig.Samples();
  const std::string staging = "{sdkappid=\"1400000000\",env=\"staging\"}";
  CHECK(samples["tencent_live_rooms_opened_total" + staging] == 2);
  CHECK(samples["tencent_live_room_entries_total" + staging] == 12);
  CHECK(samples.count("tencent_live_rooms_opened_total{" + kApp + "}") == 0);
  int named = 0;
  SumOf(samples, "tencent_live_category_rooms", "category_name=", &named);
  CHECK(named == 0);
  // The removed app's series are gone from the snapshot and health text.
  CHECK(rig.Scrape().find("sdkappid=\"1400000001\"") == std::string::npos);

  // Back in the config, the removed app starts over from a new baseline.
  rig.exporter->Apply(rig.config);
  rig.plain.OpenRoom(NewRoom("newest", 3, Now()));
  REQUIRE(rig.exporter->WalkAllOnce());
  samples = rig.Samples();
  CHECK(samples["tencent_live_rooms_opened_total{sdkappid=\"1400000001\"}"] ==
        0);
  CHECK(samples["tencent_live_rooms_opened_total{" + kApp + "}"] == 2);
}

}  // namespace
}  // namespace tle
