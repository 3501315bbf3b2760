// Status and Result<T>: OK and error states, messages, value access, and that
// an error can never pass for success.
#include "exporter/common/status.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>

namespace tle {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::Error(std::to_string(n) + " is odd");
  return n / 2;
}

TEST_CASE("Status is OK by default and an error with its message", "[unit]") {
  CHECK(Status().ok());
  CHECK(Status::Ok().ok());
  CHECK(Status::Ok().message().empty());
  CHECK(Status() == Status::Ok());

  const Status error = Status::Error("no such file");
  CHECK_FALSE(error.ok());
  CHECK(error.message() == "no such file");
  CHECK(error == Status::Error("no such file"));
  CHECK_FALSE(error == Status::Error("another reason"));
  CHECK_FALSE(error == Status::Ok());
}

TEST_CASE("an error without a message is still an error", "[unit]") {
  const Status error = Status::Error("");
  CHECK_FALSE(error.ok());
  CHECK(error.message() == "unknown error");
}

TEST_CASE("Result holds a value or an error", "[unit]") {
  const Result<int> good = Half(42);
  REQUIRE(good.ok());
  CHECK(good.status().ok());
  CHECK(good.value() == 21);
  CHECK(*good == 21);

  const Result<int> bad = Half(7);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().message() == "7 is odd");
}

TEST_CASE("Result gives access through * and ->, and moves its value out",
          "[unit]") {
  Result<std::string> text = std::string("abc");
  CHECK(text->size() == 3);
  text->append("d");
  CHECK(*text == "abcd");

  Result<std::unique_ptr<int>> owned = std::make_unique<int>(5);
  std::unique_ptr<int> taken = std::move(owned).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 5);
}

TEST_CASE("a Result made from an OK Status is an error that says so",
          "[unit]") {
  const Result<int> result = Status::Ok();
  CHECK_FALSE(result.ok());
  CHECK_FALSE(result.status().ok());
  CHECK(result.status().message() == "Result made from an OK Status");
}

}  // namespace
}  // namespace tle
