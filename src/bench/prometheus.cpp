#include "bench/prometheus.h"

#include <cstdlib>

namespace dpserve::bench {

std::vector<Sample> parse_prometheus(std::string_view text) {
  std::vector<Sample> samples;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    Sample sample;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) continue;
    sample.name = std::string(line.substr(0, name_end));
    size_t rest = name_end;
    if (line[name_end] == '{') {
      // Label values may contain '}' inside quotes: scan with quote awareness.
      bool quoted = false;
      size_t close = std::string_view::npos;
      for (size_t i = name_end + 1; i < line.size(); ++i) {
        char c = line[i];
        if (quoted && c == '\\') {
          ++i;
        } else if (c == '"') {
          quoted = !quoted;
        } else if (!quoted && c == '}') {
          close = i;
          break;
        }
      }
      if (close == std::string_view::npos) continue;
      sample.labels = std::string(line.substr(name_end + 1, close - name_end - 1));
      rest = close + 1;
    }
    std::string value(line.substr(rest));
    const char* begin = value.c_str();
    while (*begin == ' ') ++begin;
    char* end = nullptr;
    sample.value = std::strtod(begin, &end);
    if (end == begin) continue;
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> metric_sum(const std::vector<Sample>& samples, std::string_view name) {
  std::optional<double> sum;
  for (const auto& sample : samples) {
    if (sample.name == name) sum = sum.value_or(0) + sample.value;
  }
  return sum;
}

std::string label_value(std::string_view labels, std::string_view key) {
  std::string needle = std::string(key) + "=\"";
  size_t at = 0;
  while ((at = labels.find(needle, at)) != std::string_view::npos) {
    if (at == 0 || labels[at - 1] == ',' || labels[at - 1] == ' ') break;
    ++at;
  }
  if (at == std::string_view::npos) return "";
  std::string out;
  for (size_t i = at + needle.size(); i < labels.size() && labels[i] != '"'; ++i) {
    if (labels[i] == '\\' && i + 1 < labels.size()) ++i;
    out += labels[i];
  }
  return out;
}

}  // namespace dpserve::bench
