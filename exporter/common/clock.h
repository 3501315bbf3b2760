// Clock: the time the walker and the rate limiter read, and their waiting
// (leveldb's Env, for time only).
//
// Code that waits or stamps times takes a Clock& from its owner instead of
// calling std::chrono itself, so tests drive time with a FakeClock and wait on
// conditions instead of sleeping. RealClock() is the system's clocks. A wait
// ends early, for good, once its CancelFlag is raised (shutdown).
//
// Thread-safety: every method of CancelFlag, RealClock() and FakeClock may be
// called from any thread.
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

// Raised once, stays raised: every wait on it that is in progress ends, and
// every later one returns at once. This is what makes a stop impossible to
// lose: there is no window in which a raise goes unseen.
class CancelFlag {
 public:
  CancelFlag() = default;
  CancelFlag(const CancelFlag&) = delete;
  CancelFlag& operator=(const CancelFlag&) = delete;
  CancelFlag(CancelFlag&&) = delete;
  CancelFlag& operator=(CancelFlag&&) = delete;

  void Raise();
  bool raised() const;

 private:
  friend class SystemClock;
  friend class FakeClock;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool raised_ TLE_GUARDED_BY(mutex_) = false;
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
  virtual bool SleepUntil(SteadyTime deadline, const CancelFlag* cancel) = 0;
};

// std::chrono::steady_clock and system_clock; one process-wide instance.
Clock& RealClock();

// A clock for tests. Time stands still until the test moves it:
// - kManual: SleepUntil waits until Advance()/AdvanceToNextDeadline() moves the
//   time past its deadline (or its flag is raised). For tests with threads:
//   WaitForSleepers() tells when a thread has reached its wait.
// - kAdvanceOnSleep: SleepUntil moves the time to its deadline and returns at
//   once, so a single-threaded test runs backoffs and rate limits in no time,
//   and reads afterwards how long they would have taken.
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
  bool SleepUntil(SteadyTime deadline, const CancelFlag* cancel) override;

  // Moves the time forward and wakes the sleepers whose deadline it reached.
  void Advance(SteadyDuration by);
  // Moves the time to the earliest deadline of the threads sleeping now;
  // false (time unchanged) when none sleeps.
  bool AdvanceToNextDeadline();
  // Blocks until at least `count` threads are inside SleepUntil, or until
  // `real_timeout` of real time has passed (false: a test failure, not a hang).
  bool WaitForSleepers(
      std::size_t count,
      std::chrono::milliseconds real_timeout = std::chrono::seconds(20)) const;
  std::size_t sleepers() const;

 private:
  struct Sleeper {
    SteadyTime deadline;
    const CancelFlag* flag;
  };
  void WakeLocked() TLE_REQUIRES(mutex_);

  const Mode mode_;
  const SteadyTime steady_start_;
  const double unix_start_;
  // Read without the lock by NowSteady(); written with it.
  std::atomic<std::int64_t> now_ns_{0};
  mutable std::mutex mutex_;  // taken before any CancelFlag's mutex
  mutable std::condition_variable sleepers_changed_;
  std::vector<Sleeper*> sleepers_ TLE_GUARDED_BY(mutex_);
};

}  // namespace tle
