// The exporter's own series, rendered per scrape: walk health, API counters,
// build info and the standard process_* metrics. Small and independent of the
// number of rooms. Pure functions except ReadProcessSample (reads /proc); safe
// to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/walker/walk_stats.h"

namespace tle {

struct AppHealth {
  std::int64_t sdkappid = 0;
  double interval_seconds = 0;
  WalkStatsView stats;
  // Constant labels of the app (AppConfig::labels), on every one of its series.
  std::vector<std::pair<std::string, std::string>> labels;
};

struct ProcessSample {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;
};

// Reads /proc/self; nullopt where /proc is not available.
std::optional<ProcessSample> ReadProcessSample();

struct ReloadStatus {
  bool last_successful = true;
  double last_success_timestamp = 0;
};

std::string RenderHealth(const std::vector<AppHealth>& apps,
                         const ReloadStatus& reload,
                         const std::optional<ProcessSample>& process);

}  // namespace tle
