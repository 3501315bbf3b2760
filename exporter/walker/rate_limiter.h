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
// Pure bookkeeping on time points given by the caller (no clock, no sleeping),
// so it is tested on a fake clock. Not thread-safe: one walker thread owns it.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

namespace tle {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  // REQUIRES: max_qps > 0.
  explicit RateLimiter(double max_qps);

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
  int burst_;
  Duration base_window_;
  std::vector<TimePoint> done_;  // ring of the last burst_ completion times
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
  int slow_factor_ = 1;
  TimePoint slow_until_{};
};

}  // namespace tle
