// UserSig (TLSSigAPIv2): minting the `usersig` query parameter from the app's
// secret key.
//
// Pure functions over OpenSSL (HMAC-SHA256) and zlib; safe to call from any
// thread. The secret key is only ever an argument: nothing here logs or stores
// it. The exporter only mints; reading a UserSig back is the simulator's job
// (simulator/usersig_check.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tle {

// base64(HMAC-SHA256(key,
// "TLS.identifier:..\nTLS.sdkappid:..\nTLS.time:..\nTLS.expire:..\n")).
std::string UserSigHmac(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire);

// The full UserSig: JSON document, zlib, base64 with + / = replaced by * - _.
std::string MintUserSig(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire);

}  // namespace tle
