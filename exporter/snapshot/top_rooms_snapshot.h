// TopRoomsSnapshot: what one top-rooms round of one app found out about the
// most-viewed rooms: the people in each room now (get_member_list) and its
// cumulative engagement (get_room_stats).
//
// Built by the round runner, published as std::shared_ptr<const
// TopRoomsSnapshot> and rendered by the metrics stage; immutable once
// published. Plain value types; safe to copy between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tle {

// get_room_stats: totals over the room's whole life; they only grow.
struct RoomTotals {
  std::int64_t viewers = 0;       // TotalViewers
  std::int64_t gifts = 0;         // TotalGiftsSent
  std::int64_t gift_coins = 0;    // TotalGiftCoins
  std::int64_t gift_senders = 0;  // TotalUniqueGiftSenders
  std::int64_t likes = 0;         // TotalLikesReceived
  std::int64_t messages = 0;      // TotalMsgCount
  bool operator==(const RoomTotals&) const = default;
};

struct TopRoom {
  std::string room_id;
  // Absent when that API is off, or when no answer younger than stale_after
  // is known for the room.
  std::optional<std::int64_t> members;  // MemberCount
  std::optional<RoomTotals> totals;
  bool operator==(const TopRoom&) const = default;
};

struct TopRoomsSnapshot {
  std::int64_t sdkappid = 0;
  std::vector<TopRoom> rooms;  // most viewed first, each RoomId once
  double round_seconds = 0;    // duration of the round that published this
  double last_success_timestamp = 0;  // end of the last complete round; 0
                                      // until one completes
};

}  // namespace tle
