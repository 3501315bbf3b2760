// WalkStats: the counters and gauges one app keeps about its walks and its API
// calls, per API.
//
// The walker writes the walk's and get_room_list's; the top-rooms rounds write
// get_member_list's and get_room_stats' (from their own thread); the metrics
// stage reads a consistent copy (WalkStatsView) per scrape. All methods may be
// called from any thread (one mutex; every call is short).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/client/upstream_client.h"
#include "exporter/common/enum_labels.h"
#include "exporter/common/thread_annotations.h"
#include "exporter/snapshot/room.h"

namespace tle {

// Why a walk did not complete: the `reason` label of
// tencent_live_walk_failures_total. A new reason is a new enumerator (moving
// kMaxValue) and a new row of kWalkFailures; the static_asserts fail until both
// are done.
enum class WalkFailure {
  kApiError,
  kNetwork,
  kDecode,
  kCursorLoop,
  kMaxPages,
  kTimeout,
  kMaxValue = kTimeout
};

// One row per WalkFailure, in enum order.
inline constexpr EnumLabels<WalkFailure, 6> kWalkFailures{{
    {WalkFailure::kApiError, "api_error"},
    {WalkFailure::kNetwork, "network"},
    {WalkFailure::kDecode, "decode"},
    {WalkFailure::kCursorLoop, "cursor_loop"},
    {WalkFailure::kMaxPages, "max_pages"},
    {WalkFailure::kTimeout, "timeout"},
}};
static_assert(kWalkFailures.size() == kEnumSize<WalkFailure>);
static_assert(InEnumOrder(kWalkFailures));
inline constexpr int kWalkFailureCount = static_cast<int>(kWalkFailures.size());

inline constexpr const char* WalkFailureLabel(WalkFailure reason) {
  return LabelOf(kWalkFailures, reason);
}

// Upper bounds of the request latency histogram, in seconds.
const std::vector<double>& RequestDurationBuckets();

// The tencent_live_api_* counters of one API.
struct ApiStatsView {
  const char* api = "";  // the `api` label: kApis' name
  bool used = false;  // the app calls this API: its series exist, at 0 at first
  std::uint64_t requests = 0;
  std::map<std::string, std::uint64_t> errors_by_code;
  std::uint64_t failed = 0;  // failed requests of any code
  std::uint64_t retries = 0;
  std::vector<std::uint64_t>
      duration_buckets;  // per bucket (not cumulative), last is +Inf
  double duration_sum = 0;
  std::uint64_t duration_count = 0;
};

// Every API with its name and empty buckets; get_room_list used (every app
// walks).
std::array<ApiStatsView, kApis.size()> InitialApiStats();

struct WalkStatsView {
  bool up = false;
  double last_walk_seconds = 0;
  int last_walk_pages = 0;
  double last_success_timestamp = 0;  // 0 until a walk completes
  std::uint64_t walks = 0;
  std::array<std::uint64_t, kWalkFailureCount> failures{};
  std::array<std::uint64_t, kRejectReasonCount> rejected{};
  std::string
      last_error;  // short text of the last failure, for the landing page
  std::array<ApiStatsView, kApis.size()> apis =
      InitialApiStats();  // indexed by Api

  const ApiStatsView& api(Api which) const {
    return apis[static_cast<std::size_t>(which)];
  }
  ApiStatsView& api(Api which) { return apis[static_cast<std::size_t>(which)]; }
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
  // A walk ended by an exception nothing on the walk is meant to throw (out of
  // memory, or a bug): `up` goes to 0 and last_error says why. It is not one
  // of the reasons of walk_failures_total, so none of them is counted.
  void WalkAborted(const std::string& why);
  // The app calls `api` (get_room_list always): its counters are exported
  // from now on, at 0 until something happens.
  void UseApi(Api api);
  // A request to `api` ended (answered or given up) after `seconds`.
  void RequestDone(double seconds, Api api = Api::kGetRoomList);
  // It failed (counted once per failed request, retried or not).
  void ApiError(const std::string& code_label, Api api = Api::kGetRoomList);
  void Retry(Api api = Api::kGetRoomList);
  void RoomsRejected(RejectReason reason, int count);

  WalkStatsView View() const;

 private:
  mutable std::mutex mutex_;
  WalkStatsView view_ TLE_GUARDED_BY(mutex_);
};

}  // namespace tle
