// Exporter's lock protocol under concurrent calls: a reload during start-up,
// and Stop against a silent upstream while scrapes go on.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "exporter/exporter.h"
#include "tests/support/loopback.h"

namespace tle {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

AppConfig App(std::int64_t sdkappid, const std::string& endpoint) {
  AppConfig app;
  app.sdkappid = sdkappid;
  app.endpoint = endpoint;
  app.identifier = "administrator";
  app.credential.value = "unused";
  app.walk.interval = milliseconds(50);
  app.walk.request_timeout = std::chrono::seconds(5);
  app.walk.max_qps = 1000;
  app.walk.allow_qps_above_limit = true;
  return app;
}

Config MakeConfig(std::vector<AppConfig> apps) {
  Config config;
  config.file = "threads-test.yml";
  config.apps = std::move(apps);
  return config;
}

// A one-shot latch with a bounded wait.
class Latch {
 public:
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  bool Wait(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

// One empty page per walk; Cancel() may be told to wait for a latch, which
// holds a reload in the middle of its work.
class HookedSource final : public RoomSource {
 public:
  HookedSource(Latch* entered, Latch* release)
      : entered_(entered), release_(release) {}
  Result<RoomPage, FetchError> FetchPage(const std::string&, int) override {
    RoomPage page;
    page.request_id = "Id-threads-test";
    return page;
  }
  void Cancel() override {
    if (entered_ == nullptr || !hooked_.exchange(false)) return;
    entered_->Open();
    // Bounded: with the fix, Start waits for the reload, so this times out.
    release_->Wait(milliseconds(1500));
  }

 private:
  Latch* entered_;
  Latch* release_;
  std::atomic<bool> hooked_{true};  // the first Cancel only
};

TEST_CASE("a reload during start-up starts every walker exactly once",
          "[integration]") {
  // The reload replaces app 1 (a changed endpoint). Stopping its old, never
  // started walker calls the old source's Cancel, which holds the reload there
  // until the main thread's Start() has returned. Before the fix, Start ran in
  // that gap, started the new walker (already in the table), and the reload
  // then started it a second time: std::terminate.
  Latch entered, release;
  std::mutex mutex;
  std::map<std::string, int> made;
  RoomSourceFactory factory = [&](const AppConfig& app) {
    std::lock_guard<std::mutex> lock(mutex);
    bool first_of_app1 = app.sdkappid == 1 && made[app.endpoint]++ == 0 &&
                         app.endpoint == "http://old";
    return std::make_unique<HookedSource>(first_of_app1 ? &entered : nullptr,
                                          first_of_app1 ? &release : nullptr);
  };
  ConfigLoader loader = [] {
    return MakeConfig({App(1, "http://new"), App(2, "http://two")});
  };
  Exporter exporter(MakeConfig({App(1, "http://old"), App(2, "http://two")}),
                    factory, loader);
  auto reload =
      std::async(std::launch::async, [&] { return exporter.Reload(); });
  REQUIRE(entered.Wait(milliseconds(20000)));
  exporter.Start();
  release.Open();
  CHECK(reload.get().ok());
  // Both apps walk, under the new config.
  bool ready = false;
  for (int i = 0; i < 2000 && !ready; ++i) {
    ready = exporter.Ready();
    if (!ready) std::this_thread::sleep_for(milliseconds(10));
  }
  CHECK(ready);
  std::string text = exporter.Scrape(false).Join();
  CHECK(text.find("tencent_live_up{sdkappid=\"1\"} 1") != std::string::npos);
  CHECK(text.find("tencent_live_up{sdkappid=\"2\"} 1") != std::string::npos);
  exporter.Stop();
}

TEST_CASE("Start, Stop and reloads from several threads at once",
          "[integration]") {
  RoomSourceFactory factory = [](const AppConfig&) {
    return std::make_unique<HookedSource>(nullptr, nullptr);
  };
  std::atomic<int> generation{0};
  ConfigLoader loader = [&] {
    int g = ++generation;
    return MakeConfig(
        {App(1, "http://gen-" + std::to_string(g)), App(2, "http://two")});
  };
  for (int round = 0; round < 20; ++round) {
    Exporter exporter(
        MakeConfig({App(1, "http://gen-0"), App(2, "http://two")}), factory,
        loader);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 5; ++i) static_cast<void>(exporter.Reload());
      });
    }
    threads.emplace_back([&] { exporter.Start(); });
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) exporter.Scrape(false);
    });
    for (auto& thread : threads) thread.join();
    exporter.Stop();
    // After Stop, nothing starts again.
    exporter.Start();
    CHECK(exporter.Reload() == Status::Error("the exporter is stopping"));
  }
}

// An upstream that hangs: kAnswerNothing accepts connections and reads them,
// never answering; kAcceptNothing never completes a TCP handshake (its accept
// queue is kept full, so the kernel drops the SYNs, like a firewall).
class SilentServer {
 public:
  enum class Mode { kAnswerNothing, kAcceptNothing };
  explicit SilentServer(Mode mode) {
    const testing::LoopbackListener listener =
        testing::ListenOnLoopback(mode == Mode::kAcceptNothing ? 0 : 16);
    listener_ = listener.fd;
    port_ = listener.port;
    sockaddr_in addr = listener.address;
    if (mode == Mode::kAcceptNothing) {
      for (int i = 0; i < 2; ++i) {  // fill the queue (backlog 0 holds one)
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
        connections_.push_back(fd);
      }
      return;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~SilentServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : connections_) ::close(fd);
    ::close(listener_);
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }
  // Connections that have sent a request (some bytes), so far.
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    std::vector<bool> counted;
    while (!stop_) {
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (int fd : connections_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) {
        int fd = ::accept(listener_, nullptr, nullptr);
        if (fd >= 0) {
          connections_.push_back(fd);
          counted.push_back(false);
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
        char buf[4096];
        ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
        if (n > 0 && !counted[i - 1]) {
          counted[i - 1] = true;
          ++requests_;
        }
        if (n <= 0) {  // the client went away: forget the connection
          ::close(fds[i].fd);
          connections_[i - 1] = -1;
        }
      }
      for (std::size_t i = connections_.size(); i-- > 0;) {
        if (connections_[i] < 0) {
          connections_.erase(connections_.begin() +
                             static_cast<std::ptrdiff_t>(i));
          counted.erase(counted.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
  }

  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::vector<int> connections_;  // the server thread's, until the join
};

double WalksStarted(Exporter& exporter, int sdkappid) {
  const std::string text = exporter.HealthText();
  const std::string key = "tencent_live_walks_total{sdkappid=\"" +
                          std::to_string(sdkappid) + "\"} ";
  std::size_t at = text.find(key);
  return at == std::string::npos ? 0 : std::stod(text.substr(at + key.size()));
}

TEST_CASE(
    "Stop with a silent upstream returns promptly and scrapes are not "
    "blocked",
    "[integration]") {
  auto mode = GENERATE(SilentServer::Mode::kAnswerNothing,
                       SilentServer::Mode::kAcceptNothing);
  INFO((mode == SilentServer::Mode::kAnswerNothing ? "accepts, never answers"
                                                   : "never accepts"));
  SilentServer upstream(mode);
  std::vector<AppConfig> apps;
  for (std::int64_t id = 1; id <= 3; ++id)
    apps.push_back(App(id, upstream.endpoint()));
  Exporter exporter(MakeConfig(apps), HttpRoomSourceFactory());
  exporter.Start();
  // Every walker has started its first walk, whose first request goes
  // nowhere.
  bool walking = false;
  for (int i = 0; i < 2000 && !walking; ++i) {
    walking = WalksStarted(exporter, 1) >= 1 &&
              WalksStarted(exporter, 2) >= 1 && WalksStarted(exporter, 3) >= 1;
    if (mode == SilentServer::Mode::kAnswerNothing)
      walking = walking && upstream.requests() >= 3;
    if (!walking) std::this_thread::sleep_for(milliseconds(10));
  }
  REQUIRE(walking);
  // Not a wait for a condition: just enough for the requests to be deep in
  // their connect (the test passes without it too, it then tests less).
  std::this_thread::sleep_for(milliseconds(200));

  std::atomic<bool> stopping{false};
  auto stop = std::async(std::launch::async, [&] {
    stopping = true;
    auto start = SteadyClock::now();
    exporter.Stop();
    return SteadyClock::now() - start;
  });
  while (!stopping) std::this_thread::yield();
  auto scrape_start = SteadyClock::now();
  std::string text = exporter.Scrape(false).Join();
  auto scrape = SteadyClock::now() - scrape_start;
  auto stopped_in = stop.get();
  CHECK(text.find("tencent_live_walks_total{sdkappid=\"1\"}") !=
        std::string::npos);
  CHECK(stopped_in < milliseconds(1000));
  CHECK(scrape < milliseconds(500));
}

}  // namespace
}  // namespace tle
