#include "exporter/client/http_room_source.h"

#include <cstdio>
#include <utility>

namespace tle {

std::string RoomListBody(std::string_view next, int count) {
  std::string out = "{\"Next\":\"";
  for (const char c : next) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out.append(buf, 6);
    } else {
      out.push_back(c);
    }
  }
  out += "\",\"Count\":" + std::to_string(count) + "}";
  return out;
}

std::string RoomListTarget(std::int64_t sdkappid, const std::string& identifier,
                           const std::string& usersig, std::uint32_t random) {
  return ApiTarget(Api::kGetRoomList, sdkappid, identifier, usersig, random);
}

HttpRoomSource::HttpRoomSource(const AppConfig& app)
    : client_(MakeHttpUpstreamClient(app)) {}

HttpRoomSource::HttpRoomSource(std::shared_ptr<UpstreamClient> client)
    : client_(std::move(client)) {}

HttpRoomSource::~HttpRoomSource() = default;

Result<RoomPage, FetchError> HttpRoomSource::FetchPage(const std::string& next,
                                                       int count) {
  const ApiResponse response =
      client_->Call(Api::kGetRoomList, RoomListBody(next, count));
  if (!response.body.ok()) return response.body.error();
  return DecodeRoomPage(*response.body);
}

void HttpRoomSource::RenewCredential() { client_->RenewCredential(); }

void HttpRoomSource::Cancel() { client_->Cancel(); }

}  // namespace tle
