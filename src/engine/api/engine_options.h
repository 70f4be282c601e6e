// `dpserve engine` flags, named as SGLang's server arguments, and their validation.
#pragma once

#include "engine/dp/load_balance.h"
#include "engine/sched/scheduler_config.h"

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace dpserve::engine {

struct EngineOptions {
  std::string model_path;  // empty = the default tiny model (created on first use)
  std::string host = "127.0.0.1";
  int port = 30000;
  int dp_size = 1;
  std::string load_balance_method = "round_robin";
  int page_size = 1;
  int64_t max_total_tokens = 0;
  int64_t kv_cache_memory = 0;  // bytes per DP rank
  bool disable_radix_cache = false;
  int chunked_prefill_size = 8192;
  int max_running_requests = 128;
  int max_prefill_tokens = 16384;
  std::string schedule_policy = "lpm";
  std::string chat_template;  // empty = detected from the tokenizer config / architecture
  std::string served_model_name;
  int context_length = 0;
  int threads = 1;
  std::string api_key;
  std::string log_level = "info";
  // Parallelism of a later issue: accepted only at their single-device values.
  int tp_size = 1;
  bool enable_dp_attention = false;
  int ep_size = 1;
  int pp_size = 1;

  // KV per rank when neither --max-total-tokens nor --kv-cache-memory is given: 1 GiB, but no
  // more tokens than kDefaultMaxKvTokens (a tiny model would otherwise get millions of slots,
  // whose zeroing alone slows start-up for nothing).
  static constexpr int64_t kDefaultKvCacheMemory = int64_t{1} << 30;
  static constexpr int64_t kDefaultMaxKvTokens = 131072;
};

// Registers every flag on `app`, writing into `options`.
void add_engine_flags(CLI::App& app, EngineOptions& options);

// Checks values CLI11 cannot (ranges, enumerations, unimplemented parallelism). Empty when valid,
// else a message naming the flag.
std::string validate_engine_options(const EngineOptions& options);

// The scheduler config of one rank, given its KV capacity in tokens.
SchedulerConfig scheduler_config(const EngineOptions& options, int64_t max_total_tokens);

}  // namespace dpserve::engine
