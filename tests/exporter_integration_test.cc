// The exporter walking a real (in-process) simulator over HTTP and serving
// /metrics on port 0.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "exporter/exporter.h"
#include "exporter/web/web_server.h"
#include "simulator/simulator.h"
#include "tests/support/metrics_text.h"

namespace tle {
namespace {

using testing::ParseSamples;
using testing::SumOf;
using testing::WaitFor;

struct Stack {
  explicit Stack(int rooms, int max_room_series = 0, std::string secret = "") {
    SimulatorOptions options;
    options.rooms = rooms;
    options.seed = 7;
    sim = std::make_unique<Simulator>(options);
    sim->Start();
    AppConfig app;
    app.sdkappid = options.sdkappid;
    app.endpoint = sim->endpoint();
    app.identifier = options.identifier;
    app.credential.value = secret.empty() ? options.secret_key : secret;
    app.walk.interval = std::chrono::milliseconds(300);
    app.walk.max_room_series = max_room_series;
    app.walk.request_timeout = std::chrono::seconds(5);
    Config config;
    config.apps.push_back(app);
    WalkerTuning tuning;
    tuning.backoff_base = std::chrono::milliseconds(5);
    exporter = std::make_unique<Exporter>(config, HttpRoomSourceFactory(),
                                          ConfigLoader{}, tuning);
    WebOptions web;
    web.listen_address = "127.0.0.1:0";
    server = std::make_unique<WebServer>(web, *exporter);
    port = server->Start();
    exporter->Start();
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
  }
  ~Stack() {
    server->Stop();
    exporter->Stop();
    sim->Stop();
  }

  std::string Metrics() {
    auto res = client->Get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }
  std::map<std::string, double> Samples() { return ParseSamples(Metrics()); }
  double Walks() { return SumOf(Samples(), "tencent_live_walks_total"); }
  // Waits until two more walks have started, so one whole walk ran after the
  // call.
  bool WaitForFreshWalk() {
    double start = Walks();
    return WaitFor([&] { return Walks() >= start + 2; });
  }

  std::unique_ptr<Simulator> sim;
  std::unique_ptr<Exporter> exporter;
  std::unique_ptr<WebServer> server;
  std::unique_ptr<httplib::Client> client;
  int port = 0;
};

std::string RoomKey(const std::string& name, const Room& room) {
  return name + "{sdkappid=\"1400000000\",room_id=\"" + room.room_id + "\"}";
}

TEST_CASE("metrics report exactly the simulator's rooms", "[integration]") {
  Stack stack(137);
  REQUIRE(WaitFor([&] { return stack.exporter->Ready(); }));
  auto samples = stack.Samples();
  std::vector<Room> rooms = stack.sim->Rooms();
  REQUIRE(rooms.size() == 137);

  CHECK(samples["tencent_live_up{sdkappid=\"1400000000\"}"] == 1);
  CHECK(samples["tencent_live_rooms{sdkappid=\"1400000000\"}"] == 137);
  CHECK(samples["tencent_live_walk_pages{sdkappid=\"1400000000\"}"] == 7);
  double views = 0;
  std::map<std::string, int> categories;
  std::map<std::string, int> statuses;
  for (const Room& room : rooms) {
    views += static_cast<double>(room.view_count);
    CHECK(samples[RoomKey("tencent_live_room_views", room)] ==
          static_cast<double>(room.view_count));
    CHECK(samples[RoomKey("tencent_live_room_activity_status", room)] ==
          static_cast<double>(room.activity_status));
    CHECK(
        samples[RoomKey("tencent_live_room_created_timestamp_seconds", room)] ==
        static_cast<double>(room.create_time));
    std::set<std::int64_t> tags(room.categories.begin(), room.categories.end());
    if (tags.empty()) ++categories["none"];
    for (auto tag : tags) ++categories[std::to_string(tag)];
    ++statuses[std::to_string(room.activity_status)];
  }
  CHECK(samples["tencent_live_views{sdkappid=\"1400000000\"}"] == views);
  int series = 0;
  SumOf(samples, "tencent_live_room_views", "", &series);
  CHECK(series == 137);
  SumOf(samples, "tencent_live_room_info", "", &series);
  CHECK(series == 137);
  for (const auto& [tag, count] : categories) {
    CHECK(
        samples
            ["tencent_live_category_rooms{sdkappid=\"1400000000\",category=\"" +
             tag + "\"}"] == count);
  }
  SumOf(samples, "tencent_live_category_rooms", "", &series);
  CHECK(series == static_cast<int>(categories.size()));
  for (const auto& [status, count] : statuses) {
    CHECK(samples["tencent_live_activity_status_rooms{sdkappid=\"1400000000\","
                  "activity_status=\"" +
                  status + "\"}"] == count);
  }
  CHECK(samples["tencent_live_room_series_omitted{sdkappid=\"1400000000\"}"] ==
        0);
  CHECK(SumOf(samples, "tencent_live_api_errors_total") == 0);

  SECTION("promtool accepts the exposition") {
    std::string output;
    int rc = testing::PromtoolCheckMetrics(stack.Metrics(), &output);
    if (rc == -1) {
      WARN("promtool not installed; check skipped");
    } else {
      INFO(output);
      CHECK(rc == 0);
      CHECK(output.empty());
    }
  }

  SECTION("a room that closes disappears at the next walk") {
    const Room closed = rooms[3];
    stack.sim->CloseRoom(closed.room_id);
    REQUIRE(stack.WaitForFreshWalk());
    auto after = stack.Samples();
    CHECK(after["tencent_live_rooms{sdkappid=\"1400000000\"}"] == 136);
    CHECK(after.count(RoomKey("tencent_live_room_views", closed)) == 0);
    CHECK(after["tencent_live_views{sdkappid=\"1400000000\"}"] ==
          views - static_cast<double>(closed.view_count));
  }

  SECTION("gzip when asked, the same text") {
    httplib::Headers headers = {{"Accept-Encoding", "gzip"}};
    stack.client->set_decompress(false);
    auto raw = stack.client->Get("/metrics", headers);
    REQUIRE(raw);
    CHECK(raw->get_header_value("Content-Encoding") == "gzip");
    stack.client->set_decompress(true);
    auto inflated = stack.client->Get("/metrics", headers);
    REQUIRE(inflated);
    auto a = ParseSamples(inflated->body);
    CHECK(a[RoomKey("tencent_live_room_views", rooms[0])] ==
          static_cast<double>(rooms[0].view_count));
    CHECK(raw->body.size() < inflated->body.size() / 3);
  }

  SECTION("the other endpoints") {
    auto landing = stack.client->Get("/");
    REQUIRE(landing);
    CHECK(landing->status == 200);
    CHECK(landing->body.find("1400000000") != std::string::npos);
    CHECK(landing->body.find("href=\"metrics\"") != std::string::npos);
    CHECK(stack.client->Get("/-/healthy")->status == 200);
    CHECK(stack.client->Get("/-/ready")->status == 200);
    auto get_reload = stack.client->Get("/-/reload");
    CHECK(get_reload->status == 405);
    CHECK(get_reload->get_header_value("Allow") == "POST");
    auto missing = stack.client->Get("/nope");
    CHECK(missing->status == 404);
    CHECK(missing->body.find("404") != std::string::npos);
  }
}

TEST_CASE("max_room_series keeps the top rooms and reports the rest as omitted",
          "[integration]") {
  Stack stack(137, 10);
  REQUIRE(WaitFor([&] { return stack.exporter->Ready(); }));
  auto samples = stack.Samples();
  int series = 0;
  SumOf(samples, "tencent_live_room_views", "", &series);
  CHECK(series == 10);
  SumOf(samples, "tencent_live_room_info", "", &series);
  CHECK(series == 10);
  CHECK(samples["tencent_live_room_series_omitted{sdkappid=\"1400000000\"}"] ==
        127);
  CHECK(samples["tencent_live_rooms{sdkappid=\"1400000000\"}"] == 137);
  std::vector<Room> rooms = stack.sim->Rooms();
  for (int i = 0; i < 10; ++i)
    CHECK(samples.count(RoomKey("tencent_live_room_views",
                                rooms[static_cast<std::size_t>(i)])) == 1);
  CHECK(samples.count(RoomKey("tencent_live_room_views", rooms[10])) == 0);
}

TEST_CASE("a wrong secret key gives up 0 and errors with code 70003",
          "[integration]") {
  Stack stack(137, 0, "not-the-right-key");
  REQUIRE(WaitFor([&] {
    return stack.Walks() >= 1 && stack.exporter->HealthText().find(
                                     "code=\"70003\"") != std::string::npos;
  }));
  auto samples = stack.Samples();
  CHECK(samples["tencent_live_up{sdkappid=\"1400000000\"}"] == 0);
  CHECK(samples["tencent_live_api_errors_total{sdkappid=\"1400000000\",api="
                "\"get_room_list\",code=\"70003\"}"] >= 1);
  CHECK(samples["tencent_live_walk_failures_total{sdkappid=\"1400000000\","
                "reason=\"api_error\"}"] >= 1);
  CHECK(samples["tencent_live_api_retries_total{sdkappid=\"1400000000\",api="
                "\"get_room_list\"}"] == 0);
  CHECK(samples.count("tencent_live_rooms{sdkappid=\"1400000000\"}") == 0);
  CHECK_FALSE(stack.exporter->Ready());
  CHECK(stack.client->Get("/-/ready")->status == 503);
  CHECK(stack.Metrics().find("not-the-right-key") == std::string::npos);
}

}  // namespace
}  // namespace tle
