// Logger: one event per line on stderr, as logfmt or JSON.
//
// A process-wide sink with a level and a format, set once by main. Log() may be
// called from any thread; lines never interleave. Callers must never pass
// secrets as fields.
//
// Field values are typed (LogValue): text, whole and real numbers, booleans
// and durations. JSON lines write numbers and booleans as JSON numbers and
// booleans, durations as the config writes them ("30s", "1m30s"). Every line
// is valid UTF-8 whatever bytes a value holds (invalid sequences become
// U+FFFD, control characters are escaped), and a value is cut at
// kMaxLogValueBytes, so text from upstream can never break a line or flood the
// log.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace tle {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

// "debug", "info", "warn", "error" / "logfmt", "json"; nullopt for any other
// text.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::optional<LogFormat> ParseLogFormat(std::string_view text);

// A duration the way the config writes it (Prometheus duration syntax,
// largest unit first): "0s", "250ms", "30s", "1m30s", "2h", "1d", "1w",
// "1y2w". ParseDuration() reads every result back to the same value.
// Negative durations get a leading "-".
std::string FormatDuration(std::chrono::milliseconds duration);

// Longest text value written; the rest is cut (at a character boundary) and
// replaced by a note of how many bytes were left out.
inline constexpr std::size_t kMaxLogValueBytes = 4096;

// One field's value. Implicit from text, any integer, double, bool and any
// std::chrono::duration, so call sites stay terse:
//   Log(LogLevel::kInfo, "walk completed",
//       {{"sdkappid", id}, {"rooms", rooms.size()}, {"interval", interval}});
// Empty text and a default-constructed value mean "does not apply": the field
// is left out of the line.
class LogValue {
 public:
  using Storage = std::variant<std::monostate, std::string, std::int64_t,
                               std::uint64_t, double, bool>;

  LogValue() = default;
  LogValue(std::string text) : value_(std::move(text)) {}
  LogValue(std::string_view text) : value_(std::string(text)) {}
  LogValue(const char* text) : value_(std::string(text)) {}
  LogValue(bool value) : value_(value) {}
  LogValue(double value) : value_(value) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  LogValue(T value) {
    if constexpr (std::is_signed_v<T>) {
      value_ = static_cast<std::int64_t>(value);
    } else {
      value_ = static_cast<std::uint64_t>(value);
    }
  }
  template <typename Rep, typename Period>
  LogValue(std::chrono::duration<Rep, Period> duration)
      : value_(FormatDuration(
            std::chrono::duration_cast<std::chrono::milliseconds>(duration))) {}

  const Storage& value() const { return value_; }
  bool absent() const;  // no value, or empty text

 private:
  Storage value_;
};

using LogField = std::pair<std::string_view, LogValue>;

void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

// Writes `ts=... level=... msg=... key=value ...` (or the JSON equivalent) to
// the sink.
void Log(LogLevel level, std::string_view msg,
         std::initializer_list<LogField> fields = {});

// Where lines go; the default writes to stderr. Tests capture lines with this.
using LogSink = void (*)(const std::string& line);
void SetLogSink(LogSink sink);

// Formats one line without writing it (pure; used by Log and tests).
std::string FormatLogLine(LogFormat format, double unix_seconds, LogLevel level,
                          std::string_view msg,
                          std::initializer_list<LogField> fields);

}  // namespace tle
