// Exporter::Reload with in-memory room sources: a good config replaces only
// the walkers whose app changed (the others keep walker and snapshot); a bad
// one is refused and everything keeps running.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "exporter/exporter.h"

namespace tle {
namespace {

// One page of `rooms` rooms per walk.
class FixedSource final : public RoomSource {
 public:
  explicit FixedSource(int rooms) : rooms_(rooms) {}
  Result<RoomPage, FetchError> FetchPage(const std::string&, int) override {
    RoomPage page;
    for (int i = 0; i < rooms_; ++i) {
      Room room;
      room.room_id = "room-" + std::to_string(i);
      room.view_count = 100 - i;
      page.rooms.push_back(room);
    }
    page.request_id = "Id-reload-test";
    return page;
  }

 private:
  int rooms_;
};

AppConfig App(std::int64_t sdkappid, int max_room_series) {
  AppConfig app;
  app.sdkappid = sdkappid;
  app.endpoint = "http://fake-" + std::to_string(sdkappid);
  app.identifier = "administrator";
  app.credential.value = "unused";
  app.walk.interval = std::chrono::milliseconds(50);
  app.walk.max_qps = 1000;
  app.walk.allow_qps_above_limit = true;
  app.walk.max_room_series = max_room_series;
  return app;
}

Config MakeConfig(std::vector<AppConfig> apps) {
  Config config;
  config.file = "reload-test.yml";
  config.apps = std::move(apps);
  return config;
}

bool Eventually(const std::function<bool()>& pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos ||
         text.rfind(line + "\n", 0) == 0;
}

double Walks(const std::string& text, std::int64_t sdkappid) {
  std::string key = "tencent_live_walks_total{sdkappid=\"" +
                    std::to_string(sdkappid) + "\"} ";
  std::size_t at = text.find(key);
  return at == std::string::npos ? -1 : std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST_CASE("Reload keeps unchanged walkers and refuses a bad config",
          "[integration]") {
  std::mutex mutex;
  std::map<std::int64_t, int> created;
  RoomSourceFactory factory = [&](const AppConfig& app) {
    std::lock_guard<std::mutex> lock(mutex);
    ++created[app.sdkappid];
    return std::make_unique<FixedSource>(app.sdkappid == 1 ? 3 : 5);
  };
  auto created_for = [&](std::int64_t id) {
    std::lock_guard<std::mutex> lock(mutex);
    return created[id];
  };
  Config next = MakeConfig({App(1, 1000), App(2, 1000)});
  bool fail = false;
  ConfigLoader loader = [&] {
    if (fail) throw ConfigError("reload-test.yml:1:1: apps: broken on purpose");
    return next;
  };
  Exporter exporter(MakeConfig({App(1, 1000), App(2, 1000)}), factory, loader);
  exporter.Start();
  REQUIRE(Eventually([&] { return exporter.Ready(); }));
  const std::string rooms1 = "tencent_live_rooms{sdkappid=\"1\"} 3";
  const std::string rooms2 = "tencent_live_rooms{sdkappid=\"2\"} 5";
  std::string text = exporter.Scrape(false).Join();
  REQUIRE(Has(text, rooms1));
  REQUIRE(Has(text, rooms2));
  CHECK(created_for(1) == 1);
  CHECK(created_for(2) == 1);

  SECTION("a bad config is refused; walkers and snapshots survive") {
    fail = true;
    double walks_before = Walks(exporter.HealthText(), 1);
    const Status refused = exporter.Reload();
    CHECK_FALSE(refused.ok());
    CHECK_THAT(refused.message(), Catch::Contains("broken on purpose"));
    std::string health = exporter.HealthText();
    CHECK(Has(health, "tencent_live_config_last_reload_successful 0"));
    text = exporter.Scrape(false).Join();
    CHECK(Has(text, rooms1));
    CHECK(Has(text, rooms2));
    CHECK(created_for(1) == 1);
    CHECK(created_for(2) == 1);
    CHECK(Eventually(
        [&] { return Walks(exporter.HealthText(), 1) > walks_before + 1; }));
    CHECK(exporter.Ready());

    fail = false;  // a good one afterwards clears the flag
    CHECK(exporter.Reload().ok());
    CHECK(Has(exporter.HealthText(),
              "tencent_live_config_last_reload_successful 1"));
  }
  SECTION("a good config replaces only the changed app's walker") {
    next = MakeConfig({App(1, 1000), App(2, 2)});
    double walks1_before = Walks(exporter.HealthText(), 1);
    CHECK(exporter.Reload().ok());
    CHECK(exporter.Ready());     // the changed app's old snapshot still counts
    CHECK(created_for(1) == 1);  // unchanged: same walker, same source
    CHECK(created_for(2) == 2);  // changed: a new walker
    text = exporter.Scrape(false).Join();
    CHECK(Has(text, rooms1));                // its snapshot was kept
    CHECK(Walks(text, 1) >= walks1_before);  // and its counters
    CHECK(Eventually([&] {
      return Has(exporter.Scrape(false).Join(),
                 "tencent_live_room_series_omitted{sdkappid=\"2\"} 3");
    }));
    CHECK(Has(exporter.HealthText(),
              "tencent_live_config_last_reload_successful 1"));
  }
  SECTION("a removed app's series leave /metrics") {
    next = MakeConfig({App(1, 1000)});
    CHECK(exporter.Reload().ok());
    text = exporter.Scrape(false).Join();
    CHECK(Has(text, rooms1));
    CHECK(text.find("sdkappid=\"2\"") == std::string::npos);
    CHECK(created_for(1) == 1);
  }
  exporter.Stop();
}

}  // namespace tle
