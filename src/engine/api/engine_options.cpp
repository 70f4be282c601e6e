#include "engine/api/engine_options.h"

#include "common/logging.h"

namespace dpserve::engine {

void add_engine_flags(CLI::App& app, EngineOptions& o) {
  app.add_option("--model-path", o.model_path,
                 "checkpoint folder (HF layout); default: the tiny model, created on first use");
  app.add_option("--host", o.host, "address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "port to listen on (0 = any free port)")->capture_default_str();
  app.add_option("--dp-size", o.dp_size, "native data-parallel replicas in this process")
      ->capture_default_str();
  app.add_option("--load-balance-method", o.load_balance_method,
                 "DP dispatch: round_robin | shortest_queue | minimum_tokens")
      ->capture_default_str();
  app.add_option("--page-size", o.page_size, "KV tokens per page")->capture_default_str();
  app.add_option("--max-total-tokens", o.max_total_tokens, "KV pool size per DP rank, in tokens");
  app.add_option("--kv-cache-memory", o.kv_cache_memory,
                 "KV pool memory per DP rank, in bytes (default 1 GiB when no size is given)");
  app.add_flag("--disable-radix-cache", o.disable_radix_cache, "no prefix reuse across requests");
  app.add_option("--chunked-prefill-size", o.chunked_prefill_size,
                 "longest prefill chunk in tokens (<= 0 disables chunking)")
      ->capture_default_str();
  app.add_option("--max-running-requests", o.max_running_requests, "per DP rank")
      ->capture_default_str();
  app.add_option("--max-prefill-tokens", o.max_prefill_tokens, "new tokens per prefill batch")
      ->capture_default_str();
  app.add_option("--schedule-policy", o.schedule_policy, "lpm | fcfs")->capture_default_str();
  app.add_option("--chat-template", o.chat_template,
                 "built-in template name (llama3, qwen2, chatml, deepseek_v2, deepseek_v3); "
                 "default: detected from the checkpoint");
  app.add_option("--served-model-name", o.served_model_name,
                 "model id in the API (default: the model path)");
  app.add_option("--context-length", o.context_length,
                 "longest prompt + output in tokens (default: the model's)");
  app.add_option("--threads", o.threads, "compute threads per DP rank")->capture_default_str();
  app.add_option("--api-key", o.api_key, "require 'Authorization: Bearer KEY'");
  app.add_option("--log-level", o.log_level, "debug | info | warning | error | off")
      ->capture_default_str();
  app.add_option("--tp-size", o.tp_size, "tensor parallelism (only 1 is implemented)");
  app.add_flag("--enable-dp-attention", o.enable_dp_attention, "not implemented yet");
  app.add_option("--ep-size", o.ep_size, "expert parallelism (only 1 is implemented)");
  app.add_option("--pp-size", o.pp_size, "pipeline parallelism (only 1 is implemented)");
}

std::string validate_engine_options(const EngineOptions& o) {
  if (o.port < 0 || o.port > 65535) return "--port must be in [0, 65535]";
  if (o.host.empty()) return "--host must not be empty";
  if (o.dp_size < 1 || o.dp_size > 64) return "--dp-size must be in [1, 64]";
  if (!parse_load_balance_method(o.load_balance_method)) {
    return "--load-balance-method must be round_robin, shortest_queue or minimum_tokens (got '" +
           o.load_balance_method + "')";
  }
  if (o.page_size < 1 || o.page_size > 4096) return "--page-size must be in [1, 4096]";
  if (o.max_total_tokens < 0) return "--max-total-tokens must be > 0";
  if (o.kv_cache_memory < 0) return "--kv-cache-memory must be > 0 (bytes)";
  if (o.max_running_requests < 1) return "--max-running-requests must be >= 1";
  if (o.max_prefill_tokens < 1) return "--max-prefill-tokens must be >= 1";
  if (o.chunked_prefill_size > 0 && o.chunked_prefill_size < o.page_size) {
    return "--chunked-prefill-size must be >= --page-size (or <= 0 to disable chunking)";
  }
  if (!parse_schedule_policy(o.schedule_policy)) {
    return "--schedule-policy must be lpm or fcfs (got '" + o.schedule_policy + "')";
  }
  if (o.context_length < 0) return "--context-length must be >= 0 (0 = the model's)";
  if (o.threads < 1 || o.threads > 256) return "--threads must be in [1, 256]";
  if (!common::parse_log_level(o.log_level)) {
    return "--log-level must be debug, info, warning, error or off (got '" + o.log_level + "')";
  }
  if (o.tp_size != 1) return "--tp-size: tensor parallelism is not implemented yet (use 1)";
  if (o.enable_dp_attention) return "--enable-dp-attention: DP attention is not implemented yet";
  if (o.ep_size != 1) return "--ep-size: expert parallelism is not implemented yet (use 1)";
  if (o.pp_size != 1) return "--pp-size: pipeline parallelism is not implemented yet (use 1)";
  return {};
}

SchedulerConfig scheduler_config(const EngineOptions& o, int64_t max_total_tokens) {
  SchedulerConfig config;
  config.max_total_tokens = max_total_tokens;
  config.page_size = o.page_size;
  config.disable_radix_cache = o.disable_radix_cache;
  config.chunked_prefill_size = o.chunked_prefill_size;
  config.max_prefill_tokens = o.max_prefill_tokens;
  config.max_running_requests = o.max_running_requests;
  config.policy = parse_schedule_policy(o.schedule_policy).value_or(SchedulePolicy::kLpm);
  config.context_length = o.context_length;
  return config;
}

}  // namespace dpserve::engine
