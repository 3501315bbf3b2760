// RateLimiter: keeps one app's requests under max_qps in any one-second window.
//
// A request is counted from the moment its answer arrived (or the client gave
// up), not from when it was sent: since an app has one request in flight at a
// time, the server then never sees more than max_qps arrivals in any one-second
// window, whatever the network jitter. For max_qps >= 1 the limiter allows
// floor(max_qps) requests per window of one second; below 1, one request per
// 1/max_qps seconds. After the API says "too many requests", Slowdown()
// stretches the window for a while (doubling up to 8x on repeated rejections),
// then the rate recovers by itself.
//
// The bookkeeping works on time points given by the caller; WaitForSlot reads
// and sleeps on the Clock the owner passes in, so both are tested on a
// FakeClock. Not thread-safe: one walker thread owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "exporter/common/clock.h"

namespace tle {

class RateLimiter {
 public:
  using TimePoint = SteadyTime;
  using Duration = SteadyDuration;

  // REQUIRES: max_qps > 0; `clock` outlives the limiter.
  explicit RateLimiter(double max_qps, Clock& clock = RealClock());

  // Sleeps on the clock until the next slot, and at least until `not_before`
  // (a hold after a rate-limit answer). False as soon as `cancel` (may be
  // null) is raised.
  bool WaitForSlot(TimePoint not_before, const CancelFlag* cancel);

  // The earliest time at or after `now` when the next request may be sent.
  TimePoint NextSlot(TimePoint now) const;

  // Records that a request finished (answer received or given up) at `done`.
  void RecordDone(TimePoint done);

  // The API rejected us for frequency at `now`: lower the rate for `hold` from
  // now.
  void Slowdown(TimePoint now, Duration hold);

  // Current window length (1 s at full speed); for logs and tests.
  Duration window(TimePoint now) const;
  int burst() const { return burst_; }

 private:
  Clock& clock_;
  int burst_;
  Duration base_window_;
  std::vector<TimePoint> done_;  // ring of the last burst_ completion times
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
  int slow_factor_ = 1;
  TimePoint slow_until_{};
};

}  // namespace tle
