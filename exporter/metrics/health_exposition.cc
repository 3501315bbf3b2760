#include "exporter/metrics/health_exposition.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "exporter/common/version.h"
#include "exporter/metrics/internal/family_text.h"

namespace tle {
namespace {

using detail::MakeLabel;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const char* name, const char* help, MetricType type) {
  MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

void AddValue(MetricFamily* family, std::vector<ClientMetric::Label> labels,
              double value) {
  family->metric.push_back(
      detail::Sample(std::move(labels), family->type, value));
}

double BootTime() {
  std::ifstream stat("/proc/stat");
  std::string key;
  while (stat >> key) {
    if (key == "btime") {
      double value = 0;
      stat >> value;
      return value;
    }
    stat.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::optional<ProcessSample> ReadProcessSample() {
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // The command name (field 2) may hold spaces; fields after the last ')' are
  // plain numbers.
  std::size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  std::string field;
  while (rest >> field) fields.push_back(field);
  // rest starts at field 3 (state): utime is field 14, stime 15, starttime 22,
  // vsize 23, rss 24.
  auto at = [&](int n) {
    return std::stod(fields.at(static_cast<std::size_t>(n - 3)));
  };
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  ProcessSample sample;
  try {
    sample.cpu_seconds = (at(14) + at(15)) / ticks;
    sample.start_time_seconds = BootTime() + at(22) / ticks;
    sample.virtual_bytes = at(23);
    sample.resident_bytes = at(24) * page;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    int count = 0;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
    sample.open_fds = count - 1;  // not counting the directory's own descriptor
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
    sample.max_fds = static_cast<double>(limit.rlim_cur);
  return sample;
}

std::string RenderHealth(const std::vector<AppHealth>& apps,
                         const ReloadStatus& reload,
                         const std::optional<ProcessSample>& process) {
  std::vector<MetricFamily> families;
  auto up =
      Family("tencent_live_up",
             "1 when the last background walk of the app completed, else 0.",
             MetricType::Gauge);
  auto duration =
      Family("tencent_live_walk_duration_seconds",
             "Duration of the last background walk (completed or not).",
             MetricType::Gauge);
  auto pages =
      Family("tencent_live_walk_pages",
             "Pages fetched by the last background walk.", MetricType::Gauge);
  auto interval = Family("tencent_live_walk_interval_seconds",
                         "Configured time between the starts of two walks.",
                         MetricType::Gauge);
  auto last_success = Family("tencent_live_last_success_timestamp_seconds",
                             "Unix time at which the last complete walk ended.",
                             MetricType::Gauge);
  auto walks = Family("tencent_live_walks_total", "Background walks started.",
                      MetricType::Counter);
  auto failures = Family("tencent_live_walk_failures_total",
                         "Background walks that did not complete, by reason.",
                         MetricType::Counter);
  // The api label: get_room_list (the walk), get_member_list and
  // get_room_stats (the top-rooms rounds).
  auto requests =
      Family("tencent_live_api_requests_total",
             "Requests sent to the upstream API, by the background walk "
             "(get_room_list) and the top-rooms rounds (get_member_list, "
             "get_room_stats).",
             MetricType::Counter);
  auto errors = Family("tencent_live_api_errors_total",
                       "Failed upstream requests by ErrorCode, http_<status>, "
                       "network, timeout, tls "
                       "or decode.",
                       MetricType::Counter);
  auto failed = Family("tencent_live_api_failed_requests_total",
                       "Failed upstream requests of any code (0 from the "
                       "start, for error ratios).",
                       MetricType::Counter);
  auto retries = Family("tencent_live_api_retries_total",
                        "Upstream requests retried.", MetricType::Counter);
  auto latency = Family("tencent_live_api_request_duration_seconds",
                        "Latency of upstream requests.", MetricType::Histogram);
  auto rejected =
      Family("tencent_live_rooms_rejected_total",
             "Rooms dropped from a page of the upstream answer, by reason.",
             MetricType::Counter);

  const auto& bounds = RequestDurationBuckets();
  for (const AppHealth& app : apps) {
    const std::string id = std::to_string(app.sdkappid);
    const WalkStatsView& s = app.stats;
    AddValue(&up, {MakeLabel("sdkappid", id)}, s.up ? 1 : 0);
    AddValue(&duration, {MakeLabel("sdkappid", id)}, s.last_walk_seconds);
    AddValue(&pages, {MakeLabel("sdkappid", id)}, s.last_walk_pages);
    AddValue(&interval, {MakeLabel("sdkappid", id)}, app.interval_seconds);
    if (s.last_success_timestamp > 0) {
      AddValue(&last_success, {MakeLabel("sdkappid", id)},
               s.last_success_timestamp);
    }
    AddValue(&walks, {MakeLabel("sdkappid", id)}, static_cast<double>(s.walks));
    for (int r = 0; r < kWalkFailureCount; ++r) {
      AddValue(
          &failures,
          {MakeLabel("sdkappid", id),
           MakeLabel("reason", WalkFailureLabel(static_cast<WalkFailure>(r)))},
          static_cast<double>(s.failures[static_cast<std::size_t>(r)]));
    }
    for (const ApiStatsView& a : s.apis) {
      if (!a.used) continue;
      AddValue(&requests, {MakeLabel("sdkappid", id), MakeLabel("api", a.api)},
               static_cast<double>(a.requests));
      for (const auto& [code, count] : a.errors_by_code) {
        AddValue(&errors,
                 {MakeLabel("sdkappid", id), MakeLabel("api", a.api),
                  MakeLabel("code", code)},
                 static_cast<double>(count));
      }
      AddValue(&failed, {MakeLabel("sdkappid", id), MakeLabel("api", a.api)},
               static_cast<double>(a.failed));
      AddValue(&retries, {MakeLabel("sdkappid", id), MakeLabel("api", a.api)},
               static_cast<double>(a.retries));
      latency.metric.push_back(detail::Histogram(
          {MakeLabel("sdkappid", id), MakeLabel("api", a.api)},
          a.duration_count, a.duration_sum, a.duration_buckets, bounds));
    }
    for (int r = 0; r < kRejectReasonCount; ++r) {
      AddValue(&rejected,
               {MakeLabel("sdkappid", id),
                MakeLabel("reason",
                          RejectReasonLabel(static_cast<RejectReason>(r)))},
               static_cast<double>(s.rejected[static_cast<std::size_t>(r)]));
    }
  }
  families = {up,      duration, pages,    interval, last_success,
              walks,   failures, requests, errors,   failed,
              retries, latency,  rejected};
  families.erase(
      std::remove_if(families.begin(), families.end(),
                     [](const MetricFamily& f) { return f.metric.empty(); }),
      families.end());

  auto build =
      Family("tencent_live_exporter_build_info",
             "Version and revision of tencent_live_exporter (value 1).",
             MetricType::Gauge);
  AddValue(&build,
           {MakeLabel("version", kVersion), MakeLabel("revision", kRevision)},
           1);
  families.push_back(build);
  auto reload_ok =
      Family("tencent_live_config_last_reload_successful",
             "1 when the last config reload succeeded.", MetricType::Gauge);
  AddValue(&reload_ok, {}, reload.last_successful ? 1 : 0);
  families.push_back(reload_ok);
  auto reload_ts = Family(
      "tencent_live_config_last_reload_success_timestamp_seconds",
      "Unix time of the last successful config load.", MetricType::Gauge);
  AddValue(&reload_ts, {}, reload.last_success_timestamp);
  families.push_back(reload_ts);

  if (process) {
    auto add = [&](const char* name, const char* help, MetricType type,
                   double value) {
      auto family = Family(name, help, type);
      AddValue(&family, {}, value);
      families.push_back(std::move(family));
    };
    add("process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.", MetricType::Counter,
        process->cpu_seconds);
    add("process_open_fds", "Number of open file descriptors.",
        MetricType::Gauge, process->open_fds);
    add("process_max_fds", "Maximum number of open file descriptors.",
        MetricType::Gauge, process->max_fds);
    add("process_virtual_memory_bytes", "Virtual memory size in bytes.",
        MetricType::Gauge, process->virtual_bytes);
    add("process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::Gauge, process->resident_bytes);
    add("process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::Gauge, process->start_time_seconds);
  }
  std::map<std::string, const detail::ConstantLabels*> constant;
  for (const AppHealth& app : apps) {
    constant[std::to_string(app.sdkappid)] = &app.labels;
  }
  detail::AddConstantLabels(constant, &families);
  std::string out;
  out.reserve(4096 + apps.size() * 4096);
  detail::AppendFamilies(families, &out);
  return out;
}

}  // namespace tle
