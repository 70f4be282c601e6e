// Prometheus primitives: counters and fixed-bucket histograms that many io threads update at once
// without locks, and a writer for the text exposition format (version 0.0.4).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::metrics {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Request-duration buckets of the reference router: 1 ms to 240 s.
std::vector<double> default_duration_buckets();

class Histogram {
 public:
  // `bounds`: finite upper bounds, strictly increasing; +Inf is implied.
  explicit Histogram(std::span<const double> bounds);

  void observe(double value);

  std::span<const double> bounds() const { return bounds_; }
  // Per-bucket (not cumulative) counts; the last entry is the +Inf bucket.
  std::vector<uint64_t> counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// `name="value"` with the value escaped as the exposition format requires.
std::string label(std::string_view name, std::string_view value);

// Builds one exposition. Families must be written whole, one after another.
class TextWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  // `labels` is a comma-separated list made with label(), or empty.
  void sample(std::string_view name, std::string_view labels, double value);
  void histogram(std::string_view name, std::string_view labels, const Histogram& histogram);
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace dpserve::metrics
