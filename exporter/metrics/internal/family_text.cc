#include "exporter/metrics/internal/family_text.h"

#include <prometheus/text_serializer.h>

#include <sstream>

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

}  // namespace tle::detail
