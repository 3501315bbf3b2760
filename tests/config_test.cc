// Tests for the config stage: exporter/config/config.h.
#include "exporter/config/config.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

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

  const AppConfig& c = config.apps[2];
  CHECK(c.endpoint == "https://console.tim.qq.com");
  CHECK(c.credential.kind == Credential::Kind::kStaticUserSig);
  CHECK(c.credential.value == "static-usersig-value");
  CHECK(c.ca_file == kDir + "/../config/ca.pem");
  CHECK_FALSE(c.insecure_skip_verify);
  CHECK(c.walk.page_size == 10);

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
  CHECK_FALSE(RegionEndpoint("Singapore"));
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
  CHECK(ParseError("defaults:\n  max_qps: 11\n" + kApp +
                   "    allow_qps_above_limit: true\n") ==
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
  CHECK(endpoint_error("ftp://example.com") ==
        "t.yml:5:15: apps[0].endpoint: must start with https:// (or http:// "
        "for a local fake)");
  CHECK(endpoint_error("example.com") ==
        "t.yml:5:15: apps[0].endpoint: must start with https:// (or http:// "
        "for a local fake)");
  CHECK(endpoint_error("https://example.com/v4") ==
        "t.yml:5:15: apps[0].endpoint: must be scheme://host[:port] with no "
        "path, query or "
        "fragment");
  CHECK(endpoint_error("https://") ==
        "t.yml:5:15: apps[0].endpoint: has an empty host");
  CHECK(endpoint_error("https://:443") ==
        "t.yml:5:15: apps[0].endpoint: has an empty host");
  CHECK(endpoint_error("https://h:0") ==
        "t.yml:5:15: apps[0].endpoint: has an invalid port (1..65535)");
  CHECK(endpoint_error("\"https://h:\"") ==
        "t.yml:5:15: apps[0].endpoint: has an invalid port (1..65535)");
  CHECK(endpoint_error("https://h:65536") ==
        "t.yml:5:15: apps[0].endpoint: has an invalid port (1..65535)");
  CHECK(endpoint_error("https://u:p@h") ==
        "t.yml:5:15: apps[0].endpoint: must not carry user information "
        "(user:password@)");
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

  // The full example names /run/secrets/...; point it at the fixture instead.
  std::ifstream in(dir + "/tencent_live_exporter.yml");
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  const std::string secret_path = "/run/secrets/tencent_live_key";
  const auto at = text.find(secret_path);
  REQUIRE(at != std::string::npos);
  text.replace(at, secret_path.size(), kDir + "/secret.key");
  const Config full =
      ParseConfig(text, dir + "/tencent_live_exporter.yml",
                  FakeEnv({{"TENCENT_LIVE_SECRET_KEY_2", "k2"}}));
  CHECK(full.Summary() ==
        "2 apps: 1400000000 (singapore), 1400000001 "
        "(https://adminapisgp.im.qcloud.com:443)");
  CHECK(full.apps[0].walk.interval == seconds(60));
  CHECK(full.apps[1].walk.interval == minutes(2));
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
