#include "exporter/common/fetch_error.h"

namespace tle {

std::string FetchError::CodeLabel() const {
  switch (kind) {
    case ErrorKind::kNone:
      return "";
    case ErrorKind::kApi:
      return std::to_string(code);
    case ErrorKind::kHttp:
      return "http_" + std::to_string(code);
    case ErrorKind::kNetwork:
      return "network";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kDecode:
      return "decode";
  }
  return "unknown";
}

ErrorAction ClassifyError(const FetchError& error) {
  switch (error.kind) {
    case ErrorKind::kNone:
    case ErrorKind::kNetwork:
    case ErrorKind::kTimeout:
    case ErrorKind::kDecode:
      return ErrorAction::kRetry;
    case ErrorKind::kTls:
      return ErrorAction::kFatal;  // a certificate problem does not heal by
                                   // retrying
    case ErrorKind::kHttp:
      if (error.code == 429) return ErrorAction::kRateLimited;
      return error.code >= 500 ? ErrorAction::kRetry : ErrorAction::kFatal;
    case ErrorKind::kApi:
      break;
  }
  switch (error.code) {
    case 100001:
    case 60008:
    case 70169:
    case 70202:
    case 70500:
      return ErrorAction::kRetry;
    case 60007:
    case 60011:
    case 60018:
    case 60019:
      return ErrorAction::kRateLimited;
    case 70050:
      return ErrorAction::kBackOffLong;
    case 70001:
      return ErrorAction::kRenewUserSig;
    default:
      return ErrorAction::kFatal;
  }
}

std::string LikelyCause(const FetchError& error) {
  switch (error.kind) {
    case ErrorKind::kNone:
      return "";
    case ErrorKind::kTls:
      return "TLS failed: check the endpoint's certificate, ca_file or the "
             "system CA store";
    case ErrorKind::kHttp:
      if (error.code == 429) return "request rate too high (HTTP 429)";
      if (error.code >= 500) return "the API or a proxy in front of it failed";
      return "unexpected HTTP status: check endpoint/region and any proxy in "
             "between";
    case ErrorKind::kNetwork:
      return "cannot reach the endpoint: check endpoint/region, DNS and "
             "firewall";
    case ErrorKind::kTimeout:
      return "no answer within request_timeout: the API or the network is "
             "slow";
    case ErrorKind::kDecode:
      return "the answer is not a get_room_list answer: check endpoint/region "
             "and any proxy in between";
    case ErrorKind::kApi:
      break;
  }
  switch (error.code) {
    case 70001:
      return "UserSig still expired after minting a new one: check the "
             "system clock, or replace the static usersig";
    case 70002:
    case 70003:
    case 70005:
    case 70009:
    case 70013:
    case 70014:
    case 70016:
    case 70020:
      return "UserSig rejected: wrong secret key or sdkappid";
    case 60010:
    case 70403:
      return "identifier is not an App Administrator of this app";
    case 60006:
    case 60012:
    case 60016:
    case 60017:
    case 60020:
    case 60021:
      return "SDKAppID invalid or disabled, plan expired, or this IP is not "
             "allowed";
    case 60007:
    case 60011:
    case 60018:
    case 60019:
      return "request rate too high: lower max_qps, or another client uses "
             "this app's quota";
    case 70050:
      return "too many UserSig checks: the exporter waits before the next "
             "request";
    case 100002:
      return "invalid parameter (check page_size)";
    case 100001:
    case 60008:
    case 70169:
    case 70202:
    case 70500:
      return "the API failed on its side; retries did not help";
    case 60002:
    case 60003:
    case 60004:
    case 60005:
    case 60009:
    case 60013:
    case 60015:
      return "the API could not parse the request: check identifier and "
             "endpoint, else report an exporter bug";
    default:
      return "ErrorCode not known to be transient, so not retried: see "
             "ErrorInfo and the vendor's error code list";
  }
}

}  // namespace tle
