#include "exporter/common/clock.h"

#include <algorithm>
#include <thread>

namespace tle {

namespace {

// A real wait "forever" is cut into hours: condition variables convert far
// deadlines with overflow-prone arithmetic.
constexpr std::chrono::hours kLongestRealWait{1};

}  // namespace

namespace detail {

void WaitSignal::Set() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    set_ = true;
  }
  changed_.notify_all();
}

bool WaitSignal::is_set() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return set_;
}

bool WaitSignal::EndsWaitLocked() const {
  if (!set_) return false;
  if (!latched_) set_ = false;
  return true;
}

}  // namespace detail

class SystemClock final : public Clock {
 public:
  SteadyTime NowSteady() const override {
    return std::chrono::steady_clock::now();
  }
  double NowUnix() const override {
    return std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  bool Wait(SteadyTime deadline, const detail::WaitSignal* signal) override {
    if (signal == nullptr) {
      std::this_thread::sleep_until(deadline);
      return true;
    }
    // The signal is read under its own mutex, and Set() sets it under that
    // mutex before notifying: a signal before or during the wait ends it.
    std::unique_lock<std::mutex> lock(signal->mutex_);
    while (true) {
      const SteadyTime now = NowSteady();
      if (signal->EndsWaitLocked()) return false;
      if (now >= deadline) return true;
      const SteadyTime until =
          deadline - now > kLongestRealWait ? now + kLongestRealWait : deadline;
      signal->changed_.wait_until(
          lock, until,
          [signal]() TLE_REQUIRES(signal->mutex_) { return signal->set_; });
    }
  }
};

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(Mode mode, double unix_start)
    // An arbitrary start an hour past the steady clock's epoch, so that
    // `time_point{}` (a "no hold" default) lies well in the past.
    : mode_(mode),
      steady_start_(std::chrono::hours(1)),
      unix_start_(unix_start) {}

SteadyTime FakeClock::NowSteady() const {
  return steady_start_ + std::chrono::duration_cast<SteadyDuration>(
                             std::chrono::nanoseconds(now_ns_.load()));
}

double FakeClock::NowUnix() const {
  return unix_start_ + static_cast<double>(now_ns_.load()) / 1e9;
}

void FakeClock::WakeLocked() {
  // A sleeper waits on its signal's condition variable and reads the time (an
  // atomic) under the signal's mutex; notifying with that mutex held means a
  // sleeper between its check and its wait cannot miss the change, and one
  // that wakes cannot return (and destroy its Sleeper) before the notify is
  // done. A woken sleeper leaves sleepers_ here, so sleepers() and
  // WaitForSleepers() count only threads still waiting.
  const SteadyTime now = NowSteady();
  bool changed = false;
  for (auto it = sleepers_.begin(); it != sleepers_.end();) {
    Sleeper* sleeper = *it;
    if (sleeper->deadline > now) {
      ++it;
      continue;
    }
    it = sleepers_.erase(it);
    changed = true;
    std::lock_guard<std::mutex> signal_lock(sleeper->signal->mutex_);
    sleeper->signal->changed_.notify_all();
  }
  if (changed) sleepers_changed_.notify_all();
}

bool FakeClock::Wait(SteadyTime deadline, const detail::WaitSignal* signal) {
  const CancelFlag never;  // stands in when the caller has no signal
  if (signal == nullptr) signal = &never;
  if (mode_ == Mode::kAdvanceOnSleep && deadline != SteadyTime::max()) {
    {
      std::lock_guard<std::mutex> signal_lock(signal->mutex_);
      if (signal->EndsWaitLocked()) return false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto target = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      deadline - steady_start_)
                      .count();
    if (target > now_ns_.load()) now_ns_.store(target);
    WakeLocked();
    return true;
  }
  // A wait that ends at once returns without registering, so sleepers()
  // counts only threads that really wait.
  {
    std::lock_guard<std::mutex> signal_lock(signal->mutex_);
    if (signal->EndsWaitLocked()) return false;
    if (NowSteady() >= deadline) return true;
  }
  Sleeper self{deadline, signal};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sleepers_.push_back(&self);
  }
  sleepers_changed_.notify_all();
  bool signalled = false;
  {
    std::unique_lock<std::mutex> signal_lock(signal->mutex_);
    signal->changed_.wait(signal_lock, [&]() TLE_REQUIRES(signal->mutex_) {
      return signal->set_ || NowSteady() >= deadline;
    });
    signalled = signal->EndsWaitLocked();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), &self);
    if (it != sleepers_.end()) sleepers_.erase(it);  // ended by its signal
  }
  sleepers_changed_.notify_all();
  return !signalled;
}

void FakeClock::Advance(SteadyDuration by) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ns_.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(by).count());
  WakeLocked();
}

bool FakeClock::AdvanceToNextDeadline() {
  std::lock_guard<std::mutex> lock(mutex_);
  SteadyTime next = SteadyTime::max();  // "no deadline"
  for (const Sleeper* sleeper : sleepers_)
    next = std::min(next, sleeper->deadline);
  if (next == SteadyTime::max()) return false;
  auto target =
      std::chrono::duration_cast<std::chrono::nanoseconds>(next - steady_start_)
          .count();
  if (target > now_ns_.load()) now_ns_.store(target);
  WakeLocked();
  return true;
}

bool FakeClock::WaitForSleepers(std::size_t count,
                                std::chrono::milliseconds real_timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return sleepers_changed_.wait_for(
      lock, real_timeout,
      [&]() TLE_REQUIRES(mutex_) { return sleepers_.size() >= count; });
}

std::size_t FakeClock::sleepers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sleepers_.size();
}

}  // namespace tle
