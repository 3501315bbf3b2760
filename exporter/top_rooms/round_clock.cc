#include "exporter/top_rooms/round_clock.h"

#include <algorithm>

namespace tle {
namespace {

// A wait "forever" is cut into hours: condition variables convert far
// deadlines with overflow-prone arithmetic.
constexpr std::chrono::hours kLongestWait{1};

class SystemClock final : public RoundClock {
 public:
  SteadyTimePoint Now() const override {
    return std::chrono::steady_clock::now();
  }
  double UnixNow() const override {
    return std::chrono::duration<double>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void WaitUntil(SteadyTimePoint deadline, Wakeup& wakeup) override {
    while (true) {
      const SteadyTimePoint now = Now();
      if (now >= deadline) return;
      const SteadyTimePoint until =
          deadline - now > kLongestWait ? now + kLongestWait : deadline;
      if (wakeup.WaitUntil(until)) return;
    }
  }
};

}  // namespace

void Wakeup::Notify() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    notified_ = true;
  }
  cv_.notify_all();
}

bool Wakeup::WaitUntil(SteadyTimePoint deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool notified =
      cv_.wait_until(lock, deadline, [this] { return notified_; });
  notified_ = false;
  return notified;
}

RoundClock& SystemRoundClock() {
  static SystemClock clock;
  return clock;
}

}  // namespace tle
