// The load generator: one io thread, one keep-alive connection per request in flight, Poisson
// arrivals of workload units, an optional concurrency cap, and per-request timing from the stream.
#pragma once

#include "bench/api_format.h"
#include "bench/bench_options.h"
#include "bench/dataset.h"

#include <string>
#include <vector>

namespace dpserve::bench {

struct RequestResult {
  int item = -1;
  bool success = false;
  bool rejected = false;  // 429 or 503: the server declined it (admission, no healthy worker)
  int status = 0;         // HTTP status, 0 on a transport error
  std::string error;
  int prompt_tokens = 0;    // server-reported when available, else the dataset's count
  int output_tokens = 0;    // server-reported when available, else non-empty chunks
  int cached_tokens = -1;   // server-reported prompt tokens served from cache
  double start = 0;         // seconds since the run began
  double ttft = 0;          // seconds to the first non-empty chunk
  double latency = 0;       // seconds to the end of the response
  std::vector<double> itl;  // seconds between non-empty chunks
  std::string text;
};

struct RunOutput {
  std::vector<RequestResult> results;
  double duration = 0;  // seconds from the first arrival to the last response
};

// Blocking: sends --warmup-requests untimed requests (the first prompt, at most 32 output tokens);
// returns how many failed.
int warm_up(const BenchOptions& options, const std::string& model, Workload& workload);

// Blocking: runs the workload. Conversations update `workload` (their
// items' prompt and cacheable token counts) as the real history grows.
RunOutput run_workload(const BenchOptions& options, const std::string& model, Workload& workload);

}  // namespace dpserve::bench
