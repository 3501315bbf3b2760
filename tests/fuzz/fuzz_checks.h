// What the libFuzzer harnesses in tests/fuzz share: Require(), which aborts
// (a finding) when a contract breaks, and the UserSig round trip both the
// decoder and the UserSig harness check on whatever decoded.
#pragma once

#include <cstdlib>
#include <string>

#include "exporter/client/usersig.h"
#include "simulator/usersig_check.h"

namespace tle::fuzz {

inline void Require(bool condition) {
  if (!condition) std::abort();
}

// A decoded UserSig re-mints to the same fields; returns the re-minted one.
inline std::string RequireRemintRoundTrip(const UserSigFields& fields) {
  Require(fields.version == "2.0");
  const std::string again = MintUserSig("k", fields.identifier, fields.sdkappid,
                                        fields.time, fields.expire);
  const auto round = DecodeUserSig(again);
  Require(round.has_value());
  Require(round->identifier == fields.identifier &&
          round->sdkappid == fields.sdkappid && round->time == fields.time &&
          round->expire == fields.expire);
  return again;
}

}  // namespace tle::fuzz
