#include "exporter/exporter.h"

#include <chrono>
#include <limits>

#include "exporter/client/http_room_source.h"
#include "exporter/common/allocator.h"
#include "exporter/common/log.h"
#include "exporter/common/version.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/metrics/top_rooms_exposition.h"
#include "exporter/web/landing_page.h"

namespace tle {
namespace {

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

RoomSourceFactory HttpRoomSourceFactory() {
  return [](const AppConfig& app) {
    if (app.insecure_skip_verify) {
      Log(LogLevel::kWarn,
          "insecure_skip_verify: the upstream's TLS certificate is not "
          "verified",
          {{"sdkappid", app.sdkappid}, {"endpoint", app.endpoint}});
    }
    return std::make_unique<HttpRoomSource>(app);
  };
}

UpstreamClientFactory HttpUpstreamClientFactory() {
  return [](const AppConfig& app) {
    return MakeHttpUpstreamClient(app, app.walk.top_rooms.concurrency);
  };
}

namespace {

// Top rooms are on when some room is asked about with some API: otherwise no
// runner, no client, no call.
bool TopRoomsOn(const AppConfig& app) {
  const TopRoomsSettings& t = app.walk.top_rooms;
  return t.count > 0 && (t.members || t.stats);
}

}  // namespace

struct Exporter::App {
  // Set before the walker starts, then constant.
  AppConfig config;
  // Room lifecycle state and counters (locks itself); handed on to the App
  // that replaces this one on a reload, so the counters never reset while the
  // app stays configured.
  std::shared_ptr<RoomLifecycle> lifecycle = std::make_shared<RoomLifecycle>();
  // The summary the publish callback writes, for readiness and the landing
  // page.
  mutable std::mutex mutex;
  bool has_snapshot TLE_GUARDED_BY(mutex) = false;
  // When the walk /metrics serves completed.
  double snapshot_time TLE_GUARDED_BY(mutex) = 0;
  std::size_t rooms TLE_GUARDED_BY(mutex) = 0;
  // Sum of ViewCount, saturated.
  std::uint64_t views TLE_GUARDED_BY(mutex) = 0;
  bool views_saturated TLE_GUARDED_BY(mutex) = false;
  // After the members above, so it is destroyed before them: its thread
  // publishes into them (and hands the rounds their rooms).
  std::unique_ptr<Walker> walker;
  // After the walker, so it is destroyed first: it writes the walker's stats.
  std::unique_ptr<TopRoomsRunner> top_rooms;

  // Both threads end before any member goes, whatever the order (the Exporter
  // stops them earlier anyway; this keeps destruction safe on its own).
  App() = default;
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  ~App() {
    if (walker) walker->RequestStop();
    if (top_rooms) top_rooms->Stop();
    if (walker) walker->Stop();
  }
};

Exporter::Exporter(const Config& config, RoomSourceFactory factory,
                   ConfigLoader loader, WalkerTuning tuning,
                   UpstreamClientFactory client_factory,
                   TopRoomsTuning top_rooms_tuning, Clock& clock)
    : factory_(factory ? std::move(factory) : HttpRoomSourceFactory()),
      client_factory_(client_factory ? std::move(client_factory)
                                     : HttpUpstreamClientFactory()),
      top_rooms_tuning_(top_rooms_tuning),
      loader_(std::move(loader)),
      tuning_(tuning),
      clock_(clock) {
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (const AppConfig& app : config.apps) apps_[app.sdkappid] = MakeApp(app);
  reload_status_.last_success_timestamp = clock_.NowUnix();
}

Exporter::~Exporter() { Stop(); }

std::unique_ptr<Exporter::App> Exporter::MakeApp(const AppConfig& config) {
  auto app = std::make_unique<App>();
  app->config = config;
  App* raw = app.get();
  RenderOptions render_options = RenderOptionsFor(config);
  double stale_seconds = Seconds(config.walk.stale_after);
  // Runs on the walker's thread; takes no Exporter lock but the app's own.
  app->walker = std::make_unique<Walker>(
      config, factory_(config),
      [this, raw, render_options,
       stale_seconds](std::shared_ptr<const Snapshot> snapshot) {
        if (raw->top_rooms) {
          // The rounds ask about the most viewed rooms of this walk.
          const auto count = std::min(
              snapshot->rooms.size(),
              static_cast<std::size_t>(raw->config.walk.top_rooms.count));
          std::vector<std::string> top;
          top.reserve(count);
          for (std::size_t i = 0; i < count; ++i)
            top.push_back(snapshot->rooms[i].room_id);
          raw->top_rooms->SetRooms(std::move(top));
        }
        std::uint64_t views = 0;
        bool views_saturated = false;
        for (const Room& room : snapshot->rooms) {
          auto count = static_cast<std::uint64_t>(room.view_count);
          if (views > std::numeric_limits<std::uint64_t>::max() - count) {
            views = std::numeric_limits<std::uint64_t>::max();
            views_saturated = true;
          } else {
            views += count;
          }
        }
        double snapshot_time = snapshot->completed_at;
        LifecycleTotals lifecycle = raw->lifecycle->Observe(*snapshot);
        auto rendered = std::make_shared<const RenderedSnapshot>(
            RenderSnapshot(*snapshot, render_options, &lifecycle));
        std::size_t rooms = snapshot->rooms.size();
        snapshot.reset();  // the rooms are not kept: the rendered text is all
                           // /metrics needs
        cache_.Update(std::move(rendered), stale_seconds);
        ReleaseFreeMemory();
        std::lock_guard<std::mutex> lock(raw->mutex);
        raw->has_snapshot = true;
        raw->snapshot_time = snapshot_time;
        raw->rooms = rooms;
        raw->views = views;
        raw->views_saturated = views_saturated;
      },
      tuning_, clock_);
  if (TopRoomsOn(config)) {
    app->top_rooms = std::make_unique<TopRoomsRunner>(
        config, client_factory_(config), &app->walker->stats(),
        [this, labels = config.labels](
            const std::shared_ptr<const TopRoomsSnapshot>& round) {
          cache_.UpdateTopRooms(std::make_shared<const RenderedTopRooms>(
              RenderTopRooms(*round, labels)));
        },
        top_rooms_tuning_, clock_);
  }
  return app;
}

std::vector<Exporter::App*> Exporter::Apps() const {
  std::vector<App*> apps;
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (const auto& [id, app] : apps_) apps.push_back(app.get());
  return apps;
}

void Exporter::StartApp(App& app) {
  app.walker->Start();
  if (app.top_rooms) app.top_rooms->Start();
}

void Exporter::StopApps(const std::vector<App*>& apps) {
  // Every walk is told first, so they all abort at once, then each app's
  // threads are joined; without apps_mutex_, so a scrape meanwhile is answered
  // at once.
  for (App* app : apps) app->walker->RequestStop();
  for (App* app : apps) {
    if (app->top_rooms) app->top_rooms->Stop();
    app->walker->Stop();
  }
}

void Exporter::Start() {
  std::lock_guard<std::mutex> control(control_mutex_);
  if (started_ || stopped_) return;
  started_ = true;
  for (App* app : Apps()) StartApp(*app);
}

bool Exporter::WalkAllOnce() {
  std::lock_guard<std::mutex> control(control_mutex_);
  if (started_ || stopped_) return false;
  // Without apps_mutex_, so scrapes are served meanwhile.
  bool all = true;
  for (App* app : Apps()) all = app->walker->WalkOnce() && all;
  return all;
}

void Exporter::Stop() {
  std::lock_guard<std::mutex> control(control_mutex_);
  stopped_ = true;
  StopApps(Apps());
}

void Exporter::Apply(const Config& config) {
  std::lock_guard<std::mutex> control(control_mutex_);
  ApplyLocked(config);
}

void Exporter::ApplyLocked(const Config& config) {
  if (stopped_) {
    Log(LogLevel::kWarn, "config not applied: the exporter is stopping");
    return;
  }
  // An app whose whole AppConfig is equal keeps its walker; any other one gets
  // a new walker (so a new config field can never be forgotten here).
  std::vector<const AppConfig*> changed;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    for (const AppConfig& app : config.apps) {
      auto it = apps_.find(app.sdkappid);
      if (it == apps_.end() || !(it->second->config == app))
        changed.push_back(&app);
    }
  }
  // Walkers and their sources are made without apps_mutex_ (a factory may
  // read files).
  std::map<std::int64_t, std::unique_ptr<App>> made;
  for (const AppConfig* app : changed) made[app->sdkappid] = MakeApp(*app);

  std::map<std::int64_t, std::unique_ptr<App>> retired;
  std::vector<std::int64_t> removed;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    std::map<std::int64_t, std::unique_ptr<App>> next;
    for (const AppConfig& app : config.apps) {
      auto fresh = made.find(app.sdkappid);
      auto old = apps_.find(app.sdkappid);
      if (fresh == made.end()) {  // unchanged
        next[app.sdkappid] = std::move(old->second);
        apps_.erase(old);
        continue;
      }
      if (old != apps_.end()) {
        // The changed app's last snapshot stays in the cache until its new
        // walker publishes, so it stays ready meanwhile.
        std::lock_guard<std::mutex> old_lock(old->second->mutex);
        std::lock_guard<std::mutex> new_lock(fresh->second->mutex);
        fresh->second->has_snapshot = old->second->has_snapshot;
        fresh->second->snapshot_time = old->second->snapshot_time;
        fresh->second->rooms = old->second->rooms;
        fresh->second->views = old->second->views;
        fresh->second->views_saturated = old->second->views_saturated;
        // The counters go on; the old walker (which also observes into it)
        // is stopped before the new one starts.
        fresh->second->lifecycle = old->second->lifecycle;
      }
      next[app.sdkappid] = std::move(fresh->second);
    }
    retired = std::move(apps_);
    apps_ = std::move(next);
    for (const auto& [id, app] : retired) {
      if (apps_.count(id) == 0) removed.push_back(id);
    }
    reload_status_.last_successful = true;
    reload_status_.last_success_timestamp = clock_.NowUnix();
  }
  // The old walkers stop without apps_mutex_ (a walk in flight may take a
  // moment to abort), all at once.
  std::vector<App*> old_apps;
  old_apps.reserve(retired.size());
  for (auto& [id, app] : retired) old_apps.push_back(app.get());
  StopApps(old_apps);
  for (std::int64_t id : removed) cache_.Remove(id);
  std::vector<App*> fresh;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    for (const AppConfig* app : changed)
      fresh.push_back(apps_.at(app->sdkappid).get());
  }
  // A changed app whose rounds are now off loses its top-rooms series.
  for (App* app : fresh) {
    if (!app->top_rooms) cache_.RemoveTopRooms(app->config.sdkappid);
  }
  retired.clear();
  if (started_) {
    for (App* app : fresh) StartApp(*app);
  }
  Log(LogLevel::kInfo, "config applied",
      {{"apps", config.apps.size()}, {"restarted", changed.size()}});
}

Status Exporter::Reload() {
  std::lock_guard<std::mutex> control(control_mutex_);
  if (!loader_) return Status::Error("no config file to reload (--demo)");
  if (stopped_) return Status::Error("the exporter is stopping");
  // The loader throws ConfigError (the config-load boundary); here it becomes
  // the reload's Status.
  try {
    ApplyLocked(loader_());
    return Status::Ok();
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(apps_mutex_);
      reload_status_.last_successful = false;
    }
    Log(LogLevel::kError, "reload failed, keeping the previous config",
        {{"error", e.what()}});
    return Status::Error(e.what());
  }
}

std::string Exporter::HealthText() {
  std::vector<AppHealth> health;
  ReloadStatus reload;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    for (const auto& [id, app] : apps_) {
      health.push_back({id, Seconds(app->config.walk.interval),
                        app->walker->stats().View(), app->config.labels});
    }
    reload = reload_status_;
  }
  return RenderHealth(health, reload, ReadProcessSample());
}

ScrapeBody Exporter::Scrape(bool gzip) {
  return cache_.Build(clock_.NowUnix(), HealthText(), gzip);
}

bool Exporter::Ready() {
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (const auto& [id, app] : apps_) {
    std::lock_guard<std::mutex> app_lock(app->mutex);
    if (!app->has_snapshot) return false;
  }
  return true;
}

void Exporter::SetTelemetryPath(std::string path) {
  std::lock_guard<std::mutex> lock(apps_mutex_);
  telemetry_path_ = std::move(path);
}

std::string Exporter::LandingPage() {
  tle::LandingPage page;
  page.version = kVersion;
  page.revision = kRevision;
  page.now = clock_.NowUnix();
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    page.telemetry_path = telemetry_path_;
    for (const auto& [id, app] : apps_) {
      WalkStatsView stats = app->walker->stats().View();
      LandingApp row;
      row.sdkappid = id;
      row.region = app->config.region;
      row.endpoint = app->config.endpoint;
      row.interval = app->config.walk.interval;
      row.stale_after = app->config.walk.stale_after;
      row.up = stats.up;
      row.last_success_time = stats.last_success_timestamp;
      if (stats.up || !stats.last_error.empty())
        row.last_walk_seconds = stats.last_walk_seconds;
      row.last_error = stats.last_error;
      std::lock_guard<std::mutex> app_lock(app->mutex);
      if (app->has_snapshot) row.snapshot_time = app->snapshot_time;
      row.rooms = app->rooms;
      row.views = app->views;
      row.views_saturated = app->views_saturated;
      page.apps.push_back(std::move(row));
    }
  }
  return RenderLandingPage(page);
}

}  // namespace tle
