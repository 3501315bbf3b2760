// The config stage: YAML text -> Config, or a ConfigError naming file, line,
// column and key.
//
// yaml-cpp stays inside config.cc. Config is a plain value; once loaded it is
// immutable and may be read from any thread. Secrets are held in
// AppConfig::credential and never printed by anything here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tle {

using Duration = std::chrono::milliseconds;

// `top_rooms:`, in defaults and per app (a per-app map overrides key by key).
// Ranges are checked by ParseConfig; see README "Configuration".
struct TopRoomsSettings {
  int count = 0;                                 // 0 = off; 0..10000
  Duration interval = std::chrono::seconds(30);  // 1s..24h
  bool members = true;                           // get_member_list
  bool stats = true;                             // get_room_stats
  double member_list_qps = 50;  // 0.001..200 (API limit); ..1000 with
                                // allow_qps_above_limit
  double room_stats_qps = 25;   // 0.001..100 (API limit); ..1000 with
                                // allow_qps_above_limit
  int concurrency = 8;          // 1..256
  friend bool operator==(const TopRoomsSettings&,
                         const TopRoomsSettings&) = default;
};

// Every key of `defaults:`; each app may override any of them.
struct WalkSettings {
  Duration interval = std::chrono::seconds(60);         // 1s..24h
  Duration request_timeout = std::chrono::seconds(10);  // 100ms..10m
  int page_size = 20;                                   // 1..20
  double max_qps = 10;  // 0.001..10; ..1000 with allow_qps_above_limit
  bool allow_qps_above_limit = false;
  int max_retries = 3;                             // 0..100
  int max_pages = 10000;                           // 1..1000000
  int max_room_series = 1000;                      // 0..1000000; 0 = all
  Duration stale_after = std::chrono::minutes(5);  // interval..30d
  Duration usersig_ttl = std::chrono::hours(24);   // 1m..180d
  TopRoomsSettings top_rooms;
  // Names for IDs, adding category_name / activity_status_name labels. A
  // per-app map merges into the defaults' map key by key.
  std::map<std::int64_t, std::string> category_names;         // {1: music}
  std::map<std::int64_t, std::string> activity_status_names;  // {0: idle}
  friend bool operator==(const WalkSettings&, const WalkSettings&) = default;
};

struct Credential {
  enum class Kind { kSecretKey, kStaticUserSig };
  Kind kind = Kind::kSecretKey;
  std::string value;  // the secret key, or the static UserSig; never logged
  friend bool operator==(const Credential&, const Credential&) = default;
};

struct AppConfig {
  std::int64_t sdkappid = 0;
  std::string region;    // the region key, when given
  std::string endpoint;  // scheme://host[:port], from region or endpoint
  std::string identifier;
  Credential credential;
  std::string ca_file;  // relative paths already resolved against the config
                        // file's folder
  bool insecure_skip_verify = false;
  WalkSettings walk;
  // Constant labels added to every series of this app (`labels:`), sorted by
  // name (so reordering them in the file is no change).
  std::vector<std::pair<std::string, std::string>> labels;
  friend bool operator==(const AppConfig&, const AppConfig&) = default;
};

struct Config {
  std::string file;  // where it came from, for messages
  std::vector<AppConfig> apps;
  // Things worth an operator's attention that are not errors (a secret key
  // file readable by every user, ...): one line each, "FILE:LINE:COLUMN: KEY:
  // message", no secret. ParseConfig does not log; the caller logs these.
  std::vector<std::string> warnings;

  // "2 apps: 1400000000 (singapore), 1400000001 (http://127.0.0.1:8080)": the
  // --config.check summary (region when given, else endpoint). Holds no secret.
  std::string Summary() const;
};

// A mistake in the config: what() is one line, "FILE:LINE:COLUMN: KEY: what is
// wrong".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Looks up an environment variable; the default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();

// Parses config text. `file` names it in messages and anchors relative
// secret_key_file and ca_file paths. Reads the secret key file or environment
// variable the config names. REQUIRES: nothing; throws ConfigError on any
// mistake (text over 1 MiB, nesting deeper than yaml-cpp's guard, and every
// yaml-cpp exception included), never anything else.
Config ParseConfig(std::string_view text, const std::string& file,
                   const EnvLookup& env);

// Reads and parses a config file; throws ConfigError (also when the file cannot
// be read).
Config LoadConfigFile(const std::string& path,
                      const EnvLookup& env = ProcessEnv());

// "30s", "5m", "1h30m", "250ms": Prometheus duration syntax (units y w d h m s
// ms, largest first, each at most once; "0" alone is zero); nullopt when
// malformed, negative or overflowing.
std::optional<Duration> ParseDuration(std::string_view text);

// The API host for a region key ("singapore" ->
// "https://adminapisgp.im.qcloud.com"); nullopt if unknown.
std::optional<std::string> RegionEndpoint(std::string_view region);

}  // namespace tle
