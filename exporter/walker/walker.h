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
// Time comes from the Clock passed in (RealClock() by default): every wait
// (rate-limit slot, backoff, interval) is a Clock::SleepUntil on the walker's
// stop flag, so tests run walks on a FakeClock.
//
// Thread-safety: Start, RequestStop and Stop may be called from any thread,
// also concurrently (a lifecycle mutex orders them). A stop is final: once
// RequestStop() has been called, every wait of the walk ends at once, the
// request in flight is cancelled, and Start() does nothing. WalkOnce runs a
// walk on the calling thread; REQUIRES: no other walk of this walker at the
// same time (its thread not started, or the call is the thread's own).
// `publish` runs on the walking thread. app() and stats() may be used from any
// thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "exporter/client/room_source.h"
#include "exporter/common/clock.h"
#include "exporter/common/thread_annotations.h"
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
  // REQUIRES: `clock` outlives the walker.
  Walker(AppConfig app, std::unique_ptr<RoomSource> source,
         SnapshotPublisher publish, WalkerTuning tuning = {},
         Clock& clock = RealClock());
  ~Walker();  // Stop()
  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;
  Walker(Walker&&) = delete;
  Walker& operator=(Walker&&) = delete;

  // Starts the walker thread; does nothing when it was started or stopped
  // before.
  void Start();
  // Asks the walk to stop: raises the stop flag and cancels the request in
  // flight; returns at once. Final: the walker never walks again.
  void RequestStop();
  // RequestStop(), then waits for the thread to end. Idempotent.
  // REQUIRES: not called from `publish` (the walking thread).
  void Stop();

  // One synchronous walk on the calling thread (tests, and the thread's loop).
  // True if it completed. Never throws.
  bool WalkOnce();

  const AppConfig& app() const { return app_; }
  WalkStats& stats() { return stats_; }
  const WalkStats& stats() const { return stats_; }

 private:
  bool Walk();
  // The page after `cursor` once retries are over, or the error it ended
  // with; nullopt when a stop was requested meanwhile.
  std::optional<Result<RoomPage, FetchError>> FetchWithRetries(
      const std::string& cursor);
  std::chrono::milliseconds Backoff(int attempt);
  void Run();

  const AppConfig app_;
  const WalkerTuning tuning_;
  Clock& clock_;
  const std::unique_ptr<RoomSource> source_;  // FetchPage: walking thread
  const SnapshotPublisher publish_;
  WalkStats stats_;  // its own mutex
  CancelFlag stop_;  // raised once, by RequestStop()

  // The walk's own state: only the walking thread touches it (see WalkOnce).
  RateLimiter limiter_;
  std::mt19937_64 rng_;
  // No request before this (after a rate-limit or 70050 answer); spans walks.
  RateLimiter::TimePoint hold_until_{};

  std::mutex thread_mutex_;  // orders Start and Stop
  std::thread thread_ TLE_GUARDED_BY(thread_mutex_);
};

}  // namespace tle
