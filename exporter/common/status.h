// Status and Result<T, E>: the one way an operation past start-up says whether
// it worked and, when not, why.
//
// A Status is OK or an error with a message for people (a log line, an HTTP
// answer, "<prog>: error: <message>"). A Result<T, E> is a T or an error E;
// E is Status unless said otherwise, so Result<T> is a T or an error Status.
// Both are small values in the style of absl::Status / absl::StatusOr and
// leveldb's Status, without codes: every caller here only reports the message.
// They replace "" meaning success, an optional<string> holding an error,
// bool plus an out-parameter with a message, and a struct whose error field
// means success when it is empty; a lookup that can only fail with "no such
// thing" returns std::optional<T> instead.
//
// Where the other conventions sit:
// - Loading the config is the one boundary that throws (ConfigError, carrying
//   file:line:column and the key); main catches it and exits 1.
// - A walk's failures are Result<T, FetchError>: the client's answer, a decoded
//   page of rooms, a member count, a room's totals are each the value or a
//   FetchError (kind, code, message, RequestId; exporter/common/fetch_error.h)
//   that the walker counts as a metric and logs once. Status is for "did this
//   operation work, and why not" at an API's boundary (a reload, a flag, a
//   listen address); FetchError is the walk's data, with the kind and code
//   the retries and the metric labels need.
//
// Values: copy (when T can be copied) and move freely; const methods may be
// called from any thread.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace tle {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return {}; }
  // An empty message becomes "unknown error", so an error is never mistaken
  // for success by a caller that only looks at the message.
  static Status Error(std::string message) {
    Status status;
    status.ok_ = false;
    status.message_ =
        message.empty() ? std::string("unknown error") : std::move(message);
    return status;
  }

  bool ok() const { return ok_; }
  // Why it failed; "" when ok().
  const std::string& message() const { return message_; }

  friend bool operator==(const Status&, const Status&) = default;

 private:
  bool ok_ = true;
  std::string message_;
};

// What Result<T, E> needs of an error type E besides `bool ok() const` (true
// for "no error"): the error a Result becomes when it is made from an E that
// is not one (a caller's bug), and a one-line text for the abort message of
// value() on an error. Specialised next to each error type (FetchError's is in
// fetch_error.h).
template <class E>
struct ResultErrorTraits;

template <>
struct ResultErrorTraits<Status> {
  static Status MadeFromNoError() {
    return Status::Error("Result made from an OK Status");
  }
  static const std::string& Describe(const Status& status) {
    return status.message();
  }
};

namespace detail {
[[noreturn]] inline void ResultValueOfError(const std::string& error) {
  std::fprintf(stderr, "tle::Result: value() of an error: %s\n", error.c_str());
  std::abort();
}
}  // namespace detail

// A T, or an error E. Made implicitly from either, so a function returns
// `value` or `Status::Error("why")` (or a FetchError).
template <class T, class E = Status>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>,
                "a Result<Status> is a Status");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, std::remove_cv_t<E>>,
                "a Result<E, E> is an E");

 public:
  // NOLINTNEXTLINE(google-explicit-constructor): a value is a Result.
  Result(T value) : value_(std::move(value)) {}
  // REQUIRES: !error.ok(). An E that is no error, without a value, is a
  // caller's bug; it becomes an error that says so rather than an empty value.
  // NOLINTNEXTLINE(google-explicit-constructor): an error is a Result.
  Result(E error)
      : error_(error.ok() ? ResultErrorTraits<E>::MadeFromNoError()
                          : std::move(error)) {}

  bool ok() const { return value_.has_value(); }
  // The error; E{} (no error: an OK Status, a default FetchError) when ok().
  const E& error() const { return error_; }
  // Result<T>'s name for error(): OK when ok(), else the error.
  const Status& status() const requires std::is_same_v<E, Status> {
    return error_;
  }

  // REQUIRES: ok(). Otherwise the process aborts, naming the error: reading
  // a value that is not there is a bug, not a failure to report.
  T& value() & {
    Checked();
    return *value_;
  }
  const T& value() const& {
    Checked();
    return *value_;
  }
  T&& value() && {
    Checked();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void Checked() const {
    if (!value_) {
      detail::ResultValueOfError(
          std::string(ResultErrorTraits<E>::Describe(error_)));
    }
  }

  E error_;
  std::optional<T> value_;
};

}  // namespace tle
