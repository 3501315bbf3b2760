// The decoder stage: the text of a get_room_list answer -> a page of rooms, or
// the FetchError saying why not (Result<RoomPage, FetchError>).
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
#include "exporter/common/status.h"
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

// Answers larger than this are refused as kDecode without being parsed (the
// client stops reading an answer at this size too).
inline constexpr std::size_t kMaxAnswerBytes = 8u << 20;

// Caps on what the upstream sends, in bytes, so that nothing from it reaches
// labels, logs or the landing page unbounded (README "Failure handling").
// A room with a longer RoomId, RoomName, Owner_Account or CoverURL is rejected
// as kBadField; a longer Response.Next fails the page as kDecode. ErrorInfo and
// RequestId are cut to their cap instead (see UpstreamText).
inline constexpr std::size_t kMaxRoomIdBytes = 128;
inline constexpr std::size_t kMaxRoomNameBytes = 512;
inline constexpr std::size_t kMaxOwnerAccountBytes = 128;
inline constexpr std::size_t kMaxCoverUrlBytes = 2048;
inline constexpr std::size_t kMaxCursorBytes = 1024;
inline constexpr std::size_t kMaxErrorInfoBytes = 256;
inline constexpr std::size_t kMaxRequestIdBytes = 128;

// Text from the upstream made fit for a log line or an error message: each
// invalid UTF-8 sequence becomes U+FFFD, each control character (U+0000..
// U+001F, U+007F) a space, and the result is cut at a character boundary to at
// most `max_bytes` bytes (a cut text ends in "..." within that budget).
// REQUIRES: max_bytes >= 3.
std::string UpstreamText(std::string_view text, std::size_t max_bytes);

// Decodes one answer body into its page, or the error:
// - ActionStatus/ErrorCode other than OK/0 -> kApi with ErrorCode, ErrorInfo
//   and RequestId (both through UpstreamText, at their caps above).
// - Not JSON, not an object, OK without a Response object, RoomList not an
//   array, Next not a string -> kDecode (RequestId filled when the answer had
//   one).
// In a page, a room without a usable RoomId -> rejected[kMissingRoomId]; a
// room with a field of the wrong type (ViewCount negative, fractional or above
// 2^53, Category not an array of integers, ...) -> rejected[kBadField].
// Numeric strings are accepted as their number; a numeric Owner_Account is
// kept as its decimal text; missing optional fields take their zero value. A
// string field over its cap above -> rejected[kBadField]; a Next over
// kMaxCursorBytes -> kDecode.
Result<RoomPage, FetchError> DecodeRoomPage(std::string_view body);

}  // namespace tle
