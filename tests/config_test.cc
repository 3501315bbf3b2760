// Tests for the config stage: exporter/config/config.h.
#include "exporter/config/config.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace tle {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const std::string kDir = std::string(TLE_FIXTURES_DIR) + "/config";
constexpr char kFileSecret[] =
    "fixture-secret-Zq7Xw9-do-not-print";  // tests/fixtures/config/secret.key
constexpr char kEnvSecret[] = "env-secret-Hk3Pp1-do-not-print";

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

EnvLookup TestEnv() {
  return FakeEnv({{"FIXTURE_SECRET", kEnvSecret}, {"EMPTY", ""}});
}

// The what() of the ConfigError that parsing `text` throws, or "no error".
std::string ParseError(const std::string& text,
                       const EnvLookup& env = TestEnv()) {
  try {
    ParseConfig(text, "t.yml", env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string LoadError(const std::string& path,
                      const EnvLookup& env = TestEnv()) {
  try {
    LoadConfigFile(path, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// A valid one-app config (lines 1-5); tests append lines from line 6 on,
// indented 4 to stay in the app.
const std::string kApp = R"(apps:
  - sdkappid: 1400000000
    region: singapore
    identifier: administrator
    usersig: static-usersig
)";

// The rules every short text value in a map follows (category and status
// names, constant label values): `open` is the YAML up to the value (ending
// in "{key: "), `where` the error prefix, `max` the longest allowed value.
void CheckTextValueRules(const std::string& open, const std::string& where,
                         std::size_t max) {
  const auto error = [&](const std::string& value) {
    return ParseError(kApp + open + value + "}\n");
  };
  CHECK(error("\"\"") == where + "must not be empty");
  CHECK(error("[a]") == where + "must be a string, got a list");
  CHECK(error("\"a\\tb\"") == where + "must not contain control characters");
  CHECK(error("\"a\\nb\"") == where + "must not contain control characters");
  for (const char* bad : {"\"a\xff"
                          "b\"",
                          "\"\xed\xa0\x80\"", "\"\xc0\xaf\"", "\"\xfe\""}) {
    CHECK(error(bad) == where + "must be valid UTF-8");
  }
  CHECK(error(std::string(max, 'v')) == "no error");
  CHECK(error(std::string(max + 1, 'v')) ==
        where + "must be at most " + std::to_string(max) + " bytes long, got " +
            std::to_string(max + 1));
}

TEST_CASE("a full file sets every key, with defaults and per-app overrides",
          "[config]") {
  const Config config = LoadConfigFile(kDir + "/full.yml", TestEnv());
  REQUIRE(config.file == kDir + "/full.yml");
  REQUIRE(config.apps.size() == 3);

  const AppConfig& a = config.apps[0];  // takes every default from the file
  CHECK(a.sdkappid == 1400000000);
  CHECK(a.region == "singapore");
  CHECK(a.endpoint == "https://adminapisgp.im.qcloud.com");
  CHECK(a.identifier == "administrator");
  CHECK(a.credential.kind == Credential::Kind::kSecretKey);
  CHECK(a.credential.value ==
        kFileSecret);  // relative to the config's folder, trailing \n\n cut
  CHECK(a.ca_file.empty());
  CHECK_FALSE(a.insecure_skip_verify);
  CHECK(a.walk.interval == seconds(90));
  CHECK(a.walk.request_timeout == seconds(15));
  CHECK(a.walk.page_size == 10);
  CHECK(a.walk.max_qps == 5);
  CHECK_FALSE(a.walk.allow_qps_above_limit);
  CHECK(a.walk.max_retries == 4);
  CHECK(a.walk.max_pages == 500);
  CHECK(a.walk.max_room_series == 200);
  CHECK(a.walk.stale_after == minutes(10));
  CHECK(a.walk.usersig_ttl == hours(12));
  const TopRoomsSettings from_defaults{50,   seconds(20), true, false,
                                       40.0, 20.0,        4};
  CHECK(a.walk.top_rooms == from_defaults);
  CHECK(a.walk.category_names ==
        std::map<std::int64_t, std::string>{{1, "music"}, {2, "gaming"}});
  CHECK(a.walk.activity_status_names ==
        std::map<std::int64_t, std::string>{{0, "idle"}, {1, "live"}});
  CHECK(a.labels.empty());

  const AppConfig& b = config.apps[1];  // overrides every key
  CHECK(b.sdkappid == 1400000001);
  CHECK(b.region.empty());
  CHECK(b.endpoint == "http://127.0.0.1:8080");
  CHECK(b.identifier == "admin2");
  CHECK(b.credential.kind == Credential::Kind::kSecretKey);
  CHECK(b.credential.value == kEnvSecret);
  CHECK(b.ca_file == kDir + "/ca.pem");
  CHECK(b.insecure_skip_verify);
  CHECK(b.walk.interval == seconds(1));
  CHECK(b.walk.request_timeout == seconds(2));
  CHECK(b.walk.page_size == 20);
  CHECK(b.walk.max_qps == 12.5);
  CHECK(b.walk.allow_qps_above_limit);
  CHECK(b.walk.max_retries == 0);
  CHECK(b.walk.max_pages == 1);
  CHECK(b.walk.max_room_series == 0);
  CHECK(b.walk.stale_after == hours(1));
  CHECK(b.walk.usersig_ttl == hours(24 * 7));
  const TopRoomsSettings own{0, minutes(1), false, true, 250.0, 150.0, 256};
  CHECK(b.walk.top_rooms == own);
  // Merged by ID: 2 renamed, 3 added, 1 kept from defaults.
  CHECK(b.walk.category_names ==
        std::map<std::int64_t, std::string>{
            {1, "music"}, {2, "\xe6\xb8\xb8\xe6\x88\x8f"}, {3, "sports"}});
  CHECK(b.walk.activity_status_names ==
        std::map<std::int64_t, std::string>{
            {0, "idle"}, {1, "live"}, {2, "paused"}});
  // Sorted by name, not in file order.
  CHECK(b.labels == std::vector<std::pair<std::string, std::string>>{
                        {"env", "prod"}, {"team", "live"}});

  const AppConfig& c = config.apps[2];
  CHECK(c.endpoint == "https://console.tim.qq.com");
  CHECK(c.credential.kind == Credential::Kind::kStaticUserSig);
  CHECK(c.credential.value == "static-usersig-value");
  CHECK(c.ca_file == kDir + "/../config/ca.pem");
  CHECK_FALSE(c.insecure_skip_verify);
  CHECK(c.walk.page_size == 10);
  // top_rooms: {count: 10} overrides one key; the rest come from defaults.
  TopRoomsSettings count_only = from_defaults;
  count_only.count = 10;
  CHECK(c.walk.top_rooms == count_only);

  CHECK(config.Summary() ==
        "3 apps: 1400000000 (singapore), 1400000001 (http://127.0.0.1:8080), "
        "1400000002 (china)");
}

TEST_CASE("without defaults the built-in defaults apply", "[config]") {
  const Config config = ParseConfig(kApp, "t.yml", TestEnv());
  REQUIRE(config.apps.size() == 1);
  const WalkSettings& walk = config.apps[0].walk;
  const WalkSettings built_in;
  CHECK(walk.interval == seconds(60));
  CHECK(walk.request_timeout == seconds(10));
  CHECK(walk.page_size == 20);
  CHECK(walk.max_qps == 10);
  CHECK_FALSE(walk.allow_qps_above_limit);
  CHECK(walk.max_retries == 3);
  CHECK(walk.max_pages == 10000);
  CHECK(walk.max_room_series == 1000);
  CHECK(walk.stale_after == minutes(5));
  CHECK(walk.usersig_ttl == hours(24));
  CHECK(walk.interval == built_in.interval);
  CHECK(walk.top_rooms.count == 0);
  CHECK(walk.top_rooms.interval == seconds(30));
  CHECK(walk.top_rooms.members);
  CHECK(walk.top_rooms.stats);
  CHECK(walk.top_rooms.member_list_qps == 50);
  CHECK(walk.top_rooms.room_stats_qps == 25);
  CHECK(walk.top_rooms.concurrency == 8);
  CHECK(walk.category_names.empty());
  CHECK(walk.activity_status_names.empty());
  CHECK(walk == built_in);
  CHECK(config.apps[0].labels.empty());
  CHECK(config.warnings.empty());
  CHECK(config.Summary() == "1 app: 1400000000 (singapore)");
  // An empty defaults: map is fine too.
  CHECK(ParseConfig("defaults:\n" + kApp, "t.yml", TestEnv()).apps.size() == 1);
}

TEST_CASE("region keys map to the documented hosts", "[config]") {
  const std::map<std::string, std::string> expected = {
      {"china", "https://console.tim.qq.com"},
      {"singapore", "https://adminapisgp.im.qcloud.com"},
      {"seoul", "https://adminapikr.im.qcloud.com"},
      {"tokyo", "https://adminapijpn.im.qcloud.com"},
      {"frankfurt", "https://adminapiger.im.qcloud.com"},
      {"mumbai", "https://adminapiind.im.qcloud.com"},
      {"siliconvalley", "https://adminapiusa.im.qcloud.com"},
      {"jakarta", "https://adminapiidn.im.qcloud.com"},
  };
  for (const auto& [region, host] : expected) {
    INFO(region);
    CHECK(RegionEndpoint(region) == host);
    const std::string text = "apps:\n  - sdkappid: 1\n    region: " + region +
                             "\n    identifier: a\n    usersig: s\n";
    CHECK(ParseConfig(text, "t.yml", TestEnv()).apps[0].endpoint == host);
  }
  CHECK_FALSE(RegionEndpoint("Singapore"));  // the config lowercases first
  CHECK_FALSE(RegionEndpoint("usa"));
  CHECK_FALSE(RegionEndpoint(""));
}

TEST_CASE("durations use Prometheus syntax", "[config]") {
  CHECK(ParseDuration("250ms") == milliseconds(250));
  CHECK(ParseDuration("30s") == seconds(30));
  CHECK(ParseDuration("5m") == minutes(5));
  CHECK(ParseDuration("2h") == hours(2));
  CHECK(ParseDuration("1d") == hours(24));
  CHECK(ParseDuration("1w") == hours(24 * 7));
  CHECK(ParseDuration("1y") == hours(24 * 365));
  CHECK(ParseDuration("1h30m") == minutes(90));
  CHECK(ParseDuration("1y2w3d4h5m6s7ms") ==
        hours(24 * 365 + 24 * 14 + 24 * 3 + 4) + minutes(5) + seconds(6) +
            milliseconds(7));
  CHECK(ParseDuration("0") == milliseconds(0));
  CHECK(ParseDuration("0s") == milliseconds(0));

  for (const char* bad :
       {"", "30", "-5s", "+5s", "5", "5x", "1.5s", "s", " 30s", "30s ", "1m1h",
        "1s1s", "1ms1s", "30S", "1h 30m", "99999999999999999999y",
        "9223372036854775807s"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad));
  }

  // In the file, a quoted duration is fine; a plain number is not.
  CHECK(ParseConfig(kApp + "    interval: \"45s\"\n", "t.yml", TestEnv())
            .apps[0]
            .walk.interval == seconds(45));
  CHECK(ParseError(kApp + "    interval: 30\n") ==
        "t.yml:6:15: apps[0].interval: must be a duration with a unit (ms, s, "
        "m, h, d, w, y), "
        "like 30s; got a plain number");
  CHECK(ParseError(kApp + "    interval: -30s\n") ==
        "t.yml:6:15: apps[0].interval: must be a duration like 250ms, 30s, 5m "
        "or 1h30m");
  CHECK(ParseError(kApp + "    interval: \"\"\n") ==
        "t.yml:6:15: apps[0].interval: must be a duration like 250ms, 30s, 5m "
        "or 1h30m");
  CHECK(ParseError(kApp + "    interval: 0s\n") ==
        "t.yml:6:15: apps[0].interval: must be between 1s and 24h, got 0s");
  CHECK(ParseError("defaults:\n  stale_after: 0\n" + kApp) ==
        "t.yml:2:16: defaults.stale_after: must be between 1s and 30d, got "
        "0s");
  CHECK(ParseError(kApp + "    usersig_ttl: 59s\n") ==
        "t.yml:6:18: apps[0].usersig_ttl: must be between 1m and 180d, got "
        "59s");
  CHECK(ParseError(kApp + "    request_timeout: 101y\n") ==
        "t.yml:6:22: apps[0].request_timeout: must be between 100ms and 10m, "
        "got 36865d");
  CHECK(ParseConfig(kApp + "    usersig_ttl: 1m\n", "t.yml", TestEnv())
            .apps[0]
            .walk.usersig_ttl == minutes(1));
}

TEST_CASE("unknown keys are errors at the key, with a suggestion", "[config]") {
  CHECK(LoadError(kDir + "/unknown_key.yml") ==
        kDir +
            "/unknown_key.yml:8:5: apps[0].intervall: unknown key; did you "
            "mean interval?");
  CHECK(ParseError("defaults:\n  page_sise: 5\n" + kApp) ==
        "t.yml:2:3: defaults.page_sise: unknown key; did you mean page_size?");
  CHECK(ParseError("defaults:\n  region: china\n" + kApp) ==
        "t.yml:2:3: defaults.region: unknown key in defaults; region can only "
        "be set per app");
  CHECK(ParseError(kApp + "    colour: blue\n") ==
        "t.yml:6:5: apps[0].colour: unknown key");
  CHECK(ParseError(kApp + "app:\n") ==
        "t.yml:6:1: app: unknown key; did you mean apps?");
  CHECK(ParseError(kApp + "    region: tokyo\n") ==
        "t.yml:6:5: apps[0].region: duplicate key");
}

TEST_CASE("wrong types name the value's line and column", "[config]") {
  CHECK(
      ParseError(kApp + "    page_size: \"abc\"\n") ==
      "t.yml:6:16: apps[0].page_size: must be an integer, got a quoted string");
  CHECK(ParseError(kApp + "    page_size: abc\n") ==
        "t.yml:6:16: apps[0].page_size: must be an integer, got a string");
  CHECK(
      ParseError(kApp + "    page_size: \"5\"\n") ==
      "t.yml:6:16: apps[0].page_size: must be an integer, got a quoted string");
  CHECK(ParseError(kApp + "    max_pages: [1]\n") ==
        "t.yml:6:16: apps[0].max_pages: must be an integer, got a list");
  CHECK(ParseError(kApp + "    max_qps: fast\n") ==
        "t.yml:6:14: apps[0].max_qps: must be a number, got a string");
  CHECK(ParseError(kApp + "    insecure_skip_verify: yes\n") ==
        "t.yml:6:27: apps[0].insecure_skip_verify: must be true or false, got "
        "a string");
  CHECK(ParseError(kApp + "    ca_file: {a: b}\n") ==
        "t.yml:6:14: apps[0].ca_file: must be a string, got a map");
  CHECK(
      ParseError(kApp + "    identifier2: x\n") ==
      "t.yml:6:5: apps[0].identifier2: unknown key; did you mean identifier?");
  CHECK(ParseError("apps:\n  - sdkappid: -5\n    region: china\n") ==
        "t.yml:2:15: apps[0].sdkappid: must be a positive integer");
  CHECK(ParseError("apps:\n  - sdkappid: 14e8\n    region: china\n") ==
        "t.yml:2:15: apps[0].sdkappid: must be an integer, got a number or "
        "other text");
  CHECK(ParseError("apps:\n  - sdkappid: 0\n    region: china\n") ==
        "t.yml:2:15: apps[0].sdkappid: must be between 1 and 4294967295, got "
        "0");
  CHECK(ParseError("apps:\n  - 1400000000\n") ==
        "t.yml:2:5: apps[0]: must be a map with sdkappid, region, ..., got an "
        "integer");
  CHECK(ParseError("apps: singapore\n") ==
        "t.yml:1:7: apps: must be a list of apps, got a string");
  CHECK(ParseError("defaults: 5\n" + kApp) ==
        "t.yml:1:11: defaults: must be a map, got an integer");
  CHECK(ParseError("- a\n") ==
        "t.yml:1:1: config: must be a map with apps:, got a list");
  CHECK(ParseError(kApp + "    identifier: \"\"\n") ==
        "t.yml:6:5: apps[0].identifier: duplicate key");
  CHECK(ParseError("apps:\n  - sdkappid: 1\n    region: china\n    "
                   "identifier:\n    usersig: s\n") ==
        "t.yml:4:5: apps[0].identifier: must be a string, got nothing");
}

TEST_CASE("out-of-range numbers", "[config]") {
  CHECK(ParseError(kApp + "    page_size: 21\n") ==
        "t.yml:6:16: apps[0].page_size: must be between 1 and 20, got 21");
  CHECK(ParseError("defaults:\n  page_size: 0\n" + kApp) ==
        "t.yml:2:14: defaults.page_size: must be between 1 and 20, got 0");
  CHECK(ParseError(kApp + "    max_retries: 101\n") ==
        "t.yml:6:18: apps[0].max_retries: must be between 0 and 100, got 101");
  CHECK(ParseError(kApp + "    max_pages: 0\n") ==
        "t.yml:6:16: apps[0].max_pages: must be between 1 and 1000000, got 0");
  CHECK(ParseError(kApp + "    max_room_series: -1\n") ==
        "t.yml:6:22: apps[0].max_room_series: must be between 0 and 1000000, "
        "got -1");
  CHECK(ParseError(kApp + "    max_room_series: 2147483648\n") ==
        "t.yml:6:22: apps[0].max_room_series: must be between 0 and 1000000, "
        "got 2147483648");
  CHECK(ParseError(kApp + "    max_pages: 99999999999999999999999\n") ==
        "t.yml:6:16: apps[0].max_pages: must be between 1 and 1000000, got a "
        "number out of range");
  CHECK(ParseError(kApp + "    max_qps: 0\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got 0");
  CHECK(ParseError(kApp + "    max_qps: -0.5\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got "
        "-0.5");
  CHECK(ParseError(kApp + "    max_qps: .inf\n") ==
        "t.yml:6:14: apps[0].max_qps: must be a number, got a number or other "
        "text");
  CHECK(ParseConfig(kApp + "    max_qps: 0.5\n", "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 0.5);
}

TEST_CASE("max_qps above 10 needs allow_qps_above_limit", "[config]") {
  const std::string message =
      "11 is above the limit of get_room_list (10 calls/s); set "
      "allow_qps_above_limit: true only if Tencent raised your limit";
  CHECK(ParseError(kApp + "    max_qps: 11\n") ==
        "t.yml:6:14: apps[0].max_qps: " + message);
  CHECK(ParseError("defaults:\n  max_qps: 11\n" + kApp) ==
        "t.yml:2:12: defaults.max_qps: " + message);
  // Raised in defaults, allowed by the app: the app ends up allowed.
  CHECK(ParseConfig("defaults:\n  max_qps: 11\n" + kApp +
                        "    allow_qps_above_limit: true\n",
                    "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 11);
  // Defaults alone are not checked: a second app without the permission is.
  CHECK(ParseError("defaults:\n  max_qps: 11\n" + kApp +
                   "    allow_qps_above_limit: true\n"
                   "  - sdkappid: 2\n    region: china\n"
                   "    identifier: a\n    usersig: s\n") ==
        "t.yml:2:12: defaults.max_qps: " + message);
  // Allowed in the same scope.
  CHECK(ParseConfig(kApp + "    max_qps: 11\n    allow_qps_above_limit: true\n",
                    "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 11);
  CHECK(ParseConfig(
            "defaults:\n  max_qps: 11\n  allow_qps_above_limit: true\n" + kApp,
            "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 11);
  // Allowed in defaults, raised per app.
  CHECK(ParseConfig("defaults:\n  allow_qps_above_limit: true\n" + kApp +
                        "    max_qps: 20\n",
                    "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 20);
  // Allowed and raised in defaults, but this app withdraws the permission.
  CHECK(ParseError("defaults:\n  max_qps: 11\n  allow_qps_above_limit: true\n" +
                   kApp + "    allow_qps_above_limit: false\n") ==
        "t.yml:9:28: apps[0].allow_qps_above_limit: is false, but max_qps 11 "
        "(defaults.max_qps) is above the limit of get_room_list (10 "
        "calls/s)");
  CHECK(ParseConfig(kApp + "    max_qps: 10\n", "t.yml", TestEnv())
            .apps[0]
            .walk.max_qps == 10);
}

TEST_CASE("credentials: exactly one, and it must resolve", "[config]") {
  const std::string base =
      "apps:\n  - sdkappid: 1400000000\n    region: singapore\n"
      "    identifier: administrator\n";
  CHECK(LoadError(kDir + "/missing_secret.yml") ==
        kDir + "/missing_secret.yml:5:22: apps[0].secret_key_file: " + kDir +
            "/no-such-secret.key: cannot read: No such file or directory");
  CHECK(LoadError(kDir + "/empty_secret.yml") ==
        kDir + "/empty_secret.yml:5:22: apps[0].secret_key_file: " + kDir +
            "/empty_secret.key: the file is empty or only whitespace");
  CHECK(ParseError(base + "    secret_key_file: " + kDir + "\n") ==
        "t.yml:5:22: apps[0].secret_key_file: " + kDir +
            ": cannot read: Is a directory");
  CHECK(ParseError(base + "    secret_key_env: EMPTY\n") ==
        "t.yml:5:21: apps[0].secret_key_env: environment variable EMPTY is "
        "empty or only whitespace");
  CHECK(ParseError(base + "    secret_key_env: NOT_SET\n") ==
        "t.yml:5:21: apps[0].secret_key_env: environment variable NOT_SET is "
        "not set");
  CHECK(ParseError(base + "    secret_key_env: X\n    usersig: s\n") ==
        "t.yml:6:5: apps[0].usersig: give only one of secret_key_file, "
        "secret_key_env, usersig");
  CHECK(ParseError(base + "    usersig: s\n    secret_key_file: f\n") ==
        "t.yml:6:5: apps[0].secret_key_file: give only one of secret_key_file, "
        "secret_key_env, "
        "usersig");
  CHECK(ParseError(base) ==
        "t.yml:2:5: apps[0]: no credential; give one of secret_key_file, "
        "secret_key_env, usersig");
  CHECK(ParseError(base + "    usersig: \"\"\n") ==
        "t.yml:5:14: apps[0].usersig: must not be empty");

  // An absolute secret_key_file, and the process environment.
  const Config config =
      ParseConfig(base + "    secret_key_file: " + kDir + "/secret.key\n",
                  "elsewhere/t.yml", ProcessEnv());
  CHECK(config.apps[0].credential.value == kFileSecret);

  const EnvLookup process = ProcessEnv();
  CHECK(process("TLE_CONFIG_TEST_SURELY_UNSET") == std::nullopt);
  REQUIRE(setenv("TLE_CONFIG_TEST_KEY", "from-process", 1) == 0);
  CHECK(process("TLE_CONFIG_TEST_KEY") == std::string("from-process"));
  CHECK(ParseConfig(base + "    secret_key_env: TLE_CONFIG_TEST_KEY\n", "t.yml",
                    process)
            .apps[0]
            .credential.value == "from-process");
  unsetenv("TLE_CONFIG_TEST_KEY");
}

TEST_CASE("missing keys are reported at the app", "[config]") {
  CHECK(ParseError(
            "apps:\n  - region: china\n    identifier: a\n    usersig: s\n") ==
        "t.yml:2:5: apps[0].sdkappid: missing; every app needs one");
  CHECK(ParseError(
            "apps:\n  - sdkappid: 1\n    region: china\n    usersig: s\n") ==
        "t.yml:2:5: apps[0].identifier: missing; give the App Administrator "
        "account");
  CHECK(ParseError(
            "apps:\n  - sdkappid: 1\n    identifier: a\n    usersig: s\n") ==
        "t.yml:2:5: apps[0].region: missing; give region (e.g. singapore) or "
        "endpoint");
}

TEST_CASE("region and endpoint", "[config]") {
  const std::string base =
      "apps:\n  - sdkappid: 1\n    identifier: a\n    usersig: s\n";
  CHECK(ParseError(base + "    region: tokyo\n    endpoint: https://h\n") ==
        "t.yml:6:5: apps[0].endpoint: give region or endpoint, not both");
  CHECK(ParseError(base + "    region: mars\n") ==
        "t.yml:5:13: apps[0].region: unknown region \"mars\"; valid: china, "
        "singapore, seoul, tokyo, frankfurt, mumbai, siliconvalley, jakarta "
        "(or give endpoint:)");
  const auto endpoint_error = [&](const std::string& value) {
    return ParseError(base + "    endpoint: " + value + "\n");
  };
  const auto endpoint_of = [&](const std::string& value) {
    return ParseConfig(base + "    endpoint: " + value + "\n", "t.yml",
                       TestEnv())
        .apps[0]
        .endpoint;
  };
  const std::string where = "t.yml:5:15: apps[0].endpoint: ";
  const std::string bad_port = "has an invalid port (1..65535)";
  const std::pair<std::string, std::string> rejected[] = {
      {"ftp://example.com",
       "must start with https:// (or http:// for a local fake)"},
      {"example.com", "must start with https:// (or http:// for a local fake)"},
      {"https://example.com/v4",
       "must be scheme://host[:port] with no path, query or fragment"},
      {"https://", "has an empty host"},
      {"https://:443", "has an empty host"},
      {"https://h:0", bad_port},
      {"\"https://h:\"", bad_port},
      {"https://h:65536", bad_port},
      {"https://u:p@h", "must not carry user information (user:password@)"},
  };
  for (const auto& [value, message] : rejected) {
    INFO(value);
    CHECK(endpoint_error(value) == where + message);
  }
  CHECK(endpoint_of("https://example.com") == "https://example.com");
  CHECK(endpoint_of("https://example.com/") == "https://example.com");
  CHECK(endpoint_of("HTTPS://example.com:8443") == "https://example.com:8443");
  CHECK(endpoint_of("http://127.0.0.1:8080") == "http://127.0.0.1:8080");
  CHECK(endpoint_of("\"http://[::1]:8080\"") == "http://[::1]:8080");
}

TEST_CASE("apps: present, non-empty, unique", "[config]") {
  CHECK(LoadError(kDir + "/duplicate_sdkappid.yml") ==
        kDir +
            "/duplicate_sdkappid.yml:6:15: apps[1].sdkappid: duplicate: "
            "1400000000 is also apps[0]");
  CHECK(ParseError("apps: []\n") ==
        "t.yml:1:7: apps: is empty; list at least one app");
  CHECK(ParseError("apps:\n") ==
        "t.yml:1:1: apps: is empty; list at least one app");
  CHECK(ParseError("defaults:\n  interval: 30s\n") ==
        "t.yml:1:1: apps: missing; list at least one app");
  CHECK(ParseError("") ==
        "t.yml:1:1: apps: missing; the config is empty and needs at least one "
        "app");
  CHECK(ParseError("# only a comment\n") ==
        "t.yml:1:1: apps: missing; the config is empty and needs at least one "
        "app");
}

TEST_CASE("YAML syntax errors and unreadable files", "[config]") {
  CHECK(LoadError(kDir + "/syntax_error.yml") ==
        kDir +
            "/syntax_error.yml:4:15: yaml: syntax error: end of sequence flow "
            "not found");
  CHECK(ParseError("apps: [\n") ==
        "t.yml:2:1: yaml: syntax error: end of sequence flow not found");
  CHECK(ParseError("apps:\n  - a: 1\n   b: 2\n") ==
        "t.yml:3:4: yaml: syntax error: end of sequence not found");
  CHECK(LoadError(kDir + "/no-such-config.yml") ==
        kDir + "/no-such-config.yml: cannot read: No such file or directory");
  CHECK(LoadError(kDir) == kDir + ": cannot read: Is a directory");
  CHECK(ParseError(std::string((1 << 20) + 1, '#')) ==
        "t.yml: config: larger than 1 MiB");
}

TEST_CASE("deep nesting and aliases are refused, not crashed on", "[config]") {
  CHECK(ParseError(std::string(200000, '[')) ==
        "t.yml:1:1: yaml: nested too deeply");
  std::string blocks;
  for (int i = 0; i < 1400; ++i) blocks += std::string(i, ' ') + "k:\n";
  CHECK(ParseError(blocks) == "t.yml:499:501: yaml: nested too deeply");
  CHECK(ParseError("apps: &x [*x, *x]\n") ==
        "t.yml:1:7: apps[0]: must be a map with sdkappid, region, ..., got a "
        "list");
  CHECK(ParseError("apps:\n  - &a {sdkappid: 1, region: china, identifier: a, "
                   "usersig: s}\n  - *a\n") ==
        "t.yml:2:19: apps[1].sdkappid: duplicate: 1 is also apps[0]");
}

TEST_CASE("the example configs under config/ are valid", "[config]") {
  const std::string dir = std::string(TLE_SOURCE_DIR) + "/config";
  const Config demo = LoadConfigFile(
      dir + "/demo.yml", FakeEnv({{"TENCENT_LIVE_SECRET_KEY", "k"}}));
  CHECK(demo.Summary() == "1 app: 1400000000 (http://127.0.0.1:8080)");
  CHECK(demo.apps[0].identifier == "administrator");

  // The full example reads its keys from the environment, as the README's
  // --config.check example sets it (readme_config_check runs that command).
  const Config full =
      LoadConfigFile(dir + "/tencent_live_exporter.yml",
                     FakeEnv({{"TENCENT_LIVE_SECRET_KEY", "k1"},
                              {"TENCENT_LIVE_SECRET_KEY_2", "k2"}}));
  CHECK(full.Summary() ==
        "2 apps: 1400000000 (singapore), 1400000001 "
        "(https://adminapisgp.im.qcloud.com:443)");
  CHECK(full.warnings.empty());
  const WalkSettings& one = full.apps[0].walk;
  const WalkSettings& two = full.apps[1].walk;
  CHECK(one.interval == seconds(60));
  CHECK(two.interval == minutes(2));
  CHECK(one.top_rooms ==
        TopRoomsSettings{50, seconds(30), true, true, 50.0, 25.0, 8});
  CHECK(two.top_rooms ==
        TopRoomsSettings{20, seconds(30), true, true, 50.0, 25.0, 8});
  CHECK(one.category_names == std::map<std::int64_t, std::string>{
                                  {1, "music"}, {2, "gaming"}, {3, "sports"}});
  CHECK(two.category_names ==
        std::map<std::int64_t, std::string>{
            {1, "music"}, {2, "games"}, {3, "sports"}, {4, "talk"}});
  CHECK(one.activity_status_names ==
        std::map<std::int64_t, std::string>{{0, "idle"}, {1, "live"}});
  CHECK(full.apps[0].labels == std::vector<std::pair<std::string, std::string>>{
                                   {"env", "prod"}, {"team", "live"}});
  CHECK(full.apps[1].labels ==
        std::vector<std::pair<std::string, std::string>>{{"env", "staging"}});
  CHECK(full.apps[0].credential.value == "k1");
  CHECK(full.apps[1].credential.value == "k2");
}

// The value of `key` (a line "    key: value" at line 6, or a top_rooms key at
// line 7 under "    top_rooms:"), parsed on top of kApp plus `extra` lines.
std::string KeyLine(const std::string& key, const std::string& value) {
  if (key.rfind("top_rooms.", 0) == 0) {
    return "    top_rooms:\n      " + key.substr(10) + ": " + value + "\n";
  }
  return "    " + key + ": " + value + "\n";
}

std::string KeyPosition(const std::string& key) {
  if (key.rfind("top_rooms.", 0) == 0) {
    return "t.yml:7:" + std::to_string(6 + (key.size() - 10) + 3);
  }
  return "t.yml:6:" + std::to_string(4 + key.size() + 3);
}

TEST_CASE("every numeric key has a range, tested at each boundary",
          "[config]") {
  struct Bounds {
    std::string key;
    std::string low, high;                 // accepted
    std::string below, above;              // refused
    std::string range;                     // "between A and B"
    std::string shown_below, shown_above;  // how the refused values print
    std::string extra;  // lines that make the boundaries valid otherwise
  };
  const std::vector<Bounds> table = {
      {"interval", "1s", "24h", "999ms", "24h1ms", "1s and 24h", "999ms",
       "24h1ms", "    stale_after: 30d\n"},
      {"request_timeout", "100ms", "10m", "99ms", "10m1ms", "100ms and 10m",
       "99ms", "10m1ms", ""},
      {"page_size", "1", "20", "0", "21", "1 and 20", "0", "21", ""},
      {"max_qps", "0.001", "1000", "0.0009", "1000.5", "0.001 and 1000",
       "0.0009", "1000.5", "    allow_qps_above_limit: true\n"},
      {"max_retries", "0", "100", "-1", "101", "0 and 100", "-1", "101", ""},
      {"max_pages", "1", "1000000", "0", "1000001", "1 and 1000000", "0",
       "1000001", ""},
      {"max_room_series", "0", "1000000", "-1", "1000001", "0 and 1000000",
       "-1", "1000001", ""},
      {"stale_after", "1s", "30d", "999ms", "30d1ms", "1s and 30d", "999ms",
       "30d1ms", "    interval: 1s\n"},
      {"usersig_ttl", "1m", "180d", "59s999ms", "180d1ms", "1m and 180d",
       "59s999ms", "180d1ms", ""},
      {"top_rooms.count", "0", "10000", "-1", "10001", "0 and 10000", "-1",
       "10001", ""},
      {"top_rooms.interval", "1s", "24h", "999ms", "24h1ms", "1s and 24h",
       "999ms", "24h1ms", "    stale_after: 30d\n"},
      {"top_rooms.member_list_qps", "0.001", "1000", "0.0009", "1000.001",
       "0.001 and 1000", "0.0009", "1000.001",
       "    allow_qps_above_limit: true\n"},
      {"top_rooms.room_stats_qps", "0.001", "1000", "0", "1001",
       "0.001 and 1000", "0", "1001", "    allow_qps_above_limit: true\n"},
      {"top_rooms.concurrency", "1", "256", "0", "257", "1 and 256", "0", "257",
       ""},
  };
  for (const Bounds& b : table) {
    INFO(b.key);
    for (const std::string& ok : {b.low, b.high}) {
      INFO(ok);
      CHECK(ParseError(kApp + KeyLine(b.key, ok) + b.extra) == "no error");
    }
    const std::string prefix = KeyPosition(b.key) + ": apps[0]." + b.key +
                               ": must be between " + b.range + ", got ";
    CHECK(ParseError(kApp + KeyLine(b.key, b.below) + b.extra) ==
          prefix + b.shown_below);
    CHECK(ParseError(kApp + KeyLine(b.key, b.above) + b.extra) ==
          prefix + b.shown_above);
  }

  // The values that used to overflow a cast or size a huge ring.
  CHECK(ParseError(kApp + "    max_qps: 3000000000\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got "
        "3000000000");
  CHECK(ParseError(kApp + "    max_qps: 0.0000000001\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got "
        "0.0000000001");
  CHECK(ParseError(kApp + "    max_qps: 100000000\n" +
                   "    allow_qps_above_limit: true\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got "
        "100000000");
  CHECK(ParseError(kApp + "    max_qps: " + std::string(400, '9') + "\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got a "
        "number out of range");
  CHECK(ParseError(kApp + "    max_qps: 0." + std::string(400, '0') + "1\n") ==
        "t.yml:6:14: apps[0].max_qps: must be between 0.001 and 1000, got a "
        "number out of range");
  CHECK(ParseError(kApp + "    max_qps: 1e3\n") ==
        "t.yml:6:14: apps[0].max_qps: must be a number, got a number or other "
        "text");
  CHECK(ParseError(kApp + "    interval: 99999999999999999999y\n") ==
        "t.yml:6:15: apps[0].interval: must be a duration like 250ms, 30s, 5m "
        "or 1h30m");
  CHECK(ParseError(kApp +
                   "    top_rooms:\n      count: 99999999999999999999\n") ==
        "t.yml:7:14: apps[0].top_rooms.count: must be between 0 and 10000, got "
        "a number out of range");

  // sdkappid: 1..4294967295 (a uint32 on the wire).
  const auto app_with = [](const std::string& id) {
    return "apps:\n  - sdkappid: " + id +
           "\n    region: china\n    identifier: a\n    usersig: s\n";
  };
  CHECK(ParseError(app_with("1")) == "no error");
  CHECK(ParseError(app_with("4294967295")) == "no error");
  CHECK(ParseError(app_with("4294967296")) ==
        "t.yml:2:15: apps[0].sdkappid: must be between 1 and 4294967295, got "
        "4294967296");
  CHECK(ParseError(app_with("-1")) ==
        "t.yml:2:15: apps[0].sdkappid: must be a positive integer");
  CHECK(ParseError(app_with("99999999999999999999")) ==
        "t.yml:2:15: apps[0].sdkappid: must be between 1 and 4294967295, got "
        "a number out of range");
}

TEST_CASE("top_rooms: in defaults and per app, key by key", "[config]") {
  const std::string defaults =
      "defaults:\n  top_rooms:\n    count: 50\n    interval: 20s\n"
      "    members: false\n";  // lines 1-5; kApp follows at 6-10
  const Config config =
      ParseConfig(defaults + kApp + "    top_rooms:\n      count: 7\n" +
                      "      concurrency: 2\n",
                  "t.yml", TestEnv());
  TopRoomsSettings expected;
  expected.count = 7;
  expected.interval = seconds(20);
  expected.members = false;
  expected.concurrency = 2;
  CHECK(config.apps[0].walk.top_rooms == expected);
  // Without its own top_rooms an app takes all of the defaults'.
  const Config inherits = ParseConfig(defaults + kApp, "t.yml", TestEnv());
  expected.count = 50;
  expected.concurrency = 8;
  CHECK(inherits.apps[0].walk.top_rooms == expected);
  // An empty top_rooms (null) changes nothing; a flow map works too.
  CHECK(ParseConfig(defaults + kApp + "    top_rooms:\n", "t.yml", TestEnv())
            .apps[0]
            .walk.top_rooms == expected);
  CHECK(ParseConfig(kApp + "    top_rooms: {count: 3, stats: false}\n", "t.yml",
                    TestEnv())
            .apps[0]
            .walk.top_rooms ==
        TopRoomsSettings{3, seconds(30), true, false, 50.0, 25.0, 8});

  CHECK(ParseError(kApp + "    top_rooms: 50\n") ==
        "t.yml:6:16: apps[0].top_rooms: must be a map with count, interval, "
        "..., got an integer");
  CHECK(ParseError(kApp + "    top_rooms:\n      cuont: 5\n") ==
        "t.yml:7:7: apps[0].top_rooms.cuont: unknown key; did you mean count?");
  CHECK(ParseError("defaults:\n  top_rooms:\n    members: maybe\n" + kApp) ==
        "t.yml:3:14: defaults.top_rooms.members: must be true or false, got a "
        "string");
  CHECK(ParseError(kApp + "    top_rooms:\n      count: 5\n      count: 6\n") ==
        "t.yml:8:7: apps[0].top_rooms.count: duplicate key");
  CHECK(ParseError(kApp + "    top_rooms:\n      interval: 30\n") ==
        "t.yml:7:17: apps[0].top_rooms.interval: must be a duration with a "
        "unit (ms, s, m, h, d, w, y), like 30s; got a plain number");

  // On with nothing to ask for.
  CHECK(ParseError(kApp + "    top_rooms: {count: 5, members: false, stats: "
                          "false}\n") ==
        "t.yml:6:50: apps[0].top_rooms.stats: top_rooms.count is 5 but "
        "members and stats are both false; set count: 0 to turn top rooms "
        "off");
  CHECK(ParseError(kApp + "    top_rooms: {members: false, stats: false}\n") ==
        "no error");  // count 0: off anyway
  CHECK(ParseError("defaults:\n  top_rooms: {members: false, stats: false}\n" +
                   kApp + "    top_rooms: {count: 5}\n") ==
        "t.yml:8:24: apps[0].top_rooms.count: top_rooms.count is 5 but "
        "members and stats are both false; set count: 0 to turn top rooms "
        "off");
}

TEST_CASE("top rooms' qps above the API limits needs allow_qps_above_limit",
          "[config]") {
  CHECK(ParseError(kApp + "    top_rooms:\n      member_list_qps: 200\n") ==
        "no error");
  CHECK(ParseError(kApp + "    top_rooms:\n      member_list_qps: 200.5\n") ==
        "t.yml:7:24: apps[0].top_rooms.member_list_qps: 200.5 is above the "
        "limit of get_member_list (200 calls/s); set allow_qps_above_limit: "
        "true only if Tencent raised your limit");
  CHECK(ParseError(kApp + "    top_rooms:\n      room_stats_qps: 100\n") ==
        "no error");
  CHECK(ParseError(kApp + "    top_rooms:\n      room_stats_qps: 101\n") ==
        "t.yml:7:23: apps[0].top_rooms.room_stats_qps: 101 is above the limit "
        "of get_room_stats (100 calls/s); set allow_qps_above_limit: true "
        "only if Tencent raised your limit");
  CHECK(
      ParseError("defaults:\n  top_rooms:\n    room_stats_qps: 101\n" + kApp) ==
      "t.yml:3:21: defaults.top_rooms.room_stats_qps: 101 is above the "
      "limit of get_room_stats (100 calls/s); set allow_qps_above_limit: "
      "true only if Tencent raised your limit");
  CHECK(ParseConfig(kApp + "    allow_qps_above_limit: true\n" +
                        "    top_rooms: {member_list_qps: 1000, "
                        "room_stats_qps: 1000}\n",
                    "t.yml", TestEnv())
            .apps[0]
            .walk.top_rooms.room_stats_qps == 1000);
  // Allowed and raised in defaults, withdrawn by the app.
  CHECK(ParseError("defaults:\n  allow_qps_above_limit: true\n"
                   "  top_rooms: {member_list_qps: 300}\n" +
                   kApp + "    allow_qps_above_limit: false\n") ==
        "t.yml:9:28: apps[0].allow_qps_above_limit: is false, but "
        "top_rooms.member_list_qps 300 (defaults.top_rooms.member_list_qps) "
        "is above the limit of get_member_list (200 calls/s)");
}

TEST_CASE("stale_after must cover interval and top_rooms.interval",
          "[config]") {
  CHECK(ParseError(kApp + "    interval: 5m\n") == "no error");  // = 5m
  CHECK(ParseError(kApp + "    interval: 5m1s\n") ==
        "t.yml:6:15: apps[0].interval: 5m1s is longer than stale_after (5m, "
        "the default); raise stale_after to at least interval");
  CHECK(ParseError(kApp + "    stale_after: 59s\n") ==
        "t.yml:6:18: apps[0].stale_after: must be at least interval (1m, the "
        "default), got 59s; series would vanish between walks");
  // The key set later in the file is the one named; the other's origin is
  // given.
  CHECK(ParseError("defaults:\n  stale_after: 2m\n" + kApp +
                   "    interval: 3m\n") ==
        "t.yml:8:15: apps[0].interval: 3m is longer than stale_after (2m, "
        "defaults.stale_after); raise stale_after to at least interval");
  CHECK(ParseError("defaults:\n  interval: 10m\n" + kApp +
                   "    stale_after: 9m\n") ==
        "t.yml:8:18: apps[0].stale_after: must be at least interval (10m, "
        "defaults.interval), got 9m; series would vanish between walks");
  // Defaults alone are not checked; each app ends up consistent here.
  CHECK(ParseError("defaults:\n  interval: 10m\n" + kApp +
                   "    stale_after: 10m\n") == "no error");
  CHECK(ParseError("defaults:\n  interval: 10m\n" + kApp) ==
        "t.yml:2:13: defaults.interval: 10m is longer than stale_after (5m, "
        "the default); raise stale_after to at least interval");

  // top_rooms.interval counts only while top rooms are on.
  CHECK(ParseError(kApp + "    top_rooms: {interval: 6m}\n") == "no error");
  CHECK(ParseError(kApp + "    top_rooms: {count: 1, interval: 6m}\n") ==
        "t.yml:6:37: apps[0].top_rooms.interval: 6m is longer than "
        "stale_after (5m, the default); raise stale_after to at least "
        "top_rooms.interval");
  CHECK(ParseError(kApp + "    top_rooms: {count: 1}\n    stale_after: 29s\n" +
                   "    interval: 20s\n") ==
        "t.yml:7:18: apps[0].stale_after: must be at least top_rooms.interval "
        "(30s, the default), got 29s; series would vanish between rounds");
}

TEST_CASE("category_names and activity_status_names", "[config]") {
  const Config config = ParseConfig(
      "defaults:\n  category_names: {1: music, 2: gaming}\n"
      "  activity_status_names: {0: idle}\n" +
          kApp + "    category_names:\n      2: games\n      -3: other\n" +
          "      +4: talk\n",
      "t.yml", TestEnv());
  const WalkSettings& walk = config.apps[0].walk;
  CHECK(walk.category_names ==
        std::map<std::int64_t, std::string>{
            {-3, "other"}, {1, "music"}, {2, "games"}, {4, "talk"}});
  CHECK(walk.activity_status_names ==
        std::map<std::int64_t, std::string>{{0, "idle"}});
  CHECK(ParseConfig(kApp + "    category_names: {}\n    "
                           "activity_status_names:\n",
                    "t.yml", TestEnv())
            .apps[0]
            .walk.category_names.empty());
  CHECK(ParseConfig(kApp + "    category_names: {7: 42}\n", "t.yml", TestEnv())
            .apps[0]
            .walk.category_names.at(7) == "42");

  CHECK(ParseError(kApp + "    category_names: [music]\n") ==
        "t.yml:6:21: apps[0].category_names: must be a map of integer IDs to "
        "names, like {1: music}, got a list");
  CHECK(ParseError(kApp + "    category_names: {music: 1}\n") ==
        "t.yml:6:22: apps[0].category_names.music: keys must be integer IDs "
        "(-9223372036854775808..9223372036854775807), got a string");
  CHECK(ParseError(kApp + "    category_names: {1.5: x}\n") ==
        "t.yml:6:22: apps[0].category_names.1.5: keys must be integer IDs "
        "(-9223372036854775808..9223372036854775807), got a number or other "
        "text");
  CHECK(ParseError(kApp + "    activity_status_names: {\"1\": x}\n") ==
        "t.yml:6:29: apps[0].activity_status_names.1: keys must be integer "
        "IDs (-9223372036854775808..9223372036854775807), got a quoted "
        "string");
  CHECK(ParseError(kApp + "    category_names: {99999999999999999999: x}\n") ==
        "t.yml:6:22: apps[0].category_names.99999999999999999999: keys must be "
        "integer IDs (-9223372036854775808..9223372036854775807), got an "
        "integer");
  CHECK(ParseError(kApp + "    category_names:\n      1: a\n      01: b\n") ==
        "t.yml:8:7: apps[0].category_names.01: duplicate ID: 1 is also "
        "apps[0].category_names.1");
  CHECK(ParseError(kApp + "    category_names:\n      1: a\n      1: b\n") ==
        "t.yml:8:7: apps[0].category_names.1: duplicate key");
  CHECK(ParseError(kApp + "    category_names:\n      1:\n") ==
        "t.yml:7:7: apps[0].category_names.1: must be a string, got nothing");
  CheckTextValueRules("    category_names: {1: ",
                      "t.yml:6:25: apps[0].category_names.1: ", 128);

  std::string many = "defaults:\n  activity_status_names:\n";
  for (int i = 0; i < 10000; ++i) many += "    " + std::to_string(i) + ": s\n";
  CHECK(ParseError(many + kApp) == "no error");
  many += "    10000: s\n";
  CHECK(ParseError(many + kApp) ==
        "t.yml:3:5: defaults.activity_status_names: has more than 10000 "
        "entries");
}

TEST_CASE("constant labels: Prometheus names, no clash with our own",
          "[config]") {
  const Config config =
      ParseConfig(kApp +
                      "    labels:\n      team: live\n      env: prod\n"
                      "      _x9: \"\xe4\xb8\xad\"\n",
                  "t.yml", TestEnv());
  CHECK(config.apps[0].labels ==
        std::vector<std::pair<std::string, std::string>>{
            {"_x9", "\xe4\xb8\xad"}, {"env", "prod"}, {"team", "live"}});
  CHECK(ParseConfig(kApp + "    labels: {}\n", "t.yml", TestEnv())
            .apps[0]
            .labels.empty());

  const auto label_error = [](const std::string& name) {
    return ParseError(kApp + "    labels:\n      " + name + ": v\n");
  };
  for (const char* own :
       {"sdkappid", "room_id", "room_name", "owner_account", "cover_url",
        "categories", "category", "category_names", "category_name",
        "activity_status", "activity_status_name", "api", "code", "reason",
        "version", "revision", "le", "instance", "job"}) {
    INFO(own);
    CHECK(label_error(own) == "t.yml:7:7: apps[0].labels." + std::string(own) +
                                  ": clashes with the exporter's own label " +
                                  own + "; choose another name");
  }
  const std::string bad_name =
      ": is not a valid label name: use letters, digits and _, not starting "
      "with a digit";
  CHECK(label_error("1env") == "t.yml:7:7: apps[0].labels.1env" + bad_name);
  CHECK(label_error("my-env") == "t.yml:7:7: apps[0].labels.my-env" + bad_name);
  CHECK(label_error("\"\xc3\xa9t\xc3\xa9\"") ==
        "t.yml:7:7: apps[0].labels.\xc3\xa9t\xc3\xa9" + bad_name);
  CHECK(label_error("\"\"") == "t.yml:7:7: apps[0].labels." + bad_name);
  CHECK(label_error("__name") ==
        "t.yml:7:7: apps[0].labels.__name: label names starting with __ are "
        "reserved for Prometheus");
  CHECK(label_error("Job") == "no error");  // names are case-sensitive
  CHECK(label_error(std::string(64, 'l')) == "no error");
  CHECK(label_error(std::string(65, 'l')) ==
        "t.yml:7:7: apps[0].labels." + std::string(64, 'l') +
            "...: label names must be at most 64 characters long");

  CHECK(ParseError(kApp + "    labels: [env]\n") ==
        "t.yml:6:13: apps[0].labels: must be a map of label names to values, "
        "like {env: prod}, got a list");
  CheckTextValueRules(
      "    labels: {env: ", "t.yml:6:19: apps[0].labels.env: ", 256);
  std::string many = kApp + "    labels:\n";
  for (int i = 0; i < 32; ++i) many += "      l" + std::to_string(i) + ": v\n";
  CHECK(ParseError(many) == "no error");
  CHECK(ParseError(many + "      l32: v\n") ==
        "t.yml:7:7: apps[0].labels: has more than 32 labels");
  CHECK(ParseError("defaults:\n  labels: {env: prod}\n" + kApp) ==
        "t.yml:2:3: defaults.labels: unknown key in defaults; labels can only "
        "be set per app");
}

TEST_CASE("ca_file is read at load", "[config]") {
  const Config config =
      ParseConfig(kApp + "    ca_file: ca.pem\n", kDir + "/t.yml", TestEnv());
  CHECK(config.apps[0].ca_file == kDir + "/ca.pem");
  CHECK(ParseError(kApp + "    ca_file: " + kDir + "/no-such-ca.pem\n") ==
        "t.yml:6:14: apps[0].ca_file: " + kDir +
            "/no-such-ca.pem: cannot read: No such file or directory");
  CHECK(ParseError(kApp + "    ca_file: " + kDir + "\n") ==
        "t.yml:6:14: apps[0].ca_file: " + kDir +
            ": cannot read: Is a directory");
  CHECK(ParseError(kApp + "    ca_file: " + kDir + "/secret.key\n") ==
        "t.yml:6:14: apps[0].ca_file: " + kDir +
            "/secret.key: holds no PEM certificate (-----BEGIN "
            "CERTIFICATE-----)");
  // Relative to the config's folder, like secret_key_file.
  CHECK(ParseError(kApp + "    ca_file: ca.pem\n") ==
        "t.yml:6:14: apps[0].ca_file: ca.pem: cannot read: No such file or "
        "directory");
  // Text with no / or . could be a secret in the wrong key: not repeated.
  CHECK(ParseError(kApp + "    ca_file: MIIBtTCCAVugAwIBAgIU\n") ==
        "t.yml:6:14: apps[0].ca_file: the file named by ca_file (name not "
        "shown: it has no / or . and could be a secret): cannot read: No such "
        "file or directory");
}

// A file under the build tree, removed at the end of the scope.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content, int mode)
      : path_(std::string(TLE_BINARY_DIR) + "/config_test_" + name) {
    std::ofstream(path_) << content;
    REQUIRE(chmod(path_.c_str(), static_cast<mode_t>(mode)) == 0);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST_CASE("secret key files: whitespace, permissions", "[config]") {
  const std::string base =
      "apps:\n  - sdkappid: 1400000000\n    region: singapore\n"
      "    identifier: administrator\n";
  const TempFile spaces("spaces.key", "  \n\t \n", 0600);
  CHECK(ParseError(base + "    secret_key_file: " + spaces.path() + "\n") ==
        "t.yml:5:22: apps[0].secret_key_file: " + spaces.path() +
            ": the file is empty or only whitespace");

  const TempFile padded("padded.key", "  padded-Kq2-secret \n", 0600);
  const Config quiet =
      ParseConfig(base + "    secret_key_file: " + padded.path() + "\n",
                  "t.yml", TestEnv());
  CHECK(quiet.apps[0].credential.value == "padded-Kq2-secret");
  CHECK(quiet.warnings.empty());

  const TempFile open("open.key", "open-Wm5-secret\n", 0644);
  const Config warned = ParseConfig(
      base + "    secret_key_file: " + open.path() + "\n", "t.yml", TestEnv());
  CHECK(warned.apps[0].credential.value == "open-Wm5-secret");
  REQUIRE(warned.warnings.size() == 1);
  CHECK(warned.warnings[0] ==
        "t.yml:5:22: apps[0].secret_key_file: " + open.path() +
            ": is readable by every user (mode 0644); "
            "chmod o-r it");
  CHECK(warned.warnings[0].find("open-Wm5-secret") == std::string::npos);

  const TempFile group("group.key", "group-secret\n", 0640);
  CHECK(ParseConfig(base + "    secret_key_file: " + group.path() + "\n",
                    "t.yml", TestEnv())
            .warnings.empty());

  // One warning per app that has one, in app order.
  const std::string two = base + "    secret_key_file: " + open.path() +
                          "\n  - sdkappid: 2\n    region: china\n"
                          "    identifier: a\n    secret_key_file: " +
                          open.path() + "\n";
  const Config both = ParseConfig(two, "t.yml", TestEnv());
  REQUIRE(both.warnings.size() == 2);
  CHECK(both.warnings[1].rfind("t.yml:9:22: apps[1].secret_key_file: ", 0) ==
        0);

  // A secret pasted in place of the path is not repeated.
  CHECK(ParseError(base + "    secret_key_file: 0123456789abcdef\n") ==
        "t.yml:5:22: apps[0].secret_key_file: the file named by "
        "secret_key_file (name not shown: it has no / or . and could be a "
        "secret): cannot read: No such file or directory");
}

TEST_CASE("secret_key_env: whitespace, and a pasted secret is not echoed",
          "[config]") {
  const std::string base =
      "apps:\n  - sdkappid: 1400000000\n    region: singapore\n"
      "    identifier: administrator\n";
  const EnvLookup env = FakeEnv({{"SPACES", " \t\n "},
                                 {"PADDED", "  env-padded-secret\n"},
                                 {"lower_case", "lower-secret"}});
  CHECK(ParseError(base + "    secret_key_env: SPACES\n", env) ==
        "t.yml:5:21: apps[0].secret_key_env: environment variable SPACES is "
        "empty or only whitespace");
  CHECK(ParseConfig(base + "    secret_key_env: PADDED\n", "t.yml", env)
            .apps[0]
            .credential.value == "env-padded-secret");
  // A valid but unusual name is used, only not repeated.
  CHECK(ParseConfig(base + "    secret_key_env: lower_case\n", "t.yml", env)
            .apps[0]
            .credential.value == "lower-secret");
  const std::string hidden =
      "t.yml:5:21: apps[0].secret_key_env: the environment variable named by "
      "secret_key_env (name not shown: it is not like [A-Z_][A-Z0-9_]* and "
      "could be a secret) is not set";
  const std::string key64 =
      "3f5d8a1c9b7e2f4a6c8e0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a";
  std::string upper64 = key64;
  for (char& c : upper64) c = static_cast<char>(std::toupper(c));
  for (const std::string& pasted :
       {key64, upper64, std::string("eJwtzM0KgjAcBvBX2eK6Jn4*uhnQSR"),
        std::string("lower_unset"), std::string("A_B-C"),
        std::string(41, 'A')}) {
    INFO(pasted);
    const std::string error =
        ParseError(base + "    secret_key_env: " + pasted + "\n", env);
    CHECK(error == hidden);
    CHECK(error.find(pasted) == std::string::npos);
  }
  CHECK(ParseError(base + "    secret_key_env: " + std::string(40, 'A') + "\n",
                   env) ==
        "t.yml:5:21: apps[0].secret_key_env: environment "
        "variable " +
            std::string(40, 'A') + " is not set");
  CHECK(ParseError(base + "    secret_key_env: _X1\n", env) ==
        "t.yml:5:21: apps[0].secret_key_env: environment variable _X1 is not "
        "set");
}

TEST_CASE("regions: any case; an unknown one is named unless secret-like",
          "[config]") {
  const std::string base =
      "apps:\n  - sdkappid: 1\n    identifier: a\n    usersig: s\n";
  for (const char* written : {"Singapore", "SINGAPORE", "singapore"}) {
    INFO(written);
    const Config config =
        ParseConfig(base + "    region: " + written + "\n", "t.yml", TestEnv());
    CHECK(config.apps[0].region == "singapore");
    CHECK(config.apps[0].endpoint == "https://adminapisgp.im.qcloud.com");
  }
  const std::string valid =
      "; valid: china, singapore, seoul, tokyo, frankfurt, mumbai, "
      "siliconvalley, jakarta (or give endpoint:)";
  CHECK(ParseError(base + "    region: Singapur\n") ==
        "t.yml:5:13: apps[0].region: unknown region \"Singapur\"" + valid);
  CHECK(ParseError(base + "    region: ap-singapore\n") ==
        "t.yml:5:13: apps[0].region: unknown region \"ap-singapore\"" + valid);
  CHECK(ParseError(base + "    region: 3f5d8a1c9b7e\n") ==
        "t.yml:5:13: apps[0].region: unknown region (not shown: it could be "
        "a secret)" +
            valid);
  CHECK(ParseError(base + "    region: " + std::string(25, 'x') + "\n") ==
        "t.yml:5:13: apps[0].region: unknown region (not shown: it could be "
        "a secret)" +
            valid);
}

TEST_CASE("operator== sees every field, as the reload diff needs", "[config]") {
  const std::string text =
      "defaults:\n  top_rooms: {count: 5}\n  category_names: {1: a}\n" + kApp +
      "    labels: {b: 2, a: 1}\n";
  const Config first = ParseConfig(text, "t.yml", TestEnv());
  const Config again = ParseConfig(text, "t.yml", TestEnv());
  CHECK(first.apps[0] == again.apps[0]);
  // Labels are kept sorted, so their order in the file does not matter.
  const Config reordered = ParseConfig(
      "defaults:\n  top_rooms: {count: 5}\n  category_names: {1: a}\n" + kApp +
          "    labels: {a: 1, b: 2}\n",
      "t.yml", TestEnv());
  CHECK(first.apps[0] == reordered.apps[0]);

  const AppConfig base = first.apps[0];
  std::vector<std::function<void(AppConfig*)>> changes = {
      [](AppConfig* a) { a->sdkappid += 1; },
      [](AppConfig* a) { a->region = "china"; },
      [](AppConfig* a) { a->endpoint += "x"; },
      [](AppConfig* a) { a->identifier += "x"; },
      [](AppConfig* a) { a->credential.value += "x"; },
      [](AppConfig* a) { a->credential.kind = Credential::Kind::kSecretKey; },
      [](AppConfig* a) { a->ca_file = "/x"; },
      [](AppConfig* a) { a->insecure_skip_verify = true; },
      [](AppConfig* a) { a->labels.emplace_back("c", "3"); },
      [](AppConfig* a) { a->walk.interval += seconds(1); },
      [](AppConfig* a) { a->walk.request_timeout += seconds(1); },
      [](AppConfig* a) { a->walk.page_size -= 1; },
      [](AppConfig* a) { a->walk.max_qps += 1; },
      [](AppConfig* a) { a->walk.allow_qps_above_limit = true; },
      [](AppConfig* a) { a->walk.max_retries += 1; },
      [](AppConfig* a) { a->walk.max_pages += 1; },
      [](AppConfig* a) { a->walk.max_room_series += 1; },
      [](AppConfig* a) { a->walk.stale_after += seconds(1); },
      [](AppConfig* a) { a->walk.usersig_ttl += seconds(1); },
      [](AppConfig* a) { a->walk.top_rooms.count += 1; },
      [](AppConfig* a) { a->walk.top_rooms.interval += seconds(1); },
      [](AppConfig* a) { a->walk.top_rooms.members = false; },
      [](AppConfig* a) { a->walk.top_rooms.stats = false; },
      [](AppConfig* a) { a->walk.top_rooms.member_list_qps += 1; },
      [](AppConfig* a) { a->walk.top_rooms.room_stats_qps += 1; },
      [](AppConfig* a) { a->walk.top_rooms.concurrency += 1; },
      [](AppConfig* a) { a->walk.category_names[1] = "b"; },
      [](AppConfig* a) { a->walk.activity_status_names[0] = "idle"; },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    INFO("change " << i);
    AppConfig changed = base;
    changes[i](&changed);
    CHECK_FALSE(changed == base);
  }
}

TEST_CASE("messages stay on one line", "[config]") {
  const std::string error = ParseError(kApp + "    \"bad\\nkey\": 1\n");
  CHECK(error == "t.yml:6:5: apps[0].bad\\x0akey: unknown key");
  CHECK(error.find('\n') == std::string::npos);
  CHECK(ParseError(kApp + "    " + std::string(100, 'k') + ": 1\n") ==
        "t.yml:6:5: apps[0]." + std::string(64, 'k') + "...: unknown key");
}

TEST_CASE("secrets never appear in messages or the summary", "[config]") {
  const std::string secret = "SECRET-7f3a9c-canary";
  const EnvLookup env = FakeEnv({{"KEY", secret}});
  const std::string head =
      "apps:\n  - sdkappid: 1400000000\n    identifier: administrator\n";
  const std::vector<std::string> texts = {
      head + "    region: china\n    usersig: " + secret + "\n    bogus: 1\n",
      head + "    region: china\n    usersig: " + secret +
          "\n    secret_key_env: KEY\n",
      head + "    region: china\n    secret_key_env: KEY\n    usersig: " +
          secret + "\n",
      head + "    region: china\n    secret_key_env: KEY\n    page_size: 99\n",
      head + "    region: china\n    secret_key_env: KEY\n    max_qps: 50\n",
      head + "    region: china\n    usersig: [" + secret + "]\n",
      head + "    region: china\n    usersig: {" + secret + ": 1}\n",
      head + "    region: " + secret + "\n    usersig: x\n",
      head + "    endpoint: https://user:" + secret +
          "@example.com\n    usersig: x\n",
      head + "    endpoint: " + secret + "\n    usersig: x\n",
      head + "    region: china\n    usersig: " + secret +
          "\n  - sdkappid: 1400000000\n",
      head + "    region: china\n    page_size: " + secret +
          "\n    usersig: x\n",
      head + "    region: china\n    interval: " + secret +
          "\n    usersig: x\n",
      head + "    region: china\n    usersig: " + secret + "\n   bad: [\n",
      head + "    region: china\n    usersig: &a " + secret +
          "\n    ca_file: *b\n",
      head + "    region: china\n    secret_key_file: " + kDir +
          "/secret.key\n    max_retries: -1\n",
      // A secret pasted into the wrong key.
      head + "    region: china\n    secret_key_env: " + secret + "\n",
      head + "    region: china\n    secret_key_file: " + secret + "\n",
      head + "    region: china\n    usersig: x\n    ca_file: " + secret + "\n",
      head + "    region: china\n    identifier2: " + secret +
          "\n    usersig: x\n",
      head + "    region: china\n    secret_key_env: KEY\n    labels: {" +
          "__x: " + secret + "}\n",
      head + "    region: china\n    secret_key_env: KEY\n    labels: {env: [" +
          secret + "]}\n",
      head + "    region: china\n    secret_key_env: KEY\n    top_rooms: " +
          secret + "\n",
      head + "    region: china\n    secret_key_env: KEY\n    " +
          "category_names: " + secret + "\n",
      head + "    region: china\n    secret_key_env: KEY\n    interval: 10m\n",
  };
  for (const std::string& text : texts) {
    const std::string error = ParseError(text, env);
    INFO(text << " => " << error);
    CHECK(error != "no error");
    CHECK(error.find(secret) == std::string::npos);
    CHECK(error.find(kFileSecret) == std::string::npos);
    CHECK(error.find("7f3a9c") == std::string::npos);
  }
  for (const std::string& text :
       {head + "    region: china\n    usersig: " + secret + "\n",
        head + "    region: china\n    secret_key_env: KEY\n",
        head + "    region: china\n    secret_key_file: " + kDir +
            "/secret.key\n"}) {
    const Config config = ParseConfig(text, "t.yml", env);
    CHECK(config.Summary() == "1 app: 1400000000 (china)");
    CHECK(config.Summary().find(secret) == std::string::npos);
  }
  const Config full = LoadConfigFile(kDir + "/full.yml", TestEnv());
  CHECK(full.Summary().find(kFileSecret) == std::string::npos);
  CHECK(full.Summary().find(kEnvSecret) == std::string::npos);
  CHECK(full.Summary().find("static-usersig-value") == std::string::npos);
}

}  // namespace
}  // namespace tle
