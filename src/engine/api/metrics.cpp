#include "engine/api/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace dpserve::engine {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, count_);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum_);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count_);
}

Metrics::Metrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25, 0.5,
             0.75,  1.0,   2.5,  5.0,  7.5,  10.0, 15.0, 20.0, 25.0, 30.0}),
      inter_token_({0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2,
                    0.3, 0.4, 0.5, 0.75, 1.0, 2.5}),
      e2e_({0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 300.0}) {}

void Metrics::observe_ttft(double seconds) {
  std::lock_guard lock(mu_);
  ttft_.observe(seconds);
}

void Metrics::observe_inter_token(double seconds) {
  std::lock_guard lock(mu_);
  inter_token_.observe(seconds);
}

void Metrics::observe_request(double e2e_seconds, bool aborted) {
  std::lock_guard lock(mu_);
  e2e_.observe(e2e_seconds);
  ++requests_;
  if (aborted) ++aborted_;
}

namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string Metrics::render(const std::string& model_name,
                            const std::vector<SchedulerLoad>& loads) const {
  std::string out;
  const std::string model = fmt::format("model_name=\"{}\"", model_name);
  auto per_rank = [&](const char* name, const char* type, const char* help, auto value) {
    family(out, name, type, help);
    for (size_t rank = 0; rank < loads.size(); ++rank) {
      out += fmt::format("{}{{{},dp_rank=\"{}\"}} {}\n", name, model, rank, value(loads[rank]));
    }
  };
  per_rank("sglang:num_running_reqs", "gauge", "Running requests.",
           [](const SchedulerLoad& l) { return l.num_running; });
  per_rank("sglang:num_queue_reqs", "gauge", "Requests waiting in the queue.",
           [](const SchedulerLoad& l) { return l.num_waiting; });
  per_rank("sglang:num_used_tokens", "gauge", "KV tokens in use.",
           [](const SchedulerLoad& l) { return l.num_used_tokens; });
  per_rank("sglang:token_usage", "gauge", "Fraction of the KV pool in use.",
           [](const SchedulerLoad& l) { return l.token_usage; });
  per_rank("sglang:cache_hit_rate", "gauge", "Prompt tokens served from the prefix cache.",
           [](const SchedulerLoad& l) { return l.cache_hit_rate(); });
  per_rank("sglang:prompt_tokens_total", "counter", "Prompt tokens admitted.",
           [](const SchedulerLoad& l) { return l.prompt_tokens_total; });
  per_rank("sglang:cached_tokens_total", "counter", "Prompt tokens served from the prefix cache.",
           [](const SchedulerLoad& l) { return l.cached_prompt_tokens_total; });
  per_rank("sglang:generation_tokens_total", "counter", "Tokens generated.",
           [](const SchedulerLoad& l) { return l.generation_tokens_total; });
  per_rank("sglang:num_retractions_total", "counter", "Requests retracted for lack of KV.",
           [](const SchedulerLoad& l) { return l.retractions_total; });
  std::lock_guard lock(mu_);
  family(out, "sglang:num_requests_total", "counter", "Finished requests.");
  out += fmt::format("sglang:num_requests_total{{{}}} {}\n", model, requests_);
  family(out, "sglang:num_aborted_requests_total", "counter", "Aborted requests.");
  out += fmt::format("sglang:num_aborted_requests_total{{{}}} {}\n", model, aborted_);
  family(out, "sglang:time_to_first_token_seconds", "histogram", "Time to first token.");
  ttft_.render(out, "sglang:time_to_first_token_seconds", model);
  family(out, "sglang:inter_token_latency_seconds", "histogram", "Time between output tokens.");
  inter_token_.render(out, "sglang:inter_token_latency_seconds", model);
  family(out, "sglang:e2e_request_latency_seconds", "histogram", "End-to-end request latency.");
  e2e_.render(out, "sglang:e2e_request_latency_seconds", model);
  return out;
}

}  // namespace dpserve::engine
