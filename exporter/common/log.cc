#include "exporter/common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace tle {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kLogfmt};
std::atomic<LogSink> g_sink{nullptr};
std::mutex g_write_mutex;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string Timestamp(double unix_seconds) {
  auto seconds = static_cast<std::time_t>(unix_seconds);
  int millis =
      static_cast<int>((unix_seconds - static_cast<double>(seconds)) * 1000.0);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

void AppendLogfmtValue(std::string* out, std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20)
      plain = false;
  }
  if (plain) {
    out->append(s);
  } else {
    AppendJsonString(out, s);
  }
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug")
    *level = LogLevel::kDebug;
  else if (text == "info")
    *level = LogLevel::kInfo;
  else if (text == "warn")
    *level = LogLevel::kWarn;
  else if (text == "error")
    *level = LogLevel::kError;
  else
    return false;
  return true;
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "logfmt")
    *format = LogFormat::kLogfmt;
  else if (text == "json")
    *format = LogFormat::kJson;
  else
    return false;
  return true;
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
    AppendJsonString(&line, LevelName(level));
    line.append(",\"msg\":");
    AppendJsonString(&line, msg);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;  // a field that does not apply is left out
      line.push_back(',');
      AppendJsonString(&line, key);
      line.push_back(':');
      AppendJsonString(&line, value);
    }
    line.push_back('}');
  } else {
    line.append("ts=").append(Timestamp(unix_seconds));
    line.append(" level=").append(LevelName(level));
    line.append(" msg=");
    AppendLogfmtValue(&line, msg);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;
      line.push_back(' ');
      line.append(key);
      line.push_back('=');
      AppendLogfmtValue(&line, value);
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
