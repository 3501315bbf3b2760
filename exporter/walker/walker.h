// Walker: one app's background walk of get_room_list, page after page, into a
// Snapshot.
//
// Each app has one Walker owning one thread, one RoomSource, one RateLimiter
// and one WalkStats. A walk starts every `interval` (right after an overrun,
// never two at once), follows the cursor until it is empty, de-duplicates rooms
// by RoomId, retries what the error table says is worth retrying (exponential
// backoff with jitter, a fresh UserSig on 70001, a lower rate after a
// rate-limit answer), and hands the finished walk to `publish` as an immutable
// Snapshot. A failed walk publishes nothing: the previous snapshot stays, and
// the failure is counted in WalkStats.
//
// Start/Stop from the owning thread; stats() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "exporter/client/room_source.h"
#include "exporter/config/config.h"
#include "exporter/snapshot/snapshot.h"
#include "exporter/walker/rate_limiter.h"
#include "exporter/walker/walk_stats.h"

namespace tle {

// Timings that are not part of the config; tests shrink them.
struct WalkerTuning {
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds rate_limit_hold{
      30000};  // how long the rate stays lowered
  std::chrono::milliseconds long_backoff{60000};  // after 70050
};

using SnapshotPublisher = std::function<void(std::shared_ptr<const Snapshot>)>;

class Walker {
 public:
  Walker(AppConfig app, std::unique_ptr<RoomSource> source,
         SnapshotPublisher publish, WalkerTuning tuning = {});
  ~Walker();  // stops the thread
  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;
  Walker(Walker&&) = delete;
  Walker& operator=(Walker&&) = delete;

  void Start();  // REQUIRES: not started
  void Stop();  // aborts a walk in flight; idempotent; returns after the thread
                // ended

  // One synchronous walk on the calling thread (tests, and the thread's loop).
  // True if it completed.
  bool WalkOnce();

  const AppConfig& app() const { return app_; }
  WalkStats& stats() { return stats_; }
  const WalkStats& stats() const { return stats_; }

 private:
  struct FetchOutcome;
  FetchOutcome FetchWithRetries(const std::string& cursor);
  bool SleepUntil(RateLimiter::TimePoint deadline);  // false when stopping
  std::chrono::milliseconds Backoff(int attempt);
  void Run();

  const AppConfig app_;
  std::unique_ptr<RoomSource> source_;
  SnapshotPublisher publish_;
  WalkerTuning tuning_;
  RateLimiter limiter_;
  WalkStats stats_;
  std::mt19937_64 rng_;
  std::string app_label_;
  // No request before this (after a rate-limit or 70050 answer); spans walks.
  RateLimiter::TimePoint hold_until_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace tle
