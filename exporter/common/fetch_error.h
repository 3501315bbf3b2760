// FetchError: the value a failed upstream request becomes.
//
// Failures on the walk are values, never exceptions: the client and the decoder
// return Result<T, FetchError> (exporter/common/status.h), a T or the
// FetchError saying why not; the walker decides from its kind and code whether
// to retry, and the metrics stage counts it under
// tencent_live_api_errors_total{code=CodeLabel()}. No function signals success
// through a FetchError: a default-constructed one (kind kNone) means "no error
// (yet)" only where a field keeps the last error seen, such as a round's
// last_error(), and is what Result::error() gives when the Result holds its
// value. A Result<T, FetchError> made from one is a kDecode error "Result made
// from no error". Plain value type; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>

#include "exporter/common/status.h"

namespace tle {

enum class ErrorKind {
  kNone,     // no error (a default FetchError; never a function's result)
  kApi,      // the API answered ErrorCode != 0; code holds the ErrorCode
  kHttp,     // HTTP status other than 200; code holds the status
  kNetwork,  // connection refused/reset/closed
  kTimeout,  // no complete answer within request_timeout
  kTls,      // TLS handshake or certificate verification failed
  kDecode,   // the answer was not a valid get_room_list answer
};

struct FetchError {
  ErrorKind kind = ErrorKind::kNone;
  std::int64_t code = 0;  // ErrorCode for kApi, HTTP status for kHttp
  std::string
      message;  // ErrorInfo or a short description; never contains secrets
  std::string request_id;  // RequestId of the answer, when there was one

  bool ok() const { return kind == ErrorKind::kNone; }

  // The `code` label of tencent_live_api_errors_total: "100001", "http_502",
  // "network", "timeout", "tls" or "decode".
  std::string CodeLabel() const;
};

// What a client should do about an error (see README "Failure handling").
enum class ErrorAction {
  kRetry,         // transient: retry with exponential backoff and jitter
  kRenewUserSig,  // 70001: mint a new UserSig, retry once
  kRateLimited,  // 60007/60011/60018/60019: back off and lower the request rate
                 // for a while
  kBackOffLong,  // 70050: too many UserSig checks, wait a minute
  kFatal,        // configuration or request error: do not retry
};

ErrorAction ClassifyError(const FetchError& error);

// Result<T, FetchError>: see ResultErrorTraits in status.h.
template <>
struct ResultErrorTraits<FetchError> {
  static FetchError MadeFromNoError() {
    return {ErrorKind::kDecode, 0, "Result made from no error", ""};
  }
  static std::string Describe(const FetchError& error) {
    return error.CodeLabel() + ": " + error.message;
  }
};

// A one-line hint for an operator about why a request finally failed ("wrong
// secret key or sdkappid", "not an App Administrator", ...); empty only for
// kNone.
std::string LikelyCause(const FetchError& error);

}  // namespace tle
