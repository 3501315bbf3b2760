// UpstreamClient: one app's HTTP(S) connection to the live engine's REST API,
// for every call the exporter makes (get_room_list, get_member_list,
// get_room_stats).
//
// A request is an API and its JSON body; the client adds the five query
// parameters (sdkappid, identifier, a fresh UserSig, a new 32-bit random,
// contenttype=json), POSTs it, and hands back the answer's body or a
// transport failure. Decoding the body is the decoder stage's job. Several
// requests may be in flight at once (the top-rooms rounds need ~200 calls a
// second per process); pacing them under each API's rate limit is the
// caller's job (Walker, TopRoomsRound), not the client's.
//
// Thread-safety: Send, Call, RenewCredential and Cancel may be called from any
// thread. `done` runs exactly once per Send, on the client's own I/O thread
// (or on the caller's thread when the request fails before it is started);
// it must not block and must not call back into the client synchronously
// except Send. Destroying the client fails what is still in flight
// ("cancelled") and joins its I/O thread; REQUIRES: no Send or Call running
// concurrently with the destructor.
//
// The real client (libcurl, exporter/client/curl_upstream_client.cc) keeps
// one I/O thread per app and bounds every request: one total deadline
// (request_timeout, headers and body together, from Send to the last byte),
// response headers at most kMaxHeaderBytes and one header line at most
// kMaxHeaderLineBytes, the body at most kMaxAnswerBytes (counted while it
// streams), no redirects, HTTP/1.1 keep-alive connections reused across
// requests. Proxies come from the environment as curl reads them
// (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY; README "Configuration").
// Error messages name the API, endpoint and curl's reason (host, port, errno
// text, TLS reason, ca_file), never the UserSig or a query string.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/common/enum_labels.h"
#include "exporter/common/fetch_error.h"
#include "exporter/common/status.h"
#include "exporter/config/config.h"

namespace tle {

enum class Api {
  kGetRoomList,
  kGetMemberList,
  kGetRoomStats,
  kMaxValue = kGetRoomStats,
};

struct ApiInfo {
  Api api;
  const char* name;  // the path segment and the `api` metric label
  double limit_qps;  // the vendor's call-rate limit for this API
};
inline constexpr std::array<ApiInfo, 3> kApis{{
    {Api::kGetRoomList, "get_room_list", 10},
    {Api::kGetMemberList, "get_member_list", 200},
    {Api::kGetRoomStats, "get_room_stats", 100},
}};
inline constexpr const ApiInfo& Info(Api api) {
  return kApis[static_cast<std::size_t>(api)];
}
static_assert(kApis.size() == kEnumSize<Api>);
static_assert(InEnumOrder(kApis, &ApiInfo::api));

// The outcome of one request. `body` is the answer's body when the request
// got HTTP 200 with a complete body (its ErrorCode is for the decoder to
// read); otherwise the FetchError: kNetwork, kTimeout, kTls, kHttp (code =
// status) or kDecode (answer over a size cap), with a message an operator can
// act on. `seconds` is outside the Result because both outcomes have one (the
// request's duration metric counts failures too).
struct ApiResponse {
  Result<std::string, FetchError> body;
  double seconds = 0;  // from sending the request to the end of the answer
};

class UpstreamClient {
 public:
  using Done = std::function<void(ApiResponse)>;

  virtual ~UpstreamClient() = default;

  // Starts one request; `done` gets its outcome.
  virtual void Send(Api api, std::string body, Done done) = 0;

  // Send and wait for the outcome (the walker's one request at a time).
  ApiResponse Call(Api api, std::string body);

  // After a 70001 (UserSig expired) answer: mint a fresh UserSig for the
  // requests that follow.
  virtual void RenewCredential() = 0;

  // Shutdown: every request in flight, and every later Send, fails promptly
  // with kNetwork "cancelled".
  virtual void Cancel() = 0;
};

// Caps on an answer's headers (the body's is kMaxAnswerBytes, in the decoder
// stage): over either, the request fails as kDecode.
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;  // all header lines
inline constexpr std::size_t kMaxHeaderLineBytes = 8 * 1024;  // any one line

// Connections the real client keeps open to its endpoint at most; requests
// beyond it wait for a free one (their request_timeout runs while they wait).
// The walker uses one, a top-rooms round top_rooms.concurrency.
inline constexpr int kDefaultMaxConnections = 16;

// The real client (libcurl). REQUIRES: app.endpoint, credential set;
// max_connections >= 1.
std::unique_ptr<UpstreamClient> MakeHttpUpstreamClient(
    const AppConfig& app, int max_connections = kDefaultMaxConnections);

// The request target of `api` with its five query parameters (pure; exposed
// for tests): "/v4/live_engine_http_srv/<name>?sdkappid=..&identifier=..
// &usersig=..&random=..&contenttype=json", identifier and usersig
// percent-encoded.
std::string ApiTarget(Api api, std::int64_t sdkappid,
                      std::string_view identifier, std::string_view usersig,
                      std::uint32_t random);

}  // namespace tle
