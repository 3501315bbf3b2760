#include "exporter/client/usersig.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/common/base64.h"
#include "exporter/common/text.h"

// Decisions (see also usersig.h):
// - Base64 is exporter/common/base64 (shared with basic auth); the vendor
//   alphabet replaces `+` `/` `=` by `*` `-` `_`.
// - The JSON document is written here (six flat fields); nothing in the
//   exporter reads a UserSig back: checking one is the simulator's job
//   (simulator/usersig_check.h), with its own code.
// - Strings are written by AppendJsonString (exporter/common/text.h), the
//   exporter's one JSON escaper: control characters escaped, every other
//   byte, non-ASCII and invalid UTF-8 too, kept, so the document names
//   exactly the identifier that was signed (no ValidUtf8 here on purpose).

namespace tle {
namespace {

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
  AppendJsonString(&doc, identifier);
  doc += ",\"TLS.sdkappid\":" + std::to_string(sdkappid);
  doc += ",\"TLS.time\":" + std::to_string(time);
  doc += ",\"TLS.expire\":" + std::to_string(expire);
  doc += ",\"TLS.sig\":";
  AppendJsonString(&doc,
                   UserSigHmac(secret_key, identifier, sdkappid, time, expire));
  doc += "}";
  const std::optional<std::string> compressed = Deflate(doc);
  if (!compressed) return std::string();  // only on out-of-memory
  return ToVendorAlphabet(Base64Encode(*compressed));
}

}  // namespace tle
