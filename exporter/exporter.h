// Exporter: wires the stages together for a set of apps.
//
// Owns one Walker per app (each with its RoomSource), one TopRoomsRunner per
// app whose top_rooms.count > 0 (each with its own UpstreamClient), the
// ExpositionCache both feed, and answers the WebServer (scrape, landing page,
// readiness, reload). Reload applies a new Config by replacing only the walkers
// whose app changed; the others keep running and keep their snapshots.
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
#include "exporter/client/upstream_client.h"
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
  Exporter(Config config, RoomSourceFactory factory, ConfigLoader loader = {},
           WalkerTuning tuning = {}, UpstreamClientFactory client_factory = {},
           TopRoomsTuning top_rooms_tuning = {});
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
  UpstreamClientFactory client_factory_;
  TopRoomsTuning top_rooms_tuning_;
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
