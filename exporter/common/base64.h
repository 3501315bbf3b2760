// Standard base64 (RFC 4648, `=` padding): the one codec the UserSig (vendor
// alphabet on top) and HTTP basic auth share. Pure functions; safe to call from
// any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tle {

std::string Base64Encode(std::string_view in);

// Strict decoding: a length that is a multiple of 4, only the standard
// alphabet, at most two `=` and only at the end. nullopt otherwise.
std::optional<std::string> Base64Decode(std::string_view in);

}  // namespace tle
