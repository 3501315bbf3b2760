// RoundClock: the time a top-rooms runner reads, and its waiting (leveldb's
// Env, for time only), so that tests drive rounds on a fake clock.
//
// A round thread waits for one of three things: a deadline (the next round,
// a gate slot, a retry), an answer from the client, or a stop. Wakeup is the
// "something happened" signal for the last two: Notify() from any thread ends
// the current wait, or the next one if none is in progress (a notification is
// never lost, and is consumed by the wait it ends).
//
// Thread-safety: Wakeup::Notify and every RoundClock method may be called from
// any thread; one thread waits on a Wakeup at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace tle {

using SteadyTimePoint = std::chrono::steady_clock::time_point;

class Wakeup {
 public:
  Wakeup() = default;
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;
  Wakeup(Wakeup&&) = delete;
  Wakeup& operator=(Wakeup&&) = delete;

  void Notify();
  // Waits until notified (true, consuming the notification) or until the
  // real steady time `deadline` (false).
  bool WaitUntil(SteadyTimePoint deadline);

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool notified_ = false;  // guarded by mutex_
};

class RoundClock {
 public:
  virtual ~RoundClock() = default;
  virtual SteadyTimePoint Now() const = 0;
  virtual double UnixNow() const = 0;  // seconds since the epoch
  // Returns once Now() >= deadline, or once `wakeup` is notified.
  virtual void WaitUntil(SteadyTimePoint deadline, Wakeup& wakeup) = 0;
};

// std::chrono::steady_clock and system_clock; one process-wide instance.
RoundClock& SystemRoundClock();

}  // namespace tle
