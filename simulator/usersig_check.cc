#include "simulator/usersig_check.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/common/base64.h"

// Decisions (tests/usersig_test.cc pins each one):
// - Base64 is exporter/common/base64, strict: length a multiple of 4, padding
//   only at the very end, nothing outside the alphabet. Only the vendor
//   alphabet (`*` `-` `_`) is accepted, never the standard `+` `/` `=`.
// - Inflating stops at kMaxInflatedBytes (64 KiB): a larger document is refused
//   (zlib bombs). The zlib stream must end exactly at the end of the input.
// - The document is read with Boost.JSON's SAX parser (basic_parser), not into
//   a json::value: a json::object keeps the last of two equal keys silently,
//   and a repeated known key must make the document malformed. One flat object
//   whose values are strings or integers, with any JSON whitespace (the
//   vendor's Python library writes ", " and ": "). Unknown keys are ignored
//   (newer vendor libraries add "TLS.userbuf"); a repeated known key, a float,
//   a nested value, `true`, `null` or trailing text make the document
//   malformed. All six fields are required and TLS.ver must be "2.0". Strings
//   may hold any bytes (allow_invalid_utf8); \u escapes become UTF-8 and a lone
//   surrogate is malformed (Boost.JSON refuses it).
// - CheckUserSig checks in this order: malformed, mismatch, bad signature,
//   expired. Expiry is computed without overflow (time + expire saturates).

namespace tle {
namespace {

namespace json = boost::json;

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

// SAX handler for the flat UserSig document: fills `fields` and refuses
// anything the decisions above call malformed (returning false stops the
// parse with an error).
class UserSigDocument {
 public:
  static constexpr std::size_t max_array_size = 0;
  static constexpr std::size_t max_object_size = 64;
  static constexpr std::size_t max_string_size = kMaxInflatedBytes;
  static constexpr std::size_t max_key_size = 256;

  // True once the whole document was read and all six fields are present.
  bool Complete() const { return seen_ == 0x3f && fields_.version == "2.0"; }
  UserSigFields& fields() { return fields_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return false; }
  bool on_array_end(std::size_t, json::error_code&) { return false; }
  bool on_object_begin(json::error_code&) {
    if (depth_ != 0) return false;  // only the one flat object
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    string_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    string_.append(s.data(), s.size());
    const bool ok = Assign(/*is_string=*/true, 0);
    string_.clear();
    return ok;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    return Assign(/*is_string=*/false, i);
  }
  // Above INT64_MAX, fractions and exponents are not the integers a UserSig
  // holds.
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    return false;
  }
  bool on_double(double, json::string_view, json::error_code&) { return false; }
  bool on_bool(bool, json::error_code&) { return false; }
  bool on_null(json::error_code&) { return false; }
  bool on_comment_part(json::string_view, json::error_code&) { return false; }
  bool on_comment(json::string_view, json::error_code&) { return false; }

 private:
  // Stores the value of the key just read; false for a repeated known key or
  // a value of the wrong type. Unknown keys are ignored.
  bool Assign(bool is_string, std::int64_t number) {
    struct Known {
      std::string_view name;
      bool string;
    };
    static constexpr std::array<Known, 6> kKnown = {{{"TLS.ver", true},
                                                     {"TLS.identifier", true},
                                                     {"TLS.sdkappid", false},
                                                     {"TLS.time", false},
                                                     {"TLS.expire", false},
                                                     {"TLS.sig", true}}};
    const std::string key = std::move(key_);
    key_.clear();
    for (std::size_t i = 0; i < kKnown.size(); ++i) {
      if (key != kKnown[i].name) continue;
      const unsigned bit = 1u << i;
      if ((seen_ & bit) != 0 || is_string != kKnown[i].string) return false;
      seen_ |= bit;
      switch (i) {
        case 0:
          fields_.version = string_;
          break;
        case 1:
          fields_.identifier = string_;
          break;
        case 2:
          fields_.sdkappid = number;
          break;
        case 3:
          fields_.time = number;
          break;
        case 4:
          fields_.expire = number;
          break;
        default:
          fields_.sig = string_;
          break;
      }
      return true;
    }
    return true;
  }

  UserSigFields fields_;
  unsigned seen_ = 0;  // bit per known field
  int depth_ = 0;
  std::string key_;
  std::string string_;
};

std::optional<UserSigFields> ParseDocument(std::string_view text) {
  json::parse_options options;
  options.allow_invalid_utf8 = true;
  options.max_depth = 2;
  json::basic_parser<UserSigDocument> parser(options);
  json::error_code ec;
  const std::size_t used =
      parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done() ||
      !parser.handler().Complete()) {
    return std::nullopt;
  }
  return std::move(parser.handler().fields());
}

// base64(HMAC-SHA256(key, the four TLS.* lines)): the vendor's TLSSigAPIv2
// signature, written again here rather than taken from the client: a check
// made with the code that mints would pass whatever that code gets wrong, so
// this is an independent implementation (tests/usersig_test.cc pins both to the
// vendor's known answers).
std::string ExpectedSignature(std::string_view secret_key,
                              const UserSigFields& f) {
  const std::string content = "TLS.identifier:" + f.identifier +
                              "\nTLS.sdkappid:" + std::to_string(f.sdkappid) +
                              "\nTLS.time:" + std::to_string(f.time) +
                              "\nTLS.expire:" + std::to_string(f.expire) + "\n";
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  // HMAC() takes a null key as "reuse the last key": pass a valid pointer.
  static const unsigned char kEmpty = 0;
  const void* key = secret_key.empty()
                        ? static_cast<const void*>(&kEmpty)
                        : static_cast<const void*>(secret_key.data());
  if (secret_key.size() > static_cast<std::size_t>(INT_MAX) ||
      HMAC(EVP_sha256(), key, static_cast<int>(secret_key.size()),
           reinterpret_cast<const unsigned char*>(content.data()),
           content.size(), mac.data(), &mac_len) == nullptr) {
    return std::string();  // never matches a real signature
  }
  return Base64Encode(
      std::string_view(reinterpret_cast<const char*>(mac.data()), mac_len));
}

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

std::optional<UserSigFields> DecodeUserSig(std::string_view usersig) {
  if (usersig.size() > kMaxUserSigChars) return std::nullopt;
  const std::optional<std::string> compressed = VendorBase64Decode(usersig);
  if (!compressed) return std::nullopt;
  const std::optional<std::string> doc = InflateBounded(*compressed);
  if (!doc) return std::nullopt;
  try {
    return ParseDocument(*doc);
  } catch (...) {  // only std::bad_alloc can come out of the parser
    return std::nullopt;
  }
}

UserSigCheck CheckUserSig(std::string_view usersig, std::string_view secret_key,
                          std::string_view identifier, std::int64_t sdkappid,
                          std::int64_t now) {
  const std::optional<UserSigFields> fields = DecodeUserSig(usersig);
  if (!fields) return UserSigCheck::kMalformed;
  if (fields->identifier != identifier || fields->sdkappid != sdkappid) {
    return UserSigCheck::kMismatch;
  }
  const std::string expected = ExpectedSignature(secret_key, *fields);
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
