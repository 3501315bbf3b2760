// Text that leaves the process: UTF-8 made valid, JSON string literals,
// strict decimal integers.
//
// One implementation of each for the whole exporter, so the log, the config
// checks, the exposition and the landing page agree on what "valid UTF-8" and
// "an integer" mean. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tle {

// The UTF-8 replacement character U+FFFD.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Length of the well-formed UTF-8 sequence at text[i] (no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one;
// *bad is then how many bytes form the maximal invalid subpart (Unicode's
// "substitution of maximal subparts", as Python and browsers decode).
// REQUIRES: i < text.size().
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i,
                           std::size_t* bad);

// Whether `text` is well-formed UTF-8 throughout.
bool IsValidUtf8(std::string_view text);

// `text` with every maximal invalid subpart replaced by U+FFFD, so the result
// is valid UTF-8; valid text comes back unchanged.
std::string ValidUtf8(std::string_view text);

// Appends `text` as a JSON string literal (quotes included): '"', '\\' and
// control characters (and DEL) escaped, every other byte copied as is. The
// literal is valid JSON when `text` is valid UTF-8 (ValidUtf8 makes it so);
// the UserSig document relies on invalid bytes being kept, not replaced.
void AppendJsonString(std::string* out, std::string_view text);

// Decimal digits only (no sign, space or '+'), in range; nullopt otherwise.
std::optional<std::uint64_t> ParseUint64(std::string_view text);

// An optional '-' then decimal digits, in range; nullopt otherwise.
std::optional<std::int64_t> ParseInt64(std::string_view text);

}  // namespace tle
