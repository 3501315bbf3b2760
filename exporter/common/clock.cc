#include "exporter/common/clock.h"

#include <algorithm>
#include <thread>

namespace tle {

void CancelFlag::Raise() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    raised_ = true;
  }
  changed_.notify_all();
}

bool CancelFlag::raised() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return raised_;
}

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
  bool SleepUntil(SteadyTime deadline, const CancelFlag* cancel) override {
    if (cancel == nullptr) {
      std::this_thread::sleep_until(deadline);
      return true;
    }
    std::unique_lock<std::mutex> lock(cancel->mutex_);
    // The flag is read under its own mutex, and Raise() sets it under that
    // mutex before notifying: a raise before or during the wait ends it.
    return !cancel->changed_.wait_until(
        lock, deadline,
        [cancel]() TLE_REQUIRES(cancel->mutex_) { return cancel->raised_; });
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
  // A sleeper waits on its flag's condition variable and reads the time (an
  // atomic) under the flag's mutex; notifying with that mutex held means a
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
    std::lock_guard<std::mutex> flag_lock(sleeper->flag->mutex_);
    sleeper->flag->changed_.notify_all();
  }
  if (changed) sleepers_changed_.notify_all();
}

bool FakeClock::SleepUntil(SteadyTime deadline, const CancelFlag* cancel) {
  CancelFlag never;  // stands in when the caller has no flag
  const CancelFlag* flag = cancel != nullptr ? cancel : &never;
  if (mode_ == Mode::kAdvanceOnSleep) {
    if (flag->raised()) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    auto target = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      deadline - steady_start_)
                      .count();
    if (target > now_ns_.load()) now_ns_.store(target);
    WakeLocked();
    return true;
  }
  // A deadline already reached returns without registering, so sleepers()
  // counts only threads that really wait.
  if (flag->raised()) return false;
  if (NowSteady() >= deadline) return true;
  Sleeper self{deadline, flag};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    sleepers_.push_back(&self);
  }
  sleepers_changed_.notify_all();
  bool reached = false;
  {
    std::unique_lock<std::mutex> flag_lock(flag->mutex_);
    flag->changed_.wait(flag_lock, [&]() TLE_REQUIRES(flag->mutex_) {
      reached = NowSteady() >= deadline;
      return reached || flag->raised_;
    });
    reached = reached && !flag->raised_;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), &self);
    if (it != sleepers_.end()) sleepers_.erase(it);  // woken by its flag
  }
  sleepers_changed_.notify_all();
  return reached;
}

void FakeClock::Advance(SteadyDuration by) {
  std::lock_guard<std::mutex> lock(mutex_);
  now_ns_.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(by).count());
  WakeLocked();
}

bool FakeClock::AdvanceToNextDeadline() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sleepers_.empty()) return false;
  SteadyTime next = sleepers_.front()->deadline;
  for (const Sleeper* sleeper : sleepers_)
    next = std::min(next, sleeper->deadline);
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
