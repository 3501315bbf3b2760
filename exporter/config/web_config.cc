// The web config stage: exporter-toolkit YAML -> WebConfig. See web_config.h.

#include "exporter/config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "exporter/config/config_text.h"

namespace tle {
namespace {

using detail::Printable;

constexpr std::size_t kMaxWebConfigBytes = std::size_t{1} << 20;  // 1 MiB

bool ValidBcrypt(const std::string& hash) {
  // $2a$ / $2b$ / $2y$, two-digit cost 04..31, 22 salt + 31 hash characters.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' ||
      hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9')
    return false;
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (std::size_t i = 7; i < hash.size(); ++i) {
    char c = hash[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

class WebParser {
 public:
  explicit WebParser(std::string file) : file_(std::move(file)) {
    std::filesystem::path path(file_);
    base_ = path.has_parent_path() ? path.parent_path()
                                   : std::filesystem::path(".");
  }

  [[noreturn]] void Fail(const YAML::Mark& mark, const std::string& key,
                         const std::string& message) const {
    throw ConfigError(
        detail::PositionedMessage(file_, mark.line, mark.column, key, message));
  }

  WebConfig Parse(std::string_view text) {
    if (text.size() > kMaxWebConfigBytes) {
      Fail(YAML::Mark::null_mark(), "web_config", "larger than 1 MiB");
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      Fail(e.mark, "yaml", "syntax error: " + e.msg);
    }
    WebConfig config;
    config.file = file_;
    if (!root.IsDefined() || root.IsNull())
      return config;  // empty: no TLS/auth
    if (!root.IsMap()) {
      Fail(root.Mark(), "web_config",
           "must be a map with tls_server_config: and/or basic_auth_users:");
    }
    for (const auto& [key, value] : Entries(root, "")) {
      const std::string name = key.Scalar();
      if (name == "tls_server_config") {
        if (value.IsNull()) continue;
        config.tls = Tls(value);
      } else if (name == "basic_auth_users") {
        if (value.IsNull()) continue;
        config.basic_auth_users = Users(value);
      } else if (name == "http_server_config") {
        Fail(key.Mark(), name,
             "not supported by this exporter (only tls_server_config and "
             "basic_auth_users)");
      } else {
        Fail(key.Mark(), Printable(name, 64),
             "unknown key (want tls_server_config or basic_auth_users)");
      }
    }
    return config;
  }

 private:
  std::vector<std::pair<YAML::Node, YAML::Node>> Entries(
      const YAML::Node& map, const std::string& path) const {
    std::vector<std::pair<YAML::Node, YAML::Node>> out;
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) Fail(key.Mark(), path, "keys must be plain strings");
      const std::string full =
          path.empty() ? key.Scalar() : path + "." + key.Scalar();
      if (!seen.insert(key.Scalar()).second) {
        Fail(key.Mark(), Printable(full, 128), "given twice");
      }
      out.emplace_back(key, it->second);
    }
    return out;
  }

  std::string String(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(node.Mark(), key, "must be a string");
    return node.Scalar();
  }

  std::string Path(const YAML::Node& node, const std::string& key) const {
    std::string value = String(node, key);
    if (value.empty()) Fail(node.Mark(), key, "must not be empty");
    std::filesystem::path path(value);
    if (path.is_relative()) path = base_ / path;
    return path.lexically_normal().string();
  }

  TlsServerConfig Tls(const YAML::Node& node) {
    const std::string section = "tls_server_config";
    if (!node.IsMap()) Fail(node.Mark(), section, "must be a map");
    TlsServerConfig tls;
    YAML::Node auth_node;
    YAML::Node ca_node;
    for (const auto& [key, value] : Entries(node, section)) {
      const std::string name = key.Scalar();
      const std::string full = section + "." + Printable(name, 64);
      if (name == "cert_file") {
        tls.cert_file = Path(value, full);
      } else if (name == "key_file") {
        tls.key_file = Path(value, full);
      } else if (name == "client_ca_file") {
        tls.client_ca_file = Path(value, full);
        ca_node = value;
      } else if (name == "client_auth_type") {
        auth_node = value;
        const std::string type = String(value, full);
        if (type == "NoClientCert" || type.empty()) {
          tls.client_auth_type = ClientAuthType::kNoClientCert;
        } else if (type == "RequestClientCert") {
          tls.client_auth_type = ClientAuthType::kRequestClientCert;
        } else if (type == "RequireAnyClientCert") {
          tls.client_auth_type = ClientAuthType::kRequireAnyClientCert;
        } else if (type == "VerifyClientCertIfGiven") {
          tls.client_auth_type = ClientAuthType::kVerifyClientCertIfGiven;
        } else if (type == "RequireAndVerifyClientCert") {
          tls.client_auth_type = ClientAuthType::kRequireAndVerifyClientCert;
        } else {
          Fail(value.Mark(), full,
               "unknown type \"" + Printable(type, 64) +
                   "\" (want NoClientCert, RequestClientCert, "
                   "RequireAnyClientCert, VerifyClientCertIfGiven or "
                   "RequireAndVerifyClientCert)");
        }
      } else if (name == "min_version") {
        const std::string version = String(value, full);
        if (version == "TLS12") {
          tls.tls13_minimum = false;
        } else if (version == "TLS13") {
          tls.tls13_minimum = true;
        } else {
          Fail(value.Mark(), full,
               "must be TLS12 or TLS13 (older versions are not served)");
        }
      } else {
        Fail(key.Mark(), full,
             "unknown or unsupported key (want cert_file, key_file, "
             "client_ca_file, client_auth_type or min_version)");
      }
    }
    if (tls.cert_file.empty())
      Fail(node.Mark(), section + ".cert_file", "missing");
    if (tls.key_file.empty())
      Fail(node.Mark(), section + ".key_file", "missing");
    bool verifies =
        tls.client_auth_type == ClientAuthType::kVerifyClientCertIfGiven ||
        tls.client_auth_type == ClientAuthType::kRequireAndVerifyClientCert;
    if (verifies && tls.client_ca_file.empty()) {
      Fail(auth_node.Mark(), section + ".client_ca_file",
           std::string("missing; ") + ClientAuthTypeName(tls.client_auth_type) +
               " verifies client certificates against it");
    }
    if (!tls.client_ca_file.empty() && !verifies) {
      Fail(ca_node.Mark(), section + ".client_auth_type",
           "client_ca_file is set but client_auth_type does not verify "
           "client certificates (want VerifyClientCertIfGiven or "
           "RequireAndVerifyClientCert)");
    }
    return tls;
  }

  std::map<std::string, std::string> Users(const YAML::Node& node) {
    const std::string section = "basic_auth_users";
    if (!node.IsMap())
      Fail(node.Mark(), section, "must be a map of user: bcrypt hash");
    std::map<std::string, std::string> users;
    for (const auto& [key, value] : Entries(node, section)) {
      const std::string user = key.Scalar();
      const std::string full = section + "." + Printable(user, 64);
      if (user.empty()) Fail(key.Mark(), section, "a user name is empty");
      if (user.find(':') != std::string::npos) {
        Fail(key.Mark(), full, "a user name cannot contain ':'");
      }
      const std::string hash = String(value, full);
      if (!ValidBcrypt(hash)) {
        Fail(value.Mark(), full,
             "must be a bcrypt hash ($2y$, $2b$ or $2a$, cost 04..31, 60 "
             "characters)");
      }
      users[user] = hash;
    }
    return users;
  }

  std::string file_;
  std::filesystem::path base_;
};

}  // namespace

const char* ClientAuthTypeName(ClientAuthType type) {
  switch (type) {
    case ClientAuthType::kNoClientCert:
      return "NoClientCert";
    case ClientAuthType::kRequestClientCert:
      return "RequestClientCert";
    case ClientAuthType::kRequireAnyClientCert:
      return "RequireAnyClientCert";
    case ClientAuthType::kVerifyClientCertIfGiven:
      return "VerifyClientCertIfGiven";
    case ClientAuthType::kRequireAndVerifyClientCert:
      return "RequireAndVerifyClientCert";
  }
  return "NoClientCert";
}

WebConfig ParseWebConfig(std::string_view text, const std::string& file) {
  try {
    return WebParser(file).Parse(text);
  } catch (const ConfigError&) {
    throw;
  } catch (const YAML::Exception& e) {
    WebParser(file).Fail(e.mark, "yaml", e.msg);
  }
}

WebConfig LoadWebConfigFile(const std::string& path) {
  std::string content;
  if (auto error = detail::ReadFileCapped(path, kMaxWebConfigBytes, &content)) {
    throw ConfigError(Printable(path, 4096) + ": web_config: " + *error);
  }
  return ParseWebConfig(content, path);
}

}  // namespace tle
