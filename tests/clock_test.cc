// Clock, CancelFlag, Wakeup and FakeClock: waits end at their deadline or at
// a raise or notification, never before, and neither is ever lost.
#include "exporter/common/clock.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

namespace tle {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("the real clock sleeps until the deadline") {
  Clock& clock = RealClock();
  CancelFlag flag;
  const SteadyTime deadline = clock.NowSteady() + milliseconds(20);
  CHECK(clock.SleepUntil(deadline, &flag));
  CHECK(clock.NowSteady() >= deadline);
  CHECK(clock.SleepUntil(clock.NowSteady() + milliseconds(1), nullptr));
  CHECK(clock.NowUnix() > 1.7e9);
}

TEST_CASE("a raise ends a real sleep, also one that has not begun") {
  Clock& clock = RealClock();
  CancelFlag before;
  before.Raise();
  CHECK(before.raised());
  CHECK_FALSE(clock.SleepUntil(clock.NowSteady() + seconds(60), &before));

  CancelFlag during;
  const SteadyTime start = clock.NowSteady();
  auto sleeper = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(60), &during);
  });
  during.Raise();  // before or during the wait: either way it ends
  CHECK_FALSE(sleeper.get());
  CHECK(clock.NowSteady() - start < seconds(30));
}

TEST_CASE("a manual fake clock wakes a sleeper when its deadline is reached") {
  FakeClock clock;
  const SteadyTime start = clock.NowSteady();
  const double unix_start = clock.NowUnix();
  auto sleeper = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(10), nullptr);
  });
  REQUIRE(clock.WaitForSleepers(1));
  clock.Advance(seconds(9));
  CHECK(clock.sleepers() == 1);
  CHECK(sleeper.wait_for(milliseconds(20)) != std::future_status::ready);
  clock.Advance(seconds(1));
  CHECK(clock.sleepers() == 0);  // woken ones leave at once
  CHECK(sleeper.get());
  CHECK(clock.NowSteady() - start == seconds(10));
  CHECK(clock.NowUnix() == Approx(unix_start + 10));
  // A deadline already reached returns without waiting.
  CHECK(clock.SleepUntil(start, nullptr));
  CHECK_FALSE(clock.AdvanceToNextDeadline());  // nobody sleeps
}

TEST_CASE("AdvanceToNextDeadline wakes the earliest sleeper only") {
  FakeClock clock;
  const SteadyTime start = clock.NowSteady();
  CancelFlag late_flag;
  auto early = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(3), nullptr);
  });
  auto late = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(7), &late_flag);
  });
  REQUIRE(clock.WaitForSleepers(2));
  REQUIRE(clock.AdvanceToNextDeadline());
  CHECK(early.get());
  CHECK(clock.NowSteady() - start == seconds(3));
  CHECK(clock.sleepers() == 1);
  late_flag.Raise();  // a raise wakes a fake sleep too, and says so
  CHECK_FALSE(late.get());
  CHECK(clock.sleepers() == 0);
  CHECK(clock.NowSteady() - start == seconds(3));
}

TEST_CASE("an advance-on-sleep fake clock jumps to each deadline") {
  FakeClock clock(FakeClock::Mode::kAdvanceOnSleep);
  const SteadyTime start = clock.NowSteady();
  CHECK(clock.SleepUntil(start + seconds(5), nullptr));
  CHECK(clock.NowSteady() - start == seconds(5));
  CHECK(clock.SleepUntil(start + seconds(2), nullptr));  // in the past
  CHECK(clock.NowSteady() - start == seconds(5));
  CancelFlag flag;
  flag.Raise();
  CHECK_FALSE(clock.SleepUntil(start + seconds(9), &flag));
  CHECK(clock.NowSteady() - start == seconds(5));
  CHECK(clock.sleepers() == 0);
}

TEST_CASE("a notification before a real wait is not lost, and ends one wait") {
  Clock& clock = RealClock();
  Wakeup wakeup;
  wakeup.Notify();
  wakeup.Notify();  // two before a wait are one
  const SteadyTime start = clock.NowSteady();
  CHECK_FALSE(clock.WaitUntil(start + seconds(60), wakeup));
  CHECK(clock.NowSteady() - start < seconds(30));
  // Consumed: the next wait lasts until its deadline.
  const SteadyTime deadline = clock.NowSteady() + milliseconds(20);
  CHECK(clock.WaitUntil(deadline, wakeup));
  CHECK(clock.NowSteady() >= deadline);
}

TEST_CASE("a notification ends a real wait without a deadline") {
  Clock& clock = RealClock();
  Wakeup wakeup;
  const SteadyTime start = clock.NowSteady();
  auto waiter = std::async(std::launch::async, [&] {
    return clock.WaitUntil(SteadyTime::max(), wakeup);
  });
  wakeup.Notify();  // before or during the wait: either way it ends
  CHECK_FALSE(waiter.get());
  CHECK(clock.NowSteady() - start < seconds(30));
}

TEST_CASE("a fake wait on a Wakeup ends at its deadline or its notification") {
  FakeClock clock;
  const SteadyTime start = clock.NowSteady();
  Wakeup wakeup;
  auto waiter = std::async(std::launch::async, [&] {
    return clock.WaitUntil(start + seconds(10), wakeup);
  });
  REQUIRE(clock.WaitForSleepers(1));
  clock.Advance(seconds(9));
  CHECK(clock.sleepers() == 1);
  CHECK(waiter.wait_for(milliseconds(20)) != std::future_status::ready);
  clock.Advance(seconds(1));
  CHECK(clock.sleepers() == 0);
  CHECK(waiter.get());  // the deadline

  waiter = std::async(std::launch::async, [&] {
    return clock.WaitUntil(start + seconds(20), wakeup);
  });
  REQUIRE(clock.WaitForSleepers(1));
  wakeup.Notify();  // during the wait
  CHECK_FALSE(waiter.get());
  CHECK(clock.sleepers() == 0);
  CHECK(clock.NowSteady() - start == seconds(10));

  wakeup.Notify();  // before the wait: it returns without waiting
  CHECK_FALSE(clock.WaitUntil(start + seconds(20), wakeup));
  CHECK(clock.sleepers() == 0);
  CHECK(clock.WaitUntil(start, wakeup));  // consumed; deadline reached
}

TEST_CASE("a fake clock counts and advances both kinds of wait") {
  FakeClock clock;
  const SteadyTime start = clock.NowSteady();
  CancelFlag flag;
  Wakeup wakeup;
  Wakeup idle;
  auto sleeper = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(7), &flag);
  });
  auto waiter = std::async(std::launch::async, [&] {
    return clock.WaitUntil(start + seconds(3), wakeup);
  });
  auto forever = std::async(std::launch::async, [&] {
    return clock.WaitUntil(SteadyTime::max(), idle);
  });
  REQUIRE(clock.WaitForSleepers(3));
  REQUIRE(clock.AdvanceToNextDeadline());
  CHECK(waiter.get());
  CHECK(clock.NowSteady() - start == seconds(3));
  REQUIRE(clock.AdvanceToNextDeadline());
  CHECK(sleeper.get());
  CHECK(clock.NowSteady() - start == seconds(7));
  // A wait without a deadline is no deadline to advance to.
  CHECK(clock.sleepers() == 1);
  CHECK_FALSE(clock.AdvanceToNextDeadline());
  CHECK(clock.NowSteady() - start == seconds(7));
  idle.Notify();
  CHECK_FALSE(forever.get());
  CHECK(clock.sleepers() == 0);
}

TEST_CASE("an advance-on-sleep fake clock jumps a Wakeup's wait too") {
  FakeClock clock(FakeClock::Mode::kAdvanceOnSleep);
  const SteadyTime start = clock.NowSteady();
  Wakeup wakeup;
  CHECK(clock.WaitUntil(start + seconds(4), wakeup));
  CHECK(clock.NowSteady() - start == seconds(4));
  wakeup.Notify();
  CHECK_FALSE(clock.WaitUntil(start + seconds(9), wakeup));
  CHECK(clock.NowSteady() - start == seconds(4));
  // Without a deadline it waits for the notification, as a manual clock does.
  auto waiter = std::async(std::launch::async, [&] {
    return clock.WaitUntil(SteadyTime::max(), wakeup);
  });
  REQUIRE(clock.WaitForSleepers(1));
  wakeup.Notify();
  CHECK_FALSE(waiter.get());
  CHECK(clock.NowSteady() - start == seconds(4));
}

}  // namespace
}  // namespace tle
