// ApiGate: keeps one API's requests under its ceiling over any one-second
// window, retries included, counting both the sends and the arrivals at the
// server.
//
// The gate has floor(qps) slots (one when qps < 1). A request holds a slot
// from its send until one window after its answer arrived (the window is 1 s,
// or 1/qps s when qps < 1). Two requests on one slot are therefore more than a
// window apart at both ends: whatever the latency, any one-second window sees
// at most floor(qps) sends, and at most floor(qps) arrivals at the server
// (which lie between a send and its answer). Requests in flight at once are
// bounded by the slots too; the round bounds them further (`concurrency`).
//
// After a rate-limit answer, Slowdown(): no send for a second, then half the
// slots (a quarter, an eighth on repeated answers) until `hold` has passed,
// when all slots come back by themselves. HoldUntil() pauses sends (70050).
//
// Pure bookkeeping on time points given by the caller (no clock, no sleeping),
// so it is tested on a fake clock. Not thread-safe: one round thread owns it.
#pragma once

#include <chrono>
#include <deque>

namespace tle {

class ApiGate {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  // REQUIRES: qps > 0.
  explicit ApiGate(double qps);

  // Takes a slot and returns true when a request may be sent at `now`.
  bool TryAcquire(TimePoint now);
  // The request that holds a slot got its answer (or was given up) at `now`:
  // the slot is free again one window later.
  void Release(TimePoint now);

  // The earliest time at or after `now` at which TryAcquire may succeed;
  // TimePoint::max() when every usable slot belongs to a request in flight
  // (only a Release can free one).
  TimePoint NextFree(TimePoint now) const;

  // A rate-limit answer at `now`: see the header comment.
  void Slowdown(TimePoint now, Duration hold);
  // No send before `until`.
  void HoldUntil(TimePoint until);

  int capacity() const { return capacity_; }
  int usable(TimePoint now) const;  // slots usable at `now`
  int in_flight() const { return in_flight_; }
  Duration window() const { return window_; }

 private:
  // Slots taken at `now`: in flight, or released less than a window ago.
  int Busy(TimePoint now) const;

  int capacity_;
  Duration window_;
  int in_flight_ = 0;
  std::deque<TimePoint> cooling_;  // when released slots become free, in order
  TimePoint hold_until_{};
  TimePoint slow_until_{};
  int slow_shift_ = 0;  // usable = capacity >> slow_shift_ while slowed
};

}  // namespace tle
