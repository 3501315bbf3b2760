// The exporter's top-rooms rounds against the in-process simulator over real
// HTTP (the libcurl client): exact values for exactly the top `count` rooms,
// a closed room, retries, every API under its ceiling in every one-second
// window while the walk runs, rounds that go on while a walk is stuck, and
// no call at all when top rooms are off. Oracles: the simulator's own numbers
// and arrival times, and promtool.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/common/clock.h"
#include "exporter/exporter.h"
#include "simulator/simulator.h"
#include "tests/support/metrics_text.h"
#include "tests/support/rate_window.h"

namespace tle {
namespace {

using namespace std::chrono_literals;
using testing::ParseSamples;
using testing::SumOf;
using testing::WaitFor;

using testing::MaxInAnySecond;

struct Stack {
  // `tweak` adjusts the app before the exporter starts.
  Stack(int rooms, int count,
        const std::function<void(SimulatorOptions&)>& sim_tweak = {},
        const std::function<void(AppConfig&)>& app_tweak = {}) {
    SimulatorOptions options;
    options.rooms = rooms;
    options.seed = 12;
    if (sim_tweak) sim_tweak(options);
    sim = std::make_unique<Simulator>(options);
    sim->Start();
    AppConfig app;
    app.sdkappid = options.sdkappid;
    app.endpoint = sim->endpoint();
    app.identifier = options.identifier;
    app.credential.value = options.secret_key;
    app.walk.interval = 1h;  // one walk: its top list stays put
    app.walk.request_timeout = 5s;
    app.walk.top_rooms.count = count;
    app.walk.top_rooms.interval = 1s;
    app.walk.top_rooms.member_list_qps = 100;
    app.walk.top_rooms.room_stats_qps = 50;
    if (app_tweak) app_tweak(app);
    Config config;
    config.apps.push_back(app);
    WalkerTuning tuning;
    tuning.backoff_base = 5ms;
    TopRoomsTuning top_tuning;
    top_tuning.backoff_base = 5ms;
    exporter = std::make_unique<Exporter>(
        config, HttpRoomSourceFactory(), ConfigLoader{}, tuning,
        HttpUpstreamClientFactory(), top_tuning);
    exporter->Start();
  }
  ~Stack() {
    exporter->Stop();
    sim->Stop();
  }

  std::string Metrics() { return exporter->Scrape(false).Join(); }
  std::map<std::string, double> Samples() { return ParseSamples(Metrics()); }
  double LastRound() {
    return SumOf(Samples(),
                 "tencent_live_top_rooms_last_success_timestamp_seconds");
  }
  // Waits until a round that started after this call has completed: the
  // second of the rounds that complete after it (rounds never overlap).
  bool WaitForFreshRound() {
    const double now = RealClock().NowUnix();
    double first = 0;
    return WaitFor([&] {
             first = LastRound();
             return first > now;
           }) &&
           WaitFor([&] { return LastRound() > first; });
  }

  std::unique_ptr<Simulator> sim;
  std::unique_ptr<Exporter> exporter;
};

std::string Key(const std::string& name, const std::string& room) {
  return name + "{sdkappid=\"1400000000\",room_id=\"" + room + "\"}";
}

std::string ApiKey(const std::string& name, const std::string& api) {
  return name + "{sdkappid=\"1400000000\",api=\"" + api + "\"}";
}

// Checks the series of the top `count` rooms against the simulator, right
// after a round (the simulator's audiences do not change without churn).
void CheckExact(Stack& stack, int count) {
  auto samples = stack.Samples();
  std::vector<Room> ranking = stack.sim->Rooms();
  REQUIRE(static_cast<int>(ranking.size()) >= count);
  int series = 0;
  SumOf(samples, "tencent_live_room_members", "", &series);
  CHECK(series == count);
  SumOf(samples, "tencent_live_room_likes_total", "", &series);
  CHECK(series == count);
  for (int i = 0; i < count; ++i) {
    const std::string& id = ranking[static_cast<std::size_t>(i)].room_id;
    INFO(id);
    std::optional<RoomAudience> a = stack.sim->Audience(id);
    REQUIRE(a);
    CHECK(samples[Key("tencent_live_room_members", id)] ==
          static_cast<double>(a->members));
    CHECK(samples[Key("tencent_live_room_viewers_total", id)] ==
          static_cast<double>(a->total_viewers));
    CHECK(samples[Key("tencent_live_room_gifts_total", id)] ==
          static_cast<double>(a->total_gifts_sent));
    CHECK(samples[Key("tencent_live_room_gift_coins_total", id)] ==
          static_cast<double>(a->total_gift_coins));
    CHECK(samples[Key("tencent_live_room_gift_senders_total", id)] ==
          static_cast<double>(a->total_unique_gift_senders));
    CHECK(samples[Key("tencent_live_room_likes_total", id)] ==
          static_cast<double>(a->total_likes_received));
    CHECK(samples[Key("tencent_live_room_messages_total", id)] ==
          static_cast<double>(a->total_msg_count));
  }
  const std::string outside = ranking[static_cast<std::size_t>(count)].room_id;
  CHECK(samples.count(Key("tencent_live_room_members", outside)) == 0);
}

TEST_CASE(
    "top rooms: exact values for exactly the top count rooms, and a clean "
    "exposition",
    "[integration]") {
  Stack stack(80, 12);
  REQUIRE(stack.WaitForFreshRound());
  CheckExact(stack, 12);
  auto samples = stack.Samples();
  CHECK(samples["tencent_live_top_rooms_round_duration_seconds{sdkappid="
                "\"1400000000\"}"] > 0);
  CHECK(samples[ApiKey("tencent_live_api_requests_total", "get_member_list")] >=
        12);
  CHECK(samples[ApiKey("tencent_live_api_requests_total", "get_room_stats")] >=
        12);
  CHECK(samples.count(ApiKey("tencent_live_api_failed_requests_total",
                             "get_member_list")) == 1);
  CHECK(samples[ApiKey("tencent_live_api_failed_requests_total",
                       "get_room_stats")] == 0);
  CHECK(samples[ApiKey("tencent_live_api_failed_requests_total",
                       "get_room_list")] == 0);
  // Each room is asked once per round per API: requests are a multiple of 12.
  const SimulatorStats sim = stack.sim->Stats();
  CHECK(sim.api(SimApi::kGetMemberList).rate_limited == 0);
  CHECK(sim.api(SimApi::kGetRoomStats).rate_limited == 0);

  std::string output;
  const int status = testing::PromtoolCheckMetrics(stack.Metrics(), &output);
  INFO(output);
  REQUIRE(status !=
          -1);  // promtool is a test package: scripts/install-deps.sh test
  CHECK(status == 0);
}

TEST_CASE(
    "top rooms: a room that closed (100004) drops without failing the round",
    "[integration]") {
  Stack stack(40, 5);
  REQUIRE(stack.WaitForFreshRound());
  const std::string closed = stack.sim->Rooms()[2].room_id;
  CHECK(stack.Samples().count(Key("tencent_live_room_members", closed)) == 1);
  stack.sim->CloseRoom(closed);        // the walk (hourly) still lists it
  REQUIRE(stack.WaitForFreshRound());  // completed: last_success moved on
  auto samples = stack.Samples();
  CHECK(samples.count(Key("tencent_live_room_members", closed)) == 0);
  CHECK(samples.count(Key("tencent_live_room_likes_total", closed)) == 0);
  int series = 0;
  SumOf(samples, "tencent_live_room_members", "", &series);
  CHECK(series == 4);
  const double gone =
      SumOf(samples, "tencent_live_api_errors_total", "code=\"100004\"");
  CHECK(gone >= 1);
  CHECK(stack.sim->Stats()
                .api(SimApi::kGetMemberList)
                .answers_by_code.count(100004) +
            stack.sim->Stats()
                .api(SimApi::kGetRoomStats)
                .answers_by_code.count(100004) >=
        1);
}

TEST_CASE("top rooms: retryable errors are retried and the round completes",
          "[integration]") {
  Stack stack(30, 6);
  REQUIRE(stack.WaitForFreshRound());
  stack.sim->SetFault(SimApi::kGetRoomStats, FaultKind::kInternalError,
                      {1.0, 3});
  stack.sim->SetFault(SimApi::kGetMemberList, FaultKind::kHttp502, {1.0, 2});
  const double before =
      SumOf(stack.Samples(), "tencent_live_api_retries_total");
  REQUIRE(stack.WaitForFreshRound());
  REQUIRE(stack.WaitForFreshRound());
  auto samples = stack.Samples();
  CHECK(samples[ApiKey("tencent_live_api_retries_total", "get_room_stats")] >=
        3);
  CHECK(samples[ApiKey("tencent_live_api_retries_total", "get_member_list")] >=
        2);
  CHECK(SumOf(samples, "tencent_live_api_retries_total") - before == 5);
  CHECK(samples["tencent_live_api_errors_total{sdkappid=\"1400000000\",api="
                "\"get_room_stats\","
                "code=\"100001\"}"] == 3);
  CHECK(samples["tencent_live_api_errors_total{sdkappid=\"1400000000\",api="
                "\"get_member_list\","
                "code=\"http_502\"}"] == 2);
  CHECK(samples[ApiKey("tencent_live_api_failed_requests_total",
                       "get_room_stats")] == 3);
  CheckExact(stack, 6);
}

TEST_CASE(
    "top rooms: every API stays under its ceiling in every second while the "
    "walk runs",
    "[integration][slow]") {
  // The simulator at the vendor's limits would answer 60007 above them; the
  // exporter runs each API at a ceiling of its own, with retries from random
  // faults on top, while walks of 15 pages run back to back at 10/s.
  Stack stack(
      300, 40,
      [](SimulatorOptions& o) {
        o.member_list_max_qps = 40;
        o.room_stats_max_qps = 20;
      },
      [](AppConfig& app) {
        app.walk.interval = 100ms;
        app.walk.top_rooms.member_list_qps = 40;
        app.walk.top_rooms.room_stats_qps = 20;
        app.walk.top_rooms.concurrency = 16;
        app.walk.top_rooms.interval = 500ms;
      });
  stack.sim->SetFault(SimApi::kGetRoomStats, FaultKind::kInternalError,
                      {0.2, -1});
  stack.sim->SetFault(SimApi::kGetMemberList, FaultKind::kInternalError,
                      {0.2, -1});
  REQUIRE(WaitFor(
      [&] {
        return stack.sim->Stats().api(SimApi::kGetRoomStats).requests >= 150;
      },
      60s));
  const SimulatorStats sim = stack.sim->Stats();
  CHECK(MaxInAnySecond(stack.sim->Arrivals(SimApi::kGetMemberList)) <= 40);
  CHECK(MaxInAnySecond(stack.sim->Arrivals(SimApi::kGetRoomStats)) <= 20);
  CHECK(MaxInAnySecond(stack.sim->Arrivals(SimApi::kGetRoomList)) <= 10);
  CHECK(sim.api(SimApi::kGetMemberList).rate_limited == 0);
  CHECK(sim.api(SimApi::kGetRoomStats).rate_limited == 0);
  CHECK(sim.api(SimApi::kGetRoomList).rate_limited == 0);
  // The walk kept walking meanwhile (15 pages a walk).
  CHECK(sim.api(SimApi::kGetRoomList).requests >= 45);
  CHECK(SumOf(stack.Samples(), "tencent_live_api_retries_total",
              "get_room_stats") > 0);
}

TEST_CASE("top rooms: rounds go on while the walk is stuck on a slow answer",
          "[integration]") {
  Stack stack(
      30, 5, [](SimulatorOptions& o) { o.slow_delay = 4s; },
      [](AppConfig& app) { app.walk.interval = 200ms; });
  REQUIRE(stack.WaitForFreshRound());
  stack.sim->SetFault(SimApi::kGetRoomList, FaultKind::kSlow, {1.0, -1});
  const double walks = SumOf(stack.Samples(), "tencent_live_walks_total");
  REQUIRE(stack.WaitForFreshRound());
  REQUIRE(stack.WaitForFreshRound());
  CHECK(SumOf(stack.Samples(), "tencent_live_walks_total") <= walks + 1);
  CheckExact(stack, 5);
}

TEST_CASE("top rooms: a reload turns them on and off", "[integration]") {
  AppConfig app;
  Stack stack(30, 0, {}, [&](AppConfig& a) {
    a.walk.interval = 200ms;
    app = a;
  });
  REQUIRE(WaitFor([&] { return stack.exporter->Ready(); }));
  app.walk.top_rooms.count = 4;
  Config on;
  on.apps.push_back(app);
  stack.exporter->Apply(on);  // the app's walker restarts, and its rounds start
  REQUIRE(stack.WaitForFreshRound());
  CheckExact(stack, 4);
  app.walk.top_rooms.count = 0;
  Config off;
  off.apps.push_back(app);
  stack.exporter->Apply(off);
  const std::string text = stack.Metrics();
  CHECK(text.find("tencent_live_room_members") == std::string::npos);
  CHECK(text.find("tencent_live_top_rooms_") == std::string::npos);
  const auto calls = stack.sim->Stats().api(SimApi::kGetRoomStats).requests;
  // Longer than a round interval (1 s): eight walks of 200 ms.
  const double walks = SumOf(stack.Samples(), "tencent_live_walks_total");
  REQUIRE(WaitFor([&] {
    return SumOf(stack.Samples(), "tencent_live_walks_total") >= walks + 8;
  }));
  CHECK(stack.sim->Stats().api(SimApi::kGetRoomStats).requests == calls);
}

TEST_CASE("top rooms are off by default: no call at all", "[integration]") {
  Stack stack(30, 0, {}, [](AppConfig& app) { app.walk.interval = 200ms; });
  REQUIRE(WaitFor(
      [&] { return SumOf(stack.Samples(), "tencent_live_walks_total") >= 3; }));
  const SimulatorStats sim = stack.sim->Stats();
  CHECK(sim.api(SimApi::kGetMemberList).requests == 0);
  CHECK(sim.api(SimApi::kGetRoomStats).requests == 0);
  const std::string text = stack.Metrics();
  CHECK(text.find("api=\"get_member_list\"") == std::string::npos);
  CHECK(text.find("api=\"get_room_stats\"") == std::string::npos);
  CHECK(text.find("tencent_live_room_members") == std::string::npos);
  CHECK(text.find("tencent_live_top_rooms_") == std::string::npos);
  // The walk's own API series are there (whatever their values: on a starved
  // machine a request may time out and be retried).
  CHECK(text.find(
            ApiKey("tencent_live_api_failed_requests_total", "get_room_list") +
            " ") != std::string::npos);
}

}  // namespace
}  // namespace tle
