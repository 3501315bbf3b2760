#include "exporter/common/text.h"

#include <catch2/catch.hpp>
#include <limits>
#include <string>

using tle::AppendJsonString;
using tle::IsValidUtf8;
using tle::ParseInt64;
using tle::ParseUint64;
using tle::ValidUtf8;

namespace {

const std::string kFffd = "\xef\xbf\xbd";

std::string Json(std::string_view text) {
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

}  // namespace

TEST_CASE("ValidUtf8 keeps valid text and replaces each maximal invalid part") {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"plain", "plain"},
      {"\xe7\x9b\xb4\xf0\x9f\x8e\xa4", "\xe7\x9b\xb4\xf0\x9f\x8e\xa4"},
      {std::string("a\0b", 3), std::string("a\0b", 3)},
      {"a\xff"
       "b",
       "a" + kFffd + "b"},
      {"\xe4\xb8", kFffd},                      // truncated: one part
      {"\xe4\xb8z", kFffd + "z"},               // cut off by an ASCII byte
      {"\xc0\xaf", kFffd + kFffd},              // overlong
      {"\xed\xa0\x80", kFffd + kFffd + kFffd},  // surrogate
      {"\xf4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // > U+10FFFF
  };
  for (const Case& c : cases) {
    INFO(c.in);
    CHECK(ValidUtf8(c.in) == c.out);
    CHECK(IsValidUtf8(c.in) == (c.in == c.out));
    CHECK(IsValidUtf8(ValidUtf8(c.in)));
  }
}

TEST_CASE("AppendJsonString escapes quotes, backslashes and controls") {
  CHECK(Json("") == "\"\"");
  CHECK(Json("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(Json("\n\r\t") == "\"\\n\\r\\t\"");
  CHECK(Json(std::string("\x01\x7f\0", 3)) == "\"\\u0001\\u007f\\u0000\"");
  CHECK(Json("\xe7\x9b\xb4") == "\"\xe7\x9b\xb4\"");  // UTF-8 as is
}

TEST_CASE("ParseUint64 and ParseInt64 take strict decimal text only") {
  CHECK(ParseUint64("0") == 0u);
  CHECK(ParseUint64("18446744073709551615") ==
        std::numeric_limits<std::uint64_t>::max());
  CHECK(ParseInt64("-9223372036854775808") ==
        std::numeric_limits<std::int64_t>::min());
  CHECK(ParseInt64("42") == 42);
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1x", "0x10", "1.0",
                          "18446744073709551616"}) {
    INFO(bad);
    CHECK_FALSE(ParseUint64(bad));
    CHECK_FALSE(ParseInt64(bad));
  }
  CHECK_FALSE(ParseUint64("-1"));
  CHECK_FALSE(ParseInt64("9223372036854775808"));
}
