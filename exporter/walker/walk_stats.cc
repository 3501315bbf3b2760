#include "exporter/walker/walk_stats.h"

#include <algorithm>

namespace tle {

const std::vector<double>& RequestDurationBuckets() {
  static const std::vector<double> kBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

std::array<ApiStatsView, kApis.size()> InitialApiStats() {
  std::array<ApiStatsView, kApis.size()> apis;
  for (const ApiInfo& info : kApis) {
    ApiStatsView& api = apis[static_cast<std::size_t>(info.api)];
    api.api = info.name;
    api.used = info.api == Api::kGetRoomList;
    api.duration_buckets.assign(RequestDurationBuckets().size() + 1, 0);
  }
  return apis;
}

WalkStats::WalkStats() = default;

void WalkStats::UseApi(Api api) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.apis[static_cast<std::size_t>(api)].used = true;
}

void WalkStats::WalkStarted() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++view_.walks;
}

void WalkStats::WalkCompleted(double seconds, int pages, double end_timestamp) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.up = true;
  view_.last_walk_seconds = seconds;
  view_.last_walk_pages = pages;
  view_.last_success_timestamp = end_timestamp;
  view_.last_error.clear();
}

void WalkStats::WalkFailed(WalkFailure reason, double seconds, int pages,
                           const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.up = false;
  view_.last_walk_seconds = seconds;
  view_.last_walk_pages = pages;
  ++view_.failures[static_cast<std::size_t>(reason)];
  view_.last_error = why;
}

void WalkStats::WalkAborted(const std::string& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.up = false;
  view_.last_error = why;
}

void WalkStats::RequestDone(double seconds, Api api) {
  const auto& bounds = RequestDurationBuckets();
  std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  std::lock_guard<std::mutex> lock(mutex_);
  ApiStatsView& s = view_.apis[static_cast<std::size_t>(api)];
  s.used = true;
  ++s.requests;
  ++s.duration_buckets[bucket];
  s.duration_sum += seconds;
  ++s.duration_count;
}

void WalkStats::ApiError(const std::string& code_label, Api api) {
  std::lock_guard<std::mutex> lock(mutex_);
  ApiStatsView& s = view_.apis[static_cast<std::size_t>(api)];
  ++s.errors_by_code[code_label];
  ++s.failed;
}

void WalkStats::Retry(Api api) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++view_.apis[static_cast<std::size_t>(api)].retries;
}

void WalkStats::RoomsRejected(RejectReason reason, int count) {
  if (count <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  view_.rejected[static_cast<std::size_t>(reason)] +=
      static_cast<std::uint64_t>(count);
}

WalkStatsView WalkStats::View() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

}  // namespace tle
