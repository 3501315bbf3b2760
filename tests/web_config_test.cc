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
  CHECK(config.tls->tls13_minimum);
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
                "  min_version: TLS11\n")
            .rfind("/etc/tle/web.yml:4:16: tls_server_config.min_version", 0) ==
        0);
  CHECK(ErrorOf("tls_server_config:\n  cipher_suites: [x]\n")
            .rfind("/etc/tle/web.yml:2:3: tls_server_config.cipher_suites",
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
