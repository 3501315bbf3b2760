// RoomSource: where the walker gets pages of rooms from.
//
// A small interface so that tests can put an in-memory fake or an
// error-injecting wrapper in place of the real HTTP client (like leveldb's
// Env). One RoomSource belongs to one walker thread: its methods are called
// from that thread only.
#pragma once

#include <string>

#include "exporter/decoder/room_page_decoder.h"

namespace tle {

class RoomSource {
 public:
  virtual ~RoomSource() = default;

  // Fetches the page after cursor `next` ("" for the first), asking for `count`
  // rooms (1..20): the page, or the FetchError of the request or of its
  // answer. Never throws.
  virtual Result<RoomPage, FetchError> FetchPage(const std::string& next,
                                                 int count) = 0;

  // Called after a 70001 (UserSig expired) answer: mint a fresh credential
  // before the retry.
  virtual void RenewCredential() {}

  // May be called from another thread to abort a FetchPage in flight
  // (shutdown); FetchPage then returns a kNetwork error promptly. Final: every
  // later FetchPage fails at once too, so a Cancel that lands just before a
  // FetchPage starts is not lost (Walker::RequestStop relies on it).
  virtual void Cancel() {}
};

}  // namespace tle
