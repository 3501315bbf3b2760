// HttpRoomSource: the real RoomSource, calling get_room_list over HTTPS with
// cpp-httplib.
//
// Keeps one keep-alive connection per app, verifies the server certificate by
// default (system CAs, or ca_file), mints its UserSig from the secret key and
// renews it when half its lifetime has passed, sends a fresh 32-bit `random`
// with every request, and reads at most kMaxAnswerBytes of an answer before
// giving up. cpp-httplib stays inside http_room_source.cc.
//
// FetchPage/RenewCredential belong to the walker thread; Cancel may be called
// from any thread.
#pragma once

#include <memory>
#include <string>

#include "exporter/client/room_source.h"
#include "exporter/config/config.h"

namespace tle {

class HttpRoomSource final : public RoomSource {
 public:
  explicit HttpRoomSource(const AppConfig& app);
  ~HttpRoomSource() override;
  HttpRoomSource(const HttpRoomSource&) = delete;
  HttpRoomSource& operator=(const HttpRoomSource&) = delete;
  HttpRoomSource(HttpRoomSource&&) = delete;
  HttpRoomSource& operator=(HttpRoomSource&&) = delete;

  DecodeResult FetchPage(const std::string& next, int count) override;
  void RenewCredential() override;
  void Cancel() override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// The request path with its five query parameters (pure; exposed for tests).
std::string RoomListTarget(std::int64_t sdkappid, const std::string& identifier,
                           const std::string& usersig, std::uint32_t random);

}  // namespace tle
