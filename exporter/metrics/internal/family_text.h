// Internal to the metrics stage: prometheus-cpp MetricFamily -> text without
// its header lines.
//
// Lets large families be serialized in batches (so a 100,000-room family never
// exists in memory as MetricFamily objects all at once) and several apps'
// samples share one HELP/TYPE header.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <string>
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
