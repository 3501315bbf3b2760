// The config stage: YAML text -> Config. See config.h.
//
// Every value is read from the YAML node tree by hand (never YAML::Node::as<>),
// so each mistake can name the exact node and no yaml-cpp exception escapes.
// Messages never contain a value that could be a secret: only key names,
// numbers we parsed ourselves, paths and environment variable names.

#include "exporter/config/config.h"

#include <sys/stat.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <locale>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "exporter/common/status.h"
#include "exporter/common/text.h"
#include "exporter/config/config_text.h"

namespace tle {
namespace {

using detail::Printable;

constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;   // 1 MiB
constexpr std::size_t kMaxSecretBytes = std::size_t{64} << 10;  // 64 KiB
constexpr std::size_t kMaxKeyChars =
    64;  // longer key names are cut in messages
constexpr std::size_t kMaxCaFileBytes = std::size_t{16} << 20;  // 16 MiB

// The ranges of every numeric key (README "Configuration" lists them too).
// They keep each value far from an integer or duration overflow and from huge
// allocations (a rate limiter keeps one slot per call/s).
constexpr double kMinQps = 0.001;
constexpr double kMaxQpsAllowed = 1000;   // any API, with allow_qps_above_limit
constexpr double kRoomListQpsLimit = 10;  // get_room_list, the API's own
constexpr double kMemberListQpsLimit = 200;        // get_member_list
constexpr double kRoomStatsQpsLimit = 100;         // get_room_stats
constexpr std::int64_t kMaxSdkAppId = 4294967295;  // a uint32 on the wire
constexpr std::int64_t kMaxPages = 1000000;
constexpr std::int64_t kMaxRoomSeries = 1000000;
constexpr std::int64_t kMaxTopRooms = 10000;
constexpr std::int64_t kMaxConcurrency = 256;
constexpr std::size_t kMaxNames = 10000;    // entries of one names map
constexpr std::size_t kMaxNameBytes = 128;  // one name, in UTF-8 bytes
constexpr std::size_t kMaxLabels = 32;      // constant labels of one app
constexpr std::size_t kMaxLabelNameBytes = 64;
constexpr std::size_t kMaxLabelValueBytes = 256;

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
constexpr Duration kMinInterval = seconds(1);
constexpr Duration kMaxInterval = hours(24);
constexpr Duration kMinRequestTimeout = milliseconds(100);
constexpr Duration kMaxRequestTimeout = minutes(10);
constexpr Duration kMaxStaleAfter = hours(24 * 30);
constexpr Duration kMinUserSigTtl = minutes(1);
constexpr Duration kMaxUserSigTtl = hours(24 * 180);

// The exporter's own label names: a constant label may not take one.
constexpr std::string_view kReservedLabels[] = {"sdkappid",
                                                "room_id",
                                                "room_name",
                                                "owner_account",
                                                "cover_url",
                                                "categories",
                                                "category",
                                                "category_names",
                                                "category_name",
                                                "activity_status",
                                                "activity_status_name",
                                                "api",
                                                "code",
                                                "reason",
                                                "version",
                                                "revision",
                                                "le",
                                                "instance",
                                                "job"};

struct RegionHost {
  std::string_view key;
  std::string_view host;
};
constexpr RegionHost kRegions[] = {
    {"china", "console.tim.qq.com"},
    {"singapore", "adminapisgp.im.qcloud.com"},
    {"seoul", "adminapikr.im.qcloud.com"},
    {"tokyo", "adminapijpn.im.qcloud.com"},
    {"frankfurt", "adminapiger.im.qcloud.com"},
    {"mumbai", "adminapiind.im.qcloud.com"},
    {"siliconvalley", "adminapiusa.im.qcloud.com"},
    {"jakarta", "adminapiidn.im.qcloud.com"},
};

constexpr std::string_view kTopKeys[] = {"defaults", "apps"};
constexpr std::string_view kWalkKeys[] = {"interval",
                                          "request_timeout",
                                          "page_size",
                                          "max_qps",
                                          "allow_qps_above_limit",
                                          "max_retries",
                                          "max_pages",
                                          "max_room_series",
                                          "stale_after",
                                          "usersig_ttl",
                                          "top_rooms",
                                          "category_names",
                                          "activity_status_names"};
constexpr std::string_view kTopRoomsKeys[] = {
    "count",           "interval",       "members",    "stats",
    "member_list_qps", "room_stats_qps", "concurrency"};
constexpr std::string_view kAppOnlyKeys[] = {
    "sdkappid",   "region",          "endpoint",
    "identifier", "secret_key_file", "secret_key_env",
    "usersig",    "ca_file",         "insecure_skip_verify",
    "labels"};

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool IsPlain(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "?";
}

bool LooksLikeInt(std::string_view text);

// What a node is, without repeating its value (it could be a secret).
std::string Describe(const YAML::Node& node) {
  if (node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  if (!IsPlain(node)) return "a quoted string";
  const std::string& text = node.Scalar();
  if (LooksLikeInt(text)) return "an integer";
  if (text == "true" || text == "false") return "a boolean";
  if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) ||
                        text[0] == '-' || text[0] == '.')) {
    return "a number or other text";
  }
  return "a string";
}

// YAML writes "+5" for 5; the rest is the shared strict decimal parser.
std::optional<std::int64_t> ParseInt(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  return ParseInt64(text);
}

bool LooksLikeInt(std::string_view text) {
  if (!text.empty() && (text.front() == '+' || text.front() == '-'))
    text.remove_prefix(1);
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

std::string FormatNumber(double value) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::setprecision(12) << value;
  return out.str();
}

// A duration as the config writes it: "1h30m", "250ms", "0s".
std::string FormatDuration(Duration value) {
  std::int64_t ms = value.count();
  if (ms == 0) return "0s";
  struct Unit {
    const char* suffix;
    std::int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  std::string out;
  for (const Unit& unit : kUnits) {
    // Days only from 2d on: "24h" and "36h" read better than "1d", "1d12h".
    if (unit.suffix[0] == 'd' && ms < 2 * unit.ms) continue;
    if (ms >= unit.ms) {
      out += std::to_string(ms / unit.ms) + unit.suffix;
      ms %= unit.ms;
    }
  }
  return out;
}

bool HasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// [a-zA-Z_][a-zA-Z0-9_]*, Prometheus' rule for label names.
bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  const auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (!letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9');
  });
}

// True when `text` reads like an environment variable name ([A-Z_][A-Z0-9_]*,
// at most 40 characters), so a message may repeat it. Anything else could be a
// secret pasted into the wrong key and is never echoed.
bool LooksLikeEnvName(std::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  if (!(text.front() == '_' || (text.front() >= 'A' && text.front() <= 'Z')))
    return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

// True when `text` reads like a file path (has a "/" or a "."), so a message
// may repeat it. A secret key or a UserSig has neither, and is never echoed.
bool LooksLikePath(std::string_view text) {
  return text.find_first_of("/.") != std::string_view::npos;
}

// True when `text` could be a misspelt region name (letters, "-", "_" and
// spaces, at most 24 characters), so a message may repeat it.
bool LooksLikeRegionName(std::string_view text) {
  return !text.empty() && text.size() <= 24 &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '-' || c == '_' || c == ' ';
         });
}

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Cuts leading and trailing whitespace (a key file's newline, an environment
// value's stray spaces).
void TrimWhitespace(std::string* text) {
  const auto space = [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) != 0;
  };
  while (!text->empty() && space(text->back())) text->pop_back();
  const auto first = std::find_if_not(text->begin(), text->end(), space);
  text->erase(text->begin(), first);
}

// Validates `https://host[:port]` / `http://host[:port]` (one trailing "/"
// allowed) and returns the normalised form, or an error whose message does not
// repeat the value (it could hold userinfo).
Result<std::string> NormaliseEndpoint(std::string_view text) {
  std::string scheme;
  const auto colon = text.find("://");
  if (colon != std::string_view::npos) {
    for (char c : text.substr(0, colon)) {
      scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  }
  if (scheme != "https" && scheme != "http") {
    return Status::Error(
        "must start with https:// (or http:// for a local fake)");
  }
  std::string_view rest = text.substr(colon + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return Status::Error(
        "must be scheme://host[:port] with no path, query or fragment");
  }
  if (rest.find('@') != std::string_view::npos) {
    return Status::Error("must not carry user information (user:password@)");
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // IPv6 literal
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return Status::Error("has an unterminated [IPv6] host");
    }
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Status::Error("has text after the [IPv6] host");
      }
      port = after.substr(1);
      if (port.empty()) port = ":";  // forces the port error below
    }
    const std::string_view inside = host.substr(1, host.size() - 2);
    if (inside.empty() ||
        !std::all_of(inside.begin(), inside.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' ||
                 c == '.';
        })) {
      return Status::Error("has an invalid [IPv6] host");
    }
  } else {
    const auto port_colon = rest.find(':');
    if (port_colon != std::string_view::npos) {
      host = rest.substr(0, port_colon);
      port = rest.substr(port_colon + 1);
      if (port.empty()) port = ":";
    }
    if (host.empty()) {
      return Status::Error("has an empty host");
    }
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                 c == '.' || c == '_';
        })) {
      return Status::Error("has an invalid host name");
    }
  }
  if (!port.empty()) {
    const std::optional<std::uint64_t> number = ParseUint64(port);
    if (!number || *number < 1 || *number > 65535) {
      return Status::Error("has an invalid port (1..65535)");
    }
  }
  std::string out = scheme + "://" + std::string(host);
  if (!port.empty()) out += ":" + std::string(port);
  return out;
}

// One key: value pair of a map. A missing value (`key:`) is reported at its
// key, because yaml-cpp marks an empty value where the next token starts.
struct Entry {
  YAML::Node key;
  YAML::Node value;
  YAML::Mark Where() const {
    return value.IsNull() ? key.Mark() : value.Mark();
  }
};

// Where the value of one walk setting came from, so a check that combines
// settings (stale_after against interval) can point at the one to change.
struct Origin {
  YAML::Mark mark;
  std::string key;  // "defaults.interval", "apps[0].top_rooms.count"
};
// By setting name: "interval", "top_rooms.count", ...; a setting left at its
// built-in default has no entry.
using Origins = std::map<std::string, Origin>;

// One parse: the file name for messages and helpers that read typed values off
// nodes.
class Parser {
 public:
  Parser(std::string file, const EnvLookup& env)
      : file_(std::move(file)), env_(env) {}

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& message) const {
    throw ConfigError(Message(mark, key, message));
  }
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    Fail(node.Mark(), key, message);
  }

  Config Parse(std::string_view text);

 private:
  std::string Message(const YAML::Mark& mark, const std::string& key,
                      const std::string& message) const {
    return detail::PositionedMessage(file_, mark.line, mark.column, key,
                                     message);
  }
  // The keys of one map in file order, with duplicate and non-scalar keys
  // refused.
  std::vector<Entry> Entries(const YAML::Node& map,
                             const std::string& path) const;
  [[noreturn]] void UnknownKey(const YAML::Node& key_node,
                               const std::string& key_path,
                               const std::string& key,
                               const std::vector<std::string_view>& known,
                               bool in_defaults) const;

  std::int64_t Int(const Entry& entry, const std::string& key, std::int64_t min,
                   std::int64_t max) const;
  double Number(const Entry& entry, const std::string& key, double min,
                double max) const;
  bool Bool(const Entry& entry, const std::string& key) const;
  Duration DurationValue(const Entry& entry, const std::string& key,
                         Duration min, Duration max) const;
  std::string String(const Entry& entry, const std::string& key) const;
  // A name or label value: a non-empty string of valid UTF-8 without control
  // characters, at most `max_bytes` long.
  std::string Text(const Entry& entry, const std::string& key,
                   std::size_t max_bytes) const;

  // Applies one walk key; false when `name` is not a walk key.
  bool WalkKey(const std::string& name, const Entry& entry,
               const std::string& key, WalkSettings* walk,
               Origins* origins) const;
  void TopRooms(const Entry& entry, const std::string& key,
                TopRoomsSettings* top, Origins* origins) const;
  void Names(const Entry& entry, const std::string& key,
             std::map<std::int64_t, std::string>* names) const;
  std::vector<std::pair<std::string, std::string>> Labels(
      const Entry& entry, const std::string& key) const;
  // The checks that combine settings, on the settings one app ends up with
  // (defaults alone are not checked: an app may fix what they leave open).
  // `scope` and `scope_mark` stand in for a setting that kept its built-in
  // default.
  void CheckWalk(const WalkSettings& walk, const Origins& origins,
                 const std::string& scope, const YAML::Mark& scope_mark) const;
  AppConfig App(const YAML::Node& node, const std::string& path,
                const WalkSettings& defaults, const Origins& default_origins,
                YAML::Mark* sdkappid_mark,
                std::vector<std::string>* warnings) const;
  Credential ReadCredential(const Entry& credential, const std::string& key,
                            std::vector<std::string>* warnings) const;
  void CheckCaFile(const Entry& entry, const std::string& key,
                   const std::string& path) const;
  std::string ResolvePath(const std::string& path) const;

  std::string file_;
  const EnvLookup& env_;
};

std::vector<Entry> Parser::Entries(const YAML::Node& map,
                                   const std::string& path) const {
  std::vector<Entry> entries;
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar())
      Fail(key, path, "keys must be plain names, not " + Describe(key));
    const std::string child = path.empty() ? "" : path + ".";
    if (!seen.insert(key.Scalar()).second) {
      Fail(key, child + Printable(key.Scalar(), kMaxKeyChars), "duplicate key");
    }
    entries.push_back({key, it->second});
  }
  return entries;
}

void Parser::UnknownKey(const YAML::Node& key_node, const std::string& key_path,
                        const std::string& key,
                        const std::vector<std::string_view>& known,
                        bool in_defaults) const {
  if (in_defaults && std::find(std::begin(kAppOnlyKeys), std::end(kAppOnlyKeys),
                               key) != std::end(kAppOnlyKeys)) {
    Fail(key_node, key_path,
         "unknown key in defaults; " + key + " can only be set per app");
  }
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close misspellings
  if (key.size() <= 64) {
    for (std::string_view candidate : known) {
      const std::size_t distance = EditDistance(key, candidate);
      if (distance < best_distance) {
        best_distance = distance;
        best = candidate;
      }
    }
  }
  std::string message = "unknown key";
  if (!best.empty()) message += "; did you mean " + std::string(best) + "?";
  Fail(key_node, key_path, message);
}

std::int64_t Parser::Int(const Entry& entry, const std::string& key,
                         std::int64_t min, std::int64_t max) const {
  const YAML::Node& node = entry.value;
  if (!IsPlain(node) || !LooksLikeInt(node.Scalar())) {
    Fail(entry.Where(), key, "must be an integer, got " + Describe(node));
  }
  const auto value = ParseInt(node.Scalar());
  if (!value || *value < min || *value > max) {
    Fail(entry.Where(), key,
         "must be between " + std::to_string(min) + " and " +
             std::to_string(max) + ", got " +
             (value ? std::to_string(*value)
                    : std::string("a number out of range")));
  }
  return *value;
}

double Parser::Number(const Entry& entry, const std::string& key, double min,
                      double max) const {
  const YAML::Node& node = entry.value;
  double value = 0;
  bool ok = IsPlain(node);
  bool out_of_range = false;
  std::string_view text;
  if (ok) {
    text = node.Scalar();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value,
                        std::chars_format::fixed);
    const bool whole = !text.empty() && end == text.data() + text.size();
    out_of_range = whole && ec == std::errc::result_out_of_range;
    ok = whole && ec == std::errc() && std::isfinite(value);
  }
  const std::string range =
      "must be between " + FormatNumber(min) + " and " + FormatNumber(max);
  if (out_of_range) {
    Fail(entry.Where(), key, range + ", got a number out of range");
  }
  if (!ok) Fail(entry.Where(), key, "must be a number, got " + Describe(node));
  if (value < min || value > max) {
    // The text parsed as a plain decimal number: it is safe to repeat.
    Fail(entry.Where(), key, range + ", got " + Printable(text, 40));
  }
  return value;
}

bool Parser::Bool(const Entry& entry, const std::string& key) const {
  const YAML::Node& node = entry.value;
  if (IsPlain(node)) {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  Fail(entry.Where(), key, "must be true or false, got " + Describe(node));
}

Duration Parser::DurationValue(const Entry& entry, const std::string& key,
                               Duration min, Duration max) const {
  const YAML::Node& node = entry.value;
  if (!node.IsScalar())
    Fail(entry.Where(), key,
         "must be a duration like 30s, got " + Describe(node));
  const std::string& text = node.Scalar();
  if (LooksLikeInt(text) && text != "0") {
    Fail(entry.Where(), key,
         "must be a duration with a unit (ms, s, m, h, d, w, y), like 30s; got "
         "a plain number");
  }
  const auto value = ParseDuration(text);
  if (!value)
    Fail(entry.Where(), key, "must be a duration like 250ms, 30s, 5m or 1h30m");
  if (*value < min || *value > max) {
    Fail(entry.Where(), key,
         "must be between " + FormatDuration(min) + " and " +
             FormatDuration(max) + ", got " + FormatDuration(*value));
  }
  return *value;
}

std::string Parser::String(const Entry& entry, const std::string& key) const {
  const YAML::Node& node = entry.value;
  if (!node.IsScalar())
    Fail(entry.Where(), key, "must be a string, got " + Describe(node));
  if (node.Scalar().empty()) Fail(entry.Where(), key, "must not be empty");
  return node.Scalar();
}

std::string Parser::Text(const Entry& entry, const std::string& key,
                         std::size_t max_bytes) const {
  std::string text = String(entry, key);
  if (!IsValidUtf8(text)) Fail(entry.Where(), key, "must be valid UTF-8");
  if (HasControl(text)) {
    Fail(entry.Where(), key, "must not contain control characters");
  }
  if (text.size() > max_bytes) {
    Fail(entry.Where(), key,
         "must be at most " + std::to_string(max_bytes) + " bytes long, got " +
             std::to_string(text.size()));
  }
  return text;
}

bool Parser::WalkKey(const std::string& name, const Entry& entry,
                     const std::string& key, WalkSettings* walk,
                     Origins* origins) const {
  if (name == "interval") {
    walk->interval = DurationValue(entry, key, kMinInterval, kMaxInterval);
  } else if (name == "request_timeout") {
    walk->request_timeout =
        DurationValue(entry, key, kMinRequestTimeout, kMaxRequestTimeout);
  } else if (name == "page_size") {
    walk->page_size = static_cast<int>(Int(entry, key, 1, 20));
  } else if (name == "max_qps") {
    walk->max_qps = Number(entry, key, kMinQps, kMaxQpsAllowed);
  } else if (name == "allow_qps_above_limit") {
    walk->allow_qps_above_limit = Bool(entry, key);
  } else if (name == "max_retries") {
    walk->max_retries = static_cast<int>(Int(entry, key, 0, 100));
  } else if (name == "max_pages") {
    walk->max_pages = static_cast<int>(Int(entry, key, 1, kMaxPages));
  } else if (name == "max_room_series") {
    walk->max_room_series =
        static_cast<int>(Int(entry, key, 0, kMaxRoomSeries));
  } else if (name == "stale_after") {
    walk->stale_after = DurationValue(entry, key, kMinInterval, kMaxStaleAfter);
  } else if (name == "usersig_ttl") {
    walk->usersig_ttl =
        DurationValue(entry, key, kMinUserSigTtl, kMaxUserSigTtl);
  } else if (name == "top_rooms") {
    TopRooms(entry, key, &walk->top_rooms, origins);
    return true;  // each key of top_rooms has its own origin
  } else if (name == "category_names") {
    Names(entry, key, &walk->category_names);
  } else if (name == "activity_status_names") {
    Names(entry, key, &walk->activity_status_names);
  } else {
    return false;
  }
  (*origins)[name] = {entry.Where(), key};
  return true;
}

void Parser::TopRooms(const Entry& entry, const std::string& key,
                      TopRoomsSettings* top, Origins* origins) const {
  if (entry.value.IsNull()) return;
  if (!entry.value.IsMap()) {
    Fail(entry.Where(), key,
         "must be a map with count, interval, ..., got " +
             Describe(entry.value));
  }
  for (const Entry& child : Entries(entry.value, key)) {
    const std::string name = child.key.Scalar();
    const std::string child_key = key + "." + Printable(name, kMaxKeyChars);
    if (name == "count") {
      top->count = static_cast<int>(Int(child, child_key, 0, kMaxTopRooms));
    } else if (name == "interval") {
      top->interval =
          DurationValue(child, child_key, kMinInterval, kMaxInterval);
    } else if (name == "members") {
      top->members = Bool(child, child_key);
    } else if (name == "stats") {
      top->stats = Bool(child, child_key);
    } else if (name == "member_list_qps") {
      top->member_list_qps = Number(child, child_key, kMinQps, kMaxQpsAllowed);
    } else if (name == "room_stats_qps") {
      top->room_stats_qps = Number(child, child_key, kMinQps, kMaxQpsAllowed);
    } else if (name == "concurrency") {
      top->concurrency =
          static_cast<int>(Int(child, child_key, 1, kMaxConcurrency));
    } else {
      UnknownKey(child.key, child_key, name,
                 {std::begin(kTopRoomsKeys), std::end(kTopRoomsKeys)}, false);
    }
    (*origins)["top_rooms." + name] = {child.Where(), child_key};
  }
}

void Parser::Names(const Entry& entry, const std::string& key,
                   std::map<std::int64_t, std::string>* names) const {
  if (entry.value.IsNull()) return;
  if (!entry.value.IsMap()) {
    Fail(entry.Where(), key,
         "must be a map of integer IDs to names, like {1: music}, got " +
             Describe(entry.value));
  }
  if (entry.value.size() > kMaxNames) {
    Fail(entry.Where(), key,
         "has more than " + std::to_string(kMaxNames) + " entries");
  }
  std::map<std::int64_t, std::string> seen;  // ID -> its key as written
  for (const Entry& child : Entries(entry.value, key)) {
    const std::string& written = child.key.Scalar();
    const std::string child_key = key + "." + Printable(written, kMaxKeyChars);
    const auto id = IsPlain(child.key) && LooksLikeInt(written)
                        ? ParseInt(written)
                        : std::nullopt;
    if (!id) {
      Fail(child.key, child_key,
           "keys must be integer IDs (-9223372036854775808.."
           "9223372036854775807), got " +
               Describe(child.key));
    }
    const auto [it, fresh] = seen.emplace(*id, written);
    if (!fresh) {
      Fail(child.key, child_key,
           "duplicate ID: " + std::to_string(*id) + " is also " + key + "." +
               Printable(it->second, kMaxKeyChars));
    }
    (*names)[*id] = Text(child, child_key, kMaxNameBytes);
  }
}

std::vector<std::pair<std::string, std::string>> Parser::Labels(
    const Entry& entry, const std::string& key) const {
  if (entry.value.IsNull()) return {};
  if (!entry.value.IsMap()) {
    Fail(entry.Where(), key,
         "must be a map of label names to values, like {env: prod}, got " +
             Describe(entry.value));
  }
  if (entry.value.size() > kMaxLabels) {
    Fail(entry.Where(), key,
         "has more than " + std::to_string(kMaxLabels) + " labels");
  }
  std::map<std::string, std::string> labels;  // sorted by name
  for (const Entry& child : Entries(entry.value, key)) {
    const std::string& name = child.key.Scalar();
    const std::string child_key = key + "." + Printable(name, kMaxKeyChars);
    if (name.size() > kMaxLabelNameBytes) {
      Fail(child.key, child_key,
           "label names must be at most " + std::to_string(kMaxLabelNameBytes) +
               " characters long");
    }
    if (!IsLabelName(name)) {
      Fail(child.key, child_key,
           "is not a valid label name: use letters, digits and _, not starting "
           "with a digit");
    }
    if (name.rfind("__", 0) == 0) {
      Fail(child.key, child_key,
           "label names starting with __ are reserved for Prometheus");
    }
    if (std::find(std::begin(kReservedLabels), std::end(kReservedLabels),
                  name) != std::end(kReservedLabels)) {
      Fail(child.key, child_key,
           "clashes with the exporter's own label " + name +
               "; choose another name");
    }
    labels[name] = Text(child, child_key, kMaxLabelValueBytes);
  }
  return {labels.begin(), labels.end()};
}

// "11 is above the limit of get_room_list (10 calls/s); ..."
std::string QpsMessage(double qps, std::string_view api, double limit) {
  return FormatNumber(qps) + " is above the limit of " + std::string(api) +
         " (" + FormatNumber(limit) +
         " calls/s); set allow_qps_above_limit: true only if Tencent raised "
         "your limit";
}

void Parser::CheckWalk(const WalkSettings& walk, const Origins& origins,
                       const std::string& scope,
                       const YAML::Mark& scope_mark) const {
  const auto origin = [&](const std::string& name) -> const Origin* {
    const auto found = origins.find(name);
    return found == origins.end() ? nullptr : &found->second;
  };
  // "defaults.stale_after", or "the default" for a built-in value.
  const auto source = [&](const std::string& name) {
    const Origin* from = origin(name);
    return from ? from->key : std::string("the default");
  };
  // Of two settings that disagree, the one set later in the file (an app's
  // own key before one it inherits from defaults).
  const auto later = [&](const std::string& a,
                         const std::string& b) -> std::string {
    const Origin* first = origin(a);
    const Origin* second = origin(b);
    if (!first) return b;
    if (!second) return a;
    return first->mark.pos > second->mark.pos ? a : b;
  };
  const auto fail_at = [&](const std::string& name,
                           const std::string& message) {
    const Origin* at = origin(name);
    if (at) Fail(at->mark, at->key, message);
    Fail(scope_mark, scope + "." + name, message);
  };

  struct Ceiling {
    const char* name;
    double value;
    std::string_view api;
    double limit;
  };
  const Ceiling ceilings[] = {
      {"max_qps", walk.max_qps, "get_room_list", kRoomListQpsLimit},
      {"top_rooms.member_list_qps", walk.top_rooms.member_list_qps,
       "get_member_list", kMemberListQpsLimit},
      {"top_rooms.room_stats_qps", walk.top_rooms.room_stats_qps,
       "get_room_stats", kRoomStatsQpsLimit},
  };
  for (const Ceiling& ceiling : ceilings) {
    if (ceiling.value <= ceiling.limit || walk.allow_qps_above_limit) continue;
    const std::string name = ceiling.name;
    if (later(name, "allow_qps_above_limit") == name) {
      fail_at(name, QpsMessage(ceiling.value, ceiling.api, ceiling.limit));
    }
    // Raised where it was allowed, but a later scope withdrew the permission.
    fail_at("allow_qps_above_limit",
            "is false, but " + name + " " + FormatNumber(ceiling.value) + " (" +
                source(name) + ") is above the limit of " +
                std::string(ceiling.api) + " (" + FormatNumber(ceiling.limit) +
                " calls/s)");
  }

  // A snapshot must outlive the time to the next one, or its series vanish
  // between walks (or rounds) while up reads 1.
  struct Outlives {
    const char* name;
    Duration value;
  };
  std::vector<Outlives> periods = {{"interval", walk.interval}};
  if (walk.top_rooms.count > 0) {
    periods.push_back({"top_rooms.interval", walk.top_rooms.interval});
  }
  for (const Outlives& period : periods) {
    if (walk.stale_after >= period.value) continue;
    const std::string name = period.name;
    if (later(name, "stale_after") == "stale_after") {
      fail_at(
          "stale_after",
          "must be at least " + name + " (" + FormatDuration(period.value) +
              ", " + source(name) + "), got " +
              FormatDuration(walk.stale_after) +
              (name == "interval" ? "; series would vanish between walks"
                                  : "; series would vanish between rounds"));
    }
    fail_at(name, FormatDuration(period.value) +
                      " is longer than stale_after (" +
                      FormatDuration(walk.stale_after) + ", " +
                      source("stale_after") +
                      "); raise stale_after to at least " + name);
  }

  if (walk.top_rooms.count > 0 && !walk.top_rooms.members &&
      !walk.top_rooms.stats) {
    const std::string blamed =
        later("top_rooms.count", later("top_rooms.members", "top_rooms.stats"));
    fail_at(blamed,
            "top_rooms.count is " + std::to_string(walk.top_rooms.count) +
                " but members and stats are both false; set count: 0 to "
                "turn top rooms off");
  }
}

std::string Parser::ResolvePath(const std::string& path) const {
  const std::filesystem::path given(path);
  if (given.is_absolute()) return path;
  const std::filesystem::path dir = std::filesystem::path(file_).parent_path();
  if (dir.empty()) return path;
  return (dir / given).string();
}

// The file a key names, for a message: the resolved path when the text reads
// like a path, else a placeholder (it could be a secret in the wrong key).
std::string PathForMessage(const std::string& written,
                           const std::string& resolved,
                           const std::string& which) {
  if (LooksLikePath(written)) return Printable(resolved, 1024);
  return "the file named by " + which +
         " (name not shown: it has no / or . and could be a secret)";
}

Credential Parser::ReadCredential(const Entry& credential,
                                  const std::string& key,
                                  std::vector<std::string>* warnings) const {
  const std::string which = credential.key.Scalar();
  const std::string& text = credential.value.Scalar();
  if (which == "usersig") return {Credential::Kind::kStaticUserSig, text};
  if (which == "secret_key_file") {
    const std::string path = ResolvePath(text);
    const std::string shown = PathForMessage(text, path, which);
    std::string content;
    if (auto error = detail::ReadFileCapped(path, kMaxSecretBytes, &content)) {
      Fail(credential.Where(), key, shown + ": " + *error);
    }
    TrimWhitespace(&content);
    if (content.empty()) {
      Fail(credential.Where(), key,
           shown + ": the file is empty or only whitespace");
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && (info.st_mode & S_IROTH) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o",
                    static_cast<unsigned>(info.st_mode & 07777));
      warnings->push_back(Message(credential.Where(), key,
                                  shown + ": is readable by every user (mode " +
                                      mode + "); chmod o-r it"));
    }
    return {Credential::Kind::kSecretKey, std::move(content)};
  }
  // secret_key_env
  const std::string shown =
      LooksLikeEnvName(text)
          ? "environment variable " + text
          : std::string(
                "the environment variable named by secret_key_env (name not "
                "shown: it is not like [A-Z_][A-Z0-9_]* and could be a "
                "secret)");
  std::optional<std::string> secret = env_ ? env_(text) : std::nullopt;
  if (!secret) Fail(credential.Where(), key, shown + " is not set");
  TrimWhitespace(&*secret);
  if (secret->empty()) {
    Fail(credential.Where(), key, shown + " is empty or only whitespace");
  }
  return {Credential::Kind::kSecretKey, std::move(*secret)};
}

void Parser::CheckCaFile(const Entry& entry, const std::string& key,
                         const std::string& path) const {
  const std::string shown =
      PathForMessage(entry.value.Scalar(), path, "ca_file");
  std::string content;
  if (auto error = detail::ReadFileCapped(path, kMaxCaFileBytes, &content)) {
    Fail(entry.Where(), key, shown + ": " + *error);
  }
  if (content.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    Fail(entry.Where(), key,
         shown + ": holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
}

AppConfig Parser::App(const YAML::Node& node, const std::string& path,
                      const WalkSettings& defaults,
                      const Origins& default_origins, YAML::Mark* sdkappid_mark,
                      std::vector<std::string>* warnings) const {
  if (!node.IsMap()) {
    Fail(node, path,
         "must be a map with sdkappid, region, ..., got " + Describe(node));
  }
  AppConfig app;
  app.walk = defaults;
  Origins origins = default_origins;
  std::vector<std::string_view> known(std::begin(kWalkKeys),
                                      std::end(kWalkKeys));
  known.insert(known.end(), std::begin(kAppOnlyKeys), std::end(kAppOnlyKeys));
  std::map<std::string, Entry> given;  // the keys this app sets, by name
  for (const Entry& entry : Entries(node, path)) {
    const std::string name = entry.key.Scalar();
    const std::string key = path + "." + Printable(name, kMaxKeyChars);
    if (WalkKey(name, entry, key, &app.walk, &origins)) {
      given.emplace(name, entry);
      continue;
    }
    if (name == "sdkappid") {
      if (IsPlain(entry.value) && LooksLikeInt(entry.value.Scalar()) &&
          entry.value.Scalar().front() == '-') {
        Fail(entry.Where(), key, "must be a positive integer");
      }
      app.sdkappid = Int(entry, key, 1, kMaxSdkAppId);
      *sdkappid_mark = entry.Where();
    } else if (name == "region") {
      const std::string written = String(entry, key);
      app.region = Lowercase(written);
      const auto endpoint = RegionEndpoint(app.region);
      if (!endpoint) {
        std::string valid;
        for (const auto& region : kRegions) {
          valid += (valid.empty() ? "" : ", ") + std::string(region.key);
        }
        std::string message = "unknown region";
        if (LooksLikeRegionName(written)) {
          message.append(" \"").append(written).append("\"");
        } else {
          message += " (not shown: it could be a secret)";
        }
        message.append("; valid: ")
            .append(valid)
            .append(" (or give endpoint:)");
        Fail(entry.Where(), key, message);
      }
      app.endpoint = *endpoint;
    } else if (name == "endpoint") {
      Result<std::string> endpoint = NormaliseEndpoint(String(entry, key));
      if (!endpoint.ok()) Fail(entry.Where(), key, endpoint.status().message());
      app.endpoint = std::move(endpoint).value();
    } else if (name == "identifier") {
      app.identifier = String(entry, key);
    } else if (name == "secret_key_file" || name == "secret_key_env" ||
               name == "usersig") {
      String(entry, key);  // type check now, resolve once the app is whole
    } else if (name == "ca_file") {
      app.ca_file = ResolvePath(String(entry, key));
      CheckCaFile(entry, key, app.ca_file);
    } else if (name == "insecure_skip_verify") {
      app.insecure_skip_verify = Bool(entry, key);
    } else if (name == "labels") {
      app.labels = Labels(entry, key);
    } else {
      UnknownKey(entry.key, key, name, known, /*in_defaults=*/false);
    }
    given.emplace(name, entry);
  }
  // The later of two keys in the file, so the message points at the extra one.
  const auto later = [](const Entry& a, const Entry& b) -> const Entry& {
    return a.key.Mark().pos > b.key.Mark().pos ? a : b;
  };

  if (!given.count("sdkappid")) {
    Fail(node, path + ".sdkappid", "missing; every app needs one");
  }
  if (given.count("region") && given.count("endpoint")) {
    const Entry& extra = later(given.at("region"), given.at("endpoint"));
    Fail(extra.key, path + "." + extra.key.Scalar(),
         "give region or endpoint, not both");
  }
  if (!given.count("region") && !given.count("endpoint")) {
    Fail(node, path + ".region",
         "missing; give region (e.g. singapore) or endpoint");
  }
  if (!given.count("identifier")) {
    Fail(node, path + ".identifier",
         "missing; give the App Administrator account");
  }

  CheckWalk(app.walk, origins, path, node.Mark());

  const Entry* credential = nullptr;
  for (const char* name : {"secret_key_file", "secret_key_env", "usersig"}) {
    const auto found = given.find(name);
    if (found == given.end()) continue;
    if (credential) {
      const Entry& extra = later(*credential, found->second);
      Fail(extra.key, path + "." + extra.key.Scalar(),
           "give only one of secret_key_file, secret_key_env, usersig");
    }
    credential = &found->second;
  }
  if (!credential) {
    Fail(node, path,
         "no credential; give one of secret_key_file, secret_key_env, "
         "usersig");
  }
  app.credential = ReadCredential(
      *credential, path + "." + credential->key.Scalar(), warnings);
  return app;
}

Config Parser::Parse(std::string_view text) {
  if (text.size() > kMaxConfigBytes) {
    Fail(YAML::Mark::null_mark(), "config", "larger than 1 MiB");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    Fail(e.mark, "yaml", "nested too deeply");
  } catch (const YAML::Exception& e) {
    Fail(e.mark, "yaml", "syntax error: " + e.msg);
  }
  const YAML::Mark start;  // line 1, column 1
  if (!root.IsDefined() || root.IsNull()) {
    Fail(start, "apps",
         "missing; the config is empty and needs at least one app");
  }
  if (!root.IsMap())
    Fail(root, "config", "must be a map with apps:, got " + Describe(root));

  Config config;
  config.file = file_;
  WalkSettings defaults;
  Origins default_origins;
  std::optional<Entry> apps_entry;
  for (const Entry& entry : Entries(root, "")) {
    const std::string name = entry.key.Scalar();
    if (name == "defaults") {
      if (entry.value.IsNull()) continue;
      if (!entry.value.IsMap()) {
        Fail(entry.Where(), "defaults",
             "must be a map, got " + Describe(entry.value));
      }
      for (const Entry& child : Entries(entry.value, "defaults")) {
        const std::string child_name = child.key.Scalar();
        const std::string key =
            "defaults." + Printable(child_name, kMaxKeyChars);
        if (!WalkKey(child_name, child, key, &defaults, &default_origins)) {
          UnknownKey(child.key, key, child_name,
                     {std::begin(kWalkKeys), std::end(kWalkKeys)},
                     /*in_defaults=*/true);
        }
      }
    } else if (name == "apps") {
      apps_entry = entry;
    } else {
      UnknownKey(entry.key, Printable(name, kMaxKeyChars), name,
                 {std::begin(kTopKeys), std::end(kTopKeys)}, false);
    }
  }
  if (!apps_entry) Fail(root, "apps", "missing; list at least one app");
  const YAML::Node& apps = apps_entry->value;
  if (apps.IsNull() || (apps.IsSequence() && apps.size() == 0)) {
    Fail(apps_entry->Where(), "apps", "is empty; list at least one app");
  }
  if (!apps.IsSequence()) {
    Fail(apps, "apps", "must be a list of apps, got " + Describe(apps));
  }

  std::map<std::int64_t, std::size_t> seen;
  for (std::size_t i = 0; i < apps.size(); ++i) {
    const std::string path = "apps[" + std::to_string(i) + "]";
    YAML::Mark sdkappid_mark;
    AppConfig app = App(apps[i], path, defaults, default_origins,
                        &sdkappid_mark, &config.warnings);
    const auto [it, fresh] = seen.emplace(app.sdkappid, i);
    if (!fresh) {
      Fail(sdkappid_mark, path + ".sdkappid",
           "duplicate: " + std::to_string(app.sdkappid) + " is also apps[" +
               std::to_string(it->second) + "]");
    }
    config.apps.push_back(std::move(app));
  }
  return config;
}

}  // namespace

std::string Config::Summary() const {
  std::string out =
      std::to_string(apps.size()) + (apps.size() == 1 ? " app" : " apps");
  for (std::size_t i = 0; i < apps.size(); ++i) {
    out += i == 0 ? ": " : ", ";
    out += std::to_string(apps[i].sdkappid) + " (" +
           (apps[i].region.empty() ? apps[i].endpoint : apps[i].region) + ")";
  }
  return out;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

Config ParseConfig(std::string_view text, const std::string& file,
                   const EnvLookup& env) {
  Parser parser(file, env);
  try {
    return parser.Parse(text);
  } catch (const ConfigError&) {
    throw;
  } catch (const YAML::Exception& e) {
    parser.Fail(e.mark, "yaml", e.msg);
  } catch (const std::exception& e) {
    parser.Fail(YAML::Mark::null_mark(), "config",
                std::string("cannot parse: ") + e.what());
  }
}

Config LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::string text;
  if (auto error = detail::ReadFileCapped(path, kMaxConfigBytes, &text)) {
    throw ConfigError(Printable(path, 4096) + ": " + *error);
  }
  return ParseConfig(text, path, env);
}

std::optional<Duration> ParseDuration(std::string_view text) {
  if (text == "0") return Duration(0);
  struct Unit {
    std::string_view suffix;
    std::int64_t ms;
  };
  // Largest first, as Prometheus requires; "ms" before "m" so the longer suffix
  // wins.
  static constexpr Unit kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000},
      {"w", 7LL * 24 * 3600 * 1000},
      {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},
      {"ms", 1},
      {"m", 60LL * 1000},
      {"s", 1000},
  };
  static constexpr int kOrder[] = {0, 1, 2, 3, 5, 6, 4};  // y w d h m s ms
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  int next_rank = 0;  // units must appear in kOrder order, each at most once
  while (!text.empty()) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
      ++digits;
    if (digits == 0) return std::nullopt;
    const auto number = ParseInt64(text.substr(0, digits));
    if (!number) return std::nullopt;
    text.remove_prefix(digits);
    int unit_index = -1;
    for (int i = 0; i < static_cast<int>(std::size(kUnits)); ++i) {
      const auto& unit = kUnits[i];
      if (text.substr(0, unit.suffix.size()) == unit.suffix) {
        unit_index = i;
        break;
      }
    }
    if (unit_index < 0) return std::nullopt;
    int rank = 0;
    while (kOrder[rank] != unit_index) ++rank;
    if (rank < next_rank) return std::nullopt;
    next_rank = rank + 1;
    const Unit& unit = kUnits[unit_index];
    text.remove_prefix(unit.suffix.size());
    if (*number >
        (std::numeric_limits<std::int64_t>::max() - total) / unit.ms) {
      return std::nullopt;
    }
    total += *number * unit.ms;
  }
  return Duration(total);
}

std::optional<std::string> RegionEndpoint(std::string_view region) {
  for (const auto& entry : kRegions) {
    if (entry.key == region) return "https://" + std::string(entry.host);
  }
  return std::nullopt;
}

}  // namespace tle
