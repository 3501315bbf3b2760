// Exporter: wires the stages together for a set of apps.
//
// Owns one Walker per app (each with its RoomSource), the ExpositionCache the
// walkers feed, and answers the WebServer (scrape, landing page, readiness,
// reload). Reload applies a new Config by replacing only the walkers whose app
// changed; the others keep running and keep their snapshots.
//
// Start/Stop/Apply from the owning thread; the WebBackend methods may be called
// from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "exporter/client/room_source.h"
#include "exporter/config/config.h"
#include "exporter/metrics/exposition_cache.h"
#include "exporter/metrics/health_exposition.h"
#include "exporter/walker/walker.h"
#include "exporter/web/web_server.h"

namespace tle {

using RoomSourceFactory =
    std::function<std::unique_ptr<RoomSource>(const AppConfig&)>;
// Produces the config for a reload; throws ConfigError when the new one is bad.
using ConfigLoader = std::function<Config()>;

// The default factory: an HttpRoomSource per app.
RoomSourceFactory HttpRoomSourceFactory();

class Exporter final : public WebBackend {
 public:
  Exporter(Config config, RoomSourceFactory factory, ConfigLoader loader = {},
           WalkerTuning tuning = {});
  ~Exporter() override;
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;
  Exporter(Exporter&&) = delete;
  Exporter& operator=(Exporter&&) = delete;

  void Start();  // starts every walker
  void Stop();   // stops every walker (aborting walks in flight)

  // One synchronous walk per app on the calling thread, publishing like the
  // walker threads do; true if every walk completed. For tests and tools that
  // drive walks themselves. REQUIRES: Start() not called (no walker threads),
  // no concurrent Apply().
  bool WalkAllOnce();

  // Replaces the running config: walkers of removed or changed apps stop (their
  // series leave /metrics), walkers of new or changed apps start, unchanged
  // ones go on untouched.
  void Apply(Config config);

  // The path the landing page links to (--web.telemetry-path; default
  // "/metrics").
  void SetTelemetryPath(std::string path);

  ScrapeBody Scrape(bool gzip) override;
  std::string LandingPage() override;
  bool Ready() override;
  std::string Reload() override;

  // The per-scrape health text (tests).
  std::string HealthText();

 private:
  struct App;
  std::unique_ptr<App> MakeApp(const AppConfig& config);

  RoomSourceFactory factory_;
  ConfigLoader loader_;
  WalkerTuning tuning_;
  bool started_ = false;

  std::mutex reload_mutex_;  // one reload at a time
  mutable std::mutex apps_mutex_;
  std::map<std::int64_t, std::unique_ptr<App>> apps_;
  ReloadStatus reload_status_;
  std::string telemetry_path_ = "/metrics";  // guarded by apps_mutex_

  ExpositionCache cache_;
};

}  // namespace tle
