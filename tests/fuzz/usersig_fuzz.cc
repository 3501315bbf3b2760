// libFuzzer harness for the UserSig document reader (simulator/usersig_check).
//
// The input is taken as the JSON document inside a UserSig: it is
// zlib-compressed and base64-encoded in the vendor alphabet here (with OpenSSL
// and zlib, not with the code under test), so the fuzzer explores the
// SAX handler over Boost.JSON instead of spending its time on base64 and
// zlib. A document that decodes must re-mint to the same fields. Built only
// with TLE_FUZZ=ON.
#include <openssl/evp.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_checks.h"

namespace {

using tle::fuzz::Require;

std::string Encode(const std::uint8_t* data, std::size_t size) {
  uLongf zsize = compressBound(static_cast<uLong>(size));
  std::vector<unsigned char> z(zsize);
  Require(compress(z.data(), &zsize, data, static_cast<uLong>(size)) == Z_OK);
  std::vector<unsigned char> b64(4 * ((zsize + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(b64.data(), z.data(), static_cast<int>(zsize));
  std::string text(reinterpret_cast<const char*>(b64.data()),
                   static_cast<std::size_t>(n));
  for (char& c : text) {
    if (c == '+') c = '*';
    if (c == '/') c = '-';
    if (c == '=') c = '_';
  }
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size > 70000) return 0;
  const auto fields = tle::DecodeUserSig(Encode(data, size));
  if (!fields) return 0;
  tle::fuzz::RequireRemintRoundTrip(*fields);
  return 0;
}
