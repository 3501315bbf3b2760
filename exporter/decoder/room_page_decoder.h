// The decoder stage: the text of a get_room_list answer -> a page of rooms, or
// a typed error.
//
// Pure functions; Boost.JSON stays inside room_page_decoder.cc. Safe to call
// from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/common/fetch_error.h"
#include "exporter/snapshot/room.h"

namespace tle {

// One decoded page. Rooms that could not be used are left out and counted in
// `rejected`, indexed by RejectReason (kDuplicate is never set here:
// de-duplication is the walker's, across pages).
struct RoomPage {
  std::vector<Room> rooms;
  std::string next;        // Response.Next; empty means the walk is complete
  std::string request_id;  // RequestId of the answer
  std::array<int, kRejectReasonCount> rejected{};
};

struct DecodeResult {
  FetchError error;  // kNone on success; kApi for ErrorCode != 0; kDecode for
                     // malformed answers
  RoomPage page;     // valid only when error.ok()
};

// Answers larger than this are refused as kDecode without being parsed.
inline constexpr std::size_t kMaxAnswerBytes = 8u << 20;

// Decodes one answer body.
// - ActionStatus/ErrorCode other than OK/0 -> kApi with ErrorCode, ErrorInfo
// and RequestId.
// - Not JSON, not an object, OK without a Response object, RoomList not an
// array, Next not a string
//   -> kDecode (RequestId filled when the answer had one).
// - A room without a usable RoomId -> rejected[kMissingRoomId]; a room with a
// field of the wrong type
//   (ViewCount negative, fractional or above 2^53, Category not an array of
//   integers, ...) -> rejected[kBadField]. Numeric strings are accepted as
//   their number; a numeric Owner_Account is kept as its decimal text; missing
//   optional fields take their zero value.
DecodeResult DecodeRoomPage(std::string_view body);

}  // namespace tle
