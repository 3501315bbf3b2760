// libFuzzer harness for the decoder stage and the UserSig decoder.
//
// Feeds the input to DecodeRoomPage, UpstreamText and DecodeUserSig and aborts
// when a result breaks the functions' contracts (nothing may throw; rejected
// rooms never reach the page; no upstream string passes its cap; UpstreamText
// gives bounded, clean UTF-8; a decoded UserSig re-mints to the same fields).
// Built only with TLE_FUZZ=ON (see tests/fuzz.cmake).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/decoder/room_page_decoder.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using tle::fuzz::Require;

// UpstreamText's output is within its cap and already clean: a second pass
// changes nothing.
void CheckUpstreamText(std::string_view text) {
  for (const std::size_t max :
       {std::size_t{3}, std::size_t{16}, std::size_t{256}}) {
    const std::string once = tle::UpstreamText(text, max);
    Require(once.size() <= max);
    Require(tle::UpstreamText(once, max) == once);
  }
}

void CheckRoomPage(std::string_view text) {
  const tle::Result<tle::RoomPage, tle::FetchError> result =
      tle::DecodeRoomPage(text);
  Require(result.error().request_id.size() <= tle::kMaxRequestIdBytes);
  if (result.error().kind == tle::ErrorKind::kApi)
    Require(result.error().message.size() <= tle::kMaxErrorInfoBytes);
  if (!result.ok()) {
    Require(result.error().kind == tle::ErrorKind::kApi ||
            result.error().kind == tle::ErrorKind::kDecode);
    Require(result.error().kind != tle::ErrorKind::kApi ||
            result.error().code != 0);
    return;
  }
  constexpr std::int64_t kMaxExact = std::int64_t{1} << 53;
  Require(result->next.size() <= tle::kMaxCursorBytes);
  Require(result->request_id.size() <= tle::kMaxRequestIdBytes);
  for (const tle::Room& room : result->rooms) {
    Require(!room.room_id.empty());
    Require(room.room_id.size() <= tle::kMaxRoomIdBytes);
    Require(room.room_name.size() <= tle::kMaxRoomNameBytes);
    Require(room.owner_account.size() <= tle::kMaxOwnerAccountBytes);
    Require(room.cover_url.size() <= tle::kMaxCoverUrlBytes);
    Require(room.view_count >= 0 && room.view_count <= kMaxExact);
    Require(room.create_time >= 0 && room.create_time <= kMaxExact);
    Require(room.activity_status >= -kMaxExact &&
            room.activity_status <= kMaxExact);
    Require(room.categories.size() <= 3);
  }
  Require(result->rejected[static_cast<std::size_t>(
              tle::RejectReason::kDuplicate)] == 0);
  for (const int count : result->rejected) Require(count >= 0);
}

void CheckUserSig(std::string_view text) {
  const auto fields = tle::DecodeUserSig(text);
  if (!fields) {
    Require(tle::CheckUserSig(text, "k", "a", 1, 0) ==
            tle::UserSigCheck::kMalformed);
    return;
  }
  // Whatever decoded must survive a re-mint unchanged.
  const std::string again = tle::fuzz::RequireRemintRoundTrip(*fields);
  // Checked at the minting time: valid, unless the validity itself is negative.
  const tle::UserSigCheck expected = fields->expire < 0
                                         ? tle::UserSigCheck::kExpired
                                         : tle::UserSigCheck::kValid;
  Require(tle::CheckUserSig(again, "k", fields->identifier, fields->sdkappid,
                            fields->time) == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRoomPage(text);
  CheckUpstreamText(text);
  CheckUserSig(text);
  return 0;
}
