// Internal to the decoder stage: the envelope every answer of the live engine
// shares (ActionStatus, ErrorCode, ErrorInfo, RequestId, Response), parsed with
// Boost.JSON.
//
// Used by room_page_decoder.cc and top_rooms_decoder.cc. The rules are those
// listed at the top of room_page_decoder.cc under "Envelope" (ErrorInfo and
// RequestId through UpstreamText at the same caps). Pure functions; safe to
// call from any thread.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/common/fetch_error.h"
#include "exporter/common/status.h"

namespace tle::detail {

// An answer that is OK with a Response object. Move-only (the arena).
struct Envelope {
  std::string request_id;  // RequestId, when the answer had one
  // Holds the parsed values (one arena per answer: a page of 20 rooms is many
  // small strings); declared before `root`, so it outlives it.
  std::unique_ptr<boost::json::monotonic_resource> resource =
      std::make_unique<boost::json::monotonic_resource>();
  boost::json::value root;
  // Into root (its table, which a move of root keeps in place); never null in
  // an Envelope that ParseEnvelope returns.
  const boost::json::object* response = nullptr;
};

// Parses an answer body into its Envelope, or the error: over kMaxAnswerBytes,
// not JSON, not an object, a non-integer ErrorCode, ErrorCode 0 with
// ActionStatus other than OK, or OK without a Response object -> kDecode;
// ErrorCode != 0 -> kApi. Never throws.
Result<Envelope, FetchError> ParseEnvelope(std::string_view body);

// A JSON integer, an integral float or a decimal string -?[0-9]{1,18}, without
// a range check beyond int64; nullopt otherwise.
std::optional<std::int64_t> ToInteger(const boost::json::value& v);

FetchError DecodeError(std::string message,
                       std::string request_id = std::string());

}  // namespace tle::detail
