#include "exporter/exporter.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <limits>
#include <sstream>

#include "exporter/client/http_room_source.h"
#include "exporter/common/log.h"
#include "exporter/common/version.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/metrics/top_rooms_exposition.h"
#include "exporter/web/landing_page.h"

namespace tle {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Everything that makes an app's walker what it is; equal keys mean the walker
// can stay.
std::string AppKey(const AppConfig& a) {
  std::ostringstream key;
  const WalkSettings& w = a.walk;
  key << a.sdkappid << '\n'
      << a.endpoint << '\n'
      << a.identifier << '\n'
      << static_cast<int>(a.credential.kind) << '\n'
      << a.credential.value << '\n'
      << a.ca_file << '\n'
      << a.insecure_skip_verify << '\n'
      << w.interval.count() << ' ' << w.request_timeout.count() << ' '
      << w.page_size << ' ' << w.max_qps << ' ' << w.allow_qps_above_limit
      << ' ' << w.max_retries << ' ' << w.max_pages << ' ' << w.max_room_series
      << ' ' << w.stale_after.count() << ' ' << w.usersig_ttl.count();
  const TopRoomsSettings& t = w.top_rooms;
  key << '\n'
      << t.count << ' ' << t.interval.count() << ' ' << t.members << ' '
      << t.stats << ' ' << t.member_list_qps << ' ' << t.room_stats_qps << ' '
      << t.concurrency;
  // Names and constant labels change the rendered text: a new walker renders
  // with them (the lifecycle counters carry over, see Apply).
  for (const auto& [id, name] : w.category_names)
    key << "\nc" << id << '=' << name.size() << ':' << name;
  for (const auto& [id, name] : w.activity_status_names)
    key << "\ns" << id << '=' << name.size() << ':' << name;
  for (const auto& [name, value] : a.labels)
    key << "\nl" << name << '=' << value.size() << ':' << value;
  return key.str();
}

// The walk's rooms and the previous body were just freed: hand free pages back
// to the kernel. glibc keeps freed memory in per-thread arenas otherwise, and
// with the walker and a few dozen web threads each holding some, RSS after 100
// walks of 10,000 rooms was 1.9x RSS after one. Once per walk; takes
// milliseconds.
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

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
  AppConfig config;
  std::string key;
  std::unique_ptr<Walker> walker;
  // Declared after the walker, so it stops first: it writes the walker's
  // stats.
  std::unique_ptr<TopRoomsRunner> top_rooms;
  // Room lifecycle state and counters (locks itself); handed on to the App
  // that replaces this one on a reload, so the counters never reset while the
  // app stays configured.
  std::shared_ptr<RoomLifecycle> lifecycle = std::make_shared<RoomLifecycle>();
  mutable std::mutex mutex;  // guards the summary below
  bool has_snapshot = false;
  double snapshot_time = 0;  // when the walk /metrics serves completed
  std::size_t rooms = 0;
  std::uint64_t views = 0;  // sum of ViewCount, saturated
  bool views_saturated = false;
};

Exporter::Exporter(Config config, RoomSourceFactory factory,
                   ConfigLoader loader, WalkerTuning tuning,
                   UpstreamClientFactory client_factory,
                   TopRoomsTuning top_rooms_tuning)
    : factory_(std::move(factory)),
      client_factory_(std::move(client_factory)),
      top_rooms_tuning_(top_rooms_tuning),
      loader_(std::move(loader)),
      tuning_(tuning) {
  if (!factory_) factory_ = HttpRoomSourceFactory();
  if (!client_factory_) client_factory_ = HttpUpstreamClientFactory();
  for (const AppConfig& app : config.apps) apps_[app.sdkappid] = MakeApp(app);
  reload_status_.last_success_timestamp = UnixNow();
}

Exporter::~Exporter() { Stop(); }

std::unique_ptr<Exporter::App> Exporter::MakeApp(const AppConfig& config) {
  auto app = std::make_unique<App>();
  app->config = config;
  app->key = AppKey(config);
  App* raw = app.get();
  RenderOptions render_options = RenderOptionsFor(config);
  double stale_seconds = Seconds(config.walk.stale_after);
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
      tuning_);
  if (TopRoomsOn(config)) {
    app->top_rooms = std::make_unique<TopRoomsRunner>(
        config, client_factory_(config), &app->walker->stats(),
        [this, labels = config.labels](
            std::shared_ptr<const TopRoomsSnapshot> round) {
          cache_.UpdateTopRooms(std::make_shared<const RenderedTopRooms>(
              RenderTopRooms(*round, labels)));
        },
        top_rooms_tuning_);
  }
  return app;
}

void Exporter::Start() {
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (auto& [id, app] : apps_) {
    app->walker->Start();
    if (app->top_rooms) app->top_rooms->Start();
  }
  started_ = true;
}

bool Exporter::WalkAllOnce() {
  std::vector<Walker*> walkers;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    for (auto& [id, app] : apps_) walkers.push_back(app->walker.get());
  }
  // Outside the lock, so scrapes are served meanwhile.
  bool all = true;
  for (Walker* walker : walkers) all = walker->WalkOnce() && all;
  return all;
}

void Exporter::Stop() {
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (auto& [id, app] : apps_) {
    if (app->top_rooms) app->top_rooms->Stop();
    app->walker->Stop();
  }
}

void Exporter::Apply(Config config) {
  std::map<std::int64_t, std::unique_ptr<App>> retired;
  std::vector<App*> fresh;
  std::vector<std::int64_t> removed;
  {
    std::lock_guard<std::mutex> lock(apps_mutex_);
    std::map<std::int64_t, std::unique_ptr<App>> next;
    for (const AppConfig& app : config.apps) {
      auto it = apps_.find(app.sdkappid);
      if (it != apps_.end() && it->second->key == AppKey(app)) {
        next[app.sdkappid] = std::move(it->second);
        apps_.erase(it);
      } else {
        std::unique_ptr<App> made = MakeApp(app);
        if (it != apps_.end()) {
          // The changed app's last snapshot stays in the cache until its new
          // walker publishes, so it stays ready meanwhile.
          std::lock_guard<std::mutex> old_lock(it->second->mutex);
          made->has_snapshot = it->second->has_snapshot;
          made->snapshot_time = it->second->snapshot_time;
          made->rooms = it->second->rooms;
          made->views = it->second->views;
          made->views_saturated = it->second->views_saturated;
          made->lifecycle = it->second->lifecycle;
        }
        fresh.push_back(made.get());
        next[app.sdkappid] = std::move(made);
      }
    }
    retired = std::move(apps_);
    apps_ = std::move(next);
    for (const auto& [id, app] : retired) {
      if (apps_.count(id) == 0) removed.push_back(id);
    }
    reload_status_.last_successful = true;
    reload_status_.last_success_timestamp = UnixNow();
  }
  // Stop the old walkers outside the lock: a walk in flight may take a moment
  // to abort.
  for (auto& [id, app] : retired) {
    if (app->top_rooms) app->top_rooms->Stop();
    app->walker->Stop();
  }
  for (std::int64_t id : removed) cache_.Remove(id);
  for (App* app : fresh) {
    if (!app->top_rooms) cache_.RemoveTopRooms(app->config.sdkappid);
  }
  retired.clear();
  if (started_) {
    for (App* app : fresh) {
      app->walker->Start();
      if (app->top_rooms) app->top_rooms->Start();
    }
  }
  Log(LogLevel::kInfo, "config applied",
      {{"apps", config.apps.size()}, {"restarted", fresh.size()}});
}

std::string Exporter::Reload() {
  std::lock_guard<std::mutex> reload(reload_mutex_);
  if (!loader_) return "no config file to reload (--demo)";
  try {
    Config config = loader_();
    Apply(std::move(config));
    return "";
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(apps_mutex_);
      reload_status_.last_successful = false;
    }
    Log(LogLevel::kError, "reload failed, keeping the previous config",
        {{"error", e.what()}});
    return e.what();
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
  return cache_.Build(UnixNow(), HealthText(), gzip);
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
  page.now = UnixNow();
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
