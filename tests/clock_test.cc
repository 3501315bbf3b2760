// Clock, CancelFlag, Wakeup and FakeClock: waits end at their deadline or at
// their signal (a raise, a notification), never before, and a signal is never
// lost. Most cases run once per kind of wait: SleepUntil on a CancelFlag and
// WaitUntil on a Wakeup.
#include "exporter/common/clock.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

namespace tle {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The two kinds of wait, so that one test case runs on each.
struct OnCancelFlag {
  bool Wait(Clock& clock, SteadyTime deadline) {
    return clock.SleepUntil(deadline, &flag);
  }
  void Signal() { flag.Raise(); }
  CancelFlag flag;
};

struct OnWakeup {
  bool Wait(Clock& clock, SteadyTime deadline) {
    return clock.WaitUntil(deadline, wakeup);
  }
  void Signal() { wakeup.Notify(); }
  Wakeup wakeup;
};

TEMPLATE_TEST_CASE("the real clock waits until the deadline", "", OnCancelFlag,
                   OnWakeup) {
  Clock& clock = RealClock();
  TestType wait;
  const SteadyTime deadline = clock.NowSteady() + milliseconds(20);
  CHECK(wait.Wait(clock, deadline));
  CHECK(clock.NowSteady() >= deadline);
  CHECK(clock.SleepUntil(clock.NowSteady() + milliseconds(1), nullptr));
  CHECK(clock.NowUnix() > 1.7e9);
}

TEMPLATE_TEST_CASE("a signal ends a real wait, also one that has not begun", "",
                   OnCancelFlag, OnWakeup) {
  Clock& clock = RealClock();
  TestType before;
  before.Signal();
  CHECK_FALSE(before.Wait(clock, clock.NowSteady() + seconds(60)));

  TestType during;
  const SteadyTime start = clock.NowSteady();
  // Without a deadline too (a real wait that long is cut into pieces).
  auto waiter = std::async(std::launch::async, [&] {
    return during.Wait(clock, SteadyTime::max());
  });
  during.Signal();  // before or during the wait: either way it ends
  CHECK_FALSE(waiter.get());
  CHECK(clock.NowSteady() - start < seconds(30));
}

TEMPLATE_TEST_CASE(
    "a manual fake clock ends a wait when its deadline is reached", "",
    OnCancelFlag, OnWakeup) {
  FakeClock clock;
  TestType wait;
  const SteadyTime start = clock.NowSteady();
  const double unix_start = clock.NowUnix();
  auto waiter = std::async(std::launch::async, [&] {
    return wait.Wait(clock, start + seconds(10));
  });
  REQUIRE(clock.WaitForSleepers(1));
  clock.Advance(seconds(9));
  CHECK(clock.sleepers() == 1);
  CHECK(waiter.wait_for(milliseconds(20)) != std::future_status::ready);
  clock.Advance(seconds(1));
  CHECK(clock.sleepers() == 0);  // ended ones leave at once
  CHECK(waiter.get());
  CHECK(clock.NowSteady() - start == seconds(10));
  CHECK(clock.NowUnix() == Approx(unix_start + 10));
  // A deadline already reached returns without waiting.
  CHECK(wait.Wait(clock, start));
  CHECK_FALSE(clock.AdvanceToNextDeadline());  // nobody waits
}

TEMPLATE_TEST_CASE("a signal ends a fake wait, also one that has not begun", "",
                   OnCancelFlag, OnWakeup) {
  FakeClock clock;
  TestType wait;
  const SteadyTime start = clock.NowSteady();
  auto waiter = std::async(std::launch::async, [&] {
    return wait.Wait(clock, start + seconds(10));
  });
  REQUIRE(clock.WaitForSleepers(1));
  wait.Signal();  // during the wait
  CHECK_FALSE(waiter.get());
  CHECK(clock.sleepers() == 0);
  CHECK(clock.NowSteady() == start);

  TestType before;
  before.Signal();  // before the wait: it returns without waiting
  CHECK_FALSE(before.Wait(clock, start + seconds(10)));
  CHECK(clock.sleepers() == 0);
}

TEMPLATE_TEST_CASE("an advance-on-sleep fake clock jumps to each deadline", "",
                   OnCancelFlag, OnWakeup) {
  FakeClock clock(FakeClock::Mode::kAdvanceOnSleep);
  TestType wait;
  const SteadyTime start = clock.NowSteady();
  CHECK(wait.Wait(clock, start + seconds(5)));
  CHECK(clock.NowSteady() - start == seconds(5));
  CHECK(wait.Wait(clock, start + seconds(2)));  // in the past
  CHECK(clock.NowSteady() - start == seconds(5));
  // Without a deadline it waits for its signal, as a manual clock does.
  auto waiter = std::async(std::launch::async,
                           [&] { return wait.Wait(clock, SteadyTime::max()); });
  REQUIRE(clock.WaitForSleepers(1));
  wait.Signal();
  CHECK_FALSE(waiter.get());
  // Once signalled, it returns without moving the time.
  TestType signalled;
  signalled.Signal();
  CHECK_FALSE(signalled.Wait(clock, start + seconds(9)));
  CHECK(clock.NowSteady() - start == seconds(5));
  CHECK(clock.sleepers() == 0);
}

TEST_CASE("a raise lasts; a notification ends one wait, and two are one") {
  Clock& clock = RealClock();
  CancelFlag flag;
  flag.Raise();
  CHECK(flag.raised());
  CHECK_FALSE(clock.SleepUntil(clock.NowSteady() + seconds(60), &flag));
  CHECK_FALSE(clock.SleepUntil(clock.NowSteady() + seconds(60), &flag));

  Wakeup wakeup;
  wakeup.Notify();
  wakeup.Notify();  // not yet consumed: the same notification
  CHECK_FALSE(clock.WaitUntil(clock.NowSteady() + seconds(60), wakeup));
  // Consumed: the next wait lasts until its deadline.
  const SteadyTime deadline = clock.NowSteady() + milliseconds(20);
  CHECK(clock.WaitUntil(deadline, wakeup));
  CHECK(clock.NowSteady() >= deadline);

  FakeClock fake;
  wakeup.Notify();
  CHECK_FALSE(fake.WaitUntil(fake.NowSteady() + seconds(60), wakeup));
  CHECK(fake.WaitUntil(fake.NowSteady(), wakeup));  // consumed, deadline now
}

TEST_CASE("AdvanceToNextDeadline wakes the earliest wait of either kind only") {
  FakeClock clock;
  const SteadyTime start = clock.NowSteady();
  CancelFlag late_flag;
  Wakeup early_wakeup;
  Wakeup idle;
  auto early = std::async(std::launch::async, [&] {
    return clock.WaitUntil(start + seconds(3), early_wakeup);
  });
  auto late = std::async(std::launch::async, [&] {
    return clock.SleepUntil(start + seconds(7), &late_flag);
  });
  auto forever = std::async(std::launch::async, [&] {
    return clock.WaitUntil(SteadyTime::max(), idle);
  });
  REQUIRE(clock.WaitForSleepers(3));
  REQUIRE(clock.AdvanceToNextDeadline());
  CHECK(early.get());
  CHECK(clock.NowSteady() - start == seconds(3));
  CHECK(clock.sleepers() == 2);
  late_flag.Raise();  // a raise wakes a fake sleep too, and says so
  CHECK_FALSE(late.get());
  CHECK(clock.sleepers() == 1);
  // A wait without a deadline is no deadline to advance to.
  CHECK_FALSE(clock.AdvanceToNextDeadline());
  CHECK(clock.NowSteady() - start == seconds(3));
  idle.Notify();
  CHECK_FALSE(forever.get());
  CHECK(clock.sleepers() == 0);
}

}  // namespace
}  // namespace tle
