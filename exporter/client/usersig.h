// UserSig (TLSSigAPIv2): minting and checking the `usersig` query parameter.
//
// Pure functions over OpenSSL (HMAC-SHA256) and zlib; safe to call from any
// thread. The secret key is only ever an argument: nothing here logs or stores
// it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tle {

struct UserSigFields {
  std::string version;  // "2.0"
  std::string identifier;
  std::int64_t sdkappid = 0;
  std::int64_t time = 0;    // Unix seconds when minted
  std::int64_t expire = 0;  // seconds of validity
  std::string sig;          // standard base64 of the HMAC-SHA256
};

// base64(HMAC-SHA256(key,
// "TLS.identifier:..\nTLS.sdkappid:..\nTLS.time:..\nTLS.expire:..\n")).
std::string UserSigHmac(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire);

// The full UserSig: JSON document, zlib, base64 with + / = replaced by * - _.
std::string MintUserSig(std::string_view secret_key,
                        std::string_view identifier, std::int64_t sdkappid,
                        std::int64_t time, std::int64_t expire);

// Reverses MintUserSig's encoding; nullopt when the text is not a well-formed
// UserSig.
std::optional<UserSigFields> DecodeUserSig(std::string_view usersig);

// What the API would say about a UserSig presented for (identifier, sdkappid)
// at `now`.
enum class UserSigCheck {
  kValid,
  kMalformed,
  kMismatch,
  kBadSignature,
  kExpired
};
UserSigCheck CheckUserSig(std::string_view usersig, std::string_view secret_key,
                          std::string_view identifier, std::int64_t sdkappid,
                          std::int64_t now);

}  // namespace tle
