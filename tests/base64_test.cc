// The shared standard base64 codec (RFC 4648 test vectors and what strict
// decoding refuses).
#include "exporter/common/base64.h"

#include <catch2/catch.hpp>

namespace tle {
namespace {

TEST_CASE("RFC 4648 vectors round-trip") {
  const std::pair<const char*, const char*> kVectors[] = {
      {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : kVectors) {
    CHECK(Base64Encode(plain) == encoded);
    CHECK(Base64Decode(encoded) == std::optional<std::string>(plain));
  }
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  CHECK(Base64Decode(Base64Encode(bytes)) == std::optional<std::string>(bytes));
}

TEST_CASE("strict decoding refuses malformed text") {
  for (const char* bad : {"", "Zg", "Zg=", "Z===", "Zg=a",
                          "Zm9v!A==", "Zg==Zg==", "Zm*v", "Zm-v"}) {
    INFO(bad);
    CHECK_FALSE(Base64Decode(bad).has_value());
  }
}

}  // namespace
}  // namespace tle
