// Internal to the metrics stage: prometheus-cpp MetricFamily -> text without
// its header lines.
//
// Lets large families be serialized in batches (so a 100,000-room family never
// exists in memory as MetricFamily objects all at once) and several apps'
// samples share one HELP/TYPE header.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tle::detail {

// Appends the sample lines of `family` (serialized by
// prometheus::TextSerializer) to `out`.
void AppendSamples(const prometheus::MetricFamily& family, std::string* out);

// Appends "# HELP name help\n# TYPE name type\n".
void AppendHeader(const std::string& name, const std::string& help,
                  prometheus::MetricType type, std::string* out);

// Appends whole families (header and samples).
void AppendFamilies(const std::vector<prometheus::MetricFamily>& families,
                    std::string* out);

prometheus::ClientMetric::Label MakeLabel(std::string name, std::string value);

// One family of a fixed table (the families a rendered app contributes, in
// exposition order).
struct FamilyInfo {
  const char* name;
  const char* help;
  prometheus::MetricType type;
};

// A counter or gauge sample (by `type`) with `labels` and `value`.
prometheus::ClientMetric Sample(
    std::vector<prometheus::ClientMetric::Label> labels,
    prometheus::MetricType type, double value);

// A histogram sample from per-bucket (not cumulative) counts.
// REQUIRES: buckets.size() == bounds.size() + 1 (the last is +Inf).
prometheus::ClientMetric Histogram(
    std::vector<prometheus::ClientMetric::Label> labels, std::uint64_t count,
    double sum, std::span<const std::uint64_t> buckets,
    std::span<const double> bounds);

// The HELP/TYPE header of each family of `families`.
template <std::size_t N>
std::array<std::string, N> Headers(const std::array<FamilyInfo, N>& families) {
  std::array<std::string, N> headers;
  for (std::size_t f = 0; f < N; ++f) {
    AppendHeader(families[f].name, families[f].help, families[f].type,
                 &headers[f]);
  }
  return headers;
}

// Each family's header followed by every app's sample lines for it
// (`Rendered::samples[f]`), skipping families no app has samples for; pieces
// point into `headers` and `apps`.
template <typename Rendered, std::size_t N>
std::vector<std::string_view> AssemblePerFamily(
    const std::array<std::string, N>& headers,
    const std::vector<const Rendered*>& apps) {
  std::vector<std::string_view> out;
  for (std::size_t f = 0; f < N; ++f) {
    bool any = false;
    for (const Rendered* app : apps) any = any || !app->samples[f].empty();
    if (!any) continue;
    out.emplace_back(headers[f]);
    for (const Rendered* app : apps) {
      if (!app->samples[f].empty()) out.emplace_back(app->samples[f]);
    }
  }
  return out;
}

// An app's constant labels (AppConfig::labels).
using ConstantLabels = std::vector<std::pair<std::string, std::string>>;

// The labels every series of an app starts with: sdkappid, then its constant
// labels (values made valid UTF-8). Not for tencent_live_exporter_build_info or
// process_*, which belong to no app.
std::vector<prometheus::ClientMetric::Label> AppLabels(
    const std::string& sdkappid, const ConstantLabels& constant);

// For families built with sdkappid alone: inserts each app's constant labels
// right after the sdkappid label of its series (`by_sdkappid`: sdkappid text
// -> its labels), as AppLabels places them. Series without an sdkappid label
// are left alone.
void AddConstantLabels(
    const std::map<std::string, const ConstantLabels*>& by_sdkappid,
    std::vector<prometheus::MetricFamily>* families);

}  // namespace tle::detail
