// Room: one live room as the API describes it, after decoding and validation.
// Plain value type; safe to copy between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/common/enum_labels.h"

namespace tle {

struct Room {
  std::string room_id;    // never empty
  std::string room_name;  // as sent; may hold any bytes (the metrics stage
                          // makes it valid UTF-8)
  std::string
      owner_account;  // a numeric Owner_Account is kept as its decimal text
  std::string cover_url;
  std::vector<std::int64_t> categories;  // Category tags, at most 3 as sent
  std::int64_t create_time = 0;          // Unix seconds
  std::int64_t activity_status = 0;      // user-defined meaning
  std::int64_t view_count = 0;           // total room entries, >= 0

  friend bool operator==(const Room& a, const Room& b) {
    return a.room_id == b.room_id && a.room_name == b.room_name &&
           a.owner_account == b.owner_account && a.cover_url == b.cover_url &&
           a.categories == b.categories && a.create_time == b.create_time &&
           a.activity_status == b.activity_status &&
           a.view_count == b.view_count;
  }
};

// Why a room was dropped from a page: the `reason` label of
// tencent_live_rooms_rejected_total. A new reason is a new enumerator (moving
// kMaxValue) and a new row of kRejectReasons; the static_asserts fail until
// both are done.
enum class RejectReason {
  kMissingRoomId,
  kBadField,
  kDuplicate,
  kMaxValue = kDuplicate
};

// One row per RejectReason, in enum order.
inline constexpr EnumLabels<RejectReason, 3> kRejectReasons{{
    {RejectReason::kMissingRoomId, "missing_room_id"},
    {RejectReason::kBadField, "bad_field"},
    {RejectReason::kDuplicate, "duplicate"},
}};
static_assert(kRejectReasons.size() == kEnumSize<RejectReason>);
static_assert(InEnumOrder(kRejectReasons));
inline constexpr int kRejectReasonCount =
    static_cast<int>(kRejectReasons.size());

inline constexpr const char* RejectReasonLabel(RejectReason reason) {
  return LabelOf(kRejectReasons, reason);
}

}  // namespace tle
