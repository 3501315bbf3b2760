// The web config stage: exporter-toolkit YAML -> WebConfig. See web_config.h.

#include "exporter/config/web_config.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "exporter/common/text.h"
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
  const std::optional<std::uint64_t> cost =
      ParseUint64(std::string_view(hash).substr(4, 2));
  if (!cost || *cost < 4 || *cost > 31) return false;
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
      } else if (name == "http_server_config" || name == "rate_limit") {
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

  bool Bool(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar()) {
      const std::string& v = node.Scalar();
      if (v == "true") return true;
      if (v == "false") return false;
    }
    Fail(node.Mark(), key, "must be true or false");
  }

  std::vector<YAML::Node> List(const YAML::Node& node,
                               const std::string& key) const {
    std::vector<YAML::Node> items;
    if (node.IsNull()) return items;
    if (!node.IsSequence()) Fail(node.Mark(), key, "must be a list");
    for (const YAML::Node& item : node) items.push_back(item);
    return items;
  }

  TlsVersion Version(const YAML::Node& node, const std::string& key) const {
    const std::string name = String(node, key);
    for (TlsVersion v : {TlsVersion::kTls10, TlsVersion::kTls11,
                         TlsVersion::kTls12, TlsVersion::kTls13}) {
      if (name == TlsVersionName(v)) return v;
    }
    Fail(node.Mark(), key,
         "unknown TLS version \"" + Printable(name, 64) +
             "\" (want TLS10, TLS11, TLS12 or TLS13)");
  }

  TlsServerConfig Tls(const YAML::Node& node) {
    const std::string section = "tls_server_config";
    if (!node.IsMap()) Fail(node.Mark(), section, "must be a map");
    TlsServerConfig tls;
    YAML::Node auth_node;
    YAML::Node ca_node;
    YAML::Node version_node;
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
        } else if (type == "RequireAnyClientCert" ||
                   type == "RequireClientCert") {  // exporter-toolkit's alias
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
        tls.min_version = Version(value, full);
        version_node = value;
      } else if (name == "max_version") {
        tls.max_version = Version(value, full);
        if (!version_node) version_node = value;
      } else if (name == "cipher_suites") {
        for (const YAML::Node& item : List(value, full)) {
          const std::string suite = String(item, full);
          if (!OpenSslCipherName(suite)) {
            Fail(item.Mark(), full,
                 "unknown or insecure cipher suite \"" + Printable(suite, 64) +
                     "\" (want a name of Go's tls.CipherSuites(), e.g. "
                     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
          }
          tls.cipher_suites.push_back(suite);
        }
      } else if (name == "prefer_server_cipher_suites") {
        tls.prefer_server_cipher_suites = Bool(value, full);
      } else if (name == "curve_preferences") {
        static const std::pair<const char*, const char*> kCurves[] = {
            {"X25519", "X25519"},
            {"CurveP256", "P-256"},
            {"CurveP384", "P-384"},
            {"CurveP521", "P-521"},
        };
        for (const YAML::Node& item : List(value, full)) {
          const std::string curve = String(item, full);
          const char* group = nullptr;
          for (const auto& [go_name, openssl_name] : kCurves) {
            if (curve == go_name) group = openssl_name;
          }
          if (group == nullptr) {
            Fail(item.Mark(), full,
                 "unknown curve \"" + Printable(curve, 64) +
                     "\" (want X25519, CurveP256, CurveP384 or CurveP521)");
          }
          tls.curve_preferences.emplace_back(group);
        }
      } else if (name == "cert" || name == "key" || name == "client_ca" ||
                 name == "client_allowed_sans") {
        Fail(key.Mark(), full,
             "not supported by this exporter (use cert_file, key_file and "
             "client_ca_file)");
      } else {
        Fail(key.Mark(), full,
             "unknown key (want cert_file, key_file, client_ca_file, "
             "client_auth_type, min_version, max_version, cipher_suites, "
             "prefer_server_cipher_suites or curve_preferences)");
      }
    }
    if (tls.cert_file.empty())
      Fail(node.Mark(), section + ".cert_file", "missing");
    if (tls.key_file.empty())
      Fail(node.Mark(), section + ".key_file", "missing");
    if (static_cast<int>(tls.min_version) > static_cast<int>(tls.max_version)) {
      Fail(version_node.Mark(), section + ".min_version",
           std::string(TlsVersionName(tls.min_version)) +
               " is above max_version " + TlsVersionName(tls.max_version));
    }
    bool verifies =
        tls.client_auth_type == ClientAuthType::kVerifyClientCertIfGiven ||
        tls.client_auth_type == ClientAuthType::kRequireAndVerifyClientCert;
    if (verifies && tls.client_ca_file.empty()) {
      Fail(auth_node.Mark(), section + ".client_ca_file",
           std::string("missing; ") + ClientAuthTypeName(tls.client_auth_type) +
               " verifies client certificates against it");
    }
    if (!tls.client_ca_file.empty() &&
        tls.client_auth_type == ClientAuthType::kNoClientCert) {
      Fail(ca_node.Mark(), section + ".client_auth_type",
           "client_ca_file is set but client_auth_type is NoClientCert "
           "(want RequireAndVerifyClientCert to check client certificates)");
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

namespace {

struct CipherName {
  const char* go;
  const char* openssl;  // "" for TLS 1.3 suites
};

// Go's tls.CipherSuites() (the suites it does not call insecure), with the
// OpenSSL name of each TLS 1.0-1.2 suite.
constexpr CipherName kCiphers[] = {
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
     "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
     "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
     "ECDHE-ECDSA-CHACHA20-POLY1305"},
};

}  // namespace

std::optional<std::string> OpenSslCipherName(std::string_view go_name) {
  for (const CipherName& c : kCiphers) {
    if (go_name == c.go) return std::string(c.openssl);
  }
  return std::nullopt;
}

bool IsStaticRsaCipher(std::string_view go_name) {
  return go_name.rfind("TLS_RSA_", 0) == 0;
}

const char* TlsVersionName(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return "TLS10";
    case TlsVersion::kTls11:
      return "TLS11";
    case TlsVersion::kTls12:
      return "TLS12";
    case TlsVersion::kTls13:
      return "TLS13";
  }
  return "TLS12";
}

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
