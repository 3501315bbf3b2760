// The web config file (--web.config.file), in Prometheus exporter-toolkit's
// format: `tls_server_config` (serve HTTPS, optionally with client
// certificates) and `basic_auth_users` (user -> bcrypt hash).
//
// tls_server_config takes exporter-toolkit's keys with its names and defaults:
// cert_file, key_file, client_ca_file, client_auth_type (Go's five
// tls.ClientAuthType names, plus the old alias RequireClientCert), min_version
// and max_version (TLS10..TLS13, default TLS12..TLS13), cipher_suites (Go's
// crypto/tls names of tls.CipherSuites(), which leaves out the insecure ones),
// prefer_server_cipher_suites (default true) and curve_preferences (X25519,
// CurveP256, CurveP384, CurveP521). Its inline `cert`, `key`, `client_ca` and
// `client_allowed_sans`, and the http_server_config and rate_limit sections,
// are refused as unsupported rather than ignored.
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
#include <vector>

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

// TLS protocol versions; the values are the wire (and OpenSSL) version numbers.
enum class TlsVersion {
  kTls10 = 0x0301,
  kTls11 = 0x0302,
  kTls12 = 0x0303,
  kTls13 = 0x0304,
};

const char* TlsVersionName(TlsVersion version);  // "TLS12"

// The OpenSSL name of a Go TLS 1.0-1.2 cipher suite name
// ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" -> "ECDHE-RSA-AES128-GCM-SHA256"),
// "" for Go's TLS 1.3 names (not configurable, as in Go), nullopt when Go does
// not offer the name (unknown, or one of tls.InsecureCipherSuites()).
std::optional<std::string> OpenSslCipherName(std::string_view go_name);

// True when a Go cipher suite name uses RSA key exchange (no forward secrecy).
bool IsStaticRsaCipher(std::string_view go_name);

struct TlsServerConfig {
  std::string cert_file;       // PEM certificate (chain); absolute path
  std::string key_file;        // PEM private key; absolute path
  std::string client_ca_file;  // PEM CAs for client certificates; may be empty
  ClientAuthType client_auth_type = ClientAuthType::kNoClientCert;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // Go names, validated, in the order given; empty: the default list (ECDHE
  // suites only, so every TLS 1.2 session is forward secret).
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  // OpenSSL group names in preference order ("X25519", "P-256", ...); empty:
  // X25519, P-256, P-384, P-521 (Go's default order).
  std::vector<std::string> curve_preferences;
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
