#include "exporter/client/usersig.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/common/base64.h"

// Decisions (see also usersig.h):
// - Base64 is exporter/common/base64 (shared with basic auth), not
//   EVP_DecodeBlock: EVP_DecodeBlock counts
//   the padding bytes in its output length and skips whitespace, both of which
//   would make decoding less strict. Decoding is strict: length a multiple of
//   4, padding only at the very end, nothing outside the alphabet.
//   DecodeUserSig accepts only the vendor alphabet (`*` `-` `_`), never the
//   standard `+` `/` `=`.
// - Inflating stops at kMaxInflatedBytes (64 KiB): a larger document is refused
//   (zlib bombs). The zlib stream must end exactly at the end of the input.
// - The UserSig JSON is parsed by a minimal strict parser below (Boost.JSON
//   belongs to the decoder stage). It accepts one flat object whose values are
//   strings or integers, with optional JSON whitespace (the vendor's Python
//   library writes ", " and ": "). Unknown keys are ignored (newer vendor
//   libraries add "TLS.userbuf"); a repeated known key, a float, a nested
//   value, `true`, `null` or trailing text make the document malformed. All six
//   fields are required and TLS.ver must be "2.0". Strings may hold any bytes
//   (not validated as UTF-8); \u escapes become UTF-8 and a lone surrogate is
//   malformed.
// - CheckUserSig checks in this order: malformed, mismatch, bad signature,
//   expired. Expiry is computed without overflow (time + expire saturates).

namespace tle {
namespace {

constexpr std::size_t kMaxInflatedBytes = 64 * 1024;
// A base64 text longer than this cannot inflate to a sensible document; refuse
// it before decoding.
constexpr std::size_t kMaxUserSigChars = 4 * kMaxInflatedBytes;

// Strict decoding of the vendor alphabet (`*` `-` for `+` `/`, `_` padding).
std::optional<std::string> VendorBase64Decode(std::string_view in) {
  std::string standard(in);
  for (char& c : standard) {
    switch (c) {
      case '+':
      case '/':
      case '=':
        return std::nullopt;  // standard characters are not vendor base64
      case '*':
        c = '+';
        break;
      case '-':
        c = '/';
        break;
      case '_':
        c = '=';
        break;
      default:
        break;
    }
  }
  return Base64Decode(standard);
}

std::string ToVendorAlphabet(std::string s) {
  for (char& c : s) {
    if (c == '+') {
      c = '*';
    } else if (c == '/') {
      c = '-';
    } else if (c == '=') {
      c = '_';
    }
  }
  return s;
}

std::optional<std::string> Deflate(std::string_view in) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  std::string out(size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                           reinterpret_cast<const Bytef*>(in.data()),
                           static_cast<uLong>(in.size()), Z_BEST_COMPRESSION);
  if (rc != Z_OK) return std::nullopt;
  out.resize(size);
  return out;
}

// Inflates a complete zlib stream; nullopt when it is invalid, does not end
// exactly at the end of the input, or would inflate to more than
// kMaxInflatedBytes.
std::optional<std::string> InflateBounded(std::string_view in) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return std::nullopt;
  // One spare byte detects "too large".
  std::string out(kMaxInflatedBytes + 1, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const std::size_t produced = zs.total_out;
  const bool consumed_all = zs.avail_in == 0;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || !consumed_all || produced > kMaxInflatedBytes)
    return std::nullopt;
  out.resize(produced);
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(c);  // other bytes, non-ASCII too, are kept as they are
        }
    }
  }
  out.push_back('"');
}

// The minimal strict parser for the flat UserSig document (see the decisions at
// the top).
class FlatJsonParser {
 public:
  explicit FlatJsonParser(std::string_view text) : text_(text) {}

  std::optional<UserSigFields> Parse() {
    UserSigFields fields;
    unsigned seen = 0;  // bit per known field
    SkipSpace();
    if (!Consume('{')) return std::nullopt;
    SkipSpace();
    if (!Consume('}')) {
      for (;;) {
        SkipSpace();
        std::string key;
        if (!ParseString(key)) return std::nullopt;
        SkipSpace();
        if (!Consume(':')) return std::nullopt;
        SkipSpace();
        std::string str_value;
        std::int64_t int_value = 0;
        bool is_string = false;
        if (Peek() == '"') {
          if (!ParseString(str_value)) return std::nullopt;
          is_string = true;
        } else if (!ParseInteger(int_value)) {
          return std::nullopt;
        }
        if (!Assign(fields, seen, key, is_string, std::move(str_value),
                    int_value)) {
          return std::nullopt;
        }
        SkipSpace();
        if (Consume(',')) continue;
        if (Consume('}')) break;
        return std::nullopt;
      }
    }
    SkipSpace();
    if (pos_ != text_.size()) return std::nullopt;
    if (seen != 0x3f || fields.version != "2.0") return std::nullopt;
    return fields;
  }

 private:
  static bool Assign(UserSigFields& f, unsigned& seen, const std::string& key,
                     bool is_string, std::string str, std::int64_t num) {
    struct Known {
      const char* name;
      bool string;
    };
    static constexpr std::array<Known, 6> kKnown = {{{"TLS.ver", true},
                                                     {"TLS.identifier", true},
                                                     {"TLS.sdkappid", false},
                                                     {"TLS.time", false},
                                                     {"TLS.expire", false},
                                                     {"TLS.sig", true}}};
    for (std::size_t i = 0; i < kKnown.size(); ++i) {
      if (key != kKnown[i].name) continue;
      const unsigned bit = 1u << i;
      if ((seen & bit) != 0 || is_string != kKnown[i].string) return false;
      seen |= bit;
      switch (i) {
        case 0:
          f.version = std::move(str);
          break;
        case 1:
          f.identifier = std::move(str);
          break;
        case 2:
          f.sdkappid = num;
          break;
        case 3:
          f.time = num;
          break;
        case 4:
          f.expire = num;
          break;
        default:
          f.sig = std::move(str);
          break;
      }
      return true;
    }
    return true;  // unknown key: ignored
  }

  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
            text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // JSON integer: -?(0|[1-9][0-9]*), within int64. No fraction, no exponent.
  bool ParseInteger(std::int64_t& value) {
    const bool negative = Consume('-');
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9')
      return false;
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() &&
        text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9') {
      return false;  // leading zero
    }
    // Accumulate as a negative number so INT64_MIN is representable.
    std::int64_t acc = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_] - '0';
      if (acc < (std::numeric_limits<std::int64_t>::min() + digit) / 10)
        return false;
      acc = acc * 10 - digit;
      ++pos_;
    }
    if (pos_ < text_.size() &&
        (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return false;
    }
    if (!negative) {
      if (acc == std::numeric_limits<std::int64_t>::min()) return false;
      acc = -acc;
    }
    value = acc;
    return true;
  }

  bool ParseHex4(std::uint32_t& value) {
    if (text_.size() - pos_ < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      std::uint32_t d = 0;
      if (c >= '0' && c <= '9') {
        d = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      value = (value << 4) | d;
    }
    return true;
  }

  static void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool ParseString(std::string& out) {
    if (!Consume('"')) return false;
    for (;;) {
      if (pos_ >= text_.size()) return false;
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!ParseHex4(cp)) return false;
          if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // lone low surrogate
          if (cp >= 0xd800 && cp <= 0xdbff) {
            std::uint32_t low = 0;
            if (!Consume('\\') || !Consume('u') || !ParseHex4(low))
              return false;
            if (low < 0xdc00 || low > 0xdfff) return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// True when `now` is past time + expire, without overflowing.
bool IsExpired(std::int64_t time, std::int64_t expire, std::int64_t now) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (expire > 0 && time > kMax - expire)
    return false;  // the end lies beyond any representable now
  if (expire < 0 && time < kMin - expire)
    return true;  // the end lies before any representable now
  return now > time + expire;
}

}  // namespace

std::string UserSigHmac(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire) {
  std::string content;
  content.reserve(identifier.size() + 96);
  content += "TLS.identifier:";
  content += identifier;
  content += "\nTLS.sdkappid:";
  content += std::to_string(sdkappid);
  content += "\nTLS.time:";
  content += std::to_string(time);
  content += "\nTLS.expire:";
  content += std::to_string(expire);
  content += "\n";

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  // An empty key is passed as a valid pointer: HMAC() treats a null key as
  // "reuse the last key".
  static const unsigned char kEmpty = 0;
  const void* key = secret_key.empty()
                        ? static_cast<const void*>(&kEmpty)
                        : static_cast<const void*>(secret_key.data());
  if (secret_key.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), key, static_cast<int>(secret_key.size()),
           reinterpret_cast<const unsigned char*>(content.data()),
           content.size(), mac.data(), &mac_len) == nullptr) {
    // Cannot happen with SHA-256 and a sane key; never matches a real sig.
    return std::string();
  }
  return Base64Encode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), mac_len));
}

std::string MintUserSig(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire) {
  std::string doc = "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":";
  AppendJsonString(doc, identifier);
  doc += ",\"TLS.sdkappid\":" + std::to_string(sdkappid);
  doc += ",\"TLS.time\":" + std::to_string(time);
  doc += ",\"TLS.expire\":" + std::to_string(expire);
  doc += ",\"TLS.sig\":";
  AppendJsonString(doc,
                   UserSigHmac(secret_key, identifier, sdkappid, time, expire));
  doc += "}";
  const std::optional<std::string> compressed = Deflate(doc);
  if (!compressed) return std::string();  // only on out-of-memory
  return ToVendorAlphabet(Base64Encode(*compressed));
}

std::optional<UserSigFields> DecodeUserSig(std::string_view usersig) {
  if (usersig.size() > kMaxUserSigChars) return std::nullopt;
  const std::optional<std::string> compressed = VendorBase64Decode(usersig);
  if (!compressed) return std::nullopt;
  const std::optional<std::string> doc = InflateBounded(*compressed);
  if (!doc) return std::nullopt;
  return FlatJsonParser(*doc).Parse();
}

UserSigCheck CheckUserSig(std::string_view usersig, std::string_view secret_key,
                          std::string_view identifier, std::int64_t sdkappid,
                          std::int64_t now) {
  const std::optional<UserSigFields> fields = DecodeUserSig(usersig);
  if (!fields) return UserSigCheck::kMalformed;
  if (fields->identifier != identifier || fields->sdkappid != sdkappid) {
    return UserSigCheck::kMismatch;
  }
  const std::string expected =
      UserSigHmac(secret_key, fields->identifier, fields->sdkappid,
                  fields->time, fields->expire);
  if (expected.empty() || expected.size() != fields->sig.size() ||
      CRYPTO_memcmp(expected.data(), fields->sig.data(), expected.size()) !=
          0) {
    return UserSigCheck::kBadSignature;
  }
  if (IsExpired(fields->time, fields->expire, now))
    return UserSigCheck::kExpired;
  return UserSigCheck::kValid;
}

}  // namespace tle
