// Just enough of the Prometheus text format to read counters and gauges out of /metrics.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::bench {

struct Sample {
  std::string name;
  std::string labels;  // raw text between the braces, "" when none
  double value = 0;
};

std::vector<Sample> parse_prometheus(std::string_view text);

// Sum of every sample named exactly `name` (all label sets); nullopt when there is none.
std::optional<double> metric_sum(const std::vector<Sample>& samples, std::string_view name);

// Value of label `key` in a raw label text, or "".
std::string label_value(std::string_view labels, std::string_view key);

}  // namespace dpserve::bench
