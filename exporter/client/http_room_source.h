// HttpRoomSource: the real RoomSource, a thin adapter from the walker's
// "next page of rooms" to one get_room_list call of an UpstreamClient.
//
// FetchPage = Call(kGetRoomList, {"Next":..,"Count":..}) then DecodeRoomPage;
// the client does the HTTP (libcurl), the UserSig and every bound on the
// answer (exporter/client/upstream_client.h). The client may be shared with
// other users of the same app (the top-rooms rounds); Cancel cancels it for
// all of them (shutdown).
//
// FetchPage/RenewCredential belong to the walker thread; Cancel may be called
// from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/client/room_source.h"
#include "exporter/client/upstream_client.h"
#include "exporter/config/config.h"

namespace tle {

class HttpRoomSource final : public RoomSource {
 public:
  // Its own client for `app` (MakeHttpUpstreamClient).
  explicit HttpRoomSource(const AppConfig& app);
  // Over a given client. REQUIRES: client != nullptr.
  explicit HttpRoomSource(std::shared_ptr<UpstreamClient> client);
  ~HttpRoomSource() override;
  HttpRoomSource(const HttpRoomSource&) = delete;
  HttpRoomSource& operator=(const HttpRoomSource&) = delete;
  HttpRoomSource(HttpRoomSource&&) = delete;
  HttpRoomSource& operator=(HttpRoomSource&&) = delete;

  Result<RoomPage, FetchError> FetchPage(const std::string& next,
                                         int count) override;
  void RenewCredential() override;
  void Cancel() override;

 private:
  std::shared_ptr<UpstreamClient> client_;
};

// The get_room_list request body: {"Next":"<next, JSON-escaped>","Count":N}
// (pure; exposed for tests).
std::string RoomListBody(std::string_view next, int count);

// The get_room_list request target (ApiTarget for kGetRoomList).
std::string RoomListTarget(std::int64_t sdkappid, const std::string& identifier,
                           const std::string& usersig, std::uint32_t random);

}  // namespace tle
