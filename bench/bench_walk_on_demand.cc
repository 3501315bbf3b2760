// bench_walk_on_demand: figure 5 of the benchmarks, the exporter a user might
// write first (walk every page of get_room_list inside each scrape) next to
// ours (walk in the background, serve the last complete walk).
//
// One in-process simulator with --rooms rooms and the API's 10 calls/s limit
// serves both, one after the other:
//   ours       Exporter + WebServer on a loopback port; after its first walk,
//              --scrapes sequential scrapes of /metrics are timed.
//   on demand  an httplib server whose /metrics handler walks the simulator
//              synchronously with HttpRoomSource, pacing itself at max_qps with
//              its own RateLimiter, then renders every room; timed the same
//              way (--naive-scrapes sequential scrapes), then once more with
//              two scrapers at the same moment (two Prometheus replicas).
// Every scrape asks for all room series (max_room_series 0) as plain text.
//
// Usage: bench_walk_on_demand [--rooms=2000] [--scrapes=50] [--naive-scrapes=3]
// (--help)
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_flags.h"
#include "exporter/client/http_room_source.h"
#include "exporter/common/flags.h"
#include "exporter/common/log.h"
#include "exporter/exporter.h"
#include "exporter/metrics/snapshot_exposition.h"
#include "exporter/walker/rate_limiter.h"
#include "exporter/web/web_server.h"
#include "simulator/simulator.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "bench_walk_on_demand";
constexpr int kMaxRooms = 10'000'000;
constexpr int kMaxScrapes = 1'000'000;

struct Scrape {
  bool ok = false;
  double ms = 0;
  std::size_t bytes = 0;
};

Scrape Get(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(300, 0);
  auto start = Clock::now();
  auto res = client.Get("/metrics");
  Scrape s;
  s.ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  s.ok = res && res->status == 200;
  if (res) s.bytes = res->body.size();
  return s;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

struct Row {
  std::string name;
  int scrapers = 1;
  std::vector<Scrape> scrapes;
  std::uint64_t api_calls = 0;
  std::uint64_t rejected = 0;
};

void Print(const Row& row, int rooms) {
  std::vector<double> ms;
  int ok = 0;
  std::size_t bytes = 0;
  for (const Scrape& s : row.scrapes) {
    ms.push_back(s.ms);
    if (s.ok) ++ok;
    bytes = std::max(bytes, s.bytes);
  }
  std::printf(
      "| %s | %d | %d | %zu | %d/%zu | %.1f | %.1f | %.1f | %llu | %llu |\n",
      row.name.c_str(), rooms, row.scrapers, bytes, ok, row.scrapes.size(),
      Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(ms, 1.0),
      static_cast<unsigned long long>(row.api_calls),
      static_cast<unsigned long long>(row.rejected));
  std::fflush(stdout);
}

// The naive exporter: every scrape is a full walk.
class OnDemandServer {
 public:
  explicit OnDemandServer(tle::AppConfig app) : app_(std::move(app)) {
    server_.Get("/metrics", [this](const httplib::Request&,
                                   httplib::Response& res) { Handle(res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~OnDemandServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  void Handle(httplib::Response& res) {
    tle::HttpRoomSource source(app_);
    tle::RateLimiter limiter(app_.walk.max_qps);
    tle::Snapshot snapshot;
    snapshot.sdkappid = app_.sdkappid;
    std::string cursor;
    while (true) {
      std::this_thread::sleep_until(limiter.NextSlot(Clock::now()));
      tle::Result<tle::RoomPage, tle::FetchError> page =
          source.FetchPage(cursor, app_.walk.page_size);
      limiter.RecordDone(Clock::now());
      if (!page.ok()) {
        res.status = 500;
        res.set_content("walk failed: " + page.error().CodeLabel() + "\n",
                        "text/plain");
        return;
      }
      for (tle::Room& room : page->rooms)
        snapshot.rooms.push_back(std::move(room));
      if (page->next.empty()) break;
      cursor = page->next;
    }
    tle::SortRooms(&snapshot.rooms);
    tle::RenderedSnapshot rendered = tle::RenderSnapshot(snapshot, 0);
    std::string body;
    for (std::string_view piece : tle::AssembleSnapshots({&rendered}))
      body.append(piece);
    res.set_content(std::move(body), "text/plain; version=0.0.4");
  }

  tle::AppConfig app_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int rooms = 2000;
  int scrapes = 50;
  int naive_scrapes = 3;
  if (const std::optional<int> done = tle_bench::ReadFlags(
          kProgram,
          {
              {"rooms", "N", "rooms in the simulator (default 2000)",
               tle::SetInteger(&rooms, 1, kMaxRooms)},
              {"scrapes", "N", "timed scrapes of ours (default 50)",
               tle::SetInteger(&scrapes, 1, kMaxScrapes)},
              {"naive-scrapes", "N",
               "timed scrapes of the on-demand exporter (default 3)",
               tle::SetInteger(&naive_scrapes, 1, kMaxScrapes)},
          },
          argc, argv)) {
    return *done;
  }
  tle::SetLogLevel(tle::LogLevel::kError);

  tle::SimulatorOptions sim_options;
  sim_options.rooms = rooms;
  tle::Simulator sim(sim_options);
  sim.Start();

  tle::AppConfig app;
  app.sdkappid = sim_options.sdkappid;
  app.endpoint = sim.endpoint();
  app.identifier = sim_options.identifier;
  app.credential.value = sim_options.secret_key;
  app.walk.max_room_series = 0;
  app.walk.interval = std::chrono::hours(1);  // one walk for the whole run

  auto stats = [&] { return sim.Stats(); };
  std::printf(
      "| /metrics | rooms | scrapers | body bytes | ok | p50 ms | p99 ms | max "
      "ms | API calls during scrapes | rate-limit rejections |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");

  {
    Row row;
    row.name = "ours (background walk)";
    tle::Config config;
    config.apps = {app};
    tle::Exporter exporter(config, tle::HttpRoomSourceFactory());
    tle::WebOptions web;
    web.listen_address = "127.0.0.1:0";
    tle::WebServer server(web, exporter);
    int port = server.Start();
    exporter.Start();
    while (!exporter.Ready())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    tle::SimulatorStats before = stats();
    for (int i = 0; i < scrapes; ++i) row.scrapes.push_back(Get(port));
    tle::SimulatorStats after = stats();
    row.api_calls = after.requests - before.requests;
    row.rejected = after.rate_limited - before.rate_limited;
    server.Stop();
    exporter.Stop();
    Print(row, rooms);
  }
  // Let the simulator's one-second window empty before the next phase.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));

  OnDemandServer naive(app);
  {
    Row row;
    row.name = "walk on demand";
    tle::SimulatorStats before = stats();
    for (int i = 0; i < naive_scrapes; ++i) {
      row.scrapes.push_back(Get(naive.port()));
      std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    }
    tle::SimulatorStats after = stats();
    row.api_calls = after.requests - before.requests;
    row.rejected = after.rate_limited - before.rate_limited;
    Print(row, rooms);
  }
  {
    Row row;
    row.name = "walk on demand";
    row.scrapers = 2;
    tle::SimulatorStats before = stats();
    auto a = std::async(std::launch::async, [&] { return Get(naive.port()); });
    auto b = std::async(std::launch::async, [&] { return Get(naive.port()); });
    row.scrapes = {a.get(), b.get()};
    tle::SimulatorStats after = stats();
    row.api_calls = after.requests - before.requests;
    row.rejected = after.rate_limited - before.rate_limited;
    Print(row, rooms);
  }
  sim.Stop();
  return 0;
}
