#include "exporter/common/log.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <mutex>

#include "exporter/common/text.h"

namespace tle {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};
std::atomic<LogSink> g_sink{nullptr};
std::mutex g_write_mutex;

// One row per level and format: the name the flags and the lines use.
struct LevelName {
  LogLevel level;
  std::string_view name;
};
constexpr LevelName kLevelNames[] = {{LogLevel::kDebug, "debug"},
                                     {LogLevel::kInfo, "info"},
                                     {LogLevel::kWarn, "warn"},
                                     {LogLevel::kError, "error"}};
static_assert(std::size(kLevelNames) ==
              static_cast<std::size_t>(LogLevel::kError) + 1);

struct FormatName {
  LogFormat format;
  std::string_view name;
};
constexpr FormatName kFormatNames[] = {{LogFormat::kLogfmt, "logfmt"},
                                       {LogFormat::kJson, "json"}};

std::string_view NameOf(LogLevel level) {
  for (const LevelName& row : kLevelNames) {
    if (row.level == level) return row.name;
  }
  return "info";
}

std::string Timestamp(double unix_seconds) {
  // To the nearest millisecond: x.123 is 0.1229999... above x in a double.
  long long total_ms = std::llround(unix_seconds * 1000.0);
  long long whole = total_ms / 1000 - (total_ms % 1000 < 0 ? 1 : 0);
  auto seconds = static_cast<std::time_t>(whole);
  int millis = static_cast<int>(total_ms - whole * 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

// The bytes of `text` made valid UTF-8 and cut to about kMaxLogValueBytes.
std::string CleanText(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxLogValueBytes) + 3);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t bad = 0;
    std::size_t len = Utf8SequenceAt(text, i, &bad);
    std::string_view piece =
        len == 0 ? kReplacementCharacter : text.substr(i, len);
    if (out.size() + piece.size() > kMaxLogValueBytes) {
      out.append("...(").append(std::to_string(text.size() - i));
      out.append(" more bytes)");
      break;
    }
    out.append(piece);
    i += len == 0 ? bad : len;
  }
  return out;
}

// logfmt: bare when the value has no space, quote, '=', backslash or control
// character (and is not empty), else quoted with JSON escapes.
void AppendLogfmtString(std::string* out, std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20 || u == 0x7F)
      plain = false;
  }
  if (plain) {
    out->append(s);
  } else {
    AppendJsonString(out, s);
  }
}

template <typename T>
void AppendNumber(std::string* out, T value) {
  char buf[32];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
}

// Numbers in their shortest exact form, independent of the locale. JSON has
// no NaN or infinities: they are written as the strings Prometheus uses.
void AppendDouble(std::string* out, double value, LogFormat format) {
  if (std::isfinite(value)) {
    AppendNumber(out, value);
    return;
  }
  const char* text = std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  if (format == LogFormat::kJson) {
    AppendJsonString(out, text);
  } else {
    out->append(text);
  }
}

void AppendValue(std::string* out, const LogValue& value, LogFormat format) {
  const LogValue::Storage& v = value.value();
  if (const auto* text = std::get_if<std::string>(&v)) {
    std::string clean = CleanText(*text);
    if (format == LogFormat::kJson) {
      AppendJsonString(out, clean);
    } else {
      AppendLogfmtString(out, clean);
    }
  } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
    AppendNumber(out, *i);
  } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
    AppendNumber(out, *u);
  } else if (const auto* d = std::get_if<double>(&v)) {
    AppendDouble(out, *d, format);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out->append(*b ? "true" : "false");
  }
}

}  // namespace

std::string FormatDuration(std::chrono::milliseconds duration) {
  auto ms = duration.count();
  if (ms == 0) return "0s";
  std::string out;
  // -(ms + 1) + 1 is |ms| even for the most negative value.
  std::uint64_t left = ms < 0 ? static_cast<std::uint64_t>(-(ms + 1)) + 1
                              : static_cast<std::uint64_t>(ms);
  if (ms < 0) out.push_back('-');
  struct Unit {
    std::uint64_t ms;
    const char* name;
  };
  constexpr std::uint64_t kSecond = 1000;
  constexpr std::uint64_t kDay = 24 * 60 * 60 * kSecond;
  constexpr Unit kUnits[] = {{365 * kDay, "y"},
                             {7 * kDay, "w"},
                             {kDay, "d"},
                             {60 * 60 * kSecond, "h"},
                             {60 * kSecond, "m"},
                             {kSecond, "s"},
                             {1, "ms"}};
  for (const Unit& unit : kUnits) {
    if (left >= unit.ms) {
      out.append(std::to_string(left / unit.ms)).append(unit.name);
      left %= unit.ms;
    }
  }
  return out;
}

bool LogValue::absent() const {
  if (std::holds_alternative<std::monostate>(value_)) return true;
  const auto* text = std::get_if<std::string>(&value_);
  return text != nullptr && text->empty();
}

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  for (const LevelName& row : kLevelNames) {
    if (row.name == text) return row.level;
  }
  return std::nullopt;
}

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  for (const FormatName& row : kFormatNames) {
    if (row.name == text) return row.format;
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level = level; }
void SetLogFormat(LogFormat format) { g_format = format; }
void SetLogSink(LogSink sink) { g_sink = sink; }
bool LogEnabled(LogLevel level) { return level >= g_level.load(); }

std::string FormatLogLine(LogFormat format, double unix_seconds, LogLevel level,
                          std::string_view msg,
                          std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128);
  if (format == LogFormat::kJson) {
    line.append("{\"ts\":");
    AppendJsonString(&line, Timestamp(unix_seconds));
    line.append(",\"level\":");
    AppendJsonString(&line, NameOf(level));
    line.append(",\"msg\":");
    AppendJsonString(&line, CleanText(msg));
    for (const auto& [key, value] : fields) {
      if (value.absent()) continue;  // a field that does not apply
      line.push_back(',');
      AppendJsonString(&line, CleanText(key));
      line.push_back(':');
      AppendValue(&line, value, format);
    }
    line.push_back('}');
  } else {
    line.append("ts=").append(Timestamp(unix_seconds));
    line.append(" level=").append(NameOf(level));
    line.append(" msg=");
    AppendLogfmtString(&line, CleanText(msg));
    for (const auto& [key, value] : fields) {
      if (value.absent()) continue;
      line.push_back(' ');
      line.append(key);
      line.push_back('=');
      AppendValue(&line, value, format);
    }
  }
  return line;
}

void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  double now = std::chrono::duration<double>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  std::string line = FormatLogLine(g_format.load(), now, level, msg, fields);
  LogSink sink = g_sink.load();
  std::lock_guard<std::mutex> lock(g_write_mutex);
  if (sink != nullptr) {
    sink(line);
  } else {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

}  // namespace tle
