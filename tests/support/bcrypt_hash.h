// Test support: a bcrypt hash made with libxcrypt, as htpasswd -B would write
// it into a web config's basic_auth_users.
#pragma once

#include <crypt.h>

#include <catch2/catch.hpp>
#include <string>

namespace tle::testing {

// "$2y$<cost>$..." for `password`; fails the test case when libxcrypt cannot.
inline std::string BcryptHash(const std::string& password, unsigned long cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2y$", cost, nullptr, 0, setting,
                           sizeof(setting)) != nullptr);
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), setting, &data);
  REQUIRE(hash != nullptr);
  REQUIRE(std::string(hash).rfind("$2y$", 0) == 0);
  return hash;
}

}  // namespace tle::testing
