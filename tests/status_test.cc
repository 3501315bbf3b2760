// Status and Result<T, E>: OK and error states, messages, value access, and
// that an error can never pass for success, for E = Status and E = FetchError.
#include "exporter/common/status.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>

#include "exporter/common/fetch_error.h"

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

TEST_CASE("error() is the Status of a Result<T>, OK when it holds a value",
          "[unit]") {
  CHECK(Half(42).error().ok());
  CHECK(Half(42).error() == Half(42).status());
  CHECK(Half(7).error() == Status::Error("7 is odd"));
}

Result<int, FetchError> Count(int n) {
  if (n < 0) {
    return FetchError{ErrorKind::kApi, 10002, "negative", "Id-7"};
  }
  return n;
}

TEST_CASE("Result<T, FetchError> holds a value or a FetchError", "[unit]") {
  const Result<int, FetchError> good = Count(3);
  REQUIRE(good.ok());
  CHECK(*good == 3);
  CHECK(good.error().ok());
  CHECK(good.error().kind == ErrorKind::kNone);
  CHECK(good.error().message.empty());

  const Result<int, FetchError> bad = Count(-1);
  CHECK_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kApi);
  CHECK(bad.error().code == 10002);
  CHECK(bad.error().message == "negative");
  CHECK(bad.error().request_id == "Id-7");
  CHECK(bad.error().CodeLabel() == "10002");
}

TEST_CASE("Result<T, FetchError> holds a move-only value", "[unit]") {
  Result<std::unique_ptr<int>, FetchError> owned = std::make_unique<int>(9);
  REQUIRE(owned.ok());
  CHECK(**owned == 9);
  Result<std::unique_ptr<int>, FetchError> moved = std::move(owned);
  std::unique_ptr<int> taken = std::move(moved).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 9);

  const Result<std::unique_ptr<int>, FetchError> failed =
      FetchError{ErrorKind::kTimeout, 0, "slow", ""};
  CHECK_FALSE(failed.ok());
  CHECK(failed.error().CodeLabel() == "timeout");
}

TEST_CASE("a Result made from a FetchError that is no error says so",
          "[unit]") {
  const Result<int, FetchError> result = FetchError{};
  CHECK_FALSE(result.ok());
  CHECK_FALSE(result.error().ok());
  CHECK(result.error().kind == ErrorKind::kDecode);
  CHECK(result.error().CodeLabel() == "decode");
  CHECK(result.error().message == "Result made from no error");
}

}  // namespace
}  // namespace tle
