#include "exporter/metrics/gzip.h"

#include <zlib.h>

#include <stdexcept>

namespace tle {

DeflatedPart Deflate(std::string_view text, bool final, int level) {
  return Deflate(std::vector<std::string_view>{text}, final, level);
}

DeflatedPart Deflate(const std::vector<std::string_view>& pieces, bool final,
                     int level) {
  DeflatedPart out;
  z_stream zs{};
  // Negative window bits: raw deflate, no zlib or gzip wrapper.
  if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::size_t total = 0;
  for (std::string_view piece : pieces) total += piece.size();
  // The output grows as needed from about what exposition text compresses to
  // (~8%): sizing it to deflateBound (more than the input) up front would
  // touch, and hold, as much memory again as the text itself.
  out.data.resize(total / 8 + 4096);
  std::size_t produced = 0;
  uLong crc = crc32(0, nullptr, 0);
  int rc = Z_OK;
  for (std::size_t i = 0; i <= pieces.size() && rc != Z_STREAM_ERROR; ++i) {
    bool last = i == pieces.size();
    std::string_view piece = last ? std::string_view() : pieces[i];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    zs.avail_in = static_cast<uInt>(piece.size());
    if (!piece.empty()) {  // crc32() with a null buffer would reset the CRC
      crc = crc32(crc, reinterpret_cast<const Bytef*>(piece.data()),
                  static_cast<uInt>(piece.size()));
    }
    int flush = last ? (final ? Z_FINISH : Z_FULL_FLUSH) : Z_NO_FLUSH;
    // zlib's loop: call deflate until it leaves output space unused, which
    // means it consumed all input (and, when flushing, wrote all of it).
    do {
      if (produced == out.data.size()) out.data.resize(out.data.size() * 2);
      zs.next_out = reinterpret_cast<Bytef*>(out.data.data() + produced);
      zs.avail_out = static_cast<uInt>(out.data.size() - produced);
      rc = deflate(&zs, flush);
      produced = out.data.size() - zs.avail_out;
    } while (zs.avail_out == 0 && rc != Z_STREAM_ERROR);
  }
  deflateEnd(&zs);
  if (rc != (final ? Z_STREAM_END : Z_OK))
    throw std::runtime_error("deflate failed");
  out.data.resize(produced);
  out.data.shrink_to_fit();
  out.crc = static_cast<std::uint32_t>(crc);
  out.length = total;
  return out;
}

std::string GzipHeader() {
  // magic, deflate, no flags, mtime 0, no extra flags, OS unknown
  return std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
}

std::string GzipTrailer(const DeflatedPart& first, const DeflatedPart& second) {
  uLong crc =
      crc32_combine(first.crc, second.crc, static_cast<z_off_t>(second.length));
  std::uint64_t length = first.length + second.length;
  std::string out(8, '\0');
  for (int i = 0; i < 4; ++i) {
    out[static_cast<std::size_t>(i)] =
        static_cast<char>((crc >> (8 * i)) & 0xFF);
    out[4 + static_cast<std::size_t>(i)] =
        static_cast<char>((length >> (8 * i)) & 0xFF);
  }
  return out;
}

std::string Gzip(std::string_view text) {
  DeflatedPart part = Deflate(text, true);
  return GzipHeader() + part.data + GzipTrailer(DeflatedPart{}, part);
}

}  // namespace tle
