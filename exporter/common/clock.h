// Clock: the time the walker, the rate limiter and the top-rooms runner read,
// and their waiting (leveldb's Env, for time only).
//
// Code that waits or stamps times takes a Clock& from its owner instead of
// calling std::chrono itself, so tests drive time with a FakeClock and wait on
// conditions instead of sleeping. RealClock() is the system's clocks.
//
// A wait ends at its deadline, or earlier on one of two signals:
// - CancelFlag: raised once, for good (a stop). SleepUntil waits on one.
// - Wakeup: "something happened" (an answer arrived, new rooms, a stop),
//   notified any number of times. WaitUntil waits on one; each notification
//   ends one wait, the one in progress or else the next (none is lost).
// Both are the same wait underneath, so a FakeClock counts and wakes either.
//
// Thread-safety: every method of CancelFlag, Wakeup, RealClock() and FakeClock
// may be called from any thread; one thread at a time waits on a Wakeup.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "exporter/common/thread_annotations.h"

namespace tle {

using SteadyTime = std::chrono::steady_clock::time_point;
using SteadyDuration = std::chrono::steady_clock::duration;

class FakeClock;
class SystemClock;

namespace detail {

// What CancelFlag and Wakeup share: a flag set under a mutex, and the
// condition variable a Clock's wait sleeps on.
class WaitSignal {
 public:
  WaitSignal(const WaitSignal&) = delete;
  WaitSignal& operator=(const WaitSignal&) = delete;
  WaitSignal(WaitSignal&&) = delete;
  WaitSignal& operator=(WaitSignal&&) = delete;

 protected:
  // `latched`: the signal stays set (CancelFlag); otherwise the wait it ends
  // clears it (Wakeup).
  explicit WaitSignal(bool latched) : latched_(latched) {}
  ~WaitSignal() = default;
  void Set();
  bool is_set() const;

 private:
  friend class tle::FakeClock;
  friend class tle::SystemClock;
  // Called by a wait with mutex_ held: whether the signal ends it, which for
  // a Wakeup consumes the notification.
  bool EndsWaitLocked() const TLE_REQUIRES(mutex_);

  const bool latched_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  // Mutable: a wait that ends on a Wakeup clears it, through the same const
  // path that only reads a CancelFlag.
  mutable bool set_ TLE_GUARDED_BY(mutex_) = false;
};

}  // namespace detail

// Raised once, stays raised: every wait on it that is in progress ends, and
// every later one returns at once. This is what makes a stop impossible to
// lose: there is no window in which a raise goes unseen.
class CancelFlag final : public detail::WaitSignal {
 public:
  CancelFlag() : WaitSignal(/*latched=*/true) {}
  void Raise() { Set(); }
  bool raised() const { return is_set(); }
};

// Notify() ends the wait in progress on it, or the next one if none is in
// progress; the wait that ends consumes the notification, so the one after it
// waits again. Notifications that come before a wait collapse into one.
class Wakeup final : public detail::WaitSignal {
 public:
  Wakeup() : WaitSignal(/*latched=*/false) {}
  void Notify() { Set(); }
};

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time, for deadlines and durations.
  virtual SteadyTime NowSteady() const = 0;
  // Wall-clock time in seconds since the Unix epoch, for timestamps.
  virtual double NowUnix() const = 0;
  // Returns true once NowSteady() >= deadline, or false as soon as `cancel`
  // (may be null) is raised, also when it was raised before the call.
  bool SleepUntil(SteadyTime deadline, const CancelFlag* cancel) {
    return Wait(deadline, cancel);
  }
  // Returns true once NowSteady() >= deadline, or false as soon as `wakeup`
  // is notified (consuming the notification), also when it was notified
  // before the call. SteadyTime::max() waits for the notification alone.
  bool WaitUntil(SteadyTime deadline, Wakeup& wakeup) {
    return Wait(deadline, &wakeup);
  }

 protected:
  // Both waits: until `deadline`, or false once `signal` (may be null) ends
  // the wait (detail::WaitSignal::EndsWaitLocked).
  virtual bool Wait(SteadyTime deadline, const detail::WaitSignal* signal) = 0;
};

// std::chrono::steady_clock and system_clock; one process-wide instance.
Clock& RealClock();

// A clock for tests. Time stands still until the test moves it:
// - kManual: a wait (SleepUntil or WaitUntil) lasts until Advance() or
//   AdvanceToNextDeadline() moves the time past its deadline, or its signal
//   ends it. For tests with threads: WaitForSleepers() tells when a thread has
//   reached its wait.
// - kAdvanceOnSleep: a wait moves the time to its deadline and returns at
//   once (unless its signal is set: then it returns false, time unchanged), so
//   a single-threaded test runs backoffs and rate limits in no time, and reads
//   afterwards how long they would have taken. A wait without a deadline
//   (SteadyTime::max()) waits for its signal as in kManual.
class FakeClock final : public Clock {
 public:
  enum class Mode { kManual, kAdvanceOnSleep };

  explicit FakeClock(Mode mode = Mode::kManual,
                     double unix_start = 1700000000.0);
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;
  FakeClock(FakeClock&&) = delete;
  FakeClock& operator=(FakeClock&&) = delete;

  SteadyTime NowSteady() const override;
  double NowUnix() const override;

  // Moves the time forward and wakes the sleepers whose deadline it reached.
  void Advance(SteadyDuration by);
  // Moves the time to the earliest deadline of the threads waiting now;
  // false (time unchanged) when none waits, or none with a deadline.
  bool AdvanceToNextDeadline();
  // Blocks until at least `count` threads are waiting (SleepUntil or
  // WaitUntil, not yet ended), or until `real_timeout` of real time has
  // passed (false: a test failure, not a hang).
  bool WaitForSleepers(
      std::size_t count,
      std::chrono::milliseconds real_timeout = std::chrono::seconds(20)) const;
  std::size_t sleepers() const;

 private:
  struct Sleeper {
    SteadyTime deadline;
    const detail::WaitSignal* signal;
  };
  bool Wait(SteadyTime deadline, const detail::WaitSignal* signal) override;
  void WakeLocked() TLE_REQUIRES(mutex_);

  const Mode mode_;
  const SteadyTime steady_start_;
  const double unix_start_;
  // Read without the lock by NowSteady(); written with it.
  std::atomic<std::int64_t> now_ns_{0};
  mutable std::mutex mutex_;  // taken before any signal's mutex
  mutable std::condition_variable sleepers_changed_;
  std::vector<Sleeper*> sleepers_ TLE_GUARDED_BY(mutex_);
};

}  // namespace tle
