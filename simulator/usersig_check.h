// UserSig checking: what the live engine's API would say about the `usersig`
// a request presents. The simulator's side of TLSSigAPIv2 only: the exporter
// mints UserSigs (exporter/client/usersig.h) and never has to read one.
//
// The signature is recomputed here with its own HMAC code, independent of the
// client's minting, so that a mistake in one does not hide in the other.
// Pure functions over Boost.JSON, OpenSSL and zlib; safe to call from any
// thread. The secret key is only an argument: nothing here logs or stores it.
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

// Reverses the UserSig encoding (vendor base64, zlib, JSON document); nullopt
// when the text is not a well-formed UserSig.
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
