#include "exporter/top_rooms/api_gate.h"

#include <algorithm>
#include <cmath>

namespace tle {
namespace {

// The least pause after a rate-limit answer (as on the walk).
constexpr std::chrono::seconds kMinRateLimitPause{1};
constexpr int kMaxSlowShift = 3;  // at most 8x slower

}  // namespace

ApiGate::ApiGate(double qps)
    : capacity_(qps >= 1 ? static_cast<int>(std::floor(qps)) : 1),
      window_(qps >= 1 ? Duration(std::chrono::seconds(1))
                       : std::chrono::duration_cast<Duration>(
                             std::chrono::duration<double>(1.0 / qps))) {}

int ApiGate::usable(TimePoint now) const {
  if (now >= slow_until_) return capacity_;
  return std::max(1, capacity_ >> slow_shift_);
}

int ApiGate::Busy(TimePoint now) const {
  // cooling_ is sorted: count the entries still in the future.
  auto free_from = std::upper_bound(cooling_.begin(), cooling_.end(), now);
  return in_flight_ + static_cast<int>(cooling_.end() - free_from);
}

bool ApiGate::TryAcquire(TimePoint now) {
  while (!cooling_.empty() && cooling_.front() <= now) cooling_.pop_front();
  if (now < hold_until_) return false;
  if (Busy(now) >= usable(now)) return false;
  ++in_flight_;
  return true;
}

void ApiGate::Release(TimePoint now) {
  if (in_flight_ > 0) --in_flight_;
  TimePoint free_at = now + window_;
  // Answers are released in the order they are seen, so this stays sorted;
  // insert in place should a caller's time ever step back.
  cooling_.insert(std::upper_bound(cooling_.begin(), cooling_.end(), free_at),
                  free_at);
}

ApiGate::TimePoint ApiGate::NextFree(TimePoint now) const {
  TimePoint earliest = std::max(now, hold_until_);
  auto first_cooling =
      std::upper_bound(cooling_.begin(), cooling_.end(), earliest);
  int cooling = static_cast<int>(cooling_.end() - first_cooling);
  int need = in_flight_ + cooling - usable(earliest) + 1;  // slots to free
  TimePoint at = TimePoint::max();
  if (need <= 0) {
    at = earliest;
  } else if (need <= cooling) {
    at = *(first_cooling + (need - 1));
  }
  // All slots come back when a slowdown ends.
  if (earliest < slow_until_ && slow_until_ < at &&
      in_flight_ + cooling < capacity_) {
    at = slow_until_;
  }
  return at;
}

void ApiGate::Slowdown(TimePoint now, Duration hold) {
  slow_shift_ =
      now < slow_until_ ? std::min(slow_shift_ + 1, kMaxSlowShift) : 1;
  slow_until_ = now + hold;
  HoldUntil(now + kMinRateLimitPause);
}

void ApiGate::HoldUntil(TimePoint until) {
  hold_until_ = std::max(hold_until_, until);
}

}  // namespace tle
