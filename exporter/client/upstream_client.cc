#include "exporter/client/upstream_client.h"

#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace tle {
namespace {

// RFC 3986 unreserved characters stay; everything else is %XX. `*` stays too:
// the vendor's UserSig alphabet uses it, and the vendor's own clients send it
// as it is.
std::string PercentEncode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                            (u >= '0' && u <= '9') || c == '-' || c == '_' ||
                            c == '.' || c == '~' || c == '*';
    if (unreserved) {
      out.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", u);
      out.append(buf, 3);
    }
  }
  return out;
}

}  // namespace

std::string ApiTarget(Api api, std::int64_t sdkappid,
                      std::string_view identifier, std::string_view usersig,
                      std::uint32_t random) {
  std::string target = "/v4/live_engine_http_srv/";
  target += Info(api).name;
  target += "?sdkappid=" + std::to_string(sdkappid);
  target += "&identifier=" + PercentEncode(identifier);
  target += "&usersig=" + PercentEncode(usersig);
  target += "&random=" + std::to_string(random);
  target += "&contenttype=json";
  return target;
}

ApiResponse UpstreamClient::Call(Api api, std::string body) {
  // Shared with `done`, which may still be running on the I/O thread when the
  // waiter wakes up and returns.
  struct Outcome {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<ApiResponse> response;  // guarded by mutex
  };
  auto outcome = std::make_shared<Outcome>();
  Send(api, std::move(body), [outcome](ApiResponse response) {
    std::lock_guard<std::mutex> lock(outcome->mutex);
    outcome->response = std::move(response);
    outcome->ready.notify_one();
  });
  std::unique_lock<std::mutex> lock(outcome->mutex);
  outcome->ready.wait(lock, [&] { return outcome->response.has_value(); });
  return std::move(*outcome->response);
}

}  // namespace tle
