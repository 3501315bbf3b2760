#include "exporter/exporter.h"

#include <chrono>
#include <ctime>
#include <sstream>

#include "exporter/client/http_room_source.h"
#include "exporter/common/allocator.h"
#include "exporter/common/log.h"
#include "exporter/common/version.h"
#include "exporter/metrics/snapshot_exposition.h"

namespace tle {
namespace {

double Seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

std::string HtmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string FormatTime(double unix_seconds) {
  if (unix_seconds <= 0) return "never";
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

RoomSourceFactory HttpRoomSourceFactory() {
  return [](const AppConfig& app) {
    if (app.insecure_skip_verify) {
      Log(LogLevel::kWarn,
          "insecure_skip_verify: the upstream's TLS certificate is not "
          "verified",
          {{"sdkappid", std::to_string(app.sdkappid)},
           {"endpoint", app.endpoint}});
    }
    return std::make_unique<HttpRoomSource>(app);
  };
}

struct Exporter::App {
  AppConfig config;  // set before the walker starts, then constant
  mutable std::mutex mutex;
  bool has_snapshot TLE_GUARDED_BY(mutex) = false;
  std::size_t rooms TLE_GUARDED_BY(mutex) = 0;
  double views TLE_GUARDED_BY(mutex) = 0;
  // Last, so it is destroyed first: its thread publishes into the members
  // above, which must outlive it.
  std::unique_ptr<Walker> walker;
};

Exporter::Exporter(Config config, RoomSourceFactory factory,
                   ConfigLoader loader, WalkerTuning tuning, Clock& clock)
    : factory_(factory ? std::move(factory) : HttpRoomSourceFactory()),
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
  int max_room_series = config.walk.max_room_series;
  double stale_seconds = Seconds(config.walk.stale_after);
  // Runs on the walker's thread; takes no Exporter lock but the app's own.
  app->walker = std::make_unique<Walker>(
      config, factory_(config),
      [this, raw, max_room_series,
       stale_seconds](std::shared_ptr<const Snapshot> snapshot) {
        double views = 0;
        for (const Room& room : snapshot->rooms)
          views += static_cast<double>(room.view_count);
        auto rendered = std::make_shared<const RenderedSnapshot>(
            RenderSnapshot(*snapshot, max_room_series));
        std::size_t rooms = snapshot->rooms.size();
        snapshot.reset();  // the rooms are not kept: the rendered text is all
                           // /metrics needs
        cache_.Update(std::move(rendered), stale_seconds);
        ReleaseFreeMemory();
        std::lock_guard<std::mutex> lock(raw->mutex);
        raw->has_snapshot = true;
        raw->rooms = rooms;
        raw->views = views;
      },
      tuning_, clock_);
  return app;
}

std::vector<Walker*> Exporter::Walkers() const {
  std::vector<Walker*> walkers;
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (const auto& [id, app] : apps_) walkers.push_back(app->walker.get());
  return walkers;
}

void Exporter::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (started_ || stopped_) return;
  started_ = true;
  for (Walker* walker : Walkers()) walker->Start();
}

bool Exporter::WalkAllOnce() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (started_ || stopped_) return false;
  // Without apps_mutex_, so scrapes are served meanwhile.
  bool all = true;
  for (Walker* walker : Walkers()) all = walker->WalkOnce() && all;
  return all;
}

void Exporter::Stop() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  stopped_ = true;
  const std::vector<Walker*> walkers = Walkers();
  // Every walk is told first, so they all abort at once, and joined after,
  // without apps_mutex_: a scrape meanwhile is answered at once.
  for (Walker* walker : walkers) walker->RequestStop();
  for (Walker* walker : walkers) walker->Stop();
}

void Exporter::Apply(Config config) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  ApplyLocked(std::move(config));
}

void Exporter::ApplyLocked(Config config) {
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
        fresh->second->rooms = old->second->rooms;
        fresh->second->views = old->second->views;
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
  for (auto& [id, app] : retired) app->walker->RequestStop();
  for (auto& [id, app] : retired) app->walker->Stop();
  for (std::int64_t id : removed) cache_.Remove(id);
  retired.clear();
  if (started_) {
    std::vector<Walker*> fresh;
    {
      std::lock_guard<std::mutex> lock(apps_mutex_);
      for (const AppConfig* app : changed)
        fresh.push_back(apps_.at(app->sdkappid)->walker.get());
    }
    for (Walker* walker : fresh) walker->Start();
  }
  Log(LogLevel::kInfo, "config applied",
      {{"apps", std::to_string(config.apps.size())},
       {"restarted", std::to_string(changed.size())}});
}

std::string Exporter::Reload() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mutex_);
  if (!loader_) return "no config file to reload (--demo)";
  if (stopped_) return "the exporter is stopping";
  try {
    Config config = loader_();
    ApplyLocked(std::move(config));
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
                        app->walker->stats().View()});
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

std::string Exporter::LandingPage() {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Tencent "
          "Live Exporter"
          "</"
          "title>\n<style>body{font-family:sans-serif;margin:2em}table{border-"
          "collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px "
          "8px;text-align:left}</style></head><body>\n"
       << "<h1>Tencent Live Exporter</h1>\n<p>Version " << HtmlEscape(kVersion)
       << " (revision " << HtmlEscape(kRevision) << ")</p>\n"
       << "<p>Room data comes from a background walk of get_room_list per app; "
          "every scrape "
          "serves the last complete walk.</p>\n<ul>"
       << "<li><a href=\"metrics\">Metrics</a></li>"
       << "<li><a href=\"-/healthy\">Health</a></li><li><a "
          "href=\"-/ready\">Readiness</a></li>"
       << "</ul>\n<table><tr><th>SDKAppID</th><th>Endpoint</th><th>Up</"
          "th><th>Rooms</th>"
          "<th>Views</th><th>Last success</th><th>Last error</th></tr>\n";
  std::lock_guard<std::mutex> lock(apps_mutex_);
  for (const auto& [id, app] : apps_) {
    WalkStatsView stats = app->walker->stats().View();
    std::size_t rooms = 0;
    double views = 0;
    {
      std::lock_guard<std::mutex> app_lock(app->mutex);
      rooms = app->rooms;
      views = app->views;
    }
    html << "<tr><td>" << id << "</td><td>" << HtmlEscape(app->config.endpoint)
         << "</td><td>" << (stats.up ? "yes" : "no") << "</td><td>" << rooms
         << "</td><td>" << static_cast<long long>(views) << "</td><td>"
         << FormatTime(stats.last_success_timestamp) << "</td><td>"
         << HtmlEscape(stats.last_error) << "</td></tr>\n";
  }
  html << "</table>\n</body></html>\n";
  return html.str();
}

}  // namespace tle
