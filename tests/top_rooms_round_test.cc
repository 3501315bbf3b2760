// Unit tests of the top-rooms pacing and rounds on a fake clock: ApiGate (the
// per-API ceiling over any one-second window) and TopRoomsRound (values,
// 100004, retries, rate limits, concurrency), driven by a fake upstream whose
// answers take a given latency. No threads, no sockets, no sleeping.
#include "exporter/top_rooms/top_rooms_round.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "exporter/top_rooms/api_gate.h"
#include "exporter/walker/walk_stats.h"
#include "tests/support/rate_window.h"

namespace tle {
namespace {

using namespace std::chrono_literals;
using TimePoint = ApiGate::TimePoint;

const TimePoint kStart = TimePoint{} + 1h;

using testing::MaxInAnySecond;

TEST_CASE(
    "a gate has floor(qps) slots, each held until a second after its answer") {
  ApiGate gate(3.7);
  CHECK(gate.capacity() == 3);
  CHECK(gate.window() == 1s);
  for (int i = 0; i < 3; ++i) CHECK(gate.TryAcquire(kStart));
  CHECK_FALSE(gate.TryAcquire(kStart));
  CHECK(gate.NextFree(kStart) == TimePoint::max());  // all in flight
  gate.Release(kStart + 200ms);
  CHECK(gate.NextFree(kStart + 200ms) == kStart + 1200ms);
  CHECK_FALSE(gate.TryAcquire(kStart + 1199ms));
  CHECK(gate.TryAcquire(kStart + 1200ms));

  ApiGate slow(0.5);  // one request per two seconds
  CHECK(slow.capacity() == 1);
  CHECK(slow.window() == 2s);
  CHECK(slow.TryAcquire(kStart));
  slow.Release(kStart);
  CHECK(slow.NextFree(kStart) == kStart + 2s);
}

TEST_CASE(
    "a gate keeps sends and arrivals under its ceiling whatever the latency") {
  for (double qps : {1.0, 7.0, 100.0, 200.0}) {
    ApiGate gate(qps);
    std::mt19937_64 rng(static_cast<std::uint64_t>(qps));
    std::uniform_int_distribution<int> latency_ms(0, 1500);
    std::vector<TimePoint> sends, arrivals;
    std::multimap<TimePoint, int> answers;  // answer time -> unused
    TimePoint now = kStart;
    while (sends.size() < 3000) {
      while (gate.TryAcquire(now)) {
        TimePoint answer = now + std::chrono::milliseconds(latency_ms(rng));
        sends.push_back(now);
        // The server sees it at some point between the send and the answer.
        std::uniform_int_distribution<long long> at(
            0,
            std::chrono::duration_cast<std::chrono::microseconds>(answer - now)
                .count());
        arrivals.push_back(now + std::chrono::microseconds(at(rng)));
        answers.emplace(answer, 0);
      }
      TimePoint next =
          std::min(answers.empty() ? TimePoint::max() : answers.begin()->first,
                   gate.NextFree(now));
      REQUIRE(next != TimePoint::max());
      now = std::max(now, next);
      while (!answers.empty() && answers.begin()->first <= now) {
        gate.Release(answers.begin()->first);
        answers.erase(answers.begin());
      }
    }
    INFO("qps " << qps);
    CHECK(MaxInAnySecond(sends) <= static_cast<int>(qps));
    CHECK(MaxInAnySecond(arrivals) <= static_cast<int>(qps));
  }
}

TEST_CASE(
    "a slowed gate pauses a second, then runs at half its slots until the hold "
    "ends") {
  ApiGate gate(10);
  gate.Slowdown(kStart, 30s);
  CHECK_FALSE(gate.TryAcquire(kStart + 999ms));
  CHECK(gate.NextFree(kStart) == kStart + 1s);
  CHECK(gate.usable(kStart + 1s) == 5);
  int taken = 0;
  while (gate.TryAcquire(kStart + 1s)) ++taken;
  CHECK(taken == 5);
  gate.Slowdown(kStart + 2s, 30s);  // again: a quarter
  CHECK(gate.usable(kStart + 3s) == 2);
  CHECK(gate.usable(kStart + 32s) == 10);  // the hold is over
  ApiGate held(10);
  held.HoldUntil(kStart + 60s);
  CHECK_FALSE(held.TryAcquire(kStart + 59s));
  CHECK(held.NextFree(kStart) == kStart + 60s);
  CHECK(held.TryAcquire(kStart + 60s));
}

// A fake upstream for a round: `answer(api, room, attempt)` decides each
// answer, which arrives `latency` after the send.
using Answerer = std::function<ApiResponse(Api, const std::string&, int)>;

ApiResponse OkAnswer(Api api, const std::string& room) {
  // Values derived from the RoomId, so a test can check each one.
  const auto n = static_cast<long long>(std::stoi(room.substr(1)));
  std::string body;
  if (api == Api::kGetMemberList) {
    body =
        R"({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"m",)"
        R"("Response":{"Next":"","MemberCount":)" +
        std::to_string(n * 10) + R"(,"MemberList":[]}})";
  } else {
    body =
        R"({"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","RequestId":"s",)"
        R"("Response":{"TotalViewers":)" +
        std::to_string(n) + R"(,"TotalGiftsSent":)" + std::to_string(n + 1) +
        R"(,"TotalGiftCoins":)" + std::to_string(n + 2) +
        R"(,"TotalUniqueGiftSenders":)" + std::to_string(n + 3) +
        R"(,"TotalLikesReceived":)" + std::to_string(n + 4) +
        R"(,"TotalMsgCount":)" + std::to_string(n + 5) + "}}";
  }
  return {std::move(body), 0.05};
}

ApiResponse ApiErrorAnswer(std::int64_t code) {
  return {R"({"ActionStatus":"FAIL","ErrorCode":)" + std::to_string(code) +
              R"(,"ErrorInfo":"x","RequestId":"e"})",
          0};
}

std::string RoomOf(const std::string& body) {
  const std::string key = "\"RoomId\":\"";
  const auto at = body.find(key) + key.size();
  return body.substr(at, body.find('"', at) - at);
}

struct Drive {
  TimePoint end;
  std::map<Api, std::vector<TimePoint>> sends;
  std::map<std::pair<Api, std::string>, int> attempts;
  int max_in_flight = 0;
  int renewals = 0;
};

Drive Run(TopRoomsRound& round, const Answerer& answer,
          std::chrono::milliseconds latency = 50ms, TimePoint now = kStart) {
  Drive d;
  std::multimap<TimePoint, std::pair<std::uint64_t, ApiResponse>> pending;
  for (int step = 0; step < 1000000; ++step) {
    for (TopRoomsRound::Request& request : round.Take(now)) {
      const std::string room = RoomOf(request.body);
      d.sends[request.api].push_back(now);
      const int n = d.attempts[{request.api, room}]++;
      pending.emplace(now + latency,
                      std::make_pair(request.id, answer(request.api, room, n)));
    }
    d.max_in_flight = std::max(d.max_in_flight, round.in_flight());
    if (round.finished()) break;
    const TimePoint next =
        std::min(round.NextWake(now),
                 pending.empty() ? TimePoint::max() : pending.begin()->first);
    REQUIRE(next != TimePoint::max());  // a stuck round
    now = std::max(now, next);
    while (!pending.empty() && pending.begin()->first <= now) {
      auto [id, response] = pending.begin()->second;
      pending.erase(pending.begin());
      d.renewals += round.Done(now, id, response) ? 1 : 0;
    }
  }
  REQUIRE(round.finished());
  d.end = now;
  return d;
}

std::vector<std::string> Rooms(int n) {
  std::vector<std::string> rooms;
  for (int i = 1; i <= n; ++i) rooms.push_back("r" + std::to_string(i));
  return rooms;
}

struct Gates {
  Gates(double members_qps, double stats_qps)
      : members(members_qps), stats(stats_qps) {}
  std::array<ApiGate*, 2> both() { return {&members, &stats}; }
  ApiGate members;
  ApiGate stats;
};

TopRoomsRoundOptions Options(int concurrency = 8, int max_retries = 3) {
  TopRoomsRoundOptions o;
  o.concurrency = concurrency;
  o.max_retries = max_retries;
  o.tuning.backoff_base = 100ms;
  o.tuning.backoff_max = 2s;
  return o;
}

Answerer AlwaysOk() {
  return
      [](Api api, const std::string& room, int) { return OkAnswer(api, room); };
}

TEST_CASE("a round asks each room once per API and gets exact values") {
  Gates gates(50, 25);
  WalkStats stats;
  TopRoomsRound round(Rooms(30), Options(), gates.both(), &stats, 1);
  Drive d = Run(round, AlwaysOk());
  CHECK(round.completed());
  CHECK(d.sends[Api::kGetMemberList].size() == 30);
  CHECK(d.sends[Api::kGetRoomStats].size() == 30);
  for (std::size_t i = 0; i < 30; ++i) {
    const auto& o = round.outcomes()[i];
    const auto n = static_cast<std::int64_t>(i + 1);
    CHECK(o.members == TopRoomsRound::Fetch::kOk);
    CHECK(o.member_count == n * 10);
    CHECK(o.stats == TopRoomsRound::Fetch::kOk);
    CHECK(o.totals == RoomTotals{n, n + 1, n + 2, n + 3, n + 4, n + 5});
  }
  CHECK(d.max_in_flight <= 8);
  CHECK(MaxInAnySecond(d.sends[Api::kGetMemberList]) <= 50);
  CHECK(MaxInAnySecond(d.sends[Api::kGetRoomStats]) <= 25);
  // 30 stats calls at 25/s: the last 5 wait for a slot a second after the
  // first answers.
  CHECK(d.end - kStart >= 1s);
  CHECK(d.end - kStart < 1200ms);
  WalkStatsView v = stats.View();
  CHECK(v.api(Api::kGetMemberList).requests == 30);
  CHECK(v.api(Api::kGetRoomStats).requests == 30);
  CHECK(v.api(Api::kGetRoomList).requests == 0);
}

TEST_CASE("1000 rooms at the APIs' own limits take the slower API's bound") {
  Gates gates(200, 100);
  TopRoomsRound round(Rooms(1000), Options(64), gates.both(), nullptr, 2);
  Drive d = Run(round, AlwaysOk(), 50ms);
  REQUIRE(round.completed());
  const double seconds = std::chrono::duration<double>(d.end - kStart).count();
  CHECK(seconds <= 1.1 * 1000 / 100);
  CHECK(MaxInAnySecond(d.sends[Api::kGetMemberList]) <= 200);
  CHECK(MaxInAnySecond(d.sends[Api::kGetRoomStats]) <= 100);
  CHECK(d.max_in_flight <= 64);
}

TEST_CASE("concurrency bounds the requests in flight over both APIs") {
  Gates gates(200, 100);
  TopRoomsRound round(Rooms(100), Options(3), gates.both(), nullptr, 3);
  Drive d = Run(round, AlwaysOk(), 200ms);
  CHECK(round.completed());
  CHECK(d.max_in_flight == 3);
  // 200 requests, 3 at a time, 200 ms each.
  CHECK(d.end - kStart >= 13s);
}

TEST_CASE(
    "a closed room (100004) is gone, its other request is not sent, and the "
    "round completes") {
  Gates gates(50, 25);
  WalkStats stats;
  TopRoomsRoundOptions options =
      Options(1);  // one at a time: r2's members go first
  TopRoomsRound round(Rooms(3), options, gates.both(), &stats, 4);
  Drive d = Run(round, [](Api api, const std::string& room, int) {
    if (room == "r2") return ApiErrorAnswer(100004);
    return OkAnswer(api, room);
  });
  CHECK(round.completed());
  CHECK(round.outcomes()[1].gone());
  CHECK(round.outcomes()[0].members == TopRoomsRound::Fetch::kOk);
  CHECK(round.outcomes()[2].stats == TopRoomsRound::Fetch::kOk);
  // r2 was asked once, by whichever API went first.
  CHECK(d.attempts[{Api::kGetMemberList, "r2"}] +
            d.attempts[{Api::kGetRoomStats, "r2"}] ==
        1);
  WalkStatsView v = stats.View();
  CHECK(v.api(Api::kGetMemberList).errors_by_code["100004"] +
            v.api(Api::kGetRoomStats).errors_by_code["100004"] ==
        1);
  CHECK(v.api(Api::kGetMemberList).retries +
            v.api(Api::kGetRoomStats).retries ==
        0);
}

TEST_CASE(
    "retryable errors are retried with backoff, counted, and the round "
    "completes") {
  Gates gates(50, 25);
  WalkStats stats;
  TopRoomsRound round(Rooms(4), Options(), gates.both(), &stats, 5);
  Drive d = Run(round, [](Api api, const std::string& room, int attempt) {
    if (room == "r3" && api == Api::kGetRoomStats && attempt < 2) {
      FetchError error;
      error.kind = attempt == 0 ? ErrorKind::kHttp : ErrorKind::kTimeout;
      error.code = attempt == 0 ? 502 : 0;
      return ApiResponse{error, 0};
    }
    return OkAnswer(api, room);
  });
  CHECK(round.completed());
  CHECK(round.outcomes()[2].totals.messages == 8);
  CHECK(d.attempts[{Api::kGetRoomStats, "r3"}] == 3);
  WalkStatsView v = stats.View();
  const ApiStatsView& s = v.api(Api::kGetRoomStats);
  CHECK(s.requests == 6);
  CHECK(s.retries == 2);
  CHECK(s.failed == 2);
  CHECK(s.errors_by_code.at("http_502") == 1);
  CHECK(s.errors_by_code.at("timeout") == 1);
  CHECK(v.api(Api::kGetMemberList).retries == 0);
  // Backoff: the first retry waits at least half of backoff_base.
  CHECK(d.end - kStart >= 50ms + 50ms + 50ms);
}

TEST_CASE(
    "retries exhausted fail that request only: the room keeps its old value, "
    "the round does not complete") {
  Gates gates(50, 25);
  WalkStats stats;
  TopRoomsRound round(Rooms(3), Options(8, 2), gates.both(), &stats, 6);
  Drive d = Run(round, [](Api api, const std::string& room, int) {
    if (room == "r1" && api == Api::kGetMemberList)
      return ApiErrorAnswer(100001);
    return OkAnswer(api, room);
  });
  CHECK_FALSE(round.completed());
  CHECK(round.failed_requests() == 1);
  CHECK(round.outcomes()[0].members == TopRoomsRound::Fetch::kFailed);
  CHECK(round.outcomes()[0].stats == TopRoomsRound::Fetch::kOk);
  CHECK(round.outcomes()[1].members == TopRoomsRound::Fetch::kOk);
  CHECK(d.attempts[{Api::kGetMemberList, "r1"}] == 3);
  CHECK(round.last_error().code == 100001);
  CHECK(round.last_error_api() == Api::kGetMemberList);
}

TEST_CASE("70001 asks for a new UserSig and retries once") {
  Gates gates(50, 25);
  TopRoomsRound round(Rooms(1), Options(8, 0), gates.both(), nullptr, 7);
  Drive d = Run(round, [](Api api, const std::string& room, int attempt) {
    if (api == Api::kGetRoomStats && attempt == 0) return ApiErrorAnswer(70001);
    return OkAnswer(api, room);
  });
  CHECK(round.completed());
  CHECK(d.renewals == 1);
  CHECK(d.attempts[{Api::kGetRoomStats, "r1"}] == 2);
}

TEST_CASE("a configuration error stops sending the rest of the round") {
  Gates gates(50, 25);
  TopRoomsRound round(Rooms(50), Options(2), gates.both(), nullptr, 8);
  Drive d = Run(round, [](Api, const std::string&, int) {
    return ApiErrorAnswer(70003);  // wrong secret key
  });
  CHECK_FALSE(round.completed());
  CHECK(d.sends[Api::kGetMemberList].size() +
            d.sends[Api::kGetRoomStats].size() ==
        2);  // the two in flight, no more
  CHECK(round.failed_requests() == 2);
  CHECK(round.dropped_requests() == 98);
}

TEST_CASE("a rate-limit answer slows that API only") {
  Gates gates(10, 10);
  TopRoomsRound round(Rooms(30), Options(8), gates.both(), nullptr, 9);
  bool limited = false;
  Drive d = Run(round, [&](Api api, const std::string& room, int) {
    if (api == Api::kGetMemberList && !limited) {
      limited = true;
      return ApiErrorAnswer(60007);
    }
    return OkAnswer(api, room);
  });
  CHECK(round.completed());
  const auto& members = d.sends[Api::kGetMemberList];
  const auto& stats = d.sends[Api::kGetRoomStats];
  // The first member-list answer (at 50 ms) was the 60007: no member-list send
  // in the second after it, and at most half the slots (5) in any second
  // after that.
  const TimePoint limited_at = kStart + 50ms;
  for (TimePoint t : members) {
    CHECK((t <= limited_at || t >= limited_at + 1s));
  }
  std::vector<TimePoint> after(
      std::find_if(members.begin(), members.end(),
                   [&](TimePoint t) { return t > limited_at; }),
      members.end());
  CHECK(MaxInAnySecond(after) <= 5);
  // get_room_stats kept its 10 per second.
  CHECK(MaxInAnySecond(stats) == 10);
  CHECK(stats.back() - stats.front() < 3s);
}

TEST_CASE("70050 holds both APIs") {
  Gates gates(10, 10);
  TopRoomsRoundOptions options = Options(8);
  options.tuning.long_backoff = 5s;
  TopRoomsRound round(Rooms(2), options, gates.both(), nullptr, 10);
  bool once = false;
  Drive d = Run(round, [&](Api api, const std::string& room, int) {
    if (!once) {
      once = true;
      return ApiErrorAnswer(70050);
    }
    return OkAnswer(api, room);
  });
  CHECK(round.completed());
  CHECK(d.end - kStart >= 5s);
}

TEST_CASE("an API that is off is never called") {
  Gates gates(50, 25);
  TopRoomsRoundOptions options = Options();
  options.members = false;
  TopRoomsRound round(Rooms(5), options, gates.both(), nullptr, 11);
  Drive d = Run(round, AlwaysOk());
  CHECK(round.completed());
  CHECK(d.sends[Api::kGetMemberList].empty());
  CHECK(d.sends[Api::kGetRoomStats].size() == 5);
  CHECK(round.outcomes()[0].members == TopRoomsRound::Fetch::kNotAsked);
}

TEST_CASE("gates carry over from one round to the next") {
  Gates gates(5, 5);
  TopRoomsRound first(Rooms(5), Options(), gates.both(), nullptr, 12);
  Drive a = Run(first, AlwaysOk());
  // The second round starts at once: its first sends wait until a second after
  // the first round's answers.
  TopRoomsRound second(Rooms(5), Options(), gates.both(), nullptr, 13);
  Drive b = Run(second, AlwaysOk(), 50ms, a.end);
  std::vector<TimePoint> all = a.sends[Api::kGetRoomStats];
  all.insert(all.end(), b.sends[Api::kGetRoomStats].begin(),
             b.sends[Api::kGetRoomStats].end());
  CHECK(MaxInAnySecond(all) <= 5);
  CHECK(b.sends[Api::kGetRoomStats].front() >= a.end + 1s - 50ms);
}

}  // namespace
}  // namespace tle
