// Internal to the metrics stage: prometheus-cpp MetricFamily -> text without
// its header lines.
//
// Lets large families be serialized in batches (so a 100,000-room family never
// exists in memory as MetricFamily objects all at once) and several apps'
// samples share one HELP/TYPE header.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
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

}  // namespace tle::detail
