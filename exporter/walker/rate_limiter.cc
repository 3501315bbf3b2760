#include "exporter/walker/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tle {

RateLimiter::RateLimiter(double max_qps, Clock& clock)
    : clock_(clock),
      burst_(max_qps >= 1 ? static_cast<int>(std::floor(max_qps)) : 1),
      base_window_(max_qps >= 1
                       ? Duration(std::chrono::seconds(1))
                       : std::chrono::duration_cast<Duration>(
                             std::chrono::duration<double>(1.0 / max_qps))),
      done_(static_cast<std::size_t>(burst_)) {}

bool RateLimiter::WaitForSlot(TimePoint not_before, const CancelFlag* cancel) {
  return clock_.SleepUntil(std::max(NextSlot(clock_.NowSteady()), not_before),
                           cancel);
}

RateLimiter::Duration RateLimiter::window(TimePoint now) const {
  return now < slow_until_ ? base_window_ * slow_factor_ : base_window_;
}

RateLimiter::TimePoint RateLimiter::NextSlot(TimePoint now) const {
  if (filled_ < done_.size()) return now;
  // The oldest of the last `burst_` completions is the one at next_ (the ring's
  // write position).
  TimePoint oldest = done_[next_];
  return std::max(now, oldest + window(now));
}

void RateLimiter::RecordDone(TimePoint done) {
  done_[next_] = done;
  next_ = (next_ + 1) % done_.size();
  filled_ = std::min(filled_ + 1, done_.size());
}

void RateLimiter::Slowdown(TimePoint now, Duration hold) {
  slow_factor_ = now < slow_until_ ? std::min(slow_factor_ * 2, 8) : 2;
  slow_until_ = now + hold;
}

}  // namespace tle
