#include "exporter/common/base64.h"

#include <cstdint>

namespace tle {
namespace {

constexpr char kStdAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

// Standard base64 with `=` padding.
std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t n =
        (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
        (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1]))
         << 8) |
        static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 2]));
    out.push_back(kStdAlphabet[(n >> 18) & 63]);
    out.push_back(kStdAlphabet[(n >> 12) & 63]);
    out.push_back(kStdAlphabet[(n >> 6) & 63]);
    out.push_back(kStdAlphabet[n & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t n =
        static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2)
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1]))
           << 8;
    out.push_back(kStdAlphabet[(n >> 18) & 63]);
    out.push_back(kStdAlphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kStdAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (in.back() == '=') ++padding;
  if (in[in.size() - 2] == '=') ++padding;
  if (padding == 1 && in.back() != '=') return std::nullopt;  // "x=y" shapes
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      int v = 0;
      if (c == '=') {
        if (!last || j < 4 - padding) return std::nullopt;
      } else {
        v = Value(c);
        if (v < 0) return std::nullopt;
      }
      n = (n << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (!last || padding < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (!last || padding < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

}  // namespace tle
