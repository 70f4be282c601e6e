// The summary of one run: bench_serving's text block, one JSON object per run, and the SVG plot.
#pragma once

#include "bench/bench_options.h"
#include "bench/runner.h"
#include "bench/server_stats.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace dpserve::bench {

struct Distribution {
  double mean = 0, median = 0, p90 = 0, p99 = 0, max = 0;
  size_t count = 0;
};

// Percentiles by linear interpolation between closest ranks (numpy's default).
Distribution summarize(std::vector<double> values);
double percentile(const std::vector<double>& sorted, double q);

struct Summary {
  size_t completed = 0, failed = 0, rejected = 0;
  double duration = 0;
  int64_t input_tokens = 0, output_tokens = 0;
  double request_throughput = 0, input_throughput = 0, output_throughput = 0, total_throughput = 0;
  double concurrency = 0;                       // sum of latencies / duration
  Distribution ttft, itl, tpot, e2e;            // seconds
  std::optional<double> client_cache_hit_rate;  // from per-response cached_tokens
  double oracle_hit_rate = 0;
  ServerStats server;
  std::vector<std::string> errors;  // first few distinct error texts
};

Summary summarize_run(const RunOutput& run, const ServerStats& server, double oracle);

std::string format_report(const BenchOptions& options, const std::string& model,
                          const Summary& summary);
nlohmann::ordered_json to_json(const BenchOptions& options, const std::string& model,
                               const Summary& summary, const RunOutput& run);
std::string render_svg(const BenchOptions& options, const Summary& summary, const RunOutput& run);

}  // namespace dpserve::bench
