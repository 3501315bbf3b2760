// Tests for UserSig (TLSSigAPIv2): minting (the exporter's client stage) and
// decoding and checking (the simulator's, simulator/usersig_check.h), each
// against known answers and against the other.
#include "exporter/client/usersig.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "simulator/usersig_check.h"

namespace {

// Known answers from the vendor algorithm, computed independently
// (docs/upstream.md).
constexpr char kKnownKey[] =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
constexpr std::int64_t kKnownAppId = 1400000000;

constexpr char kSecret[] = "demo-secret-key-not-for-production";

// A UserSig written by the vendor's Python library style (json.dumps with ", "
// and ": " separators, fields in another order), made independently of our code
// with Python's zlib/base64/hmac for identifier "xiaojun", time 1700000000,
// expire 15552000 and kKnownKey.
constexpr char kPythonUserSig[] =
    "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAy"
    "iAyqVWFGQWpYJkTE1NjRDi"
    "JZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-"
    "OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";

// Independent encoder for hand-made UserSigs: zlib (default level) + OpenSSL
// base64 + vendor alphabet.
std::string EncodeDocument(const std::string& doc) {
  uLongf size = compressBound(static_cast<uLong>(doc.size()));
  std::vector<unsigned char> z(size);
  REQUIRE(compress(z.data(), &size, reinterpret_cast<const Bytef*>(doc.data()),
                   static_cast<uLong>(doc.size())) == Z_OK);
  std::vector<unsigned char> b64(4 * ((size + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(b64.data(), z.data(), static_cast<int>(size));
  std::string s(reinterpret_cast<const char*>(b64.data()),
                static_cast<std::size_t>(n));
  for (char& c : s) {
    if (c == '+') c = '*';
    if (c == '/') c = '-';
    if (c == '=') c = '_';
  }
  return s;
}

std::string Doc(const std::string& identifier_json, const std::string& sig) {
  return "{\"TLS.ver\":\"2.0\",\"TLS.identifier\":" + identifier_json +
         ",\"TLS.sdkappid\":1400000000,\"TLS.time\":1600000000,\"TLS.expire\":"
         "86400,\"TLS.sig\":\"" +
         sig + "\"}";
}

}  // namespace

TEST_CASE("UserSigHmac matches the known answers", "[usersig]") {
  CHECK(tle::UserSigHmac(kKnownKey, "xiaojun", kKnownAppId, 1700000000,
                         15552000) ==
        "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
  CHECK(tle::UserSigHmac(kKnownKey, "administrator", kKnownAppId, 1600000000,
                         86400) ==
        "los0WU+OsAqKAMeEseEb6GMMPAPQp6knnzQ5XIlQj0U=");
  // Every input is part of the signed content.
  const std::string base = tle::UserSigHmac(kKnownKey, "administrator",
                                            kKnownAppId, 1600000000, 86400);
  CHECK(tle::UserSigHmac(kKnownKey, "administrator", kKnownAppId, 1600000000,
                         86401) != base);
  CHECK(tle::UserSigHmac(kKnownKey, "administrator", kKnownAppId, 1600000001,
                         86400) != base);
  CHECK(tle::UserSigHmac(kKnownKey, "administrator", kKnownAppId + 1,
                         1600000000, 86400) != base);
  CHECK(tle::UserSigHmac(kKnownKey, "administratoR", kKnownAppId, 1600000000,
                         86400) != base);
  CHECK(tle::UserSigHmac("x", "administrator", kKnownAppId, 1600000000,
                         86400) != base);
}

TEST_CASE("MintUserSig round-trips through DecodeUserSig", "[usersig]") {
  const std::string sig = tle::MintUserSig(kKnownKey, "administrator",
                                           kKnownAppId, 1600000000, 86400);
  auto fields = tle::DecodeUserSig(sig);
  REQUIRE(fields);
  CHECK(fields->version == "2.0");
  CHECK(fields->identifier == "administrator");
  CHECK(fields->sdkappid == kKnownAppId);
  CHECK(fields->time == 1600000000);
  CHECK(fields->expire == 86400);
  CHECK(fields->sig == "los0WU+OsAqKAMeEseEb6GMMPAPQp6knnzQ5XIlQj0U=");
}

TEST_CASE("MintUserSig uses the vendor base64 alphabet", "[usersig]") {
  // Many identifiers so that the compressed bytes hit all of 62, 63 and
  // padding.
  bool saw_star = false, saw_dash = false, saw_underscore = false;
  for (int i = 0; i < 200; ++i) {
    const std::string sig =
        tle::MintUserSig(kSecret, "user" + std::to_string(i), kKnownAppId,
                         1600000000 + i, 86400);
    INFO(sig);
    CHECK(sig.find_first_of("+/=") == std::string::npos);
    CHECK(sig.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                                "uvwxyz0123456789*-_") == std::string::npos);
    CHECK(sig.size() % 4 == 0);
    saw_star |= sig.find('*') != std::string::npos;
    saw_dash |= sig.find('-') != std::string::npos;
    saw_underscore |= sig.find('_') != std::string::npos;
    REQUIRE(tle::DecodeUserSig(sig));
  }
  CHECK(saw_star);
  CHECK(saw_dash);
  CHECK(saw_underscore);
}

TEST_CASE(
    "DecodeUserSig reads a UserSig made by the vendor's Python library style",
    "[usersig]") {
  auto fields = tle::DecodeUserSig(kPythonUserSig);
  REQUIRE(fields);
  CHECK(fields->identifier == "xiaojun");
  CHECK(fields->sdkappid == kKnownAppId);
  CHECK(fields->time == 1700000000);
  CHECK(fields->expire == 15552000);
  CHECK(fields->sig == "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
  CHECK(tle::CheckUserSig(kPythonUserSig, kKnownKey, "xiaojun", kKnownAppId,
                          1700000000) == tle::UserSigCheck::kValid);
}

TEST_CASE("CheckUserSig reports each outcome", "[usersig]") {
  const std::int64_t t = 1700000000, expire = 3600;
  const std::string sig =
      tle::MintUserSig(kSecret, "administrator", kKnownAppId, t, expire);
  using tle::UserSigCheck;
  CHECK(tle::CheckUserSig(sig, kSecret, "administrator", kKnownAppId, t) ==
        UserSigCheck::kValid);
  CHECK(tle::CheckUserSig(sig, kSecret, "administrator", kKnownAppId,
                          t + expire) == UserSigCheck::kValid);
  CHECK(tle::CheckUserSig(sig, kSecret, "administrator", kKnownAppId,
                          t + expire + 1) == UserSigCheck::kExpired);
  CHECK(tle::CheckUserSig(sig, kSecret, "admin", kKnownAppId, t) ==
        UserSigCheck::kMismatch);
  CHECK(tle::CheckUserSig(sig, kSecret, "administrator", kKnownAppId + 1, t) ==
        UserSigCheck::kMismatch);
  CHECK(tle::CheckUserSig(sig, "wrong-secret", "administrator", kKnownAppId,
                          t) == UserSigCheck::kBadSignature);
  // A bad signature is reported even when the UserSig is also expired.
  CHECK(tle::CheckUserSig(sig, "wrong-secret", "administrator", kKnownAppId,
                          t + expire + 1) == UserSigCheck::kBadSignature);
  CHECK(tle::CheckUserSig("", kSecret, "administrator", kKnownAppId, t) ==
        UserSigCheck::kMalformed);
  CHECK(tle::CheckUserSig("not a usersig", kSecret, "administrator",
                          kKnownAppId, t) == UserSigCheck::kMalformed);
}

TEST_CASE(
    "CheckUserSig rejects a document whose fields were altered after signing",
    "[usersig]") {
  const std::string good_sig = tle::UserSigHmac(kSecret, "administrator",
                                                kKnownAppId, 1600000000, 86400);
  const std::string good = EncodeDocument(Doc("\"administrator\"", good_sig));
  CHECK(tle::CheckUserSig(good, kSecret, "administrator", kKnownAppId,
                          1600000000) == tle::UserSigCheck::kValid);
  // Longer validity claimed than was signed.
  std::string doc = Doc("\"administrator\"", good_sig);
  doc.replace(doc.find("86400"), 5, "999999");
  CHECK(tle::CheckUserSig(EncodeDocument(doc), kSecret, "administrator",
                          kKnownAppId,
                          1600000000) == tle::UserSigCheck::kBadSignature);
  // Signature of another length.
  CHECK(tle::CheckUserSig(EncodeDocument(Doc("\"administrator\"", "abc")),
                          kSecret, "administrator", kKnownAppId,
                          1600000000) == tle::UserSigCheck::kBadSignature);
}

TEST_CASE("Expiry arithmetic does not overflow", "[usersig]") {
  const std::int64_t max = INT64_MAX;
  const std::string forever = tle::MintUserSig(kSecret, "a", 1, max - 10, 100);
  CHECK(tle::CheckUserSig(forever, kSecret, "a", 1, max) ==
        tle::UserSigCheck::kValid);
  const std::string negative =
      tle::MintUserSig(kSecret, "a", 1, INT64_MIN + 5, -100);
  CHECK(tle::CheckUserSig(negative, kSecret, "a", 1, INT64_MIN) ==
        tle::UserSigCheck::kExpired);
  auto fields = tle::DecodeUserSig(negative);
  REQUIRE(fields);
  CHECK(fields->time == INT64_MIN + 5);
  CHECK(fields->expire == -100);
}

TEST_CASE("DecodeUserSig refuses garbage", "[usersig]") {
  CHECK_FALSE(tle::DecodeUserSig(""));
  CHECK_FALSE(tle::DecodeUserSig("!!!!"));
  CHECK_FALSE(tle::DecodeUserSig("abc"));   // length not a multiple of 4
  CHECK_FALSE(tle::DecodeUserSig("YWJj"));  // base64 of "abc": not zlib
  CHECK_FALSE(tle::DecodeUserSig("a_bc"));  // padding in the middle
  CHECK_FALSE(tle::DecodeUserSig("ab_c"));
  CHECK_FALSE(tle::DecodeUserSig("a___"));
  const std::string good =
      tle::MintUserSig(kSecret, "administrator", kKnownAppId, 1, 2);
  REQUIRE(tle::DecodeUserSig(good));
  // The standard alphabet is not the vendor's.
  std::string standard = good;
  for (char& c : standard) {
    if (c == '*') c = '+';
    if (c == '-') c = '/';
    if (c == '_') c = '=';
  }
  if (standard != good) CHECK_FALSE(tle::DecodeUserSig(standard));
  CHECK_FALSE(tle::DecodeUserSig(
      good.substr(0, good.size() - 4)));           // truncated zlib stream
  CHECK_FALSE(tle::DecodeUserSig(good + "AAAA"));  // trailing bytes
  CHECK_FALSE(tle::DecodeUserSig(" " + good));
}

TEST_CASE("DecodeUserSig refuses documents that are not a UserSig",
          "[usersig]") {
  const std::string sig = "abc=";
  CHECK(tle::DecodeUserSig(EncodeDocument(Doc("\"x\"", sig))));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument("")));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument("[]")));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument("{}")));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(Doc("\"x\"", sig) + "x")));
  CHECK_FALSE(tle::DecodeUserSig(
      EncodeDocument(Doc("1", sig))));  // identifier not a string
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(Doc("null", sig))));
  CHECK_FALSE(tle::DecodeUserSig(
      EncodeDocument(Doc("\"\\ud800\"", sig))));  // lone surrogate
  CHECK_FALSE(tle::DecodeUserSig(
      EncodeDocument(Doc("\"a\nb\"", sig))));  // raw control char
  std::string doc = Doc("\"x\"", sig);
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find("1600000000"), 10, "1.6e9"))));  // not an integer
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(
      std::string(doc).replace(doc.find("1600000000"), 10, "01600000000"))));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find("1600000000"), 10, "99999999999999999999"))));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find("\"2.0\""), 5, "\"3.0\""))));  // another version
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find(",\"TLS.sig\""), 0, ",\"TLS.time\":1"))));  // repeated key
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find(",\"TLS.sig\""), 0, ",\"x\":{}"))));  // nested value
  // Unknown string/integer keys are ignored; whitespace is allowed.
  CHECK(tle::DecodeUserSig(EncodeDocument(std::string(doc).replace(
      doc.find(",\"TLS.sig\""), 0, " , \"TLS.userbuf\" : \"\" ,\"n\":-1"))));
}

TEST_CASE("DecodeUserSig refuses zlib bombs", "[usersig]") {
  // A large, well-formed document: unknown key padding the JSON past 64 KiB.
  const std::string small_doc =
      Doc("\"x\"", "abc=")
          .insert(1, "\"pad\":\"" + std::string(60000, 'a') + "\",");
  CHECK(tle::DecodeUserSig(EncodeDocument(small_doc)));
  const std::string big_doc =
      Doc("\"x\"", "abc=")
          .insert(1, "\"pad\":\"" + std::string(70000, 'a') + "\",");
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(big_doc)));
  CHECK_FALSE(tle::DecodeUserSig(EncodeDocument(std::string(8 << 20, ' '))));
}

TEST_CASE("Identifiers with quotes, backslashes and non-ASCII round-trip",
          "[usersig]") {
  for (const std::string& identifier :
       {std::string("a\"b\\c"), std::string("\"\\\"\\\\"),
        std::string("tab\there\nnl\x01\x7f"),
        std::string("\xe7\x94\xa8\xe6\x88\xb7"),
        std::string("bad utf8 \xff\xfe"), std::string("nul\0byte", 8),
        std::string()}) {
    INFO(identifier);
    const std::string sig =
        tle::MintUserSig(kSecret, identifier, kKnownAppId, 1600000000, 86400);
    auto fields = tle::DecodeUserSig(sig);
    REQUIRE(fields);
    CHECK(fields->identifier == identifier);
    CHECK(fields->sig == tle::UserSigHmac(kSecret, identifier, kKnownAppId,
                                          1600000000, 86400));
    CHECK(tle::CheckUserSig(sig, kSecret, identifier, kKnownAppId,
                            1600000000) == tle::UserSigCheck::kValid);
  }
  // \u escapes, including a surrogate pair, decode to UTF-8.
  auto fields = tle::DecodeUserSig(
      EncodeDocument(Doc("\"\\u00e9\\ud83d\\ude00\\/\"", "abc=")));
  REQUIRE(fields);
  CHECK(fields->identifier == "\xc3\xa9\xf0\x9f\x98\x80/");
}
