// Test support: reading exposition text back, running promtool on it, polling
// until a condition.
#pragma once

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace tle::testing {

// Assembled exposition pieces (AssembleSnapshots, AssembleTopRooms) as one
// text.
inline std::string JoinPieces(const std::vector<std::string_view>& pieces) {
  std::string out;
  for (std::string_view piece : pieces) out.append(piece);
  return out;
}

// The sample lines of `text` (no comments, no empty lines), in order.
inline std::vector<std::string> SampleLines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    out.push_back(std::move(line));
  }
  return out;
}

// Every sample line as "name{labels}" -> value (labels exactly as written).
inline std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  for (const std::string& line : SampleLines(text)) {
    std::size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// A sample line with its label values unescaped.
struct LabelledSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  std::string line;
};

// Every sample line of `text`, in order, labels read into a map.
inline std::vector<LabelledSample> ParseLabelledSamples(
    const std::string& text) {
  std::vector<LabelledSample> out;
  for (std::string& line : SampleLines(text)) {
    LabelledSample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i);
        i = eq + 2;  // past ="
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char c = line[i + 1];
            value.push_back(c == 'n' ? '\n' : c);
            i += 2;
          } else {
            value.push_back(line[i++]);
          }
        }
        ++i;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
        s.labels[key] = value;
      }
      ++i;  // '}'
    }
    s.value = std::stod(line.substr(i + 1));
    s.line = std::move(line);
    out.push_back(std::move(s));
  }
  return out;
}

// Sum and count of the samples of one metric name whose label text contains
// `filter`.
inline double SumOf(const std::map<std::string, double>& samples,
                    const std::string& name, const std::string& filter = "",
                    int* count = nullptr) {
  double sum = 0;
  int n = 0;
  for (const auto& [key, value] : samples) {
    bool same_name = key.compare(0, name.size(), name) == 0 &&
                     (key.size() == name.size() || key[name.size()] == '{');
    if (same_name && key.find(filter) != std::string::npos) {
      sum += value;
      ++n;
    }
  }
  if (count != nullptr) *count = n;
  return sum;
}

// Runs `promtool check metrics` on `text`; returns its exit status (-1 when
// promtool is missing) and its output in `output`.
inline int PromtoolCheckMetrics(const std::string& text, std::string* output) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return -1;
  char path[] = "/tmp/tle_promtool_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  FILE* file = fdopen(fd, "w");
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
  std::string command =
      std::string("promtool check metrics < ") + path + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
    output->append(buf, n);
  int status = pclose(pipe);
  std::remove(path);
  return WEXITSTATUS(status);
}

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns
// whether it held.
inline bool WaitFor(
    const std::function<bool()>& condition,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace tle::testing
