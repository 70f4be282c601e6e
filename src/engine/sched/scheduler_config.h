// Scheduler knobs, one per SGLang server flag of the same name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpserve::engine {

enum class SchedulePolicy { kLpm, kFcfs };
std::optional<SchedulePolicy> parse_schedule_policy(std::string_view name);

struct SchedulerConfig {
  int64_t max_total_tokens = 0;      // KV pool size in tokens (see kv_capacity_tokens)
  int page_size = 1;                 // --page-size
  bool disable_radix_cache = false;  // --disable-radix-cache
  int chunked_prefill_size = 8192;   // --chunked-prefill-size; <= 0 disables chunking
  int max_prefill_tokens = 16384;    // --max-prefill-tokens: new tokens per prefill batch
  int max_running_requests = 128;    // --max-running-requests
  SchedulePolicy policy = SchedulePolicy::kLpm;  // --schedule-policy
  int context_length = 0;                        // 0 = the model's max_position_embeddings
  // Admission reserves this fraction of each running request's remaining output budget; it decays
  // while decoding goes well and jumps back after a retraction (engine-internals.md §6.4).
  double init_new_token_ratio = 0.7;
  double min_new_token_ratio = 0.1;
  int new_token_ratio_decay_steps = 600;

  // Empty when valid, else why not (start-up error).
  std::string validate() const;
};

}  // namespace dpserve::engine
