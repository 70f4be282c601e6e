#include "engine/sched/scheduler_config.h"

namespace dpserve::engine {

std::optional<SchedulePolicy> parse_schedule_policy(std::string_view name) {
  if (name == "lpm") return SchedulePolicy::kLpm;
  if (name == "fcfs") return SchedulePolicy::kFcfs;
  return std::nullopt;
}

std::string SchedulerConfig::validate() const {
  if (page_size < 1) return "--page-size must be >= 1";
  if (max_total_tokens < page_size) return "the KV pool must hold at least one page";
  if (chunked_prefill_size > 0 && chunked_prefill_size < page_size) {
    return "--chunked-prefill-size must be >= --page-size (or <= 0 to disable)";
  }
  // A prefill batch must fit at least one page, or chunked prompts could never advance.
  if (max_prefill_tokens < page_size) return "--max-prefill-tokens must be >= --page-size";
  if (max_running_requests < 1) return "--max-running-requests must be >= 1";
  if (context_length < 0) return "--context-length must be >= 0";
  if (!(init_new_token_ratio >= min_new_token_ratio && min_new_token_ratio >= 0 &&
        init_new_token_ratio <= 1)) {
    return "new token ratios must satisfy 0 <= min <= init <= 1";
  }
  if (new_token_ratio_decay_steps < 1) return "new_token_ratio_decay_steps must be >= 1";
  return {};
}

}  // namespace dpserve::engine
