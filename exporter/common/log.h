// Logger: one event per line on stderr, as logfmt or JSON.
//
// A process-wide sink with a level and a format, set once by main. Log() may be
// called from any thread; lines never interleave. Callers must never pass
// secrets as fields.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace tle {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

bool ParseLogLevel(std::string_view text, LogLevel* level);
bool ParseLogFormat(std::string_view text, LogFormat* format);

using LogField = std::pair<std::string_view, std::string>;

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
