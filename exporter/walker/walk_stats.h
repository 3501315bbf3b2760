// WalkStats: the counters and gauges one app's walker keeps about its walks and
// API calls.
//
// The walker writes; the metrics stage reads a consistent copy (WalkStatsView)
// per scrape. All methods may be called from any thread (one mutex; every call
// is short).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/snapshot/room.h"

namespace tle {

// The `reason` label of tencent_live_walk_failures_total.
enum class WalkFailure {
  kApiError,
  kNetwork,
  kDecode,
  kCursorLoop,
  kMaxPages,
  kTimeout
};
inline constexpr int kWalkFailureCount = 6;
const char* WalkFailureLabel(WalkFailure reason);

// Upper bounds of the request latency histogram, in seconds.
const std::vector<double>& RequestDurationBuckets();

struct WalkStatsView {
  bool up = false;
  double last_walk_seconds = 0;
  int last_walk_pages = 0;
  double last_success_timestamp = 0;  // 0 until a walk completes
  std::uint64_t walks = 0;
  std::array<std::uint64_t, kWalkFailureCount> failures{};
  std::uint64_t requests = 0;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::uint64_t retries = 0;
  std::array<std::uint64_t, kRejectReasonCount> rejected{};
  std::vector<std::uint64_t>
      duration_buckets;  // per bucket (not cumulative), last is +Inf
  double duration_sum = 0;
  std::uint64_t duration_count = 0;
  std::string
      last_error;  // short text of the last failure, for the landing page
};

class WalkStats {
 public:
  WalkStats();
  WalkStats(const WalkStats&) = delete;
  WalkStats& operator=(const WalkStats&) = delete;

  void WalkStarted();
  void WalkCompleted(double seconds, int pages, double end_timestamp);
  void WalkFailed(WalkFailure reason, double seconds, int pages,
                  const std::string& why);
  void RequestDone(double seconds);
  void ApiError(const std::string& code_label);
  void Retry();
  void RoomsRejected(RejectReason reason, int count);

  WalkStatsView View() const;

 private:
  mutable std::mutex mutex_;
  WalkStatsView view_;
};

}  // namespace tle
