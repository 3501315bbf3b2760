// The web stage's pure parts: --web.listen-address parsing and the
// Authorization header's basic credentials.
#include "exporter/web/web_server.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "exporter/web/internal/basic_auth.h"
#include "tests/support/bcrypt_hash.h"

namespace tle {
namespace {

TEST_CASE("listen addresses: host:port, :port and [v6]:port", "[unit]") {
  struct Case {
    const char* text;
    const char* host;
    int port;
  };
  const Case kGood[] = {
      {":9877", "0.0.0.0", 9877},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"localhost:65535", "localhost", 65535},
      {"[::1]:80", "::1", 80},
      {"[::]:9877", "::", 9877},
  };
  for (const Case& c : kGood) {
    INFO(c.text);
    const Result<ListenAddress> address = ParseListenAddress(c.text);
    REQUIRE(address.ok());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
  }
}

TEST_CASE("malformed listen addresses say what is wrong", "[unit]") {
  const std::pair<const char*, const char*> kBad[] = {
      {"9877", "no port"},
      {"host:", "the port is not 0..65535"},
      {":65536", "the port is not 0..65535"},
      {":-1", "the port is not 0..65535"},
      {":+80", "the port is not 0..65535"},
      {": 80", "the port is not 0..65535"},
      {":99999999999999999999", "the port is not 0..65535"},
      {"::1:80", "an IPv6 host goes in [brackets]"},
  };
  for (const auto& [text, why] : kBad) {
    INFO(text);
    const Result<ListenAddress> address = ParseListenAddress(text);
    REQUIRE_FALSE(address.ok());
    CHECK(address.status().message() ==
          "\"" + std::string(text) + "\": " + why +
              " (want host:port, :port or [v6]:port)");
  }
}

TEST_CASE("basic credentials come from a Basic Authorization header only",
          "[unit]") {
  // "alice:open sesame" and "bob:" (an empty password is still a password).
  const std::optional<web::Credentials> alice =
      web::Credentials::FromHeader("Basic YWxpY2U6b3BlbiBzZXNhbWU=");
  REQUIRE(alice.has_value());
  CHECK(alice->user() == "alice");
  CHECK(alice->password() == "open sesame");
  const std::optional<web::Credentials> bob =
      web::Credentials::FromHeader("basic Ym9iOg==");
  REQUIRE(bob.has_value());
  CHECK(bob->user() == "bob");
  CHECK(bob->password().empty());

  for (const char* bad : {"", "Basic ", "Bearer YWxpY2U6eA==",
                          "Basic YWxpY2U=",  // "alice": no colon
                          "Basic !!!!"}) {
    INFO(bad);
    CHECK_FALSE(web::Credentials::FromHeader(bad).has_value());
  }
}

TEST_CASE("basic auth: one bcrypt per check that is not cached", "[unit]") {
  // Cost 4 keeps the test quick; bob's cost 6 is the highest in the file.
  web::BasicAuth auth({{"alice", testing::BcryptHash("open sesame", 4)},
                       {"bob", testing::BcryptHash("hunter2", 6)}});
  REQUIRE(auth.enabled());
  CHECK(auth.users() == 2);
  // An unknown user is checked against a hash as costly as the costliest
  // user's, so its answer does not say that the user does not exist.
  CHECK(auth.unknown_user_cost() == 6);

  const web::Credentials right("alice", "open sesame");
  const web::Credentials wrong("alice", "open sesamE");
  const web::Credentials unknown("mallory", "open sesame");
  CHECK_FALSE(auth.CheckCached(right));
  CHECK(auth.bcrypt_runs() == 0);

  CHECK(auth.Verify(right));
  CHECK(auth.bcrypt_runs() == 1);
  CHECK(auth.CheckCached(right));
  CHECK(auth.Verify(right));  // from the cache
  CHECK(auth.bcrypt_runs() == 1);

  CHECK_FALSE(auth.CheckCached(wrong));
  CHECK_FALSE(auth.Verify(wrong));
  CHECK(auth.bcrypt_runs() == 2);
  CHECK_FALSE(auth.Verify(wrong));  // a failure is never cached
  CHECK(auth.bcrypt_runs() == 3);

  CHECK_FALSE(auth.CheckCached(unknown));
  CHECK_FALSE(auth.Verify(unknown));
  CHECK(auth.bcrypt_runs() == 4);

  // The wrong password did not displace the verified one.
  CHECK(auth.CheckCached(right));
  CHECK_FALSE(auth.CheckCached(web::Credentials("bob", "open sesame")));
}

TEST_CASE("basic auth without users is off", "[unit]") {
  web::BasicAuth auth({});
  CHECK_FALSE(auth.enabled());
  CHECK(auth.unknown_user_cost() == 0);
}

}  // namespace
}  // namespace tle
