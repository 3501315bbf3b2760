// Tests of the simulator's get_member_list and get_room_stats over real HTTP
// on loopback: the vendor's wire format, UserSig and body checks, 100004 for
// unknown and closed rooms, each call's own rate limit, audiences that churn
// (members up and down, totals only up), faults, and the per-API stats.
#include <httplib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "exporter/client/usersig.h"
#include "exporter/common/clock.h"
#include "simulator/simulator.h"

namespace tle {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

SimulatorOptions FastOptions() {
  SimulatorOptions options;
  options.max_qps = 100000;  // tests not about the limits must not hit them
  options.member_list_max_qps = 100000;
  options.room_stats_max_qps = 100000;
  options.rooms = 30;
  options.seed = 5;
  options.slow_delay = 300ms;
  return options;
}

struct Answer {
  int status = 0;
  std::string body;
  json::value value;  // null when the body is not JSON
  std::int64_t code() const { return value.at("ErrorCode").as_int64(); }
  const json::object& response() const {
    return value.at("Response").as_object();
  }
};

class Caller {
 public:
  Caller(const Simulator& sim, const SimulatorOptions& options)
      : client_(sim.endpoint()) {
    client_.set_read_timeout(30, 0);
    const std::int64_t now =
        static_cast<std::int64_t>(tle::RealClock().NowUnix());
    usersig = MintUserSig(options.secret_key, options.identifier,
                          options.sdkappid, now, 86400);
    query = "sdkappid=" + std::to_string(options.sdkappid) +
            "&identifier=" + options.identifier + "&random=42&contenttype=json";
  }

  Answer Post(const std::string& api, const std::string& body) {
    Answer a;
    const std::string target =
        "/v4/live_engine_http_srv/" + api + "?" + query + "&usersig=" + usersig;
    auto res = client_.Post(target.c_str(), body, "application/json");
    if (!res) return a;
    a.status = res->status;
    a.body = res->body;
    boost::system::error_code ec;
    a.value = json::parse(a.body, ec);
    if (ec) a.value = nullptr;
    return a;
  }
  Answer Members(const std::string& room, const std::string& next = "") {
    json::object body;
    body["RoomId"] = room;
    body["Next"] = next;
    return Post("get_member_list", json::serialize(body));
  }
  Answer Stats(const std::string& room) {
    json::object body;
    body["RoomId"] = room;
    return Post("get_room_stats", json::serialize(body));
  }
  httplib::Client& client() { return client_; }

  std::string usersig, query;

 private:
  httplib::Client client_;
};

RoomAudience FromStats(const json::object& r) {
  RoomAudience a;
  a.total_viewers = r.at("TotalViewers").as_int64();
  a.total_gifts_sent = r.at("TotalGiftsSent").as_int64();
  a.total_gift_coins = r.at("TotalGiftCoins").as_int64();
  a.total_unique_gift_senders = r.at("TotalUniqueGiftSenders").as_int64();
  a.total_likes_received = r.at("TotalLikesReceived").as_int64();
  a.total_msg_count = r.at("TotalMsgCount").as_int64();
  return a;
}

TEST_CASE("get_member_list and get_room_stats answer in the vendor's format",
          "[simulator]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  for (const Room& room : sim.Rooms()) {
    INFO(room.room_id);
    const RoomAudience audience = *sim.Audience(room.room_id);
    Answer m = call.Members(room.room_id);
    REQUIRE(m.status == 200);
    REQUIRE(m.code() == 0);
    CHECK(m.value.at("ActionStatus") == "OK");
    CHECK(m.value.at("RequestId").is_string());
    CHECK(m.response().at("MemberCount").as_int64() == audience.members);
    const auto listed = static_cast<std::int64_t>(
        m.response().at("MemberList").as_array().size());
    CHECK(listed == std::min<std::int64_t>(audience.members, 100));
    if (listed > 0) {
      CHECK(m.response().at("MemberList").as_array()[0].at("Member_Account") ==
            "viewer_1");
    }
    Answer s = call.Stats(room.room_id);
    REQUIRE(s.code() == 0);
    RoomAudience totals = FromStats(s.response());
    totals.members = audience.members;
    CHECK(totals == audience);
    CHECK(s.response().size() == 6);
  }
}

TEST_CASE("the member list pages through at most 1000 members", "[simulator]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  const std::string room = sim.Rooms()[0].room_id;
  RoomAudience crowd = *sim.Audience(room);
  crowd.members = 1234;
  sim.SetAudience(room, crowd);
  std::string next;
  std::int64_t listed = 0;
  int pages = 0;
  do {
    Answer m = call.Members(room, next);
    REQUIRE(m.code() == 0);
    CHECK(m.response().at("MemberCount").as_int64() == 1234);
    listed += static_cast<std::int64_t>(
        m.response().at("MemberList").as_array().size());
    next = std::string(m.response().at("Next").as_string());
    ++pages;
  } while (!next.empty() && pages < 20);
  CHECK(listed == 1000);
  CHECK(pages == 10);
  CHECK(call.Members(room, "m1000").code() == 100002);
  CHECK(call.Members(room, "m55").code() == 100002);
  CHECK(call.Members(room, "1693271355-123").code() == 100002);
}

TEST_CASE("unknown and closed rooms get 100004; bad bodies 60003 or 100002",
          "[simulator]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  CHECK(call.Members("no_such_room").code() == 100004);
  CHECK(call.Stats("no_such_room").code() == 100004);
  const std::string room = sim.Rooms()[3].room_id;
  REQUIRE(call.Stats(room).code() == 0);
  sim.CloseRoom(room);
  CHECK_FALSE(sim.Audience(room));
  Answer gone = call.Members(room);
  CHECK(gone.code() == 100004);
  CHECK(gone.value.at("ActionStatus") == "FAIL");
  CHECK(gone.value.at("ErrorInfo") == "The room does not exist");
  CHECK(call.Stats(room).code() == 100004);
  Room opened;
  opened.room_id = "fresh";
  opened.view_count = 500;
  sim.OpenRoom(opened);
  CHECK(call.Stats("fresh").code() == 0);

  for (const char* api : {"get_member_list", "get_room_stats"}) {
    INFO(api);
    CHECK(call.Post(api, "not json").code() == 60003);
    CHECK(call.Post(api, "[1]").code() == 60003);
    CHECK(call.Post(api, "{}").code() == 100002);
    CHECK(call.Post(api, R"({"RoomId":7})").code() == 100002);
    CHECK(call.Post(api, R"({"RoomId":""})").code() == 100002);
    CHECK(call.Post(api, R"({"RoomId":")" + std::string(49, 'x') + "\"}")
              .code() == 100002);
  }
  CHECK(call.Post("get_member_list", R"({"RoomId":"fresh","Next":3})").code() ==
        100002);
}

TEST_CASE("the top-rooms calls check the caller like get_room_list",
          "[simulator]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  const std::string room = sim.Rooms()[0].room_id;
  Caller bad(sim, options);
  bad.usersig = MintUserSig("wrong key", options.identifier, options.sdkappid,
                            1900000000, 86400);
  CHECK(bad.Members(room).code() == 70003);
  bad.usersig = MintUserSig(options.secret_key, options.identifier,
                            options.sdkappid, 1600000000, 60);
  CHECK(bad.Stats(room).code() == 70001);
  Caller other(sim, options);
  other.query =
      "sdkappid=1400000001&identifier=administrator&random=1&"
      "contenttype=json";
  CHECK(other.Stats(room).code() == 60006);
  other.query = "sdkappid=1400000000&identifier=administrator&contenttype=json";
  CHECK(other.Members(room).code() == 60002);
}

TEST_CASE("each call has its own rate limit", "[simulator]") {
  SimulatorOptions options = FastOptions();
  options.member_list_max_qps = 5;
  options.room_stats_max_qps = 3;
  options.max_qps = 2;
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  const std::string room = sim.Rooms()[0].room_id;
  // Within far less than a second: the first 5 / 3 pass, the next get 60007.
  int member_ok = 0, stats_ok = 0;
  for (int i = 0; i < 7; ++i) member_ok += call.Members(room).code() == 0;
  for (int i = 0; i < 5; ++i) stats_ok += call.Stats(room).code() == 0;
  CHECK(member_ok == 5);
  CHECK(stats_ok == 3);
  const SimulatorStats stats = sim.Stats();
  CHECK(stats.api(SimApi::kGetMemberList).requests == 7);
  CHECK(stats.api(SimApi::kGetMemberList).rate_limited == 2);
  CHECK(stats.api(SimApi::kGetRoomStats).rate_limited == 2);
  CHECK(stats.api(SimApi::kGetRoomStats).answers_by_code.at(60007) == 2);
  CHECK(stats.api(SimApi::kGetRoomList).requests == 0);
  CHECK(stats.requests == 0);  // get_room_list's own count
  CHECK(sim.Arrivals(SimApi::kGetMemberList).size() == 7);
  CHECK(sim.Arrivals(SimApi::kGetRoomStats).size() == 5);
  const auto arrivals = sim.Arrivals(SimApi::kGetMemberList);
  CHECK(std::is_sorted(arrivals.begin(), arrivals.end()));
}

TEST_CASE("churn moves member counts both ways and only grows the totals",
          "[simulator]") {
  SimulatorOptions options = FastOptions();
  options.rooms = 200;
  Simulator sim(options);
  std::map<std::string, RoomAudience> before;
  for (const Room& room : sim.Rooms())
    before[room.room_id] = *sim.Audience(room.room_id);
  bool rose = false, fell = false;
  for (int step = 0; step < 5; ++step) {
    sim.Churn();
    for (const Room& room : sim.Rooms()) {
      auto it = before.find(room.room_id);
      const RoomAudience now = *sim.Audience(room.room_id);
      if (it != before.end()) {
        const RoomAudience& was = it->second;
        rose = rose || now.members > was.members;
        fell = fell || now.members < was.members;
        CHECK(now.total_viewers >= was.total_viewers);
        CHECK(now.total_gifts_sent >= was.total_gifts_sent);
        CHECK(now.total_gift_coins >= was.total_gift_coins);
        CHECK(now.total_unique_gift_senders >= was.total_unique_gift_senders);
        CHECK(now.total_likes_received >= was.total_likes_received);
        CHECK(now.total_msg_count >= was.total_msg_count);
      }
      CHECK(now.members >= 0);
      before[room.room_id] = now;
    }
  }
  CHECK(rose);
  CHECK(fell);
  // The same seed gives the same audiences.
  Simulator again(options);
  const std::string first = again.Rooms()[0].room_id;
  Simulator third(options);
  CHECK(*again.Audience(first) == *third.Audience(first));
}

TEST_CASE("faults apply to the top-rooms calls, on every API or on one",
          "[simulator][integration]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  const std::string room = sim.Rooms()[0].room_id;

  sim.SetFault(SimApi::kGetRoomStats, FaultKind::kInternalError, {1.0, 1});
  CHECK(call.Members(room).code() == 0);  // another API: untouched
  CHECK(call.Stats(room).code() == 100001);
  CHECK(call.Stats(room).code() == 0);  // count 1: used up

  sim.SetFault(FaultKind::kHttp502, {1.0, 2});  // every API
  Answer bad_gateway = call.Members(room);
  CHECK(bad_gateway.status == 502);
  CHECK(call.Stats(room).status == 502);
  CHECK(call.Stats(room).code() == 0);

  sim.SetFault(FaultKind::kCursorLoop, {1.0, -1});  // get_room_list only
  CHECK(call.Members(room).code() == 0);
  sim.ClearFaults();

  struct Case {
    FaultKind kind;
    std::function<void(const Answer&)> check;
  };
  const Case cases[] = {
      {FaultKind::kRateLimit,
       [](const Answer& a) { CHECK(a.code() == 60007); }},
      {FaultKind::kExpired, [](const Answer& a) { CHECK(a.code() == 70001); }},
      {FaultKind::kMalformedJson,
       [](const Answer& a) {
         CHECK(a.status == 200);
         CHECK(a.value.is_null());
       }},
      {FaultKind::kOkWithoutResponse,
       [](const Answer& a) {
         CHECK(a.code() == 0);
         CHECK(a.value.as_object().count("Response") == 0);
       }},
      {FaultKind::kWrongTypes,
       [](const Answer& a) {
         const auto& r = a.response();
         const bool members = r.contains("MemberList");
         CHECK((members ? r.at("MemberCount").is_string()
                        : r.at("TotalLikesReceived").is_double()));
       }},
      {FaultKind::kMissingFields,
       [](const Answer& a) {
         const auto& r = a.response();
         CHECK((r.count("MemberCount") == 0 || r.count("TotalMsgCount") == 0));
       }},
  };
  for (const Case& c : cases) {
    INFO(FaultName(c.kind));
    sim.SetFault(c.kind, {1.0, 2});
    c.check(call.Members(room));
    c.check(call.Stats(room));
    CHECK(call.Stats(room).code() == 0);
    sim.ClearFaults();
  }

  sim.SetFault(SimApi::kGetMemberList, FaultKind::kSlow, {1.0, 1});
  const auto start = std::chrono::steady_clock::now();
  CHECK(call.Members(room).code() == 0);
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
  CHECK(sim.Stats().faults_injected >= 16);
}

TEST_CASE("the control endpoints know the APIs", "[simulator]") {
  SimulatorOptions options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Caller call(sim, options);
  call.Members(sim.Rooms()[0].room_id);
  auto set = call.client().Post(
      "/-/sim/faults?set=internal_error:0.5:3&api=get_room_stats", "",
      "text/plain");
  REQUIRE(set);
  CHECK(set->status == 200);
  json::value faults = json::parse(set->body);
  REQUIRE(faults.at("faults").as_array().size() == 1);
  CHECK(faults.at("faults").as_array()[0].at("api") == "get_room_stats");
  CHECK(faults.at("faults").as_array()[0].at("count").as_int64() == 3);
  auto bad = call.client().Post("/-/sim/faults?set=internal_error&api=nope", "",
                                "text/plain");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  auto stats = call.client().Get("/-/sim/stats");
  REQUIRE(stats);
  json::value s = json::parse(stats->body);
  CHECK(s.at("apis").at("get_member_list").at("requests").to_number<int>() ==
        1);
  CHECK(s.at("apis").at("get_room_stats").at("requests").to_number<int>() == 0);
  CHECK(SimApiName(SimApi::kGetRoomStats) == std::string("get_room_stats"));
}

}  // namespace
}  // namespace tle
