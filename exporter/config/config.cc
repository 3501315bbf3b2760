// The config stage: YAML text -> Config. See config.h.
//
// Every value is read from the YAML node tree by hand (never YAML::Node::as<>),
// so each mistake can name the exact node and no yaml-cpp exception escapes.
// Messages never contain a value that could be a secret: only key names,
// numbers we parsed ourselves, paths and environment variable names.

#include "exporter/config/config.h"

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
#include <limits>
#include <locale>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

#include "exporter/config/config_text.h"

namespace tle {
namespace {

using detail::Printable;

constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;   // 1 MiB
constexpr std::size_t kMaxSecretBytes = std::size_t{64} << 10;  // 64 KiB
constexpr std::size_t kMaxKeyChars =
    64;  // longer key names are cut in messages
constexpr double kApiQpsLimit = 10;
// Long enough for any sane setting, short enough that now() + d never overflows
// a nanosecond clock.
constexpr Duration kMaxDuration = std::chrono::hours(24 * 365 * 100);

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
constexpr std::string_view kWalkKeys[] = {
    "interval",   "request_timeout",       "page_size",
    "max_qps",    "allow_qps_above_limit", "max_retries",
    "max_pages",  "max_room_series",       "stale_after",
    "usersig_ttl"};
constexpr std::string_view kAppOnlyKeys[] = {
    "sdkappid",   "region",          "endpoint",
    "identifier", "secret_key_file", "secret_key_env",
    "usersig",    "ca_file",         "insecure_skip_verify"};

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

std::optional<std::int64_t> ParseInt(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
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
  out << value;
  return out.str();
}

// Validates `https://host[:port]` / `http://host[:port]` (one trailing "/"
// allowed) and returns the normalised form, or an error text that does not
// repeat the value (it could hold userinfo).
std::string NormaliseEndpoint(std::string_view text, std::string* error) {
  std::string scheme;
  const auto colon = text.find("://");
  if (colon != std::string_view::npos) {
    for (char c : text.substr(0, colon)) {
      scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  }
  if (scheme != "https" && scheme != "http") {
    *error = "must start with https:// (or http:// for a local fake)";
    return {};
  }
  std::string_view rest = text.substr(colon + 3);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    *error = "must be scheme://host[:port] with no path, query or fragment";
    return {};
  }
  if (rest.find('@') != std::string_view::npos) {
    *error = "must not carry user information (user:password@)";
    return {};
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // IPv6 literal
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      *error = "has an unterminated [IPv6] host";
      return {};
    }
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        *error = "has text after the [IPv6] host";
        return {};
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
      *error = "has an invalid [IPv6] host";
      return {};
    }
  } else {
    const auto port_colon = rest.find(':');
    if (port_colon != std::string_view::npos) {
      host = rest.substr(0, port_colon);
      port = rest.substr(port_colon + 1);
      if (port.empty()) port = ":";
    }
    if (host.empty()) {
      *error = "has an empty host";
      return {};
    }
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
                 c == '.' || c == '_';
        })) {
      *error = "has an invalid host name";
      return {};
    }
  }
  if (!port.empty()) {
    const auto number =
        LooksLikeInt(port) && port.front() != '-' && port.front() != '+'
            ? ParseInt(port)
            : std::nullopt;
    if (!number || *number < 1 || *number > 65535) {
      *error = "has an invalid port (1..65535)";
      return {};
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

// One parse: the file name for messages and helpers that read typed values off
// nodes.
class Parser {
 public:
  Parser(std::string file, const EnvLookup& env)
      : file_(std::move(file)), env_(env) {}

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& message) const {
    throw ConfigError(
        detail::PositionedMessage(file_, mark.line, mark.column, key, message));
  }
  [[noreturn]] void Fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    Fail(node.Mark(), key, message);
  }

  Config Parse(std::string_view text);

 private:
  // The keys of one map in file order, with duplicate and non-scalar keys
  // refused.
  std::vector<Entry> Entries(const YAML::Node& map,
                             const std::string& path) const;
  [[noreturn]] void UnknownKey(const YAML::Node& key_node,
                               const std::string& key_path,
                               const std::string& key, bool in_app,
                               bool in_defaults) const;

  std::int64_t Int(const Entry& entry, const std::string& key, std::int64_t min,
                   std::int64_t max) const;
  double Number(const Entry& entry, const std::string& key) const;
  bool Bool(const Entry& entry, const std::string& key) const;
  Duration DurationValue(const Entry& entry, const std::string& key,
                         Duration min) const;
  std::string String(const Entry& entry, const std::string& key) const;

  // Applies one walk key; false when `name` is not a walk key.
  bool WalkKey(const std::string& name, const Entry& value,
               const std::string& key, WalkSettings* walk) const;
  AppConfig App(const YAML::Node& node, const std::string& path,
                const WalkSettings& defaults, YAML::Mark* sdkappid_mark) const;
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
                        const std::string& key, bool in_app,
                        bool in_defaults) const {
  if (in_defaults && std::find(std::begin(kAppOnlyKeys), std::end(kAppOnlyKeys),
                               key) != std::end(kAppOnlyKeys)) {
    Fail(key_node, key_path,
         "unknown key in defaults; " + key + " can only be set per app");
  }
  std::vector<std::string_view> known;
  if (in_app || in_defaults)
    known.insert(known.end(), std::begin(kWalkKeys), std::end(kWalkKeys));
  if (in_app)
    known.insert(known.end(), std::begin(kAppOnlyKeys), std::end(kAppOnlyKeys));
  if (!in_app && !in_defaults)
    known.assign(std::begin(kTopKeys), std::end(kTopKeys));
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
  const bool unbounded = max >= std::numeric_limits<int>::max();
  if (!value || *value < min || *value > max) {
    const std::string got =
        value ? std::to_string(*value) : std::string("a number out of range");
    if (!unbounded) {
      Fail(entry.Where(), key,
           "must be between " + std::to_string(min) + " and " +
               std::to_string(max) + ", got " + got);
    }
    if (value && *value < min) {
      Fail(entry.Where(), key,
           "must be at least " + std::to_string(min) + ", got " + got);
    }
    Fail(entry.Where(), key,
         "is too large (at most " + std::to_string(max) + ")");
  }
  return *value;
}

double Parser::Number(const Entry& entry, const std::string& key) const {
  const YAML::Node& node = entry.value;
  double value = 0;
  bool ok = IsPlain(node);
  if (ok) {
    std::string_view text = node.Scalar();
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value,
                        std::chars_format::fixed);
    ok = !text.empty() && ec == std::errc() &&
         end == text.data() + text.size() && std::isfinite(value);
  }
  if (!ok) Fail(entry.Where(), key, "must be a number, got " + Describe(node));
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
                               Duration min) const {
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
  if (*value < min) {
    Fail(entry.Where(), key,
         min.count() <= 1
             ? "must be greater than 0"
             : "must be at least " + std::to_string(min.count() / 1000) + "s");
  }
  if (*value > kMaxDuration) Fail(entry.Where(), key, "must be at most 100y");
  return *value;
}

std::string Parser::String(const Entry& entry, const std::string& key) const {
  const YAML::Node& node = entry.value;
  if (!node.IsScalar())
    Fail(entry.Where(), key, "must be a string, got " + Describe(node));
  if (node.Scalar().empty()) Fail(entry.Where(), key, "must not be empty");
  return node.Scalar();
}

bool Parser::WalkKey(const std::string& name, const Entry& value,
                     const std::string& key, WalkSettings* walk) const {
  constexpr auto kIntMax = std::numeric_limits<int>::max();
  constexpr Duration kPositive(1);
  if (name == "interval") {
    walk->interval = DurationValue(value, key, kPositive);
  } else if (name == "request_timeout") {
    walk->request_timeout = DurationValue(value, key, kPositive);
  } else if (name == "page_size") {
    walk->page_size = static_cast<int>(Int(value, key, 1, 20));
  } else if (name == "max_qps") {
    walk->max_qps = Number(value, key);
    if (walk->max_qps <= 0) {
      Fail(value.Where(), key,
           "must be greater than 0, got " + FormatNumber(walk->max_qps));
    }
  } else if (name == "allow_qps_above_limit") {
    walk->allow_qps_above_limit = Bool(value, key);
  } else if (name == "max_retries") {
    walk->max_retries = static_cast<int>(Int(value, key, 0, 100));
  } else if (name == "max_pages") {
    walk->max_pages = static_cast<int>(Int(value, key, 1, kIntMax));
  } else if (name == "max_room_series") {
    walk->max_room_series = static_cast<int>(Int(value, key, 0, kIntMax));
  } else if (name == "stale_after") {
    walk->stale_after = DurationValue(value, key, kPositive);
  } else if (name == "usersig_ttl") {
    walk->usersig_ttl = DurationValue(value, key, std::chrono::minutes(1));
  } else {
    return false;
  }
  return true;
}

std::string Parser::ResolvePath(const std::string& path) const {
  const std::filesystem::path given(path);
  if (given.is_absolute()) return path;
  const std::filesystem::path dir = std::filesystem::path(file_).parent_path();
  if (dir.empty()) return path;
  return (dir / given).string();
}

std::string QpsMessage(double qps) {
  return FormatNumber(qps) + " is above the API's limit of 10 calls/s; set " +
         "allow_qps_above_limit: true only if Tencent raised your limit";
}

AppConfig Parser::App(const YAML::Node& node, const std::string& path,
                      const WalkSettings& defaults,
                      YAML::Mark* sdkappid_mark) const {
  if (!node.IsMap()) {
    Fail(node, path,
         "must be a map with sdkappid, region, ..., got " + Describe(node));
  }
  AppConfig app;
  app.walk = defaults;
  std::map<std::string, Entry> given;  // the keys this app sets, by name
  for (const Entry& entry : Entries(node, path)) {
    const std::string name = entry.key.Scalar();
    const std::string key = path + "." + Printable(name, kMaxKeyChars);
    if (WalkKey(name, entry, key, &app.walk)) {
      given.emplace(name, entry);
      continue;
    }
    if (name == "sdkappid") {
      if (IsPlain(entry.value) && LooksLikeInt(entry.value.Scalar()) &&
          entry.value.Scalar().front() == '-') {
        Fail(entry.Where(), key, "must be a positive integer");
      }
      app.sdkappid =
          Int(entry, key, 1, std::numeric_limits<std::int64_t>::max());
      *sdkappid_mark = entry.Where();
    } else if (name == "region") {
      app.region = String(entry, key);
      const auto endpoint = RegionEndpoint(app.region);
      if (!endpoint) {
        std::string known;
        for (const auto& region : kRegions) {
          known += (known.empty() ? "" : ", ") + std::string(region.key);
        }
        Fail(entry.Where(), key,
             "unknown region; use one of " + known + ", or endpoint:");
      }
      app.endpoint = *endpoint;
    } else if (name == "endpoint") {
      std::string error;
      app.endpoint = NormaliseEndpoint(String(entry, key), &error);
      if (!error.empty()) Fail(entry.Where(), key, error);
    } else if (name == "identifier") {
      app.identifier = String(entry, key);
    } else if (name == "secret_key_file" || name == "secret_key_env" ||
               name == "usersig") {
      String(entry, key);  // type check now, resolve once the app is whole
    } else if (name == "ca_file") {
      app.ca_file = ResolvePath(String(entry, key));
    } else if (name == "insecure_skip_verify") {
      app.insecure_skip_verify = Bool(entry, key);
    } else {
      UnknownKey(entry.key, key, name, /*in_app=*/true, /*in_defaults=*/false);
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

  if (app.walk.max_qps > kApiQpsLimit && !app.walk.allow_qps_above_limit) {
    const auto max_qps = given.find("max_qps");
    if (max_qps != given.end()) {
      Fail(max_qps->second.Where(), path + ".max_qps",
           QpsMessage(app.walk.max_qps));
    }
    // Raised and allowed in defaults, but this app withdrew the permission.
    Fail(given.at("allow_qps_above_limit").key, path + ".allow_qps_above_limit",
         "is false but max_qps " + FormatNumber(app.walk.max_qps) +
             " from defaults is above 10");
  }

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
  const std::string which = credential->key.Scalar();
  const std::string key = path + "." + which;
  const std::string& text = credential->value.Scalar();
  if (which == "secret_key_file") {
    const std::string secret_path = ResolvePath(text);
    std::string content;
    if (auto error =
            detail::ReadFileCapped(secret_path, kMaxSecretBytes, &content)) {
      Fail(credential->Where(), key,
           Printable(secret_path, 1024) + ": " + *error);
    }
    while (!content.empty() &&
           std::isspace(static_cast<unsigned char>(content.back()))) {
      content.pop_back();
    }
    if (content.empty()) {
      Fail(credential->Where(), key,
           Printable(secret_path, 1024) + ": the file is empty");
    }
    app.credential = {Credential::Kind::kSecretKey, std::move(content)};
  } else if (which == "secret_key_env") {
    std::optional<std::string> secret = env_ ? env_(text) : std::nullopt;
    if (!secret) {
      Fail(credential->Where(), key,
           "environment variable " + Printable(text, 256) + " is not set");
    }
    if (secret->empty()) {
      Fail(credential->Where(), key,
           "environment variable " + Printable(text, 256) + " is empty");
    }
    app.credential = {Credential::Kind::kSecretKey, std::move(*secret)};
  } else {
    app.credential = {Credential::Kind::kStaticUserSig, text};
  }
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
  YAML::Mark defaults_max_qps;
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
        if (!WalkKey(child_name, child, key, &defaults)) {
          UnknownKey(child.key, key, child_name, /*in_app=*/false,
                     /*in_defaults=*/true);
        }
        if (child_name == "max_qps") defaults_max_qps = child.Where();
      }
    } else if (name == "apps") {
      apps_entry = entry;
    } else {
      UnknownKey(entry.key, Printable(name, kMaxKeyChars), name, false, false);
    }
  }
  if (defaults.max_qps > kApiQpsLimit && !defaults.allow_qps_above_limit) {
    Fail(defaults_max_qps, "defaults.max_qps", QpsMessage(defaults.max_qps));
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
    AppConfig app = App(apps[i], path, defaults, &sdkappid_mark);
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
    std::int64_t number = 0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + digits, number);
    if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
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
    if (number > (std::numeric_limits<std::int64_t>::max() - total) / unit.ms) {
      return std::nullopt;
    }
    total += number * unit.ms;
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
