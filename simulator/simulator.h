// Simulator: an in-process fake of the upstream live-engine API, faithful to
// its wire format.
//
// Serves POST /v4/live_engine_http_srv/get_room_list with the five query
// parameters, checks the UserSig against the secret key (70001 expired, 70003
// invalid), answers 60007 past max_qps calls in any one-second window, 100002
// for a Count outside 1..20 or a cursor it did not issue, and pages through its
// rooms sorted by ViewCount descending with opaque cursors. Faults can be
// switched on (issue: failure handling) from code, from flags, or over HTTP at
// /-/sim/faults.
//
// It also serves the two read calls of the top rooms, get_member_list and
// get_room_stats, with the same query and UserSig checks, each under its own
// limit (member_list_max_qps, room_stats_max_qps) and answering 100004 for a
// room that does not exist (never opened, or closed). Every room has an
// audience: a member count that rises and falls with churn and six totals that
// only grow.
//
// Owns one HTTP server thread. All public methods may be called from any
// thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/common/clock.h"
#include "exporter/common/status.h"
#include "exporter/snapshot/room.h"

namespace tle {

// The calls the simulator serves (its own names: the simulator shares no code
// with the exporter's client).
enum class SimApi { kGetRoomList, kGetMemberList, kGetRoomStats };
inline constexpr std::array<SimApi, 3> kSimApis = {
    SimApi::kGetRoomList, SimApi::kGetMemberList, SimApi::kGetRoomStats};
const char* SimApiName(SimApi api);  // "get_room_list", ...

enum class FaultKind {
  kInternalError,  // ErrorCode 100001
  kHttp502,        // HTTP 502 with an HTML body
  kSlow,           // answer only after `slow_delay` (past a request timeout)
  kCloseMidBody,   // send headers and half the body, then close the connection
  kMalformedJson,  // truncated / invalid JSON
  kOkWithoutResponse,  // ActionStatus OK, ErrorCode 0, no Response
  kWrongTypes,  // ViewCount as a string, float, negative, above 2^53; Category
                // not an array
  kMissingFields,  // rooms lacking RoomId or other fields
  kInvalidUtf8,    // invalid UTF-8 bytes in RoomName / Owner_Account
  kDuplicateRoom,  // repeat a room of the previous page (rankings moving
                   // mid-walk)
  kCursorLoop,     // hand back a cursor already issued in this walk
  kHugeAnswer,     // an answer far larger than any real page (tens of MiB)
  kRateLimit,      // ErrorCode 60007
  kExpired,        // ErrorCode 70001
  kBadSignature,   // ErrorCode 70003
  kNotAdmin,       // ErrorCode 60010
};

// "internal_error", "http_502", ... ; the names used by --fault and
// /-/sim/faults.
const char* FaultName(FaultKind kind);
// The fault called `name`, or nullopt when there is none.
std::optional<FaultKind> ParseFaultName(std::string_view name);
std::vector<FaultKind> AllFaults();

// A fault fires on each request with `probability`, at most `count` times (-1:
// no limit).
struct FaultRate {
  double probability = 1.0;
  int count = -1;
};

// A fault and how often it fires: what --fault and /-/sim/faults?set= take.
struct FaultSpec {
  FaultKind kind{};
  FaultRate rate;
};

// Parses "NAME[:PROB][:COUNT]" (PROB defaults to 1, COUNT to -1), or an error
// saying which part is wrong (the caller adds what the whole should look like).
Result<FaultSpec> ParseFaultSpec(std::string_view spec);

struct SimulatorOptions {
  std::int64_t sdkappid = 1400000000;
  std::string identifier =
      "administrator";  // the only App Administrator (others get 60010)
  std::string secret_key = "demo-secret-key-not-for-production";
  int rooms = 137;
  std::uint64_t seed = 1;
  std::chrono::milliseconds latency{0};         // added to every answer
  std::chrono::milliseconds slow_delay{15000};  // for FaultKind::kSlow
  double max_qps = 10;  // get_room_list calls per second before 60007
  double member_list_max_qps = 200;  // the same for get_member_list
  double room_stats_max_qps = 100;   // and for get_room_stats (0: no limit)
  bool churn = false;  // rooms open and close and views grow by themselves (for
                       // the demo)
  std::string host = "127.0.0.1";
  int port = 0;                     // 0 picks a free port
  std::string cert_file, key_file;  // both set: serve HTTPS
  // The time of the rate limit, `latency` and `slow_delay` (null: RealClock();
  // tests pass a FakeClock). REQUIRES: outlives the Simulator.
  Clock* clock = nullptr;
};

// What get_member_list (members) and get_room_stats (the totals) say about a
// room.
struct RoomAudience {
  std::int64_t members = 0;  // MemberCount: people in the room now
  std::int64_t total_viewers = 0;
  std::int64_t total_gifts_sent = 0;
  std::int64_t total_gift_coins = 0;
  std::int64_t total_unique_gift_senders = 0;
  std::int64_t total_likes_received = 0;
  std::int64_t total_msg_count = 0;
  bool operator==(const RoomAudience&) const = default;
};

struct SimulatorApiStats {
  std::uint64_t requests = 0;      // every request to this API
  std::uint64_t rate_limited = 0;  // answered 60007 by the real rate limit
  std::map<std::int64_t, std::uint64_t>
      answers_by_code;  // ErrorCode -> count (0 = OK)
};

struct SimulatorStats {
  std::uint64_t requests = 0;  // every request to get_room_list
  std::uint64_t rate_limited =
      0;  // get_room_list calls answered 60007 because of the real rate limit
  std::uint64_t faults_injected = 0;  // over every API
  std::map<std::int64_t, std::uint64_t>
      answers_by_code;  // ErrorCode -> count (0 = OK), over every API
  std::array<SimulatorApiStats, kSimApis.size()> apis;  // indexed by SimApi

  const SimulatorApiStats& api(SimApi which) const {
    return apis[static_cast<std::size_t>(which)];
  }
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options);
  ~Simulator();  // stops the server
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;
  Simulator(Simulator&&) = delete;
  Simulator& operator=(Simulator&&) = delete;

  // Binds and starts serving; returns once the server accepts connections.
  // Throws std::runtime_error when it cannot bind. REQUIRES: not started.
  void Start();
  void Stop();  // idempotent
  int port() const;
  std::string endpoint() const;  // "http://127.0.0.1:PORT" (https when TLS)

  // The rooms as the API would list them now, sorted by ViewCount descending.
  std::vector<Room> Rooms() const;
  void OpenRoom(Room room);
  void CloseRoom(const std::string& room_id);  // no-op when absent
  void AddViews(const std::string& room_id, std::int64_t views);
  // One churn step: a few rooms close, a few open, views grow, member counts
  // rise and fall, the totals grow. `Rooms()` and `Audience()` change
  // accordingly.
  void Churn();

  // What get_member_list / get_room_stats would answer for the room now;
  // nullopt when it does not exist (they answer 100004).
  std::optional<RoomAudience> Audience(const std::string& room_id) const;
  void SetAudience(const std::string& room_id,
                   RoomAudience audience);  // no-op when absent

  // A fault on every API (faults that only make sense for get_room_list, like
  // cursor_loop, leave the other two alone), or on one API only.
  void SetFault(FaultKind kind, FaultRate rate);
  void SetFault(SimApi api, FaultKind kind, FaultRate rate);
  void ClearFaults();

  SimulatorStats Stats() const;
  // When each of the last requests to `api` arrived (up to 2^18 of them, oldest
  // first), on the steady clock: lets a test check a ceiling over every
  // one-second window.
  std::vector<std::chrono::steady_clock::time_point> Arrivals(SimApi api) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tle
