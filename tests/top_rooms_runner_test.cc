// Unit tests of TopRoomsRunner on a FakeClock and an in-memory client:
// rounds start when a walk hands over rooms and then every interval, publish
// exact values for exactly the top `count` rooms, drop rooms that leave the
// list or close, keep a failed room's values until stale_after, and stop
// promptly with requests in flight.
#include "exporter/top_rooms/top_rooms_runner.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/metrics_text.h"

namespace tle {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

std::string RoomOf(const std::string& body) {
  const std::string key = "\"RoomId\":\"";
  const auto at = body.find(key) + key.size();
  return body.substr(at, body.find('"', at) - at);
}

ApiResponse Body(const std::string& body) { return {body, 0}; }

// Answers each request at once with `handler` (or holds it until Cancel when
// `hold` is set), and counts the calls per API and room.
class FakeClient final : public UpstreamClient {
 public:
  using Handler = std::function<ApiResponse(Api, const std::string& room)>;
  explicit FakeClient(Handler handler) : handler_(std::move(handler)) {}

  void Send(Api api, std::string body, Done done) override {
    const std::string room = RoomOf(body);
    Handler handler;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++calls_[api];
      ++room_calls_[room];
      if (hold_) {
        held_.push_back(std::move(done));
        return;
      }
      handler = handler_;
    }
    done(handler(api, room));
  }
  void RenewCredential() override {}
  void Cancel() override {
    std::vector<Done> held;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held.swap(held_);
    }
    for (Done& done : held) {
      done({FetchError{ErrorKind::kNetwork, 0, "cancelled", ""}, 0});
    }
  }

  int calls(Api api) {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_[api];
  }
  int room_calls(const std::string& room) {
    std::lock_guard<std::mutex> lock(mutex_);
    return room_calls_[room];
  }
  void SetHandler(Handler handler) {
    std::lock_guard<std::mutex> lock(mutex_);
    handler_ = std::move(handler);
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = true;
  }

 private:
  std::mutex mutex_;
  Handler handler_;
  std::map<Api, int> calls_;
  std::map<std::string, int> room_calls_;
  bool hold_ = false;
  std::vector<Done> held_;
};

// r<N>: N*10 members, totals N..N+5, plus `bump` on every value.
FakeClient::Handler Values(std::int64_t bump = 0) {
  return [bump](Api api, const std::string& room) {
    const std::int64_t n = std::stoll(room.substr(1)) + bump;
    if (api == Api::kGetMemberList) {
      return Body(
          R"({"ActionStatus":"OK","ErrorCode":0,"Response":{"MemberCount":)" +
          std::to_string(n * 10) + "}}");
    }
    return Body(
        R"({"ActionStatus":"OK","ErrorCode":0,"Response":{"TotalViewers":)" +
        std::to_string(n) + R"(,"TotalGiftsSent":)" + std::to_string(n + 1) +
        R"(,"TotalGiftCoins":)" + std::to_string(n + 2) +
        R"(,"TotalUniqueGiftSenders":)" + std::to_string(n + 3) +
        R"(,"TotalLikesReceived":)" + std::to_string(n + 4) +
        R"(,"TotalMsgCount":)" + std::to_string(n + 5) + "}}");
  };
}

ApiResponse Error(std::int64_t code) {
  return Body(R"({"ActionStatus":"FAIL","ErrorCode":)" + std::to_string(code) +
              R"(,"ErrorInfo":"x","RequestId":"Id-x"})");
}

RoomTotals TotalsOf(std::int64_t n) {
  return RoomTotals{n, n + 1, n + 2, n + 3, n + 4, n + 5};
}

struct Rig {
  explicit Rig(int count = 2, bool members = true) {
    app.sdkappid = 1400000000;
    app.walk.top_rooms.count = count;
    app.walk.top_rooms.members = members;
    app.walk.top_rooms.interval = 30s;
    app.walk.stale_after = 60s;
    app.walk.max_retries = 0;
    auto owned = std::make_unique<FakeClient>(Values());
    client = owned.get();
    TopRoomsTuning tuning;
    tuning.backoff_base = 1ms;
    runner = std::make_unique<TopRoomsRunner>(
        app, std::move(owned), &stats,
        [this](std::shared_ptr<const TopRoomsSnapshot> s) {
          std::lock_guard<std::mutex> lock(mutex);
          published.push_back(std::move(s));
        },
        tuning, clock);
  }
  ~Rig() { runner->Stop(); }

  std::size_t Published() {
    std::lock_guard<std::mutex> lock(mutex);
    return published.size();
  }
  std::shared_ptr<const TopRoomsSnapshot> Last() {
    std::lock_guard<std::mutex> lock(mutex);
    return published.empty() ? nullptr : published.back();
  }
  bool WaitForPublished(std::size_t n) {
    return WaitFor([&] { return Published() >= n; });
  }
  // Waits until the round thread sleeps towards its next round.
  bool WaitIdle() { return clock.WaitForSleepers(1); }

  AppConfig app;
  FakeClock clock;
  WalkStats stats;
  FakeClient* client = nullptr;
  std::mutex mutex;
  std::vector<std::shared_ptr<const TopRoomsSnapshot>> published;
  std::unique_ptr<TopRoomsRunner> runner;
};

TEST_CASE("no rooms, no call: rounds wait for the first walk") {
  Rig rig;
  rig.runner->Start();
  REQUIRE(rig.WaitIdle());
  rig.clock.Advance(10min);
  REQUIRE(rig.WaitIdle());
  CHECK(rig.client->calls(Api::kGetMemberList) == 0);
  CHECK(rig.client->calls(Api::kGetRoomStats) == 0);
  CHECK(rig.Published() == 0);
  // Their counters exist from the start.
  CHECK(rig.stats.View().api(Api::kGetMemberList).used);
  CHECK(rig.stats.View().api(Api::kGetRoomStats).used);
}

TEST_CASE(
    "a round over exactly the top count rooms publishes exact values, then one "
    "every interval") {
  Rig rig(2);
  rig.runner->Start();
  rig.runner->SetRooms({"r1", "r2", "r3"});
  REQUIRE(rig.WaitForPublished(1));
  auto s = rig.Last();
  REQUIRE(s->rooms.size() == 2);
  CHECK(s->sdkappid == 1400000000);
  CHECK(s->rooms[0] == TopRoom{"r1", 10, TotalsOf(1)});
  CHECK(s->rooms[1] == TopRoom{"r2", 20, TotalsOf(2)});
  CHECK(s->last_success_timestamp == rig.clock.NowUnix());
  CHECK(rig.client->room_calls("r3") == 0);
  CHECK(rig.client->calls(Api::kGetMemberList) == 2);

  REQUIRE(rig.WaitIdle());
  rig.client->SetHandler(Values(100));
  rig.clock.Advance(29s);
  REQUIRE(rig.WaitIdle());
  CHECK(rig.client->calls(Api::kGetRoomStats) == 2);  // not yet
  rig.clock.Advance(1s);
  REQUIRE(rig.WaitForPublished(2));
  CHECK(rig.client->calls(Api::kGetRoomStats) == 4);
  CHECK(rig.Last()->rooms[1] == TopRoom{"r2", 1020, TotalsOf(102)});
  CHECK(rig.Last()->last_success_timestamp == 1700000030.0);
}

TEST_CASE("a room that leaves the top list leaves the series at once") {
  Rig rig(2);
  rig.runner->Start();
  rig.runner->SetRooms({"r1", "r2"});
  REQUIRE(rig.WaitForPublished(1));
  REQUIRE(rig.WaitIdle());
  rig.runner->SetRooms({"r2", "r5"});  // r1 fell out; r5 is new
  REQUIRE(rig.WaitForPublished(2));
  auto s = rig.Last();
  REQUIRE(s->rooms.size() == 1);
  CHECK(s->rooms[0].room_id == "r2");
  CHECK(rig.client->room_calls("r5") == 0);  // asked at the next round
  rig.clock.Advance(30s);
  REQUIRE(rig.WaitForPublished(3));
  REQUIRE(rig.Last()->rooms.size() == 2);
  CHECK(rig.Last()->rooms[1] == TopRoom{"r5", 50, TotalsOf(5)});
}

TEST_CASE("a failed room keeps its last values until stale_after") {
  Rig rig(2);
  rig.runner->Start();
  rig.runner->SetRooms({"r1", "r2"});
  REQUIRE(rig.WaitForPublished(1));
  REQUIRE(rig.WaitIdle());
  const double first_success = rig.Last()->last_success_timestamp;
  rig.client->SetHandler([](Api api, const std::string& room) {
    if (room == "r1") return Error(100001);
    return Values(1)(api, room);
  });
  rig.clock.Advance(30s);  // 30 s after r1's values: kept
  REQUIRE(rig.WaitForPublished(2));
  auto s = rig.Last();
  REQUIRE(s->rooms.size() == 2);
  CHECK(s->rooms[0] == TopRoom{"r1", 10, TotalsOf(1)});
  CHECK(s->rooms[1] == TopRoom{"r2", 30, TotalsOf(3)});
  CHECK(s->last_success_timestamp == first_success);  // not a complete round
  CHECK(s->round_seconds >= 0);
  REQUIRE(rig.WaitIdle());
  rig.clock.Advance(30s);  // 60 s: still within stale_after
  REQUIRE(rig.WaitForPublished(3));
  CHECK(rig.Last()->rooms.size() == 2);
  REQUIRE(rig.WaitIdle());
  rig.clock.Advance(30s);  // 90 s: stale
  REQUIRE(rig.WaitForPublished(4));
  REQUIRE(rig.Last()->rooms.size() == 1);
  CHECK(rig.Last()->rooms[0].room_id == "r2");
  WalkStatsView v = rig.stats.View();
  CHECK(v.api(Api::kGetMemberList).errors_by_code.at("100001") == 3);
  CHECK(v.api(Api::kGetMemberList).failed == 3);
}

TEST_CASE(
    "a room that closed (100004) is dropped at once and the round still "
    "completes") {
  Rig rig(2);
  rig.runner->Start();
  rig.runner->SetRooms({"r1", "r2"});
  REQUIRE(rig.WaitForPublished(1));
  REQUIRE(rig.WaitIdle());
  rig.client->SetHandler([](Api api, const std::string& room) {
    if (room == "r1") return Error(100004);
    return Values()(api, room);
  });
  rig.clock.Advance(30s);
  REQUIRE(rig.WaitForPublished(2));
  auto s = rig.Last();
  REQUIRE(s->rooms.size() == 1);
  CHECK(s->rooms[0].room_id == "r2");
  CHECK(s->last_success_timestamp == 1700000030.0);
  WalkStatsView v = rig.stats.View();
  CHECK(v.api(Api::kGetMemberList).errors_by_code.at("100004") +
            v.api(Api::kGetRoomStats).errors_by_code["100004"] >=
        1);
}

TEST_CASE("with members off, get_member_list is never called nor exported") {
  Rig rig(3, false);
  rig.runner->Start();
  rig.runner->SetRooms({"r1"});
  REQUIRE(rig.WaitForPublished(1));
  CHECK(rig.client->calls(Api::kGetMemberList) == 0);
  CHECK(rig.Last()->rooms[0] == TopRoom{"r1", std::nullopt, TotalsOf(1)});
  CHECK_FALSE(rig.stats.View().api(Api::kGetMemberList).used);
}

TEST_CASE(
    "Stop returns promptly with requests in flight and publishes nothing") {
  Rig rig(2);
  rig.client->Hold();
  rig.runner->Start();
  rig.runner->SetRooms({"r1", "r2"});
  REQUIRE(WaitFor([&] { return rig.client->calls(Api::kGetRoomStats) == 2; }));
  auto start = std::chrono::steady_clock::now();
  rig.runner->Stop();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(rig.Published() == 0);
}

TEST_CASE("RunRound runs one round on the calling thread") {
  Rig rig(5);
  CHECK_FALSE(rig.runner->RunRound());  // no rooms yet
  rig.runner->SetRooms({"r7"});
  CHECK(rig.runner->RunRound());
  REQUIRE(rig.Published() == 1);
  CHECK(rig.Last()->rooms[0] == TopRoom{"r7", 70, TotalsOf(7)});
}

}  // namespace
}  // namespace tle
