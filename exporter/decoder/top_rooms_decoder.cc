#include "exporter/decoder/top_rooms_decoder.h"

#include <array>
#include <boost/json.hpp>
#include <exception>
#include <optional>
#include <utility>

#include "exporter/decoder/internal/answer_envelope.h"

namespace tle {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMaxExactInteger = std::int64_t{1} << 53;

// A count in Response: an integer 0..2^53 (metrics are doubles), or nullopt.
std::optional<std::int64_t> Count(const json::object& response,
                                  std::string_view key) {
  const json::value* v = response.if_contains(key);
  if (v == nullptr) return std::nullopt;
  const std::optional<std::int64_t> n = detail::ToInteger(*v);
  if (!n || *n < 0 || *n > kMaxExactInteger) return std::nullopt;
  return n;
}

std::string Serialize(const json::object& body) {
  return json::serialize(body);
}

}  // namespace

Result<MemberCount, FetchError> DecodeMemberList(std::string_view body) {
  Result<detail::Envelope, FetchError> envelope = detail::ParseEnvelope(body);
  if (!envelope.ok()) return envelope.error();
  const std::optional<std::int64_t> count =
      Count(*envelope->response, "MemberCount");
  if (!count) {
    return detail::DecodeError("Response.MemberCount is missing or not a count",
                               envelope->request_id);
  }
  return MemberCount{*count, std::move(envelope->request_id)};
}

Result<RoomStats, FetchError> DecodeRoomStats(std::string_view body) {
  Result<detail::Envelope, FetchError> envelope = detail::ParseEnvelope(body);
  if (!envelope.ok()) return envelope.error();
  RoomStats stats;
  RoomTotals& t = stats.totals;
  const std::array<std::pair<const char*, std::int64_t*>, 6> fields = {{
      {"TotalViewers", &t.viewers},
      {"TotalGiftsSent", &t.gifts},
      {"TotalGiftCoins", &t.gift_coins},
      {"TotalUniqueGiftSenders", &t.gift_senders},
      {"TotalLikesReceived", &t.likes},
      {"TotalMsgCount", &t.messages},
  }};
  for (const auto& [key, out] : fields) {
    const std::optional<std::int64_t> count = Count(*envelope->response, key);
    if (!count) {
      return detail::DecodeError(
          std::string("Response.") + key + " is missing or not a count",
          envelope->request_id);
    }
    *out = *count;
  }
  stats.request_id = std::move(envelope->request_id);
  return stats;
}

std::string MemberListRequest(std::string_view room_id) {
  json::object body;
  body["RoomId"] = json::string_view(room_id.data(), room_id.size());
  body["Next"] = "";
  return Serialize(body);
}

std::string RoomStatsRequest(std::string_view room_id) {
  json::object body;
  body["RoomId"] = json::string_view(room_id.data(), room_id.size());
  return Serialize(body);
}

}  // namespace tle
