#include "exporter/decoder/room_page_decoder.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// Decisions beyond the header's contract (tests/decoder_test.cc pins each one):
//
// Envelope
// - A body larger than kMaxAnswerBytes is kDecode without parsing.
// - ErrorInfo and RequestId are taken through UpstreamText (at most 256 and 128
//   bytes, valid UTF-8, no control characters): they go into log lines and
//   error messages, and a RequestId into the landing page.
// - ErrorCode may be an integer, a numeric string ("70001") or an integral
//   float; anything else ("abc", an object, a bool) is kDecode. A missing
//   ErrorCode counts as 0.
// - ErrorCode != 0 -> kApi{code, ErrorInfo, RequestId}, whatever ActionStatus
//   says: the code is the most precise information the answer has.
// - ErrorCode 0 (or absent) with ActionStatus other than "OK" ("FAIL", or
//   missing) -> kDecode, not kApi: there is no code to label the error with or
//   to decide a retry from, so it is treated as a malformed answer (retried,
//   counted as code="decode"); the message carries ErrorInfo.
// - RequestId is taken when it is a string; every error found after parsing
//   carries it. An answer that does not parse still gets the first
//   `"RequestId":"<plain text>"` found in it, for the log line.
//
// Response
// - OK without a Response object -> kDecode.
// - RoomList missing or null -> no rooms; not an array -> kDecode.
// - Next missing or null -> "" (walk complete), but only when RoomList is
//   present: a Response with neither is kDecode. Next of another type, or
//   longer than kMaxCursorBytes (1 KiB; the vendor's cursors are ~25 bytes),
//   -> kDecode: a cursor is kept for the whole walk and sent back, so it is
//   never cut.
//
// Rooms (a rejected room is counted in RoomPage::rejected and left out; the
// page still succeeds)
// - Not an object -> kBadField.
// - RoomId: a non-empty string, or a JSON integer (any uint64 too, or an
//   integral float) kept as its decimal text; missing, null, "" or anything
//   else -> kMissingRoomId. RoomId is checked before the other fields.
// - Integers (ViewCount, CreateTime, ActivityStatus, Category entries): a JSON
//   integer, a string -?[0-9]{1,18} (no sign +, no spaces), or a float with no
//   fractional part; the magnitude must be <= 2^53 (metrics are doubles).
//   ViewCount and CreateTime must be >= 0. Bool, fraction, object, ... ->
//   kBadField. Missing or null -> 0.
// - RoomName, CoverURL: string; missing or null -> ""; anything else ->
//   kBadField.
// - Owner_Account: string, or a JSON integer kept as its decimal text (a vendor
//   sample shows a number); missing or null -> ""; anything else -> kBadField.
// - Length caps (bytes, before any repair; the header lists them): RoomId 128,
//   RoomName 512, Owner_Account 128, CoverURL 2048. A longer one -> kBadField
//   (a RoomId too: it is present, just not acceptable). A room is dropped, not
//   cut: a cut RoomId could collide with another room's, and these strings
//   become label values of every room-level series.
// - Category: array of at most 3 integers; missing or null -> empty; anything
//   else -> kBadField.
//
// Strings are kept byte for byte: the parser runs with allow_invalid_utf8, so
// invalid UTF-8 in a RoomName never fails the page (the metrics stage repairs
// it). Boost.JSON 1.81 rejects a lone UTF-16 surrogate escape ("\ud800") even
// then, so a pre-pass rewrites each lone surrogate escape to "\ufffd" (same
// length) before parsing; such a character becomes U+FFFD.

#include "exporter/decoder/internal/answer_envelope.h"

namespace tle {
namespace {

namespace json = boost::json;
using detail::DecodeError;
using detail::ToInteger;

constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;

std::optional<std::string> IntegerText(const json::value& v) {
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (!v.is_number()) return std::nullopt;
  const std::optional<std::int64_t> n = ToInteger(v);
  if (!n) return std::nullopt;
  return std::to_string(*n);
}

// Reads an optional integer field of a room; false when present but not
// acceptable.
bool RoomInteger(const json::object& room, std::string_view key,
                 bool non_negative, std::int64_t& out) {
  const json::value* v = room.if_contains(key);
  if (v == nullptr || v->is_null()) {
    out = 0;
    return true;
  }
  const std::optional<std::int64_t> n = ToInteger(*v);
  if (!n || *n > kMaxExactInteger || *n < -kMaxExactInteger ||
      (non_negative && *n < 0)) {
    return false;
  }
  out = *n;
  return true;
}

// Reads an optional string field; `numbers_as_text` also takes an integer as
// its decimal text.
bool RoomString(const json::object& room, std::string_view key,
                bool numbers_as_text, std::size_t max_bytes, std::string& out) {
  const json::value* v = room.if_contains(key);
  if (v == nullptr || v->is_null()) {
    out.clear();
    return true;
  }
  if (v->is_string()) {
    if (v->get_string().size() > max_bytes) return false;
    out.assign(v->get_string().data(), v->get_string().size());
    return true;
  }
  if (numbers_as_text) {
    std::optional<std::string> text = IntegerText(*v);
    if (!text) return false;
    out = std::move(*text);
    return true;
  }
  return false;
}

// Decodes one entry of RoomList into `room`, or says why it cannot be used.
std::optional<RejectReason> DecodeRoom(const json::value& value, Room& room) {
  const json::object* obj = value.if_object();
  if (obj == nullptr) return RejectReason::kBadField;

  const json::value* id = obj->if_contains("RoomId");
  if (id == nullptr) return RejectReason::kMissingRoomId;
  if (id->is_string()) {
    if (id->get_string().size() > kMaxRoomIdBytes)
      return RejectReason::kBadField;
    room.room_id.assign(id->get_string().data(), id->get_string().size());
  } else if (std::optional<std::string> text = IntegerText(*id)) {
    room.room_id = std::move(*text);
  } else {
    return RejectReason::kMissingRoomId;
  }
  if (room.room_id.empty()) return RejectReason::kMissingRoomId;

  if (!RoomString(*obj, "RoomName", false, kMaxRoomNameBytes, room.room_name) ||
      !RoomString(*obj, "CoverURL", false, kMaxCoverUrlBytes, room.cover_url) ||
      !RoomString(*obj, "Owner_Account", true, kMaxOwnerAccountBytes,
                  room.owner_account) ||
      !RoomInteger(*obj, "ViewCount", true, room.view_count) ||
      !RoomInteger(*obj, "CreateTime", true, room.create_time) ||
      !RoomInteger(*obj, "ActivityStatus", false, room.activity_status)) {
    return RejectReason::kBadField;
  }

  room.categories.clear();
  if (const json::value* category = obj->if_contains("Category");
      category != nullptr && !category->is_null()) {
    const json::array* tags = category->if_array();
    if (tags == nullptr || tags->size() > 3) return RejectReason::kBadField;
    for (const json::value& tag : *tags) {
      const std::optional<std::int64_t> n = ToInteger(tag);
      if (!n || *n > kMaxExactInteger || *n < -kMaxExactInteger)
        return RejectReason::kBadField;
      room.categories.push_back(*n);
    }
  }
  return std::nullopt;
}

// The page inside an envelope that ParseEnvelope accepted.
Result<RoomPage, FetchError> DecodePage(detail::Envelope& envelope) {
  std::string& request_id = envelope.request_id;
  const json::object* response = envelope.response;
  const json::value* list = response->if_contains("RoomList");
  if (list != nullptr && list->is_null()) list = nullptr;
  const json::value* next = response->if_contains("Next");
  if (next != nullptr && next->is_null()) next = nullptr;
  if (list != nullptr && !list->is_array()) {
    return DecodeError("Response.RoomList is not an array",
                       std::move(request_id));
  }
  if (next != nullptr && !next->is_string()) {
    return DecodeError("Response.Next is not a string", std::move(request_id));
  }
  if (next != nullptr && next->get_string().size() > kMaxCursorBytes) {
    return DecodeError("Response.Next longer than " +
                           std::to_string(kMaxCursorBytes) + " bytes (" +
                           std::to_string(next->get_string().size()) + ")",
                       std::move(request_id));
  }
  if (list == nullptr && next == nullptr) {
    return DecodeError("Response has neither RoomList nor Next",
                       std::move(request_id));
  }

  RoomPage page;
  if (next != nullptr)
    page.next.assign(next->get_string().data(), next->get_string().size());
  if (list != nullptr) {
    const json::array& rooms = list->get_array();
    page.rooms.reserve(rooms.size());
    for (const json::value& entry : rooms) {
      Room room;
      if (const std::optional<RejectReason> reason = DecodeRoom(entry, room)) {
        ++page.rejected[static_cast<std::size_t>(*reason)];
      } else {
        page.rooms.push_back(std::move(room));
      }
    }
  }
  page.request_id = std::move(request_id);
  return page;
}

}  // namespace

std::string UpstreamText(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  static constexpr std::string_view kCut = "...";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  // The byte length of the valid UTF-8 sequence at text[i], or 0.
  auto sequence_length = [&text](std::size_t i) -> std::size_t {
    const auto byte = [&text](std::size_t at) {
      return static_cast<unsigned char>(text[at]);
    };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      if (c == 0xe0) low = 0xa0;   // no overlong forms
      if (c == 0xed) high = 0x9f;  // no surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      if (c == 0xf0) low = 0x90;   // no overlong forms
      if (c == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    } else {
      return 0;
    }
    if (text.size() - i < length) return 0;
    if (byte(i + 1) < low || byte(i + 1) > high) return 0;
    for (std::size_t k = 2; k < length; ++k) {
      if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
    }
    return length;
  };
  // Repair until the text is known to need a cut (bounded work), then cut.
  std::size_t i = 0;
  while (i < text.size() && out.size() <= max_bytes) {
    const std::size_t length = sequence_length(i);
    if (length == 0) {
      out += kReplacement;
      ++i;  // skip one byte and try again from the next
    } else if (length == 1 && (static_cast<unsigned char>(text[i]) < 0x20 ||
                               text[i] == 0x7f)) {
      out += ' ';
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  if (out.size() <= max_bytes && i == text.size()) return out;
  std::size_t end = max_bytes - kCut.size();
  // `out` is valid UTF-8: step back over continuation bytes to a boundary.
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xc0) == 0x80) {
    --end;
  }
  out.resize(end);
  out += kCut;
  return out;
}

Result<RoomPage, FetchError> DecodeRoomPage(std::string_view body) {
  Result<detail::Envelope, FetchError> envelope = detail::ParseEnvelope(body);
  if (!envelope.ok()) return envelope.error();
  try {
    return DecodePage(*envelope);
  } catch (const std::exception& e) {
    return detail::DecodeError(std::string("cannot decode answer: ") +
                               e.what());
  }
}

}  // namespace tle
