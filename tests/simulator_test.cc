// Tests of the upstream simulator over real HTTP on loopback: paging, error
// codes, rate limit, room changes, every fault kind, the control endpoints and
// HTTPS.

#include "simulator/simulator.h"

#include <httplib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "exporter/client/usersig.h"
#include "exporter/common/clock.h"

namespace json = boost::json;
using tle::FakeClock;
using tle::FaultKind;
using tle::FaultRate;
using tle::Simulator;
using tle::SimulatorOptions;

namespace {

std::int64_t Now() {
  return static_cast<std::int64_t>(tle::RealClock().NowUnix());
}

SimulatorOptions FastOptions() {
  SimulatorOptions options;
  options.max_qps =
      100000;  // tests that are not about the limit must not hit it
  return options;
}

struct Call {
  int status = 0;  // 0: no HTTP answer (transport error)
  std::string body;
  json::value value;  // null when the body is not JSON
  std::int64_t code() const { return value.at("ErrorCode").as_int64(); }
  const json::object& response() const {
    return value.at("Response").as_object();
  }
  std::string next() const {
    return std::string(response().at("Next").as_string());
  }
  const json::array& rooms() const {
    return response().at("RoomList").as_array();
  }
};

// Calls get_room_list the way the exporter does, with knobs to break each part
// of the request.
class Api {
 public:
  explicit Api(const Simulator& sim, const SimulatorOptions& options)
      : client_(sim.endpoint()), options_(options) {
    client_.set_read_timeout(60, 0);
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    identifier = options.identifier;
    // Minted at the simulator's own time, which checks it.
    const std::int64_t now =
        options.clock != nullptr
            ? static_cast<std::int64_t>(options.clock->NowUnix())
            : Now();
    usersig = tle::MintUserSig(options.secret_key, identifier, options.sdkappid,
                               now, 86400);
    sdkappid = std::to_string(options.sdkappid);
  }

  std::string Target() const {
    std::string t = "/v4/live_engine_http_srv/get_room_list?";
    if (!sdkappid.empty()) t += "sdkappid=" + sdkappid + "&";
    if (!identifier.empty()) t += "identifier=" + identifier + "&";
    if (!usersig.empty()) t += "usersig=" + usersig + "&";
    if (!random.empty()) t += "random=" + random + "&";
    if (!contenttype.empty()) t += "contenttype=" + contenttype;
    return t;
  }

  Call Raw(const std::string& body) {
    Call call;
    auto res = client_.Post(Target().c_str(), body, "application/json");
    if (!res) return call;
    call.status = res->status;
    call.body = res->body;
    json::parse_options opts;
    opts.allow_invalid_utf8 = true;
    boost::system::error_code ec;
    call.value = json::parse(call.body, ec, {}, opts);
    if (ec) call.value = nullptr;
    return call;
  }

  Call Page(const std::string& next, int count = 20) {
    json::object body;
    body["Next"] = next;
    body["Count"] = count;
    return Raw(json::serialize(body));
  }

  httplib::Client& client() { return client_; }

  std::string sdkappid, identifier, usersig, random = "12345",
                                             contenttype = "json";

 private:
  httplib::Client client_;
  SimulatorOptions options_;
};

tle::Room RoomFromJson(const json::object& o) {
  tle::Room room;
  room.room_name = std::string(o.at("RoomName").as_string());
  room.room_id = std::string(o.at("RoomId").as_string());
  room.owner_account = std::string(o.at("Owner_Account").as_string());
  room.cover_url = std::string(o.at("CoverURL").as_string());
  for (const auto& c : o.at("Category").as_array())
    room.categories.push_back(c.as_int64());
  room.create_time = o.at("CreateTime").as_int64();
  room.activity_status = o.at("ActivityStatus").as_int64();
  room.view_count = o.at("ViewCount").as_int64();
  return room;
}

// A room object that decodes cleanly into the simulator's room of the same id.
bool Intact(const json::value& v, const Simulator& sim) {
  try {
    const tle::Room room = RoomFromJson(v.as_object());
    for (const auto& r : sim.Rooms()) {
      if (r.room_id == room.room_id) return r == room;
    }
  } catch (const std::exception&) {
  }
  return false;
}

void CheckFailShape(const Call& call, std::int64_t code) {
  REQUIRE(call.status == 200);
  REQUIRE(call.value.is_object());
  const auto& o = call.value.as_object();
  CHECK(o.size() == 4);
  CHECK(o.at("ActionStatus") == "FAIL");
  CHECK(o.at("ErrorCode").as_int64() == code);
  CHECK(!o.at("ErrorInfo").as_string().empty());
  CHECK(std::regex_match(std::string(o.at("RequestId").as_string()),
                         std::regex("Id-[0-9a-f]{32}-O-Seq-[0-9]+")));
}

}  // namespace

TEST_CASE("fault names round-trip and specs parse", "[simulator]") {
  for (auto kind : tle::AllFaults()) {
    const std::optional<FaultKind> parsed =
        tle::ParseFaultName(tle::FaultName(kind));
    REQUIRE(parsed);
    CHECK(*parsed == kind);
  }
  CHECK_FALSE(tle::ParseFaultName("nope"));
  CHECK(tle::AllFaults().size() == 16);
  tle::Result<tle::FaultSpec> spec = tle::ParseFaultSpec("http_502");
  REQUIRE(spec.ok());
  CHECK(spec->kind == FaultKind::kHttp502);
  CHECK(spec->rate.probability == 1.0);
  CHECK(spec->rate.count == -1);
  spec = tle::ParseFaultSpec("slow:0.25:3");
  REQUIRE(spec.ok());
  CHECK(spec->kind == FaultKind::kSlow);
  CHECK(spec->rate.probability == 0.25);
  CHECK(spec->rate.count == 3);
  // Each refusal names the part that is wrong.
  const std::pair<const char*, const char*> bad[] = {
      {"nope", "unknown fault \"nope\""},
      {"slow:1.5", "PROB \"1.5\" is not a number in 0..1"},
      {"slow:x", "PROB \"x\" is not a number in 0..1"},
      {"slow:", "PROB \"\" is not a number in 0..1"},
      {"slow:1:-2",
       "COUNT \"-2\" is not -1 or a whole number in 0..1000000000"},
      {"slow:1:2:3", "more than three parts"},
  };
  for (const auto& [text, message] : bad) {
    INFO(text);
    const tle::Result<tle::FaultSpec> refused = tle::ParseFaultSpec(text);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().message() == message);
  }
}

TEST_CASE("rooms are generated deterministically from the seed",
          "[simulator]") {
  SimulatorOptions a = FastOptions();
  SimulatorOptions b = FastOptions();
  SimulatorOptions c = FastOptions();
  c.seed = 2;
  const auto rooms = Simulator(a).Rooms();
  REQUIRE(rooms.size() == 137);
  CHECK(rooms == Simulator(b).Rooms());
  CHECK(rooms != Simulator(c).Rooms());

  bool quote = false, backslash = false, newline = false, non_ascii = false,
       no_tags = false;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    const auto& r = rooms[i];
    CHECK(std::regex_match(r.room_id, std::regex("room_[0-9]{6}")));
    ids.insert(r.room_id);
    quote = quote || r.room_name.find('"') != std::string::npos;
    backslash = backslash || r.room_name.find('\\') != std::string::npos;
    newline = newline || r.room_name.find('\n') != std::string::npos;
    for (char ch : r.room_name)
      non_ascii = non_ascii || static_cast<unsigned char>(ch) >= 0x80;
    no_tags = no_tags || r.categories.empty();
    CHECK(r.categories.size() <= 3);
    for (auto tag : r.categories) CHECK((tag >= 1 && tag <= 8));
    CHECK((r.activity_status >= 0 && r.activity_status <= 3));
    CHECK(r.create_time < Now());
    CHECK(r.view_count >= 0);
    if (i > 0) {
      const auto& p = rooms[i - 1];
      CHECK((p.view_count > r.view_count ||
             (p.view_count == r.view_count && p.room_id < r.room_id)));
    }
  }
  CHECK(ids.size() == rooms.size());
  CHECK(quote);
  CHECK(backslash);
  CHECK(newline);
  CHECK(non_ascii);
  CHECK(no_tags);
  CHECK(rooms.front().view_count >
        100 * rooms[rooms.size() / 2].view_count);  // heavy tail
}

TEST_CASE("a walk pages through 137 rooms in 7 pages of 20", "[simulator]") {
  const auto options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);

  std::vector<tle::Room> walked;
  std::string next;
  int pages = 0;
  std::set<std::string> cursors;
  do {
    const Call call = api.Page(next);
    REQUIRE(call.status == 200);
    REQUIRE(call.value.is_object());
    const auto& o = call.value.as_object();
    CHECK(o.at("ActionStatus") == "OK");
    CHECK(o.at("ErrorInfo") == "");
    CHECK(o.at("ErrorCode").as_int64() == 0);
    CHECK(std::regex_match(std::string(o.at("RequestId").as_string()),
                           std::regex("Id-[0-9a-f]{32}-O-Seq-[0-9]+")));
    for (const auto& room : call.rooms())
      walked.push_back(RoomFromJson(room.as_object()));
    CHECK(call.rooms().size() == (pages < 6 ? 20u : 17u));
    next = call.next();
    if (!next.empty()) {
      CHECK(std::regex_match(next, std::regex("[0-9]{10}-[0-9]{12}")));
      CHECK(cursors.insert(next).second);
    }
    ++pages;
  } while (!next.empty() && pages < 100);
  CHECK(pages == 7);
  CHECK(walked == sim.Rooms());

  // Count 1 walks room by room; Count 17 of 17 remaining leaves no empty
  // trailing page.
  Call one = api.Page("", 1);
  REQUIRE(one.rooms().size() == 1);
  CHECK(RoomFromJson(one.rooms()[0].as_object()) == sim.Rooms()[0]);
  CHECK(sim.Stats().requests == 8);
  CHECK(sim.Stats().answers_by_code.at(0) == 8);
}

TEST_CASE("paging follows the current ranking", "[simulator]") {
  const auto options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  const Call first = api.Page("");
  const auto before = sim.Rooms();
  // The last room of all jumps to the top: everything shifts down one place, so
  // page 2 starts with the room that ended page 1.
  sim.AddViews(before.back().room_id, before.front().view_count + 1);
  CHECK(sim.Rooms().front().room_id == before.back().room_id);
  const Call second = api.Page(first.next());
  CHECK(second.rooms()[0].at("RoomId") == first.rooms()[19].at("RoomId"));
}

TEST_CASE("requests are checked like the vendor does", "[simulator]") {
  const auto options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  const std::string admin = options.identifier;

  SECTION("UserSig made with another secret key: 70003") {
    api.usersig =
        tle::MintUserSig("wrong-secret", admin, options.sdkappid, Now(), 86400);
    CheckFailShape(api.Page(""), 70003);
  }
  SECTION("UserSig that is not a UserSig: 70003") {
    api.usersig = "not-a-usersig";
    CheckFailShape(api.Page(""), 70003);
  }
  SECTION("expired UserSig: 70001") {
    api.usersig = tle::MintUserSig(options.secret_key, admin, options.sdkappid,
                                   Now() - 200, 100);
    CheckFailShape(api.Page(""), 70001);
  }
  SECTION("identifier with a valid UserSig but not the administrator: 60010") {
    api.identifier = "bren";
    api.usersig = tle::MintUserSig(options.secret_key, "bren", options.sdkappid,
                                   Now(), 86400);
    CheckFailShape(api.Page(""), 60010);
  }
  SECTION("UserSig made for another identifier: 70013") {
    api.identifier = "bren";
    CheckFailShape(api.Page(""), 70013);
  }
  SECTION("UserSig made for another SDKAppID: 70014") {
    api.usersig =
        tle::MintUserSig(options.secret_key, admin, 1400000001, Now(), 86400);
    CheckFailShape(api.Page(""), 70014);
  }
  SECTION("missing usersig: 70002") {
    api.usersig = "";
    CheckFailShape(api.Page(""), 70002);
  }
  SECTION("missing sdkappid: 60012") {
    api.sdkappid = "";
    CheckFailShape(api.Page(""), 60012);
  }
  SECTION("another or malformed sdkappid: 60006") {
    api.sdkappid = "1400000001";
    CheckFailShape(api.Page(""), 60006);
    api.sdkappid = "14x";
    CheckFailShape(api.Page(""), 60006);
  }
  SECTION("missing identifier: 60004") {
    api.identifier = "";
    CheckFailShape(api.Page(""), 60004);
  }
  SECTION("random not an unsigned 32-bit integer: 60002") {
    for (const char* bad : {"", "4294967296", "-1", "12a", "+5"}) {
      api.random = bad;
      CheckFailShape(api.Page(""), 60002);
    }
    api.random = "4294967295";
    CHECK(api.Page("").code() == 0);
    api.random = "0";
    CHECK(api.Page("").code() == 0);
  }
  SECTION("contenttype other than json: 60002") {
    api.contenttype = "xml";
    CheckFailShape(api.Page(""), 60002);
    api.contenttype = "";
    CheckFailShape(api.Page(""), 60002);
  }
  SECTION("body that is not JSON: 60003") {
    CheckFailShape(api.Raw("{\"Next\":\"\","), 60003);
    CheckFailShape(api.Raw("[]"), 60003);
  }
  SECTION("Count outside 1..20 or not an integer: 100002") {
    CheckFailShape(api.Page("", 0), 100002);
    CheckFailShape(api.Page("", 21), 100002);
    CheckFailShape(api.Page("", -1), 100002);
    CheckFailShape(api.Raw(R"({"Next":"","Count":"20"})"), 100002);
    CheckFailShape(api.Raw(R"({"Next":"","Count":20.5})"), 100002);
    CheckFailShape(api.Raw(R"({"Next":"","Count":18446744073709551615})"),
                   100002);
    CheckFailShape(api.Raw(R"({"Next":""})"), 100002);
    CHECK(api.Page("", 20).code() == 0);
  }
  SECTION("Next missing, not a string, or not issued: 100002") {
    CheckFailShape(api.Raw(R"({"Count":20})"), 100002);
    CheckFailShape(api.Raw(R"({"Next":5,"Count":20})"), 100002);
    CheckFailShape(api.Page("1693271355-123123123123"), 100002);
    const Call first = api.Page("");
    std::string forged = first.next();
    forged.back() = forged.back() == '1' ? '2' : '1';
    CheckFailShape(api.Page(forged), 100002);
    CHECK(api.Page(first.next()).code() ==
          0);  // a cursor can be used more than once
  }
  CHECK(sim.Stats().rate_limited == 0);
}

TEST_CASE("more than max_qps calls in a second get 60007",
          "[simulator][integration]") {
  // The limit's second is the clock's: the calls below all happen at one
  // instant of it however slowly this machine runs them.
  FakeClock clock;
  auto options = FastOptions();
  options.max_qps = 10;
  options.clock = &clock;
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  int limited = 0;
  for (int i = 0; i < 11; ++i) {
    const Call call = api.Page("");
    if (call.code() == 60007) {
      CheckFailShape(call, 60007);
      CHECK(i == 10);
      ++limited;
    } else {
      CHECK(call.code() == 0);
    }
  }
  CHECK(limited == 1);
  CHECK(sim.Stats().rate_limited == 1);
  CHECK(sim.Stats().answers_by_code.at(60007) == 1);
  clock.Advance(std::chrono::milliseconds(999));  // the window is still full
  CHECK(api.Page("").code() == 60007);
  clock.Advance(std::chrono::milliseconds(1));  // the first ten fall out
  for (int i = 0; i < 10; ++i) CHECK(api.Page("").code() == 0);
  CHECK(api.Page("").code() == 60007);
  CHECK(sim.Stats().rate_limited == 3);
}

TEST_CASE("rooms open, close, gain views and churn", "[simulator]") {
  const auto options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  const auto before = sim.Rooms();
  const std::string gone = before[5].room_id;
  sim.CloseRoom(gone);
  sim.CloseRoom("room_999999");  // absent: no-op
  auto after = sim.Rooms();
  CHECK(after.size() == 136);
  for (const auto& r : after) CHECK(r.room_id != gone);

  tle::Room opened;
  opened.room_id = "room_new";
  opened.room_name = "fresh";
  opened.view_count = before.front().view_count + 10;
  sim.OpenRoom(opened);
  after = sim.Rooms();
  CHECK(after.size() == 137);
  CHECK(after.front() == opened);

  // A full walk reflects the changes.
  std::set<std::string> walked;
  std::string next;
  do {
    const Call call = api.Page(next);
    REQUIRE(call.code() == 0);
    for (const auto& room : call.rooms())
      walked.insert(std::string(room.at("RoomId").as_string()));
    next = call.next();
  } while (!next.empty());
  CHECK(walked.count("room_new") == 1);
  CHECK(walked.count(gone) == 0);
  CHECK(walked.size() == 137);

  const auto pre_churn = sim.Rooms();
  sim.Churn();
  const auto churned = sim.Rooms();
  std::set<std::string> pre_ids, post_ids;
  for (const auto& r : pre_churn) pre_ids.insert(r.room_id);
  for (const auto& r : churned) post_ids.insert(r.room_id);
  bool closed = false, opened_any = false;
  for (const auto& id : pre_ids) closed = closed || post_ids.count(id) == 0;
  for (const auto& id : post_ids)
    opened_any = opened_any || pre_ids.count(id) == 0;
  CHECK(closed);
  CHECK(opened_any);
  std::int64_t views_before = 0, views_after = 0;
  for (const auto& r : pre_churn) views_before += r.view_count;
  for (const auto& r : churned) views_after += r.view_count;
  CHECK(views_after != views_before);
}

TEST_CASE("each fault does what it says", "[simulator][integration]") {
  FakeClock clock;  // only the slow fault waits on it
  auto options = FastOptions();
  options.slow_delay = std::chrono::milliseconds(600);
  options.clock = &clock;
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  const Call first = api.Page("");
  REQUIRE(first.code() == 0);
  const std::string cursor = first.next();
  std::uint64_t injected = 0;

  // Each fault once (count 1), then the next call is normal again.
  auto once = [&](FaultKind kind, const std::string& next) {
    INFO(tle::FaultName(kind));
    sim.SetFault(kind, FaultRate{1.0, 1});
    Call call = api.Page(next);
    CHECK(sim.Stats().faults_injected == ++injected);
    const Call normal = api.Page(next);
    CHECK(normal.status == 200);
    CHECK(normal.code() == 0);
    return call;
  };

  CheckFailShape(once(FaultKind::kInternalError, ""), 100001);
  CheckFailShape(once(FaultKind::kRateLimit, ""), 60007);
  CHECK(sim.Stats().rate_limited == 0);  // injected, not the real limit
  CheckFailShape(once(FaultKind::kExpired, ""), 70001);
  CheckFailShape(once(FaultKind::kBadSignature, cursor), 70003);
  CheckFailShape(once(FaultKind::kNotAdmin, ""), 60010);

  {
    const Call call = once(FaultKind::kHttp502, "");
    CHECK(call.status == 502);
    CHECK(call.body.find("502 Bad Gateway") != std::string::npos);
  }
  {
    const Call call = once(FaultKind::kMalformedJson, "");
    CHECK(call.status == 200);
    CHECK(call.value.is_null());
    CHECK(call.body.rfind("{\"ActionStatus\":\"OK\"", 0) == 0);
  }
  {
    const Call call = once(FaultKind::kOkWithoutResponse, "");
    CHECK(call.value.at("ActionStatus") == "OK");
    CHECK(call.code() == 0);
    CHECK(call.value.as_object().if_contains("Response") == nullptr);
  }
  {
    const Call call = once(FaultKind::kCloseMidBody, "");
    CHECK(call.status == 0);  // the client saw the connection end mid-body
  }
  {
    const Call call = once(FaultKind::kWrongTypes, "");
    int intact = 0, damaged = 0;
    for (const auto& room : call.rooms())
      (Intact(room, sim) ? intact : damaged)++;
    CHECK(damaged >= 5);
    CHECK(intact >= 10);
    bool string_views = false, big_views = false, float_views = false;
    for (const auto& room : call.rooms()) {
      const auto& v = room.at("ViewCount");
      string_views = string_views || v.is_string();
      big_views =
          big_views || (v.is_int64() && v.as_int64() > (std::int64_t{1} << 53));
      float_views = float_views || v.is_double();
    }
    CHECK(string_views);
    CHECK(big_views);
    CHECK(float_views);
  }
  {
    const Call call = once(FaultKind::kMissingFields, "");
    int intact = 0, no_id = 0;
    for (const auto& room : call.rooms()) {
      if (Intact(room, sim)) ++intact;
      if (room.as_object().if_contains("RoomId") == nullptr) ++no_id;
    }
    CHECK(no_id >= 1);
    CHECK(intact >= 10);
  }
  {
    const Call call = once(FaultKind::kInvalidUtf8, "");
    CHECK(call.body.find("\xff\xfe") != std::string::npos);
    boost::system::error_code ec;
    json::parse(call.body, ec);  // a strict parser refuses it
    CHECK(ec);
    int intact = 0;
    for (const auto& room : call.rooms()) intact += Intact(room, sim) ? 1 : 0;
    CHECK(intact >= 10);
  }
  {
    const Call call = once(FaultKind::kDuplicateRoom, cursor);
    CHECK(call.rooms().size() == 20);
    CHECK(call.rooms()[0] == first.rooms()[19]);
  }
  {
    // Not on a first page (there is no earlier cursor to loop to): the fault
    // waits.
    sim.SetFault(FaultKind::kCursorLoop, FaultRate{1.0, 1});
    const Call page1 = api.Page("");
    CHECK(sim.Stats().faults_injected == injected);
    const Call page2 = api.Page(page1.next());
    CHECK(sim.Stats().faults_injected == ++injected);
    CHECK(page2.next() == page1.next());
  }
  {
    // The slow answer waits on the fake clock: it cannot be sent until the
    // test moves the time, whatever the machine's load.
    sim.SetFault(FaultKind::kSlow, FaultRate{1.0, 1});
    auto slow = std::async(std::launch::async, [&] {
      Api other(sim, options);
      return other.Page("");
    });
    REQUIRE(clock.WaitForSleepers(1));  // the slow call waits for its delay
    CHECK(sim.Stats().faults_injected == ++injected);
    // Another connection is answered while the slow one waits.
    CHECK(api.Page("").code() == 0);
    CHECK(slow.wait_for(std::chrono::seconds(0)) != std::future_status::ready);
    clock.Advance(options.slow_delay - std::chrono::milliseconds(1));
    CHECK(slow.wait_for(std::chrono::milliseconds(50)) !=
          std::future_status::ready);
    clock.Advance(std::chrono::milliseconds(1));
    const Call call = slow.get();
    CHECK(call.code() == 0);
  }
  {
    const Call call = once(FaultKind::kHugeAnswer, "");
    CHECK(call.body.size() >= (32u << 20));
    REQUIRE(call.value.is_object());  // valid JSON
    CHECK(call.rooms().size() > 100000);
  }

  // Probability 0 never fires; ClearFaults removes them.
  sim.SetFault(FaultKind::kInternalError, FaultRate{0.0, -1});
  for (int i = 0; i < 5; ++i) CHECK(api.Page("").code() == 0);
  sim.SetFault(FaultKind::kInternalError, FaultRate{1.0, -1});
  CHECK(api.Page("").code() == 100001);
  CHECK(api.Page("").code() == 100001);
  sim.ClearFaults();
  CHECK(api.Page("").code() == 0);
}

TEST_CASE("Stop returns promptly while a slow answer is pending",
          "[simulator][integration]") {
  auto options = FastOptions();
  options.slow_delay = std::chrono::milliseconds(30000);
  Simulator sim(options);
  sim.Start();
  sim.SetFault(FaultKind::kSlow, FaultRate{1.0, -1});
  auto pending = std::async(std::launch::async, [&] {
    Api api(sim, options);
    return api.Page("");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  sim.Stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  pending.get();
  sim.Stop();  // idempotent
}

TEST_CASE("control endpoints", "[simulator]") {
  const auto options = FastOptions();
  Simulator sim(options);
  sim.Start();
  Api api(sim, options);
  auto& http = api.client();

  auto rooms = http.Get("/-/sim/rooms");
  REQUIRE(rooms);
  const auto list = json::parse(rooms->body).as_array();
  REQUIRE(list.size() == 137);
  CHECK(RoomFromJson(list[0].as_object()) == sim.Rooms()[0]);

  auto set =
      http.Post("/-/sim/faults?set=internal_error:1:1", "", "text/plain");
  REQUIRE(set);
  CHECK(set->status == 200);
  CHECK(set->body.find("internal_error") != std::string::npos);
  CHECK(api.Page("").code() == 100001);
  CHECK(api.Page("").code() == 0);

  REQUIRE(http.Post("/-/sim/faults?set=http_502", "", "text/plain"));
  CHECK(api.Page("").status == 502);
  auto cleared = http.Post("/-/sim/faults?clear=1", "", "text/plain");
  REQUIRE(cleared);
  CHECK(json::parse(cleared->body).at("faults").as_array().empty());
  CHECK(api.Page("").code() == 0);

  auto bad = http.Post("/-/sim/faults?set=bogus:1", "", "text/plain");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body).at("error").as_string() ==
        "set=NAME[:PROB][:COUNT] expected: unknown fault \"bogus\"");

  auto stats = http.Get("/-/sim/stats");
  REQUIRE(stats);
  const auto s = json::parse(stats->body).as_object();
  CHECK(s.at("requests").as_int64() == 4);
  CHECK(s.at("rate_limited").as_int64() == 0);
  CHECK(s.at("faults_injected").as_int64() == 2);
  CHECK(s.at("answers_by_code").at("0").as_int64() == 2);
  CHECK(s.at("answers_by_code").at("100001").as_int64() == 1);
}

TEST_CASE("serves HTTPS with a certificate", "[simulator][integration]") {
  namespace fs = std::filesystem;
  // The install script provides openssl; without it the test fails.
  if (std::system("openssl version > /dev/null 2>&1") != 0)
    FAIL("openssl not installed (Debian package openssl)");
  const fs::path dir =
      fs::temp_directory_path() /
      ("tle-sim-tls-" +
       std::to_string(
           std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(),
                    key = (dir / "key.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " > /dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);

  auto options = FastOptions();
  options.cert_file = cert;
  options.key_file = key;
  {
    Simulator sim(options);
    sim.Start();
    CHECK(sim.endpoint().rfind("https://127.0.0.1:", 0) == 0);
    Api api(sim, options);
    api.client().set_ca_cert_path(cert.c_str());
    api.client().enable_server_certificate_verification(true);
    const Call call = api.Page("");
    CHECK(call.code() == 0);
    CHECK(call.rooms().size() == 20);

    httplib::Client plain("http://127.0.0.1:" + std::to_string(sim.port()));
    plain.set_read_timeout(2, 0);
    auto res = plain.Post("/v4/live_engine_http_srv/get_room_list", "{}",
                          "application/json");
    CHECK((!res || res->status != 200));
  }
  fs::remove_all(dir);
}

TEST_CASE("Start throws when the port is taken", "[simulator]") {
  auto options = FastOptions();
  Simulator first(options);
  first.Start();
  options.port = first.port();
  Simulator second(options);
  CHECK_THROWS_AS(second.Start(), std::runtime_error);
}
