// Log lines: typed JSON values, valid UTF-8 whatever the bytes, logfmt quoting,
// durations as the config writes them. JSON lines are checked by parsing them
// with Boost.JSON (built into this test, header-only), which rejects invalid
// UTF-8 and bad escapes.
#include "exporter/common/log.h"

#include <boost/json.hpp>
#include <boost/json/src.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "exporter/config/config.h"

namespace tle {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr double kTime = 1700000000.123;
const std::string kFffd = "\xEF\xBF\xBD";

json::object ParseJsonLine(const std::string& line) {
  json::error_code ec;
  json::value value = json::parse(line, ec);
  INFO(line);
  REQUIRE_FALSE(ec);
  REQUIRE(value.is_object());
  return value.as_object();
}

std::string JsonLine(std::string_view msg,
                     std::initializer_list<LogField> fields) {
  return FormatLogLine(LogFormat::kJson, kTime, LogLevel::kInfo, msg, fields);
}

std::string LogfmtLine(std::string_view msg,
                       std::initializer_list<LogField> fields) {
  return FormatLogLine(LogFormat::kLogfmt, kTime, LogLevel::kInfo, msg, fields);
}

// Splits a logfmt line into key -> value: bare values end at a space, quoted
// ones are JSON string literals (parsed with Boost.JSON).
std::vector<std::pair<std::string, std::string>> ParseLogfmt(
    const std::string& line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t i = 0;
  while (i < line.size()) {
    std::size_t eq = line.find('=', i);
    REQUIRE(eq != std::string::npos);
    std::string key = line.substr(i, eq - i);
    REQUIRE(key.find(' ') == std::string::npos);
    std::size_t v = eq + 1;
    std::string value;
    if (v < line.size() && line[v] == '"') {
      std::size_t end = v + 1;
      while (end < line.size() && line[end] != '"')
        end += line[end] == '\\' ? 2 : 1;
      REQUIRE(end < line.size());
      json::error_code ec;
      json::value parsed = json::parse(line.substr(v, end - v + 1), ec);
      INFO(line);
      REQUIRE_FALSE(ec);
      value = std::string(parsed.as_string());
      i = end + 1;
    } else {
      std::size_t end = line.find(' ', v);
      if (end == std::string::npos) end = line.size();
      value = line.substr(v, end - v);
      i = end;
    }
    out.emplace_back(key, value);
    if (i < line.size()) {
      REQUIRE(line[i] == ' ');
      ++i;
    }
  }
  return out;
}

TEST_CASE("levels and formats parse by the names the flags use") {
  CHECK(ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK(ParseLogLevel("info") == LogLevel::kInfo);
  CHECK(ParseLogLevel("warn") == LogLevel::kWarn);
  CHECK(ParseLogLevel("error") == LogLevel::kError);
  CHECK(ParseLogFormat("logfmt") == LogFormat::kLogfmt);
  CHECK(ParseLogFormat("json") == LogFormat::kJson);
  for (const char* bad : {"", "INFO", "warning", "info ", "fatal"}) {
    INFO(bad);
    CHECK_FALSE(ParseLogLevel(bad).has_value());
    CHECK_FALSE(ParseLogFormat(bad).has_value());
  }
  // Each level's lines carry the name that parses back to it.
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    const std::string line =
        FormatLogLine(LogFormat::kLogfmt, kTime, level, "m", {});
    const auto at = line.find(" level=");
    REQUIRE(at != std::string::npos);
    const auto end = line.find(' ', at + 7);
    CHECK(ParseLogLevel(line.substr(at + 7, end - at - 7)) == level);
  }
}

TEST_CASE("durations print as the config writes them") {
  CHECK(FormatDuration(milliseconds(0)) == "0s");
  CHECK(FormatDuration(milliseconds(250)) == "250ms");
  CHECK(FormatDuration(std::chrono::seconds(30)) == "30s");
  CHECK(FormatDuration(std::chrono::seconds(90)) == "1m30s");
  CHECK(FormatDuration(milliseconds(1500)) == "1s500ms");
  CHECK(FormatDuration(std::chrono::minutes(5)) == "5m");
  CHECK(FormatDuration(std::chrono::seconds(3601)) == "1h1s");
  CHECK(FormatDuration(std::chrono::hours(24)) == "1d");
  CHECK(FormatDuration(std::chrono::hours(24 * 7)) == "1w");
  CHECK(FormatDuration(std::chrono::hours(24 * 366)) == "1y1d");
  CHECK(FormatDuration(std::chrono::seconds(-5)) == "-5s");
  CHECK(FormatDuration(milliseconds(std::numeric_limits<std::int64_t>::min()))
            .rfind("-", 0) == 0);

  SECTION("ParseDuration reads every one back") {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::int64_t> any(
        0, std::chrono::duration_cast<milliseconds>(
               std::chrono::hours(24 * 365 * 100))
               .count());
    for (int i = 0; i < 2000; ++i) {
      milliseconds d(i < 1000 ? i * 997 : any(rng));
      std::string text = FormatDuration(d);
      auto parsed = ParseDuration(text);
      INFO(text);
      REQUIRE(parsed);
      CHECK(*parsed == d);
    }
  }
}

TEST_CASE("JSON lines write numbers and booleans as JSON values") {
  std::size_t rooms = 250;
  std::string line = JsonLine(
      "walk completed", {{"sdkappid", std::int64_t{1400000000}},
                         {"rooms", rooms},
                         {"pages", 13},
                         {"delta", -7},
                         {"big", std::numeric_limits<std::uint64_t>::max()},
                         {"seconds", 1.019},
                         {"ok", true},
                         {"tls", false},
                         {"interval", std::chrono::seconds(90)},
                         {"endpoint", "http://127.0.0.1:8080"},
                         {"code", std::string("70001")}});
  json::object o = ParseJsonLine(line);
  CHECK(o.at("ts").as_string() == "2023-11-14T22:13:20.123Z");
  CHECK(o.at("level").as_string() == "info");
  CHECK(o.at("msg").as_string() == "walk completed");
  CHECK(o.at("sdkappid").as_int64() == 1400000000);
  CHECK(o.at("rooms").as_int64() == 250);
  CHECK(o.at("pages").as_int64() == 13);
  CHECK(o.at("delta").as_int64() == -7);
  CHECK(o.at("big").as_uint64() == std::numeric_limits<std::uint64_t>::max());
  CHECK(o.at("seconds").as_double() == 1.019);
  CHECK(o.at("ok").as_bool() == true);
  CHECK(o.at("tls").as_bool() == false);
  CHECK(o.at("interval").as_string() == "1m30s");
  CHECK(o.at("endpoint").as_string() == "http://127.0.0.1:8080");
  CHECK(o.at("code").as_string() == "70001");  // text stays text
  CHECK(line.find("\"rooms\":250,") != std::string::npos);
  CHECK(line.find("\"seconds\":1.019,") != std::string::npos);
}

TEST_CASE("fields that do not apply are left out") {
  json::object o = ParseJsonLine(
      JsonLine("m", {{"empty", ""}, {"none", LogValue()}, {"zero", 0}}));
  CHECK_FALSE(o.contains("empty"));
  CHECK_FALSE(o.contains("none"));
  CHECK(o.at("zero").as_int64() == 0);
  CHECK(LogfmtLine("m", {{"empty", ""}, {"none", LogValue()}}) ==
        "ts=2023-11-14T22:13:20.123Z level=info msg=m");
}

TEST_CASE("numbers are locale-independent and never invalid JSON") {
  json::object o = ParseJsonLine(
      JsonLine("m", {{"nan", std::nan("")},
                     {"inf", std::numeric_limits<double>::infinity()},
                     {"ninf", -std::numeric_limits<double>::infinity()},
                     {"tiny", 1e-300},
                     {"half", 0.5}}));
  CHECK(o.at("nan").as_string() == "NaN");
  CHECK(o.at("inf").as_string() == "+Inf");
  CHECK(o.at("ninf").as_string() == "-Inf");
  CHECK(o.at("tiny").as_double() == 1e-300);
  CHECK(o.at("half").as_double() == 0.5);
  CHECK(LogfmtLine("m", {{"half", 0.5}, {"inf", HUGE_VAL}}) ==
        "ts=2023-11-14T22:13:20.123Z level=info msg=m half=0.5 inf=+Inf");
}

TEST_CASE("JSON lines are valid UTF-8 whatever the bytes") {
  struct Case {
    std::string bytes;
    std::string clean;
  };
  const std::vector<Case> cases = {
      {"ok \xE6\x88\xBF\xE9\x97\xB4 \xF0\x9F\x8E\x89", "ok 房间 🎉"},
      {"\x80", kFffd},                          // lone continuation byte
      {"\xC0\xAF", kFffd + kFffd},              // overlong '/'
      {"\xE0\x80\x80", kFffd + kFffd + kFffd},  // overlong NUL
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},  // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xF5\x80", kFffd + kFffd},
      {"\xFF\xFE", kFffd + kFffd},
      {"a\xE2\x82"
       "b",
       "a" + kFffd + "b"},                   // truncated: one U+FFFD
      {"end \xF0\x9F\x8E", "end " + kFffd},  // truncated at the end
      {"\xC3(", kFffd + "("},
  };
  for (const Case& c : cases) {
    INFO(c.clean);
    std::string line =
        JsonLine(c.bytes, {{c.bytes, c.bytes}, {"error", c.bytes}});
    json::object o = ParseJsonLine(line);
    CHECK(o.at("msg").as_string() == c.clean);
    CHECK(o.at("error").as_string() == c.clean);
    CHECK(o.at(c.clean).as_string() == c.clean);

    std::string logfmt = LogfmtLine("m", {{"error", c.bytes}});
    auto fields = ParseLogfmt(logfmt);
    REQUIRE(fields.size() == 4);
    CHECK(fields[3].second == c.clean);
  }
}

TEST_CASE("control characters, quotes and backslashes are escaped") {
  std::string nasty;
  for (int c = 0; c < 0x20; ++c) nasty.push_back(static_cast<char>(c));
  nasty += "\x7f \"quoted\" back\\slash";
  std::string line = JsonLine("m", {{"error", nasty}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find('\0') == std::string::npos);
  CHECK(line.find("\\u007f") != std::string::npos);
  CHECK(ParseJsonLine(line).at("error").as_string() == nasty);

  std::string logfmt = LogfmtLine("m", {{"error", nasty}});
  CHECK(logfmt.find('\n') == std::string::npos);
  auto fields = ParseLogfmt(logfmt);
  REQUIRE(fields.size() == 4);
  CHECK(fields[3] == std::pair<std::string, std::string>("error", nasty));
}

TEST_CASE("logfmt quotes only what needs it") {
  std::string line = LogfmtLine(
      "walk failed", {{"sdkappid", 1400000000},
                      {"reason", "network"},
                      {"error", "connect to 10.0.0.1:443: Connection refused"},
                      {"kv", "a=b"},
                      {"up", false},
                      {"interval", milliseconds(30000)},
                      {"room", "房间"}});
  CHECK(line ==
        "ts=2023-11-14T22:13:20.123Z level=info msg=\"walk failed\" "
        "sdkappid=1400000000 reason=network "
        "error=\"connect to 10.0.0.1:443: Connection refused\" kv=\"a=b\" "
        "up=false interval=30s room=房间");
  auto fields = ParseLogfmt(line);
  REQUIRE(fields.size() == 10);
  CHECK(fields[2].second == "walk failed");
  CHECK(fields[5].second == "connect to 10.0.0.1:443: Connection refused");
}

TEST_CASE("a huge value is cut, still valid") {
  std::string huge(3 * kMaxLogValueBytes, 'a');
  huge[kMaxLogValueBytes - 1] = '\xE6';  // a 3-byte character across the cut
  huge[kMaxLogValueBytes] = '\x88';
  huge[kMaxLogValueBytes + 1] = '\xBF';
  std::string line = JsonLine("m", {{"cursor", huge}});
  CHECK(line.size() < kMaxLogValueBytes + 200);
  std::string value(ParseJsonLine(line).at("cursor").as_string());
  CHECK(value.rfind(std::string(kMaxLogValueBytes - 1, 'a'), 0) == 0);
  CHECK(value.substr(kMaxLogValueBytes - 1) ==
        "...(" + std::to_string(2 * kMaxLogValueBytes + 1) + " more bytes)");
}

std::vector<std::string>* g_lines = nullptr;
void Capture(const std::string& line) { g_lines->push_back(line); }

TEST_CASE("Log writes through the sink at or above the level") {
  std::vector<std::string> lines;
  g_lines = &lines;
  SetLogSink(&Capture);
  SetLogFormat(LogFormat::kJson);
  SetLogLevel(LogLevel::kInfo);
  Log(LogLevel::kDebug, "hidden");
  Log(LogLevel::kWarn, "walk took longer than its interval",
      {{"sdkappid", 1},
       {"seconds", 12.5},
       {"interval", std::chrono::seconds(10)}});
  SetLogSink(nullptr);
  SetLogFormat(LogFormat::kLogfmt);
  g_lines = nullptr;
  REQUIRE(lines.size() == 1);
  json::object o = ParseJsonLine(lines[0]);
  CHECK(o.at("level").as_string() == "warn");
  CHECK(o.at("seconds").as_double() == 12.5);
  CHECK(o.at("interval").as_string() == "10s");
}

}  // namespace
}  // namespace tle
