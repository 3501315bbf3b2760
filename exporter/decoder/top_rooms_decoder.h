// The decoder stage for the top rooms: the text of a get_member_list or
// get_room_stats answer -> the numbers the exporter needs, or the FetchError
// saying why not (Result<T, FetchError>); and the request bodies of both calls.
//
// Same envelope rules as DecodeRoomPage (room_page_decoder.h): ErrorCode != 0
// is kApi with the code, ErrorInfo and RequestId; an answer that is not JSON,
// not an object, OK without a Response object, or over kMaxAnswerBytes is
// kDecode. Pure functions; Boost.JSON stays inside the .cc files. Safe to call
// from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/common/fetch_error.h"
#include "exporter/common/status.h"
#include "exporter/snapshot/top_rooms_snapshot.h"

namespace tle {

// A decoded get_member_list answer. (A failed one's RequestId is in its
// FetchError.)
struct MemberCount {
  std::int64_t member_count = 0;  // Response.MemberCount
  std::string request_id;
};

// A decoded get_room_stats answer.
struct RoomStats {
  RoomTotals totals;
  std::string request_id;
};

// MemberCount must be an integer 0..2^53 (a JSON integer, an integral float or
// a decimal string, as the room decoder accepts): anything else, or a missing
// MemberCount, is kDecode. MemberList and Next are not read.
Result<MemberCount, FetchError> DecodeMemberList(std::string_view body);

// All six totals must be present, each an integer 0..2^53 (same rules);
// otherwise kDecode naming the field.
Result<RoomStats, FetchError> DecodeRoomStats(std::string_view body);

// {"RoomId":"...","Next":""}: the first page of the member list.
std::string MemberListRequest(std::string_view room_id);
// {"RoomId":"..."}
std::string RoomStatsRequest(std::string_view room_id);

}  // namespace tle
