// Gzip built from parts, so the large snapshot text is compressed once per walk
// and only the small per-scrape text is compressed per scrape.
//
// A gzip member is a header, raw deflate blocks and a trailer (CRC-32 and
// length of the whole input). The snapshot's blocks end with a full flush
// (byte-aligned, no reference to earlier data), so the per-scrape blocks can
// follow them and one trailer, computed with crc32_combine, closes the member.
// Pure functions; safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tle {

struct DeflatedPart {
  std::string data;          // raw deflate blocks
  std::uint32_t crc = 0;     // CRC-32 of the uncompressed input
  std::uint64_t length = 0;  // uncompressed length
};

// Compresses `text` into raw deflate blocks. `final` = false ends with a full
// flush (more blocks may follow); true ends the deflate stream.
DeflatedPart Deflate(std::string_view text, bool final, int level = 6);

// The same for text given as consecutive pieces (compressed as if
// concatenated).
DeflatedPart Deflate(const std::vector<std::string_view>& pieces, bool final,
                     int level = 6);

// The 10-byte gzip header.
std::string GzipHeader();

// The 8-byte gzip trailer for `first` followed by `second`.
std::string GzipTrailer(const DeflatedPart& first, const DeflatedPart& second);

// A whole gzip member of `text` (for small bodies and tests).
std::string Gzip(std::string_view text);

}  // namespace tle
