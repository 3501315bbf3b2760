// Internal to the config stage: the text helpers both config files share (the
// exporter's config and the web config): one-line error messages and capped
// file reads. Pure functions except ReadFileCapped (reads a file); safe to call
// from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tle::detail {

// Makes `text` safe for a one-line message: control bytes become \xNN, long
// text is cut.
std::string Printable(std::string_view text, std::size_t max_chars);

// "FILE:LINE:COLUMN: KEY: message" (":LINE:COLUMN" left out when line or column
// is negative); line and column are 0-based as yaml-cpp gives them, printed
// 1-based.
std::string PositionedMessage(const std::string& file, int line, int column,
                              const std::string& key,
                              const std::string& message);

// Reads a whole file of at most `max_bytes` into `content`. Returns an error
// text
// ("cannot read: ...", "cannot read: larger than N bytes") or nullopt.
std::optional<std::string> ReadFileCapped(const std::string& path,
                                          std::size_t max_bytes,
                                          std::string* content);

}  // namespace tle::detail
