#include "exporter/metrics/internal/family_text.h"

#include <prometheus/text_serializer.h>

#include <limits>
#include <sstream>

#include "exporter/common/text.h"
#include "exporter/metrics/snapshot_exposition.h"

namespace tle::detail {
namespace {

const char* TypeName(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return "counter";
    case prometheus::MetricType::Gauge:
      return "gauge";
    case prometheus::MetricType::Histogram:
      return "histogram";
    case prometheus::MetricType::Summary:
      return "summary";
    case prometheus::MetricType::Untyped:
      break;
  }
  return "untyped";
}

}  // namespace

void AppendSamples(const prometheus::MetricFamily& family, std::string* out) {
  if (family.metric.empty()) return;
  std::ostringstream stream;
  prometheus::TextSerializer().Serialize(stream, {family});
  std::string text = stream.str();
  // TextSerializer writes "# HELP ..." (when there is a help text) and "# TYPE
  // ..." first; sample lines never start with '#', so skip the comment lines
  // and keep what follows.
  std::size_t pos = 0;
  while (pos < text.size() && text[pos] == '#') {
    pos = text.find('\n', pos);
    pos = pos == std::string::npos ? text.size() : pos + 1;
  }
  out->append(text, pos, std::string::npos);
}

void AppendHeader(const std::string& name, const std::string& help,
                  prometheus::MetricType type, std::string* out) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ")
      .append(name)
      .append(" ")
      .append(TypeName(type))
      .append("\n");
}

void AppendFamilies(const std::vector<prometheus::MetricFamily>& families,
                    std::string* out) {
  for (const auto& family : families) {
    AppendHeader(family.name, family.help, family.type, out);
    AppendSamples(family, out);
  }
}

prometheus::ClientMetric::Label MakeLabel(std::string name, std::string value) {
  prometheus::ClientMetric::Label label;
  label.name = std::move(name);
  label.value = std::move(value);
  return label;
}

prometheus::ClientMetric Sample(
    std::vector<prometheus::ClientMetric::Label> labels,
    prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return metric;
}

prometheus::ClientMetric Histogram(
    std::vector<prometheus::ClientMetric::Label> labels, std::uint64_t count,
    double sum, std::span<const std::uint64_t> buckets,
    std::span<const double> bounds) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = count;
  metric.histogram.sample_sum = sum;
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    cumulative += buckets[b];
    prometheus::ClientMetric::Bucket bucket;
    bucket.cumulative_count = cumulative;
    bucket.upper_bound =
        b < bounds.size() ? bounds[b] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back(bucket);
  }
  return metric;
}

std::vector<prometheus::ClientMetric::Label> AppLabels(
    const std::string& sdkappid, const ConstantLabels& constant) {
  std::vector<prometheus::ClientMetric::Label> labels;
  labels.reserve(constant.size() + 3);  // room for a family's own labels
  labels.push_back(MakeLabel("sdkappid", sdkappid));
  for (const auto& [name, value] : constant) {
    labels.push_back(MakeLabel(name, ValidUtf8(value)));
  }
  return labels;
}

void AddConstantLabels(
    const std::map<std::string, const ConstantLabels*>& by_sdkappid,
    std::vector<prometheus::MetricFamily>* families) {
  for (prometheus::MetricFamily& family : *families) {
    for (prometheus::ClientMetric& metric : family.metric) {
      auto& labels = metric.label;
      if (labels.empty() || labels.front().name != "sdkappid") continue;
      auto app = by_sdkappid.find(labels.front().value);
      if (app == by_sdkappid.end() || app->second->empty()) continue;
      std::vector<prometheus::ClientMetric::Label> full =
          AppLabels(labels.front().value, *app->second);
      full.insert(full.end(), std::make_move_iterator(labels.begin() + 1),
                  std::make_move_iterator(labels.end()));
      labels = std::move(full);
    }
  }
}

}  // namespace tle::detail
