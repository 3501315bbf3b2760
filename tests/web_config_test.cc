// The web config parser: exporter-toolkit's keys, paths resolved against the
// file, and FILE:LINE:COLUMN: KEY errors that never repeat a hash.
#include "exporter/config/web_config.h"

#include <catch2/catch.hpp>

namespace tle {
namespace {

const std::string kHash =
    "$2y$10$Ql8m1lWyC0Uk0pJbGq1fXe3c0a7Hh0L9yq4b5Q6zWQ9p4l6v4kq5W";

std::string ErrorOf(const std::string& text) {
  try {
    ParseWebConfig(text, "/etc/tle/web.yml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("web config: every key of tls_server_config and basic_auth_users") {
  WebConfig config = ParseWebConfig(
      "tls_server_config:\n"
      "  cert_file: certs/server.crt\n"
      "  key_file: /abs/server.key\n"
      "  client_ca_file: ../ca.crt\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  min_version: TLS13\n"
      "basic_auth_users:\n"
      "  alice: " +
          kHash + "\n  bob: '$2b$" + kHash.substr(4) + "'\n",
      "/etc/tle/web.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == "/etc/tle/certs/server.crt");
  CHECK(config.tls->key_file == "/abs/server.key");
  CHECK(config.tls->client_ca_file == "/etc/ca.crt");
  CHECK(config.tls->client_auth_type ==
        ClientAuthType::kRequireAndVerifyClientCert);
  CHECK(config.tls->min_version == TlsVersion::kTls13);
  CHECK(config.basic_auth_users.size() == 2);
  CHECK(config.basic_auth_users.at("alice") == kHash);
}

TEST_CASE("web config: empty file means plain HTTP without auth") {
  WebConfig config = ParseWebConfig("", "web.yml");
  CHECK(!config.tls);
  CHECK(config.basic_auth_users.empty());
  CHECK(!ParseWebConfig("tls_server_config:\n", "web.yml").tls);
}

TEST_CASE("web config: client auth types map to their names") {
  for (const char* name :
       {"NoClientCert", "RequestClientCert", "RequireAnyClientCert"}) {
    WebConfig config = ParseWebConfig(
        std::string("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  client_auth_type: ") +
            name + "\n",
        "w.yml");
    CHECK(std::string(ClientAuthTypeName(config.tls->client_auth_type)) ==
          name);
  }
}

TEST_CASE("web config: mistakes name file, line, column and key") {
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n") ==
        "/etc/tle/web.yml:2:3: tls_server_config.key_file: missing");
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_auth_type: RequireAndVerifyClientCert\n")
            .rfind("/etc/tle/web.yml:4:21: tls_server_config.client_ca_file: "
                   "missing",
                   0) == 0);
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_ca_file: c\n")
            .rfind("/etc/tle/web.yml:4:19: tls_server_config.client_auth_type",
                   0) == 0);
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_auth_type: Maybe\n")
            .rfind("/etc/tle/web.yml:4:21: tls_server_config.client_auth_type: "
                   "unknown type \"Maybe\"",
                   0) == 0);
  CHECK(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  min_version: TLS1.2\n")
            .rfind("/etc/tle/web.yml:4:16: tls_server_config.min_version", 0) ==
        0);
  CHECK(ErrorOf("tls_server_config:\n  cipher_suites: [x]\n")
            .rfind("/etc/tle/web.yml:2:19: tls_server_config.cipher_suites: "
                   "unknown or insecure cipher suite \"x\"",
                   0) == 0);
  CHECK(ErrorOf("basic_auth_user:\n  a: b\n")
            .rfind("/etc/tle/web.yml:1:1: basic_auth_user: unknown key", 0) ==
        0);
  CHECK(ErrorOf("basic_auth_users:\n  a: b\n  a: c\n")
            .rfind("/etc/tle/web.yml:3:3: basic_auth_users.a: given twice",
                   0) == 0);
  CHECK(ErrorOf("basic_auth_users: [a]\n")
            .rfind("/etc/tle/web.yml:1:19: basic_auth_users", 0) == 0);
  CHECK(ErrorOf("tls_server_config: [\n").find("yaml") != std::string::npos);
}

TEST_CASE("web config: exporter-toolkit's TLS settings") {
  WebConfig config = ParseWebConfig(
      "tls_server_config:\n"
      "  cert_file: a\n  key_file: b\n"
      "  min_version: TLS10\n  max_version: TLS12\n"
      "  cipher_suites:\n"
      "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
      "    - TLS_AES_128_GCM_SHA256\n"
      "    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
      "  prefer_server_cipher_suites: false\n"
      "  curve_preferences: [CurveP384, X25519]\n",
      "w.yml");
  REQUIRE(config.tls);
  CHECK(config.tls->min_version == TlsVersion::kTls10);
  CHECK(config.tls->max_version == TlsVersion::kTls12);
  CHECK(config.tls->cipher_suites ==
        std::vector<std::string>{
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"});
  CHECK(!config.tls->prefer_server_cipher_suites);
  CHECK(config.tls->curve_preferences ==
        std::vector<std::string>{"P-384", "X25519"});

  WebConfig defaults = ParseWebConfig(
      "tls_server_config:\n  cert_file: a\n  key_file: b\n", "w.yml");
  CHECK(defaults.tls->min_version == TlsVersion::kTls12);
  CHECK(defaults.tls->max_version == TlsVersion::kTls13);
  CHECK(defaults.tls->cipher_suites.empty());
  CHECK(defaults.tls->prefer_server_cipher_suites);
  CHECK(defaults.tls->curve_preferences.empty());

  // exporter-toolkit's old name for RequireAnyClientCert; a CA file may come
  // with the types that ask for a certificate without checking it.
  WebConfig alias = ParseWebConfig(
      "tls_server_config:\n  cert_file: a\n  key_file: b\n"
      "  client_auth_type: RequireClientCert\n  client_ca_file: ca.crt\n",
      "/w/w.yml");
  CHECK(alias.tls->client_auth_type == ClientAuthType::kRequireAnyClientCert);
  CHECK(alias.tls->client_ca_file == "/w/ca.crt");
}

TEST_CASE("web config: cipher names are Go's, and Go's insecure ones refused") {
  CHECK(OpenSslCipherName("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") ==
        "ECDHE-RSA-AES128-GCM-SHA256");
  CHECK(OpenSslCipherName("TLS_RSA_WITH_AES_128_CBC_SHA") == "AES128-SHA");
  CHECK(OpenSslCipherName("TLS_CHACHA20_POLY1305_SHA256") == "");
  CHECK(!OpenSslCipherName("TLS_RSA_WITH_RC4_128_SHA"));
  CHECK(!OpenSslCipherName("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"));
  CHECK(!OpenSslCipherName("ECDHE-RSA-AES128-GCM-SHA256"));  // OpenSSL's name
  CHECK(IsStaticRsaCipher("TLS_RSA_WITH_AES_128_GCM_SHA256"));
  CHECK(!IsStaticRsaCipher("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
  const std::string head =
      "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  CHECK(ErrorOf(head + "  cipher_suites: [TLS_RSA_WITH_3DES_EDE_CBC_SHA]\n")
            .rfind("/etc/tle/web.yml:4:19: tls_server_config.cipher_suites: "
                   "unknown or insecure",
                   0) == 0);
  CHECK(ErrorOf(head + "  cipher_suites: TLS_AES_128_GCM_SHA256\n")
            .rfind("/etc/tle/web.yml:4:18: tls_server_config.cipher_suites: "
                   "must be a list",
                   0) == 0);
  CHECK(
      ErrorOf(head + "  curve_preferences: [CurveP224]\n")
          .rfind("/etc/tle/web.yml:4:23: tls_server_config.curve_preferences: "
                 "unknown curve \"CurveP224\"",
                 0) == 0);
  CHECK(ErrorOf(head + "  max_version: TLS14\n")
            .rfind("/etc/tle/web.yml:4:16: tls_server_config.max_version: "
                   "unknown TLS version",
                   0) == 0);
  CHECK(ErrorOf(head + "  min_version: TLS13\n  max_version: TLS12\n")
            .rfind("/etc/tle/web.yml:4:16: tls_server_config.min_version: "
                   "TLS13 is above max_version TLS12",
                   0) == 0);
  CHECK(ErrorOf(head + "  prefer_server_cipher_suites: yes please\n")
            .rfind("/etc/tle/web.yml:4:32: "
                   "tls_server_config.prefer_server_cipher_suites: must be "
                   "true or false",
                   0) == 0);
  CHECK(ErrorOf(head + "  cert: inline\n").find("not supported") !=
        std::string::npos);
  CHECK(ErrorOf(head + "  client_allowed_sans: [a]\n").find("not supported") !=
        std::string::npos);
  CHECK(ErrorOf("rate_limit:\n  burst: 1\n").find("not supported") !=
        std::string::npos);
}

TEST_CASE("web config: a bad hash is refused without being repeated") {
  const std::string plain = "hunter2-plaintext-password";
  std::string error = ErrorOf("basic_auth_users:\n  alice: " + plain + "\n");
  CHECK(error.rfind("/etc/tle/web.yml:2:10: basic_auth_users.alice: must be "
                    "a bcrypt hash",
                    0) == 0);
  CHECK(error.find(plain) == std::string::npos);
  // $2x$ (the buggy variant), a cost out of range and a short hash.
  CHECK(!ErrorOf("basic_auth_users:\n  a: '$2x$" + kHash.substr(4) + "'\n")
             .empty());
  CHECK(!ErrorOf("basic_auth_users:\n  a: '$2y$03$" + kHash.substr(7) + "'\n")
             .empty());
  CHECK(!ErrorOf("basic_auth_users:\n  a: '" + kHash.substr(0, 59) + "'\n")
             .empty());
}

TEST_CASE("web config: an unreadable file names the path") {
  CHECK_THROWS_WITH(LoadWebConfigFile("/nonexistent/web.yml"),
                    Catch::StartsWith("/nonexistent/web.yml: web_config: "
                                      "cannot read"));
}

}  // namespace tle
