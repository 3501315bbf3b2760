// Simulator implementation: cpp-httplib server, Boost.JSON answers,
// deterministic rooms.
//
// Error codes, in the order the checks run (all with HTTP 200, as the vendor's
// page says):
//   rate limit      60007  more than max_qps admitted calls in the one second
//   before this one.
//                          Only admitted calls count (a call answered 60007
//                          does not use quota), so a client that backs off gets
//                          through again one second later. The limit runs
//                          first, like a front door: calls that later fail
//                          other checks still used their quota.
//   sdkappid        60012  missing or empty ("REST API needs an SDKAppID")
//                   60006  not a number, or not this simulator's app ("SDKAppID
//                   invalid")
//   identifier      60004  missing or empty (account error in the URL)
//   usersig         70002  missing or empty ("UserSig length is 0")
//   random          60002  missing, or not an unsigned 32-bit decimal (URL
//   parse error) contenttype     60002  missing or not "json" UserSig check
//   70003  not a decodable UserSig, or its signature does not match the secret
//   key
//                   70013  made for another identifier than the `identifier`
//                   parameter 70014  made for another SDKAppID than the
//                   `sdkappid` parameter 70001  expired (now > TLS.time +
//                   TLS.expire)
//   administrator   60010  identifier is not the App Administrator (checked
//   after the UserSig, so
//                          a caller learns about admin rights only with a valid
//                          signature)
//   body            60003  not JSON, or not a JSON object
//                   100002 Next missing or not a string, Count missing or not
//                   an integer,
//                          Count outside 1..20, or a Next this simulator never
//                          issued
// Faults are applied only to calls that pass every check above.
//
// get_member_list and get_room_stats run the same checks up to the body, each
// with its own rate limit (member_list_max_qps, room_stats_max_qps), then:
//   body            60003  not JSON, or not a JSON object
//                   100002 RoomId missing, not a string, empty or longer than
//                          48 bytes; Next (get_member_list) not a string or a
//                          cursor this simulator never issued
//   room            100004 no such room (never opened, or closed)
// get_member_list lists at most 1000 members, 100 a page, as "viewer_N"; its
// MemberCount is the whole audience. Faults apply to them too, except those
// that only make sense for a page of rooms (invalid_utf8, duplicate_room,
// cursor_loop, huge_answer).

#include "simulator/simulator.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "exporter/common/text.h"
#include "simulator/usersig_check.h"

namespace tle {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMaxCount = 20;
constexpr std::size_t kMaxRoomIdBytes = 48;
constexpr std::int64_t kMaxListedMembers = 1000;  // as the vendor says
constexpr std::int64_t kMembersPerPage = 100;
constexpr std::size_t kMaxRememberedArrivals = std::size_t{1} << 18;
// CreateTime of generated rooms lies up to a year before this instant
// (2024-06-01T00:00:00Z), so rooms made from one seed are the same on every
// run.
constexpr std::int64_t kCreateTimeBase = 1717200000;
constexpr std::size_t kMaxRememberedCursors = 200000;
constexpr std::size_t kHugeAnswerBytes = 32u << 20;
constexpr int kServerThreads = 64;

struct FaultEntry {
  FaultKind kind;
  const char* name;
};

constexpr FaultEntry kFaults[] = {
    {FaultKind::kInternalError, "internal_error"},
    {FaultKind::kHttp502, "http_502"},
    {FaultKind::kSlow, "slow"},
    {FaultKind::kCloseMidBody, "close_mid_body"},
    {FaultKind::kMalformedJson, "malformed_json"},
    {FaultKind::kOkWithoutResponse, "ok_without_response"},
    {FaultKind::kWrongTypes, "wrong_types"},
    {FaultKind::kMissingFields, "missing_fields"},
    {FaultKind::kInvalidUtf8, "invalid_utf8"},
    {FaultKind::kDuplicateRoom, "duplicate_room"},
    {FaultKind::kCursorLoop, "cursor_loop"},
    {FaultKind::kHugeAnswer, "huge_answer"},
    {FaultKind::kRateLimit, "rate_limit"},
    {FaultKind::kExpired, "expired"},
    {FaultKind::kBadSignature, "bad_signature"},
    {FaultKind::kNotAdmin, "not_admin"},
};

// SplitMix64: a small generator whose output is the same on every platform (the
// <random> distributions are not), so a seed always gives the same rooms.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1].
  double Unit() {
    return (static_cast<double>(Next() >> 11) + 1.0) / 9007199254740992.0;
  }
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  std::int64_t Range(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(span == 0 ? Next() : Next() % span);
  }

 private:
  std::uint64_t state_;
};

std::uint64_t Mix(std::uint64_t x) {
  Rng rng(x);
  return rng.Next();
}

constexpr const char* kNames[] = {
    "Evening jazz",
    "深夜电台 late night radio",
    "Speedrun \"any%\" attempts",
    "C:\\streams\\backslash",
    "Two\nlines",
    "🎮 Gaming marathon 🎮",
    "周末音乐会",
    "Café ☕ & croissants",
    "ライブ配信",
    "Tab\there",
    "Quote \\\" mix",
    "Morning yoga",
    "<b>html</b> & ampersand",
    "Cooking 🍜 noodles",
    "Study with me",
};

Room MakeRoom(std::int64_t number, Rng& rng) {
  Room room;
  char id[32];
  std::snprintf(id, sizeof id, "room_%06lld", static_cast<long long>(number));
  room.room_id = id;
  const auto name_index =
      static_cast<std::size_t>(rng.Range(0, std::size(kNames) - 1));
  room.room_name = kNames[name_index];
  if (rng.Unit() < 0.7) room.room_name += " #" + std::to_string(number);
  const double owner_kind = rng.Unit();
  if (owner_kind < 0.75) {
    room.owner_account = "user_" + std::to_string(rng.Range(1, 999));
  } else if (owner_kind < 0.85) {
    room.owner_account = "主播_" + std::to_string(rng.Range(1, 99));
  } else {
    room.owner_account =
        std::to_string(rng.Range(100000000, 999999999));  // numeric text
  }
  if (rng.Unit() < 0.9)
    room.cover_url = "https://cdn.example.com/covers/" + room.room_id + ".jpg";
  const double tags = rng.Unit();
  const int tag_count = tags < 0.2 ? 0 : tags < 0.55 ? 1 : tags < 0.85 ? 2 : 3;
  while (static_cast<int>(room.categories.size()) < tag_count) {
    const std::int64_t tag = rng.Range(1, 8);
    if (std::find(room.categories.begin(), room.categories.end(), tag) ==
        room.categories.end()) {
      room.categories.push_back(tag);
    }
  }
  room.create_time = kCreateTimeBase - rng.Range(3600, 365 * 86400);
  room.activity_status = rng.Range(0, 3);
  // Pareto-like: most rooms have a few dozen entries, a few have millions.
  const double views = 20.0 * std::pow(rng.Unit(), -1.6) - 20.0;
  room.view_count = static_cast<std::int64_t>(std::min(views, 5e9));
  return room;
}

std::string ApiPath(SimApi api) {
  return std::string("/v4/live_engine_http_srv/") + SimApiName(api);
}

std::size_t Index(SimApi api) { return static_cast<std::size_t>(api); }

// Faults that need a page of rooms leave get_member_list and get_room_stats
// alone.
bool AppliesTo(FaultKind kind, SimApi api) {
  if (api == SimApi::kGetRoomList) return true;
  switch (kind) {
    case FaultKind::kInvalidUtf8:
    case FaultKind::kDuplicateRoom:
    case FaultKind::kCursorLoop:
    case FaultKind::kHugeAnswer:
      return false;
    default:
      return true;
  }
}

// FNV-1a: a platform-independent hash of a RoomId, to seed its audience.
std::uint64_t HashText(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// A plausible audience for a room, the same for one seed and RoomId on every
// run: fewer people in the room now than entries ever, likes and messages a
// few per viewer, gifts from a few.
RoomAudience MakeAudience(const Room& room, std::uint64_t seed) {
  Rng rng(Mix(seed ^ HashText(room.room_id)));
  const double views = static_cast<double>(room.view_count);
  RoomAudience a;
  a.members = static_cast<std::int64_t>(std::pow(views + 1, 0.55) * rng.Unit());
  a.total_viewers = static_cast<std::int64_t>(views * (0.3 + 0.6 * rng.Unit()));
  a.total_likes_received = a.total_viewers * rng.Range(0, 12);
  a.total_msg_count = a.total_viewers * rng.Range(0, 3) + rng.Range(0, 9);
  a.total_gifts_sent = a.total_viewers / rng.Range(20, 200);
  a.total_unique_gift_senders =
      a.total_gifts_sent == 0 ? 0 : 1 + a.total_gifts_sent / rng.Range(1, 4);
  a.total_gift_coins = a.total_gifts_sent * rng.Range(1, 100);
  return a;
}

// One churn step of a room's audience: people come and go, the totals grow.
void ChurnAudience(RoomAudience& a, Rng& rng) {
  if (rng.Unit() < 0.6) {
    const std::int64_t swing = 1 + a.members / 5;
    a.members = std::max<std::int64_t>(0, a.members + rng.Range(-swing, swing));
  }
  const std::int64_t people = a.members + 1;
  a.total_viewers += rng.Range(0, people);
  a.total_likes_received += rng.Range(0, 3 * people);
  a.total_msg_count += rng.Range(0, people);
  const std::int64_t gifts = rng.Range(0, people / 10 + 1);
  a.total_gifts_sent += gifts;
  a.total_unique_gift_senders += rng.Range(0, gifts);
  a.total_gift_coins += gifts * rng.Range(1, 100);
}

bool RankedBefore(const Room& a, const Room& b) {
  if (a.view_count != b.view_count) return a.view_count > b.view_count;
  return a.room_id < b.room_id;
}

json::object RoomJson(const Room& room) {
  json::object o;
  o["RoomName"] = room.room_name;
  o["RoomId"] = room.room_id;
  o["Owner_Account"] = room.owner_account;
  o["CoverURL"] = room.cover_url;
  json::array categories;
  for (auto c : room.categories) categories.emplace_back(c);
  o["Category"] = std::move(categories);
  o["CreateTime"] = room.create_time;
  o["ActivityStatus"] = room.activity_status;
  o["ViewCount"] = room.view_count;
  return o;
}

// Damages room `i` of a page for kWrongTypes, kMissingFields; returns false
// when room `i` stays intact. Only every third room is damaged, so the rest of
// the page stays usable.
bool IsDamaged(std::size_t i, std::size_t page_size) {
  return page_size == 1 ? true : i % 3 == 1;
}

void DamageTypes(json::object& o, const Room& room, std::size_t variant) {
  switch (variant % 7) {
    case 0:
      o["ViewCount"] = std::to_string(room.view_count);  // a string
      break;
    case 1:
      o["ViewCount"] = static_cast<double>(room.view_count) + 0.5;  // a float
      break;
    case 2:
      o["ViewCount"] = -1 - room.view_count;  // negative
      break;
    case 3:
      o["ViewCount"] = std::uint64_t{9007199254740993ULL};  // above 2^53
      break;
    case 4:
      o["Category"] = 3;  // not an array
      break;
    case 5: {
      // A number, as in one vendor sample; fine for a client that keeps the
      // decimal text.
      o["Owner_Account"] =
          ParseInt64(room.owner_account).value_or(std::int64_t{10086});
      break;
    }
    default:
      o["CreateTime"] = std::to_string(room.create_time);  // a string
      break;
  }
}

void DamageMissing(json::object& o, std::size_t variant) {
  // The keys each variant leaves out; the last leaves out two.
  static constexpr std::array<std::array<const char*, 2>, 5> kMissing = {{
      {"RoomId", nullptr},
      {"ViewCount", nullptr},
      {"RoomName", nullptr},
      {"Category", nullptr},
      {"RoomId", "Owner_Account"},
  }};
  for (const char* key : kMissing[variant % kMissing.size()]) {
    if (key != nullptr) o.erase(key);
  }
}

// Raw byte sequences that are not UTF-8, for kInvalidUtf8.
constexpr const char* kBadUtf8[] = {
    "bad \xff\xfe bytes",       // bytes that never occur in UTF-8
    "cut \xe4\xb8",             // a truncated three-byte sequence
    "overlong \xc0\xaf slash",  // an overlong encoding
    "surrogate \xed\xa0\x80",   // an encoded UTF-16 surrogate
};

std::string HexId(Rng& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int part = 0; part < 2; ++part) {
    std::uint64_t bits = rng.Next();
    for (int i = 0; i < 16; ++i, bits >>= 4) out += kHex[bits & 15];
  }
  return out;
}

// ParseUint64, refusing values above `max`.
std::optional<std::uint64_t> ParseAtMost(std::string_view text,
                                         std::uint64_t max) {
  const std::optional<std::uint64_t> value = ParseUint64(text);
  if (!value || *value > max) return std::nullopt;
  return value;
}

std::string ErrorInfoFor(std::int64_t code) {
  switch (code) {
    case 60002:
      return "HTTP parse error, please check the request URL";
    case 60003:
      return "HTTP request JSON parse error, please check the JSON format";
    case 60004:
      return "account or signature error in the request URL";
    case 60006:
      return "SDKAppID is invalid, please check that it is valid";
    case 60007:
      return "REST API request frequency exceeded the limit, please reduce the "
             "request frequency";
    case 60010:
      return "the request requires App Administrator permissions";
    case 60012:
      return "REST API requires an SDKAppID, please check the SDKAppID in the "
             "request URL";
    case 70001:
      return "UserSig has expired, please generate a new one";
    case 70002:
      return "UserSig length is 0";
    case 70003:
      return "UserSig is invalid, please check it";
    case 70013:
      return "the identifier in the request does not match the one the UserSig "
             "was made for";
    case 70014:
      return "the SDKAppID in the request does not match the one the UserSig "
             "was made for";
    case 100001:
      return "Internal server error, please retry";
    case 100002:
      return "Invalid parameter, please check the request";
    case 100004:
      return "The room does not exist";
  }
  return "error";
}

constexpr const char* kHtml502 =
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n";

}  // namespace

const char* SimApiName(SimApi api) {
  switch (api) {
    case SimApi::kGetRoomList:
      return "get_room_list";
    case SimApi::kGetMemberList:
      return "get_member_list";
    case SimApi::kGetRoomStats:
      break;
  }
  return "get_room_stats";
}

const char* FaultName(FaultKind kind) {
  for (const auto& f : kFaults) {
    if (f.kind == kind) return f.name;
  }
  return "unknown";
}

std::optional<FaultKind> ParseFaultName(std::string_view name) {
  for (const auto& f : kFaults) {
    if (name == f.name) return f.kind;
  }
  return std::nullopt;
}

std::vector<FaultKind> AllFaults() {
  std::vector<FaultKind> out;
  for (const auto& f : kFaults) out.push_back(f.kind);
  return out;
}

Result<FaultSpec> ParseFaultSpec(std::string_view spec) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto colon = spec.find(':', start);
    parts.emplace_back(spec.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3) return Status::Error("more than three parts");
  const std::optional<FaultKind> kind = ParseFaultName(parts[0]);
  if (!kind) return Status::Error("unknown fault \"" + parts[0] + "\"");
  FaultSpec out{*kind, FaultRate{}};
  if (parts.size() >= 2) {
    const std::string& p = parts[1];
    const Status bad_prob =
        Status::Error("PROB \"" + p + "\" is not a number in 0..1");
    if (p.empty()) return bad_prob;
    double probability = 0;
    try {
      std::size_t used = 0;
      probability = std::stod(p, &used);
      if (used != p.size()) return bad_prob;
    } catch (const std::exception&) {
      return bad_prob;
    }
    if (!(probability >= 0.0 && probability <= 1.0)) return bad_prob;
    out.rate.probability = probability;
  }
  if (parts.size() == 3) {
    const std::string& c = parts[2];
    if (c == "-1") {
      out.rate.count = -1;
    } else {
      const std::optional<std::uint64_t> count = ParseAtMost(c, 1000000000);
      if (!count) {
        return Status::Error("COUNT \"" + c +
                             "\" is not -1 or a whole number in 0..1000000000");
      }
      out.rate.count = static_cast<int>(*count);
    }
  }
  return out;
}

class Simulator::Impl {
 public:
  explicit Impl(SimulatorOptions options)
      : options_(std::move(options)),
        clock_(options_.clock != nullptr ? *options_.clock : RealClock()),
        rng_(Mix(options_.seed ^ 0x5EED5EEDULL)),
        cursor_key_(Mix(options_.seed ^ 0xC0C0C0C0ULL)) {
    Rng rooms_rng(Mix(options_.seed));
    for (int i = 1; i <= options_.rooms; ++i) {
      Room room = MakeRoom(i, rooms_rng);
      audience_[room.room_id] = MakeAudience(room, options_.seed);
      rooms_.emplace(room.room_id, std::move(room));
    }
    next_room_number_ = options_.rooms + 1;
    if (options_.churn) {
      // Rooms that churn closes have lived minutes to hours, as live rooms do,
      // so the demo's tencent_live_room_lifetime_seconds fills its buckets
      // rather than +Inf alone.
      const std::int64_t now = UnixSeconds();
      for (auto& [id, room] : rooms_) {
        room.create_time = now - rooms_rng.Range(60, 12 * 3600);
      }
    }
  }

  ~Impl() { Stop(); }

  void Start();
  void Stop();

  int port() const { return port_; }
  std::string endpoint() const {
    return std::string(tls() ? "https" : "http") + "://" + options_.host + ":" +
           std::to_string(port_);
  }
  bool tls() const {
    return !options_.cert_file.empty() && !options_.key_file.empty();
  }

  std::vector<Room> Rooms() const {
    std::lock_guard<std::mutex> lock(mu_);
    return Ranking();
  }
  void OpenRoom(Room room) {
    std::lock_guard<std::mutex> lock(mu_);
    audience_[room.room_id] = MakeAudience(room, options_.seed);
    rooms_[room.room_id] = std::move(room);
    dirty_ = true;
  }
  void CloseRoom(const std::string& room_id) {
    std::lock_guard<std::mutex> lock(mu_);
    audience_.erase(room_id);
    dirty_ = rooms_.erase(room_id) > 0 || dirty_;
  }
  void AddViews(const std::string& room_id, std::int64_t views) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rooms_.find(room_id);
    if (it == rooms_.end()) return;
    it->second.view_count =
        std::max<std::int64_t>(0, it->second.view_count + views);
    dirty_ = true;
  }
  void Churn();

  std::optional<RoomAudience> Audience(const std::string& room_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = audience_.find(room_id);
    if (it == audience_.end()) return std::nullopt;
    return it->second;
  }
  void SetAudience(const std::string& room_id, RoomAudience audience) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = audience_.find(room_id);
    if (it != audience_.end()) it->second = audience;
  }

  void SetFault(FaultKind kind, FaultRate rate) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_[kind] = rate;
  }
  void SetFault(SimApi api, FaultKind kind, FaultRate rate) {
    std::lock_guard<std::mutex> lock(mu_);
    api_faults_[Index(api)][kind] = rate;
  }
  void ClearFaults() {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.clear();
    for (auto& faults : api_faults_) faults.clear();
  }
  SimulatorStats Stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }
  std::vector<SteadyTime> Arrivals(SimApi api) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& arrivals = arrivals_[Index(api)];
    return {arrivals.begin(), arrivals.end()};
  }

 private:
  struct Cursor {
    std::uint64_t walk = 0;
    std::size_t offset = 0;  // index in the ranking where the next page starts
    std::string
        walk_first;  // the first cursor issued in this walk (for kCursorLoop)
  };

  // What one get_room_list call is answered with; decided under the lock,
  // written outside it.
  struct Answer {
    enum class Kind {
      kJson,
      kHttp502,
      kCloseMidBody,
      kHuge
    } kind = Kind::kJson;
    std::string body;
    bool slow = false;
    std::string huge_prefix;  // for kHuge: everything before the first room
  };

  const std::vector<Room>& Ranking() const;  // REQUIRES: mu_ held
  std::string IssueCursor(std::uint64_t walk, std::size_t offset,
                          const std::string& first);
  std::string NewRequestId();
  // The helpers below REQUIRE: mu_ held.
  Answer Fail(SimApi api, std::int64_t code);
  json::object OkEnvelope(SimApi api);  // counts the OK answer
  Answer Decide(SimApi api, const httplib::Request& req);
  std::optional<Answer> CheckCaller(SimApi api, const httplib::Request& req);
  Answer RoomListAnswer(const json::object& request);
  Answer MemberListAnswer(const json::object& request);
  Answer RoomStatsAnswer(const json::object& request);
  // The answer of a fault that replaces the whole answer (an error code, a
  // 502), or nullopt when there is no fault or it changes the body instead.
  std::optional<Answer> FaultAnswer(SimApi api,
                                    const std::optional<FaultKind>& fault);
  // The faults that spoil how a built answer is delivered: a cut JSON body, a
  // connection closed mid-body, a slow answer.
  static void ApplyDeliveryFault(const std::optional<FaultKind>& fault,
                                 Answer* answer);
  // An OK answer carrying `response` (left out for kOkWithoutResponse), with
  // `fault`'s delivery fault applied.
  Answer Enveloped(SimApi api, const std::optional<FaultKind>& fault,
                   json::object response);
  std::optional<FaultKind> PickFault(SimApi api, bool has_cursor,
                                     std::size_t offset, std::size_t size);
  bool AdmitByRateLimit(SimApi api, SteadyTime now);
  void HandleApi(SimApi api, const httplib::Request& req,
                 httplib::Response& res);
  void HandleFaults(const httplib::Request& req, httplib::Response& res);
  void HandleRooms(httplib::Response& res);
  void HandleStats(httplib::Response& res);
  // Sleeps `d` on the clock; returns early once Stop() began.
  void Sleep(std::chrono::milliseconds d) const;
  // Whole seconds of clock_'s Unix time (room create times, cursors, UserSig
  // expiry).
  std::int64_t UnixSeconds() const {
    return static_cast<std::int64_t>(clock_.NowUnix());
  }
  void ChurnLoop();

  const SimulatorOptions options_;
  Clock& clock_;  // the rate limits' and the delays' time

  mutable std::mutex mu_;
  std::unordered_map<std::string, Room> rooms_;
  mutable std::vector<Room> ranking_;
  mutable bool dirty_ = true;
  std::int64_t next_room_number_ = 0;
  Rng rng_;
  const std::uint64_t cursor_key_;
  std::unordered_map<std::string, Cursor> cursors_;
  std::deque<std::string>
      cursor_order_;  // oldest first, to forget cursors past a bound
  std::uint64_t walks_ = 0;
  std::uint64_t request_seq_ = 0;
  std::unordered_map<std::string, RoomAudience>
      audience_;  // one per room of rooms_
  // Per API: arrival times of admitted calls in the last second, and of the
  // last kMaxRememberedArrivals calls.
  std::array<std::deque<SteadyTime>, kSimApis.size()> admitted_;
  std::array<std::deque<SteadyTime>, kSimApis.size()> arrivals_;
  std::map<FaultKind, FaultRate> faults_;  // on every API
  std::array<std::map<FaultKind, FaultRate>, kSimApis.size()> api_faults_;
  SimulatorStats stats_;

  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;
  std::thread churn_thread_;
  std::atomic<bool> stopping_{false};
  CancelFlag stop_flag_;  // raised with stopping_: ends the delays
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool started_ = false;
  int port_ = 0;
};

const std::vector<Room>& Simulator::Impl::Ranking() const {
  if (dirty_) {
    ranking_.clear();
    ranking_.reserve(rooms_.size());
    for (const auto& [id, room] : rooms_) ranking_.push_back(room);
    std::sort(ranking_.begin(), ranking_.end(), RankedBefore);
    dirty_ = false;
  }
  return ranking_;
}

void Simulator::Impl::Churn() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto size = static_cast<std::int64_t>(rooms_.size());
  const std::int64_t few = std::max<std::int64_t>(1, size / 50);
  if (size > 0) {
    // Pick from one ranking (sorted once, not per close: --rooms can be large).
    const std::vector<Room>& ranking = Ranking();
    std::vector<std::string> victims;
    const std::int64_t closes = rng_.Range(1, few);
    for (std::int64_t i = 0; i < closes; ++i) {
      victims.push_back(
          ranking[static_cast<std::size_t>(rng_.Range(0, size - 1))].room_id);
    }
    for (const auto& id : victims) {
      rooms_.erase(id);
      audience_.erase(id);
    }
    dirty_ = true;
  }
  const std::int64_t opens = rng_.Range(1, few);
  const std::int64_t now = UnixSeconds();
  for (std::int64_t i = 0; i < opens; ++i) {
    Room room = MakeRoom(next_room_number_++, rng_);
    room.create_time = now - rng_.Range(0, 60);
    room.view_count = rng_.Range(0, 50);
    audience_[room.room_id] = MakeAudience(room, options_.seed);
    rooms_[room.room_id] = std::move(room);
  }
  for (auto& [id, audience] : audience_) ChurnAudience(audience, rng_);
  for (auto& [id, room] : rooms_) {
    if (rng_.Unit() < 0.3) {
      room.view_count += static_cast<std::int64_t>(
          std::min(5.0 * std::pow(rng_.Unit(), -1.3), 1e7));
    }
  }
  dirty_ = true;
}

std::string Simulator::Impl::IssueCursor(std::uint64_t walk, std::size_t offset,
                                         const std::string& first) {
  // "<unix time>-<12 digits>", like the vendor's "1693271355-123123123123": the
  // digits mix the walk and offset with a key, so the text says nothing; the
  // map says what it means.
  const std::int64_t now = UnixSeconds();
  std::string text;
  for (std::uint64_t salt = 0;; ++salt) {
    const std::uint64_t h =
        Mix(cursor_key_ ^ Mix((walk << 24) ^ offset ^ (salt << 56)));
    text = std::to_string(now) + "-" +
           std::to_string(100000000000ULL + h % 900000000000ULL);
    if (cursors_.find(text) == cursors_.end()) break;
  }
  cursors_[text] = Cursor{walk, offset, first.empty() ? text : first};
  cursor_order_.push_back(text);
  while (cursor_order_.size() > kMaxRememberedCursors) {
    cursors_.erase(cursor_order_.front());
    cursor_order_.pop_front();
  }
  return text;
}

std::string Simulator::Impl::NewRequestId() {
  return "Id-" + HexId(rng_) + "-O-Seq-" + std::to_string(++request_seq_);
}

Simulator::Impl::Answer Simulator::Impl::Fail(SimApi api, std::int64_t code) {
  json::object o;
  o["ActionStatus"] = "FAIL";
  o["ErrorInfo"] = ErrorInfoFor(code);
  o["ErrorCode"] = code;
  o["RequestId"] = NewRequestId();
  ++stats_.answers_by_code[code];
  ++stats_.apis[Index(api)].answers_by_code[code];
  Answer a;
  a.body = json::serialize(o);
  return a;
}

json::object Simulator::Impl::OkEnvelope(SimApi api) {
  json::object top;
  top["ActionStatus"] = "OK";
  top["ErrorInfo"] = "";
  top["ErrorCode"] = 0;
  top["RequestId"] = NewRequestId();
  ++stats_.answers_by_code[0];
  ++stats_.apis[Index(api)].answers_by_code[0];
  return top;
}

bool Simulator::Impl::AdmitByRateLimit(SimApi api, SteadyTime now) {
  const double max_qps = api == SimApi::kGetRoomList ? options_.max_qps
                         : api == SimApi::kGetMemberList
                             ? options_.member_list_max_qps
                             : options_.room_stats_max_qps;
  if (max_qps <= 0) return true;  // no limit
  const auto limit =
      static_cast<std::size_t>(std::max(1.0, std::floor(max_qps)));
  auto& admitted = admitted_[Index(api)];
  while (!admitted.empty() &&
         now - admitted.front() >= std::chrono::seconds(1)) {
    admitted.pop_front();
  }
  if (admitted.size() >= limit) return false;
  admitted.push_back(now);
  return true;
}

std::optional<FaultKind> Simulator::Impl::PickFault(SimApi api, bool has_cursor,
                                                    std::size_t offset,
                                                    std::size_t size) {
  // Faults set for this API first, then those set for every API.
  for (auto* faults : {&api_faults_[Index(api)], &faults_}) {
    for (auto& [kind, rate] : *faults) {
      if (rate.count == 0 || !AppliesTo(kind, api)) continue;
      // Faults that need a previous page apply only from the second page on.
      if (kind == FaultKind::kCursorLoop && !has_cursor) continue;
      if (kind == FaultKind::kDuplicateRoom && (offset == 0 || offset > size))
        continue;
      if (rate.probability < 1.0 && rng_.Unit() > rate.probability) continue;
      if (rate.count > 0) --rate.count;
      ++stats_.faults_injected;
      return kind;
    }
  }
  return std::nullopt;
}

std::optional<Simulator::Impl::Answer> Simulator::Impl::FaultAnswer(
    SimApi api, const std::optional<FaultKind>& fault) {
  if (!fault) return std::nullopt;
  switch (*fault) {
    case FaultKind::kInternalError:
      return Fail(api, 100001);
    case FaultKind::kRateLimit:
      return Fail(api, 60007);
    case FaultKind::kExpired:
      return Fail(api, 70001);
    case FaultKind::kBadSignature:
      return Fail(api, 70003);
    case FaultKind::kNotAdmin:
      return Fail(api, 60010);
    case FaultKind::kHttp502: {
      Answer answer;
      answer.kind = Answer::Kind::kHttp502;
      answer.body = kHtml502;
      return answer;
    }
    default:
      return std::nullopt;
  }
}

void Simulator::Impl::ApplyDeliveryFault(const std::optional<FaultKind>& fault,
                                         Answer* answer) {
  if (fault == FaultKind::kMalformedJson)
    answer->body.resize(answer->body.size() / 2);
  if (fault == FaultKind::kCloseMidBody)
    answer->kind = Answer::Kind::kCloseMidBody;
  if (fault == FaultKind::kSlow) answer->slow = true;
}

Simulator::Impl::Answer Simulator::Impl::Enveloped(
    SimApi api, const std::optional<FaultKind>& fault, json::object response) {
  json::object top = OkEnvelope(api);
  if (fault != FaultKind::kOkWithoutResponse)
    top["Response"] = std::move(response);
  Answer answer;
  answer.body = json::serialize(top);
  ApplyDeliveryFault(fault, &answer);
  return answer;
}

Simulator::Impl::Answer Simulator::Impl::Decide(SimApi api,
                                                const httplib::Request& req) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto arrived = clock_.NowSteady();
  SimulatorApiStats& api_stats = stats_.apis[Index(api)];
  ++api_stats.requests;
  auto& arrivals = arrivals_[Index(api)];
  arrivals.push_back(arrived);
  if (arrivals.size() > kMaxRememberedArrivals) arrivals.pop_front();
  if (api == SimApi::kGetRoomList) ++stats_.requests;
  if (!AdmitByRateLimit(api, arrived)) {
    ++api_stats.rate_limited;
    if (api == SimApi::kGetRoomList) ++stats_.rate_limited;
    return Fail(api, 60007);
  }
  if (std::optional<Answer> refused = CheckCaller(api, req)) return *refused;

  json::value body;
  {
    boost::system::error_code ec;
    body = json::parse(req.body, ec);
    if (ec || !body.is_object()) return Fail(api, 60003);
  }
  switch (api) {
    case SimApi::kGetRoomList:
      return RoomListAnswer(body.as_object());
    case SimApi::kGetMemberList:
      return MemberListAnswer(body.as_object());
    case SimApi::kGetRoomStats:
      break;
  }
  return RoomStatsAnswer(body.as_object());
}

std::optional<Simulator::Impl::Answer> Simulator::Impl::CheckCaller(
    SimApi api, const httplib::Request& req) {
  auto param = [&req](const char* name) -> std::optional<std::string> {
    if (!req.has_param(name)) return std::nullopt;
    return req.get_param_value(name);
  };
  const auto sdkappid_text = param("sdkappid");
  if (!sdkappid_text || sdkappid_text->empty()) return Fail(api, 60012);
  const std::optional<std::uint64_t> sdkappid =
      ParseAtMost(*sdkappid_text, 0x7FFFFFFFFFFFFFFFULL);
  if (!sdkappid || static_cast<std::int64_t>(*sdkappid) != options_.sdkappid) {
    return Fail(api, 60006);
  }
  const auto identifier = param("identifier");
  if (!identifier || identifier->empty()) return Fail(api, 60004);
  const auto usersig = param("usersig");
  if (!usersig || usersig->empty()) return Fail(api, 70002);
  const auto random = param("random");
  if (!random || !ParseAtMost(*random, 0xFFFFFFFFULL)) return Fail(api, 60002);
  const auto contenttype = param("contenttype");
  if (!contenttype || *contenttype != "json") return Fail(api, 60002);

  const std::int64_t now = UnixSeconds();
  switch (CheckUserSig(*usersig, options_.secret_key, *identifier,
                       options_.sdkappid, now)) {
    case UserSigCheck::kValid:
      break;
    case UserSigCheck::kExpired:
      return Fail(api, 70001);
    case UserSigCheck::kMismatch: {
      const auto fields = DecodeUserSig(*usersig);
      if (fields && fields->identifier != *identifier) return Fail(api, 70013);
      return Fail(api, 70014);
    }
    case UserSigCheck::kMalformed:
    case UserSigCheck::kBadSignature:
      return Fail(api, 70003);
  }
  if (*identifier != options_.identifier) return Fail(api, 60010);
  return std::nullopt;
}

Simulator::Impl::Answer Simulator::Impl::RoomListAnswer(
    const json::object& request) {
  constexpr SimApi api = SimApi::kGetRoomList;
  const auto* next = request.if_contains("Next");
  const auto* count_value = request.if_contains("Count");
  if (next == nullptr || !next->is_string() || count_value == nullptr)
    return Fail(api, 100002);
  std::int64_t count = 0;
  if (count_value->is_int64()) {
    count = count_value->as_int64();
  } else if (count_value->is_uint64()) {
    count = kMaxCount + 1;  // far too large
  } else {
    return Fail(api, 100002);
  }
  if (count < 1 || count > kMaxCount) return Fail(api, 100002);

  // Paging runs over the ranking as it is now: rooms that moved since the
  // previous page can appear twice or not at all, as with the live API.
  std::uint64_t walk = 0;
  std::size_t offset = 0;
  std::string walk_first;
  const std::string next_text(next->as_string());
  if (next_text.empty()) {
    walk = ++walks_;
  } else {
    auto it = cursors_.find(next_text);
    if (it == cursors_.end()) return Fail(api, 100002);
    walk = it->second.walk;
    offset = it->second.offset;
    walk_first = it->second.walk_first;
  }
  const auto& ranking = Ranking();
  const auto page_count = static_cast<std::size_t>(count);
  const auto fault = PickFault(api, !next_text.empty(), offset, ranking.size());
  if (std::optional<Answer> replaced = FaultAnswer(api, fault))
    return *replaced;

  Answer answer;

  std::size_t begin = std::min(offset, ranking.size());
  std::vector<const Room*> page;
  if (fault == FaultKind::kDuplicateRoom) {
    // The last room of the previous page comes back on top, as if it had
    // dropped one place.
    page.push_back(&ranking[begin - 1]);
  }
  while (page.size() < page_count && begin < ranking.size())
    page.push_back(&ranking[begin++]);
  std::string next_out;
  if (begin < ranking.size()) next_out = IssueCursor(walk, begin, walk_first);
  if (fault == FaultKind::kCursorLoop) next_out = walk_first;

  json::array list;
  std::vector<std::pair<std::string, std::string>>
      raw;  // placeholder -> raw bytes
  for (std::size_t i = 0; i < page.size(); ++i) {
    json::object o = RoomJson(*page[i]);
    if (fault && IsDamaged(i, page.size())) {
      const std::size_t variant = i / 3;
      if (*fault == FaultKind::kWrongTypes) DamageTypes(o, *page[i], variant);
      if (*fault == FaultKind::kMissingFields) DamageMissing(o, variant);
      if (*fault == FaultKind::kInvalidUtf8) {
        // Boost.JSON writes only valid strings, so put a placeholder and splice
        // the bytes in.
        const std::string placeholder =
            "@@tle-invalid-utf8-" + std::to_string(i) + "@@";
        o["RoomName"] = placeholder;
        raw.emplace_back(
            '"' + placeholder + '"',
            std::string("\"") + kBadUtf8[variant % std::size(kBadUtf8)] + '"');
        if (variant % 2 == 1) {
          const std::string owner =
              "@@tle-invalid-utf8-owner-" + std::to_string(i) + "@@";
          o["Owner_Account"] = owner;
          raw.emplace_back('"' + owner + '"', "\"owner \xfe\xff\"");
        }
      }
    }
    list.emplace_back(std::move(o));
  }

  json::object top = OkEnvelope(api);
  if (fault == FaultKind::kOkWithoutResponse) {
    answer.body = json::serialize(top);
    return answer;
  }
  if (fault == FaultKind::kHugeAnswer) {
    json::object response;
    response["Next"] = next_out;
    top["Response"] = std::move(response);
    std::string text = json::serialize(top);
    // Open up Response so rooms can be streamed after Next: ...,"Next":"..."} }
    // -> ...,"RoomList":[
    text.resize(text.size() - 2);
    answer.kind = Answer::Kind::kHuge;
    answer.huge_prefix = text + ",\"RoomList\":[";
    return answer;
  }
  json::object response;
  response["Next"] = next_out;
  response["RoomList"] = std::move(list);
  top["Response"] = std::move(response);
  answer.body = json::serialize(top);
  for (const auto& [placeholder, bytes] : raw) {
    const auto at = answer.body.find(placeholder);
    if (at != std::string::npos)
      answer.body.replace(at, placeholder.size(), bytes);
  }
  ApplyDeliveryFault(fault, &answer);
  return answer;
}

namespace {

// The RoomId of a get_member_list / get_room_stats body, or "" when it is not
// acceptable.
std::string RequestRoomId(const json::object& request) {
  const json::value* id = request.if_contains("RoomId");
  if (id == nullptr || !id->is_string()) return std::string();
  const json::string& text = id->get_string();
  if (text.size() > kMaxRoomIdBytes) return std::string();
  return std::string(text.data(), text.size());
}

}  // namespace

Simulator::Impl::Answer Simulator::Impl::MemberListAnswer(
    const json::object& request) {
  constexpr SimApi api = SimApi::kGetMemberList;
  const std::string room_id = RequestRoomId(request);
  if (room_id.empty()) return Fail(api, 100002);
  // Cursors are "m<offset>": the members page through a list that does not
  // move (the vendor refreshes it every ~40 s).
  std::int64_t offset = 0;
  if (const json::value* next = request.if_contains("Next"); next != nullptr) {
    if (!next->is_string()) return Fail(api, 100002);
    const std::string text(next->get_string());
    if (!text.empty()) {
      const std::optional<std::uint64_t> value =
          text[0] == 'm'
              ? ParseAtMost(std::string_view(text).substr(1),
                            static_cast<std::uint64_t>(kMaxListedMembers))
              : std::nullopt;
      if (!value || *value == 0 || *value % kMembersPerPage != 0) {
        return Fail(api, 100002);
      }
      offset = static_cast<std::int64_t>(*value);
    }
  }
  auto it = audience_.find(room_id);
  if (it == audience_.end()) return Fail(api, 100004);
  const RoomAudience& audience = it->second;
  const std::int64_t listed = std::min(audience.members, kMaxListedMembers);
  if (offset > 0 && offset >= listed) return Fail(api, 100002);

  const auto fault = PickFault(api, false, 0, 0);
  if (std::optional<Answer> replaced = FaultAnswer(api, fault))
    return *replaced;
  json::object response;
  const std::int64_t end = std::min(listed, offset + kMembersPerPage);
  response["Next"] = end < listed ? "m" + std::to_string(end) : "";
  response["MemberCount"] = audience.members;
  json::array members;
  for (std::int64_t n = offset; n < end; ++n) {
    json::object member;
    member["Member_Account"] = "viewer_" + std::to_string(n + 1);
    members.emplace_back(std::move(member));
  }
  response["MemberList"] = std::move(members);
  if (fault == FaultKind::kWrongTypes) response["MemberCount"] = "many";
  if (fault == FaultKind::kMissingFields) response.erase("MemberCount");
  return Enveloped(api, fault, std::move(response));
}

Simulator::Impl::Answer Simulator::Impl::RoomStatsAnswer(
    const json::object& request) {
  constexpr SimApi api = SimApi::kGetRoomStats;
  const std::string room_id = RequestRoomId(request);
  if (room_id.empty()) return Fail(api, 100002);
  auto it = audience_.find(room_id);
  if (it == audience_.end()) return Fail(api, 100004);
  const RoomAudience& audience = it->second;

  const auto fault = PickFault(api, false, 0, 0);
  if (std::optional<Answer> replaced = FaultAnswer(api, fault))
    return *replaced;
  json::object response;
  response["TotalViewers"] = audience.total_viewers;
  response["TotalGiftsSent"] = audience.total_gifts_sent;
  response["TotalGiftCoins"] = audience.total_gift_coins;
  response["TotalUniqueGiftSenders"] = audience.total_unique_gift_senders;
  response["TotalLikesReceived"] = audience.total_likes_received;
  response["TotalMsgCount"] = audience.total_msg_count;
  if (fault == FaultKind::kWrongTypes) {
    response["TotalLikesReceived"] =
        static_cast<double>(audience.total_likes_received) + 0.5;
  }
  if (fault == FaultKind::kMissingFields) response.erase("TotalMsgCount");
  return Enveloped(api, fault, std::move(response));
}

void Simulator::Impl::Sleep(std::chrono::milliseconds d) const {
  clock_.SleepUntil(clock_.NowSteady() + d, &stop_flag_);
}

void Simulator::Impl::HandleApi(SimApi api, const httplib::Request& req,
                                httplib::Response& res) {
  Answer answer = Decide(api, req);
  // Waiting happens outside the lock, on this connection's own thread.
  if (options_.latency.count() > 0) Sleep(options_.latency);
  if (answer.slow) Sleep(options_.slow_delay);
  switch (answer.kind) {
    case Answer::Kind::kJson:
      res.status = 200;
      res.set_content(answer.body, "application/json");
      return;
    case Answer::Kind::kHttp502:
      res.status = 502;
      res.set_content(answer.body, "text/html");
      return;
    case Answer::Kind::kCloseMidBody: {
      res.status = 200;
      auto body = std::make_shared<std::string>(std::move(answer.body));
      res.set_content_provider(
          body->size(), "application/json",
          [body](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            if (offset > 0)
              return false;  // cut the connection after half the body
            sink.write(body->data(), body->size() / 2);
            return true;
          });
      return;
    }
    case Answer::Kind::kHuge: {
      res.status = 200;
      // Valid JSON rooms streamed in chunks until about kHugeAnswerBytes have
      // been written.
      auto prefix =
          std::make_shared<std::string>(std::move(answer.huge_prefix));
      auto next_room = std::make_shared<std::int64_t>(0);
      res.set_chunked_content_provider(
          "application/json", [this, prefix, next_room](
                                  std::size_t offset, httplib::DataSink& sink) {
            if (stopping_.load()) return false;
            if (offset == 0) {
              sink.write(prefix->data(), prefix->size());
              return true;
            }
            if (offset >= kHugeAnswerBytes) {
              const std::string end = "]}}";
              sink.write(end.data(), end.size());
              sink.done();
              return true;
            }
            std::string chunk;
            char buf[320];
            while (chunk.size() < 65536) {
              const auto n = (*next_room)++;
              const int len = std::snprintf(
                  buf, sizeof buf,
                  "%s{\"RoomName\":\"huge room "
                  "%lld\",\"RoomId\":\"huge_%09lld\","
                  "\"Owner_Account\":\"user_%lld\",\"CoverURL\":\"https://"
                  "cdn.example.com/h.jpg\","
                  "\"Category\":[1,2,3],\"CreateTime\":1693271354,"
                  "\"ActivityStatus\":1,"
                  "\"ViewCount\":%lld}",
                  n == 0 ? "" : ",", static_cast<long long>(n),
                  static_cast<long long>(n), static_cast<long long>(n % 1000),
                  static_cast<long long>(1000000000 - n));
              chunk.append(buf, static_cast<std::size_t>(len));
            }
            sink.write(chunk.data(), chunk.size());
            return true;
          });
      return;
    }
  }
}

void Simulator::Impl::HandleFaults(const httplib::Request& req,
                                   httplib::Response& res) {
  if (req.method == "POST") {
    if (req.has_param("clear")) ClearFaults();
    if (req.has_param("set")) {
      const Result<FaultSpec> spec = ParseFaultSpec(req.get_param_value("set"));
      if (!spec.ok()) {
        res.status = 400;
        std::string body = "{\"error\":";
        AppendJsonString(&body, ValidUtf8("set=NAME[:PROB][:COUNT] expected: " +
                                          spec.status().message()));
        body += "}\n";
        res.set_content(body, "application/json");
        return;
      }
      const FaultKind kind = spec->kind;
      const FaultRate rate = spec->rate;
      // api=NAME limits the fault to one API.
      const std::string api_name =
          req.has_param("api") ? req.get_param_value("api") : "";
      std::optional<SimApi> scope;
      for (SimApi api : kSimApis) {
        if (api_name == SimApiName(api)) scope = api;
      }
      if (!api_name.empty() && !scope) {
        res.status = 400;
        res.set_content(
            "{\"error\":\"api=get_room_list|get_member_list|"
            "get_room_stats expected\"}\n",
            "application/json");
        return;
      }
      if (scope) {
        SetFault(*scope, kind, rate);
      } else {
        SetFault(kind, rate);
      }
    }
  }
  json::array list;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto add = [&list](FaultKind kind, const FaultRate& rate, const char* api) {
      json::object o;
      o["name"] = FaultName(kind);
      o["probability"] = rate.probability;
      o["count"] = rate.count;
      if (api != nullptr) o["api"] = api;
      list.emplace_back(std::move(o));
    };
    for (const auto& [kind, rate] : faults_) add(kind, rate, nullptr);
    for (SimApi api : kSimApis) {
      for (const auto& [kind, rate] : api_faults_[Index(api)])
        add(kind, rate, SimApiName(api));
    }
  }
  json::object top;
  top["faults"] = std::move(list);
  res.set_content(json::serialize(top) + "\n", "application/json");
}

void Simulator::Impl::HandleRooms(httplib::Response& res) {
  json::array list;
  for (const auto& room : Rooms()) list.emplace_back(RoomJson(room));
  res.set_content(json::serialize(list) + "\n", "application/json");
}

void Simulator::Impl::HandleStats(httplib::Response& res) {
  const SimulatorStats stats = Stats();
  json::object o;
  o["requests"] = stats.requests;
  o["rate_limited"] = stats.rate_limited;
  o["faults_injected"] = stats.faults_injected;
  json::object codes;
  for (const auto& [code, n] : stats.answers_by_code)
    codes[std::to_string(code)] = n;
  o["answers_by_code"] = std::move(codes);
  json::object apis;
  for (SimApi which : kSimApis) {
    const SimulatorApiStats& api = stats.api(which);
    json::object one;
    one["requests"] = api.requests;
    one["rate_limited"] = api.rate_limited;
    json::object api_codes;
    for (const auto& [code, n] : api.answers_by_code)
      api_codes[std::to_string(code)] = n;
    one["answers_by_code"] = std::move(api_codes);
    apis[SimApiName(which)] = std::move(one);
  }
  o["apis"] = std::move(apis);
  res.set_content(json::serialize(o) + "\n", "application/json");
}

void Simulator::Impl::ChurnLoop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(3),
                            [this] { return stopping_.load(); })) {
    lock.unlock();
    Churn();
    lock.lock();
  }
}

void Simulator::Impl::Start() {
  if (started_) throw std::logic_error("Simulator::Start called twice");
  started_ = true;
  if (tls()) {
    server_ = std::make_unique<httplib::SSLServer>(options_.cert_file.c_str(),
                                                   options_.key_file.c_str());
    if (!server_->is_valid()) {
      throw std::runtime_error("simulator: cannot load TLS certificate or key");
    }
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  // Slow answers and keep-alive connections each hold a thread; many threads
  // keep them from serializing other connections.
  server_->new_task_queue = [] {
    return new httplib::ThreadPool(kServerThreads);
  };
  // Headers and body go out in separate writes: without TCP_NODELAY each answer
  // waits ~40 ms on Nagle and delayed ACKs.
  server_->set_tcp_nodelay(true);
  server_->set_keep_alive_max_count(1000);
  server_->set_keep_alive_timeout(2);
  server_->set_payload_max_length(1 << 20);
  // SO_REUSEADDR only: cpp-httplib's default also sets SO_REUSEPORT, which
  // would let a second simulator share a port that is already taken instead of
  // failing to bind.
  socket_t listening = INVALID_SOCKET;
  server_->set_socket_options([&listening](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening = sock;
  });
  for (SimApi which : kSimApis) {
    server_->Post(ApiPath(which),
                  [this, api = which](const httplib::Request& req,
                                      httplib::Response& res) {
                    HandleApi(api, req, res);
                  });
  }
  server_->Get("/-/sim/faults",
               [this](const httplib::Request& req, httplib::Response& res) {
                 HandleFaults(req, res);
               });
  server_->Post("/-/sim/faults",
                [this](const httplib::Request& req, httplib::Response& res) {
                  HandleFaults(req, res);
                });
  server_->Get("/-/sim/rooms",
               [this](const httplib::Request&, httplib::Response& res) {
                 HandleRooms(res);
               });
  server_->Get("/-/sim/stats",
               [this](const httplib::Request&, httplib::Response& res) {
                 HandleStats(res);
               });

  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ < 0) port_ = 0;
  } else if (server_->bind_to_port(options_.host, options_.port)) {
    port_ = options_.port;
  }
  if (port_ <= 0) {
    throw std::runtime_error("simulator: cannot bind " + options_.host + ":" +
                             std::to_string(options_.port));
  }
  // cpp-httplib listens with a backlog of 5: a client opening more
  // connections at once (a top-rooms round) lost the SYNs past it and waited
  // a second for the retransmission. Listening again raises the backlog.
  if (listening != INVALID_SOCKET) ::listen(listening, SOMAXCONN);
  server_thread_ = std::thread([this] { server_->listen_after_bind(); });
  // The socket already accepts connections; wait for the accept loop so Stop()
  // can end it.
  while (!server_->is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (options_.churn) churn_thread_ = std::thread([this] { ChurnLoop(); });
}

void Simulator::Impl::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_.store(true);
  }
  stop_flag_.Raise();
  stop_cv_.notify_all();
  if (churn_thread_.joinable()) churn_thread_.join();
  if (server_) server_->stop();
  if (server_thread_.joinable()) server_thread_.join();
}

Simulator::Simulator(SimulatorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
Simulator::~Simulator() = default;
void Simulator::Start() { impl_->Start(); }
void Simulator::Stop() { impl_->Stop(); }
int Simulator::port() const { return impl_->port(); }
std::string Simulator::endpoint() const { return impl_->endpoint(); }
std::vector<Room> Simulator::Rooms() const { return impl_->Rooms(); }
void Simulator::OpenRoom(Room room) { impl_->OpenRoom(std::move(room)); }
void Simulator::CloseRoom(const std::string& room_id) {
  impl_->CloseRoom(room_id);
}
void Simulator::AddViews(const std::string& room_id, std::int64_t views) {
  impl_->AddViews(room_id, views);
}
void Simulator::Churn() { impl_->Churn(); }
void Simulator::SetFault(FaultKind kind, FaultRate rate) {
  impl_->SetFault(kind, rate);
}
void Simulator::SetFault(SimApi api, FaultKind kind, FaultRate rate) {
  impl_->SetFault(api, kind, rate);
}
void Simulator::ClearFaults() { impl_->ClearFaults(); }
std::optional<RoomAudience> Simulator::Audience(
    const std::string& room_id) const {
  return impl_->Audience(room_id);
}
void Simulator::SetAudience(const std::string& room_id, RoomAudience audience) {
  impl_->SetAudience(room_id, audience);
}
std::vector<std::chrono::steady_clock::time_point> Simulator::Arrivals(
    SimApi api) const {
  return impl_->Arrivals(api);
}
SimulatorStats Simulator::Stats() const { return impl_->Stats(); }

}  // namespace tle
