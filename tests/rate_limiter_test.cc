// RateLimiter on a fake clock: never more than max_qps requests in any
// one-second window, counted at the client (send times) and at the server (any
// arrival time between send and answer).
#include "exporter/walker/rate_limiter.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

namespace tle {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Request {
  Clock::time_point sent;
  Clock::time_point arrived;
  Clock::time_point done;
};

// Drives the limiter like the walker does: wait for the slot, send, wait for
// the answer, record.
std::vector<Request> Drive(RateLimiter* limiter, int count, int max_latency_ms,
                           std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> latency(0, max_latency_ms);
  std::vector<Request> out;
  Clock::time_point now{};
  for (int i = 0; i < count; ++i) {
    now = limiter->NextSlot(now);
    Request r;
    r.sent = now;
    r.done = now + milliseconds(latency(rng));
    auto span =
        std::chrono::duration_cast<milliseconds>(r.done - r.sent).count();
    r.arrived =
        r.sent +
        milliseconds(
            span == 0 ? 0 : std::uniform_int_distribution<long>(0, span)(rng));
    limiter->RecordDone(r.done);
    now = r.done;
    out.push_back(r);
  }
  return out;
}

// The largest number of time points in any half-open window [t, t + 1 s).
int MaxInAnySecond(std::vector<Clock::time_point> points) {
  std::sort(points.begin(), points.end());
  int best = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < points.size(); ++i) {
    while (j < points.size() && points[j] < points[i] + std::chrono::seconds(1))
      ++j;
    best = std::max(best, static_cast<int>(j - i));
  }
  return best;
}

TEST_CASE(
    "never more than max_qps sends or arrivals in any one-second window") {
  for (int max_latency : {0, 3, 50, 400}) {
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
      RateLimiter limiter(10);
      auto requests = Drive(&limiter, 300, max_latency, seed);
      std::vector<Clock::time_point> sent, arrived;
      for (const auto& r : requests) {
        sent.push_back(r.sent);
        arrived.push_back(r.arrived);
      }
      INFO("max latency " << max_latency << " ms, seed " << seed);
      CHECK(MaxInAnySecond(sent) <= 10);
      CHECK(MaxInAnySecond(arrived) <= 10);
    }
  }
}

TEST_CASE(
    "with instant answers the limiter runs at the ceiling, not below it") {
  RateLimiter limiter(10);
  auto requests = Drive(&limiter, 101, 0, 1);
  // 101 requests at 10/s: the last may go out 10 s after the first, and no
  // later.
  CHECK(requests.back().sent - requests.front().sent ==
        std::chrono::seconds(10));
  std::vector<Clock::time_point> sent;
  for (const auto& r : requests) sent.push_back(r.sent);
  CHECK(MaxInAnySecond(sent) == 10);
}

TEST_CASE("a fractional or sub-1 ceiling is respected") {
  RateLimiter half(0.5);
  auto requests = Drive(&half, 5, 0, 1);
  for (std::size_t i = 1; i < requests.size(); ++i) {
    CHECK(requests[i].sent - requests[i - 1].sent >= std::chrono::seconds(2));
  }
  RateLimiter two_and_half(2.5);
  CHECK(two_and_half.burst() == 2);
  auto more = Drive(&two_and_half, 50, 10, 2);
  std::vector<Clock::time_point> sent;
  for (const auto& r : more) sent.push_back(r.sent);
  CHECK(MaxInAnySecond(sent) <= 2);
}

TEST_CASE("Slowdown lowers the rate for a while, then it recovers") {
  RateLimiter limiter(10);
  Clock::time_point t0{};
  CHECK(limiter.window(t0) == std::chrono::seconds(1));
  limiter.Slowdown(t0, std::chrono::seconds(30));
  CHECK(limiter.window(t0 + std::chrono::seconds(1)) ==
        std::chrono::seconds(2));
  limiter.Slowdown(t0 + std::chrono::seconds(2), std::chrono::seconds(30));
  CHECK(limiter.window(t0 + std::chrono::seconds(3)) ==
        std::chrono::seconds(4));
  for (int i = 0; i < 5; ++i)
    limiter.Slowdown(t0 + std::chrono::seconds(4), std::chrono::seconds(30));
  CHECK(limiter.window(t0 + std::chrono::seconds(5)) ==
        std::chrono::seconds(8));  // capped
  CHECK(limiter.window(t0 + std::chrono::seconds(40)) ==
        std::chrono::seconds(1));  // recovered
}

TEST_CASE("the first burst goes out at once") {
  RateLimiter limiter(10);
  Clock::time_point now{};
  for (int i = 0; i < 10; ++i) {
    CHECK(limiter.NextSlot(now) == now);
    limiter.RecordDone(now);
  }
  CHECK(limiter.NextSlot(now) == now + std::chrono::seconds(1));
}

TEST_CASE("WaitForSlot sleeps on the given clock until the slot and the hold") {
  FakeClock clock(FakeClock::Mode::kAdvanceOnSleep);
  RateLimiter limiter(2, clock);
  const auto t0 = clock.NowSteady();
  std::vector<Clock::duration> sent;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(limiter.WaitForSlot({}, nullptr));
    sent.push_back(clock.NowSteady() - t0);
    limiter.RecordDone(clock.NowSteady());
  }
  using std::chrono::seconds;
  CHECK(sent == std::vector<Clock::duration>{seconds(0), seconds(0), seconds(1),
                                             seconds(1), seconds(2)});
  // A hold later than the slot wins.
  REQUIRE(limiter.WaitForSlot(clock.NowSteady() + seconds(30), nullptr));
  CHECK(clock.NowSteady() - t0 == seconds(32));
  // A raised flag ends the wait at once, the time unchanged.
  CancelFlag stop;
  stop.Raise();
  CHECK_FALSE(limiter.WaitForSlot(clock.NowSteady() + seconds(5), &stop));
  CHECK(clock.NowSteady() - t0 == seconds(32));
}

}  // namespace
}  // namespace tle
