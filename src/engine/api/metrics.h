// Prometheus metrics with SGLang's names (engine-internals.md §6.5): latency histograms observed
// by the API layer, request counters, and per-rank gauges read from the schedulers at scrape time.
#pragma once

#include "engine/sched/scheduler.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace dpserve::engine {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // Appends the _bucket / _sum / _count series of `name` with `labels` ("k=\"v\"").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // Thread-safe.
  void observe_ttft(double seconds);
  void observe_inter_token(double seconds);
  void observe_request(double e2e_seconds, bool aborted);

  // The whole exposition. `loads` are the ranks' scheduler snapshots.
  std::string render(const std::string& model_name, const std::vector<SchedulerLoad>& loads) const;

 private:
  mutable std::mutex mu_;
  Histogram ttft_;
  Histogram inter_token_;
  Histogram e2e_;
  uint64_t requests_ = 0;
  uint64_t aborted_ = 0;
};

}  // namespace dpserve::engine
