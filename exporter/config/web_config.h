// The web config file (--web.config.file), in Prometheus exporter-toolkit's
// format: `tls_server_config` (serve HTTPS, optionally with client
// certificates) and `basic_auth_users` (user -> bcrypt hash).
//
// Parsing only: this stage checks the YAML's shape and values and resolves
// relative paths against the file's folder; loading the certificates and
// checking passwords is the web server's job. yaml-cpp stays inside
// web_config.cc. A WebConfig is a plain value, immutable once loaded, and may
// be read from any thread. Mistakes throw ConfigError with the same
// "FILE:LINE:COLUMN: KEY: what" form as the main config; messages never repeat
// a password hash.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/config/config.h"

namespace tle {

// Go's tls.ClientAuthType names, as exporter-toolkit spells them.
enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

const char* ClientAuthTypeName(ClientAuthType type);

struct TlsServerConfig {
  std::string cert_file;       // PEM certificate (chain); absolute path
  std::string key_file;        // PEM private key; absolute path
  std::string client_ca_file;  // PEM CAs for client certificates; may be empty
  ClientAuthType client_auth_type = ClientAuthType::kNoClientCert;
  bool tls13_minimum = false;  // min_version: TLS13 (default TLS12)
};

struct WebConfig {
  std::string file;                    // where it came from, for messages
  std::optional<TlsServerConfig> tls;  // nullopt: plain HTTP
  // user -> bcrypt hash ($2a$, $2b$ or $2y$); empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
};

// Parses web config text; relative file paths are taken from `file`'s folder.
// Throws ConfigError on any mistake.
WebConfig ParseWebConfig(std::string_view text, const std::string& file);

// Reads and parses a web config file; throws ConfigError (also when the file
// cannot be read).
WebConfig LoadWebConfigFile(const std::string& path);

}  // namespace tle
