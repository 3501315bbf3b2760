// Exporter: wires the stages together for a set of apps.
//
// Owns one Walker per app (each with its RoomSource), one TopRoomsRunner per
// app whose top_rooms.count > 0 (each with its own UpstreamClient), the
// ExpositionCache both feed, and answers the WebServer (scrape, landing page,
// readiness, reload). Reload applies a new Config by replacing only the walkers
// whose app changed; the others keep running and keep their snapshots.
//
// Thread-safety: every public method may be called from any thread, also
// concurrently (a reload from the web server or SIGHUP may land before Start,
// during it, or during Stop). The lock protocol:
// - control_mutex_ orders Start, Stop, Apply, Reload and WalkAllOnce; each
//   holds it throughout, so walkers (and top-rooms runners) start and stop in
//   one order and none is started twice or after Stop. Scrapes never take it.
// - apps_mutex_ (after control_mutex_) guards the app table and the reload
//   status. It is held only to read or swap them, never while a walker or
//   runner starts, stops or works, so a scrape never waits for one. The table
//   changes only with both held, so an App taken from it under apps_mutex_
//   lives on while control_mutex_ is held.
// - each app's own mutex (after apps_mutex_) guards its summary, written by
//   its walker's publish callback. The publish callback takes no other lock of
//   the Exporter (its walker is joined with control_mutex_ held).
// Time (scrape timestamps, the walkers' waits) comes from the Clock passed in.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporter/client/room_source.h"
#include "exporter/client/upstream_client.h"
#include "exporter/common/clock.h"
#include "exporter/common/thread_annotations.h"
#include "exporter/config/config.h"
#include "exporter/metrics/exposition_cache.h"
#include "exporter/metrics/health_exposition.h"
#include "exporter/top_rooms/top_rooms_runner.h"
#include "exporter/walker/walker.h"
#include "exporter/web/web_server.h"

namespace tle {

using RoomSourceFactory =
    std::function<std::unique_ptr<RoomSource>(const AppConfig&)>;
// The client of an app's top-rooms rounds (tests pass an in-memory fake).
using UpstreamClientFactory =
    std::function<std::unique_ptr<UpstreamClient>(const AppConfig&)>;
// Produces the config for a reload; throws ConfigError when the new one is bad.
using ConfigLoader = std::function<Config()>;

// The default factory: an HttpRoomSource per app.
RoomSourceFactory HttpRoomSourceFactory();
// The default client factory: MakeHttpUpstreamClient, with as many
// connections as top_rooms.concurrency.
UpstreamClientFactory HttpUpstreamClientFactory();

class Exporter final : public WebBackend {
 public:
  // REQUIRES: `clock` outlives the Exporter.
  Exporter(const Config& config, RoomSourceFactory factory,
           ConfigLoader loader = {}, WalkerTuning tuning = {},
           UpstreamClientFactory client_factory = {},
           TopRoomsTuning top_rooms_tuning = {}, Clock& clock = RealClock());
  ~Exporter() override;
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  Exporter(Exporter&&) = delete;
  Exporter& operator=(Exporter&&) = delete;

  // Starts every walker. Does nothing when called again or after Stop().
  void Start();
  // Stops every walker: all walks in flight are aborted at once and joined in
  // parallel; scrapes are served meanwhile. Final and idempotent: later
  // Start(), Apply() and Reload() do nothing.
  void Stop();

  // One synchronous walk per app on the calling thread, publishing like the
  // walker threads do; true if every walk completed. For tests and tools that
  // drive walks themselves. False without walking once Start() or Stop() was
  // called (walker threads own the walks then).
  bool WalkAllOnce();

  // Replaces the running config: walkers of removed or changed apps stop (their
  // series leave /metrics), walkers of new or changed apps start (if Start()
  // was called), unchanged ones (equal AppConfig) go on untouched.
  void Apply(const Config& config);

  // The path the landing page links to (--web.telemetry-path; default
  // "/metrics").
  void SetTelemetryPath(std::string path);

  ScrapeBody Scrape(bool gzip) override;
  std::string LandingPage() override;
  bool Ready() override;
  Status Reload() override;

  // The per-scrape health text (tests).
  std::string HealthText();

 private:
  struct App;
  std::unique_ptr<App> MakeApp(const AppConfig& config);
  void ApplyLocked(const Config& config) TLE_REQUIRES(control_mutex_);
  // The apps of the table now; they live on while control_mutex_ is held.
  std::vector<App*> Apps() const TLE_REQUIRES(control_mutex_);
  // Its walker and top-rooms runner.
  void StartApp(App& app) TLE_REQUIRES(control_mutex_);
  void StopApps(const std::vector<App*>& apps) TLE_REQUIRES(control_mutex_);

  const RoomSourceFactory factory_;
  const UpstreamClientFactory client_factory_;
  const TopRoomsTuning top_rooms_tuning_;
  const ConfigLoader loader_;
  const WalkerTuning tuning_;
  Clock& clock_;
  ExpositionCache cache_;  // its own lock

  std::mutex control_mutex_;
  bool started_ TLE_GUARDED_BY(control_mutex_) = false;
  bool stopped_ TLE_GUARDED_BY(control_mutex_) = false;

  mutable std::mutex apps_mutex_ TLE_ACQUIRED_AFTER(control_mutex_);
  // Changed only with control_mutex_ held too.
  std::map<std::int64_t, std::unique_ptr<App>> apps_
      TLE_GUARDED_BY(apps_mutex_);
  ReloadStatus reload_status_ TLE_GUARDED_BY(apps_mutex_);
  std::string telemetry_path_ TLE_GUARDED_BY(apps_mutex_) = "/metrics";
};

}  // namespace tle
