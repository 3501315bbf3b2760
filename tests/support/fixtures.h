// Test support: reading the fixture files under tests/fixtures/ (the
// TLE_FIXTURES_DIR every test is compiled with).
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>

namespace tle::testing {

// The bytes of tests/fixtures/answers/NAME (an upstream answer); fails the
// test case when the file cannot be read.
inline std::string ReadAnswer(const std::string& name) {
  const std::string path = std::string(TLE_FIXTURES_DIR) + "/answers/" + name;
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

}  // namespace tle::testing
