// One HTTP request's generation: its prompts submitted to DP ranks, their outputs gathered on the
// request's io thread into per-sample state (text, ids, logprobs, token counts, timing), metrics
// observed, and everything still live aborted when the client goes away.
#pragma once

#include "common/http/beast.h"
#include "engine/api/engine_context.h"
#include "engine/api/output_queue.h"
#include "engine/api/prompt_job.h"
#include "engine/api/sample_text.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

struct SampleState {
  SampleState(size_t prompt_index, int sample_index, std::string request_id, SampleText sample_text)
      : prompt(prompt_index),
        index(sample_index),
        rid(std::move(request_id)),
        text(std::move(sample_text)) {}

  size_t prompt = 0;  // which prompt of the request
  int index = 0;      // which of that prompt's n samples
  std::string rid;    // the prompt's request id
  SampleText text;
  std::vector<int32_t> output_ids;
  std::vector<float> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  std::optional<FinishReason> finish;
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = 0;
  Clock::time_point arrival;
  Clock::time_point last_output;
  bool started = false;
  double e2e_latency = 0;  // seconds, once finished
};

class Generation {
 public:
  // record_metrics = false keeps internal requests (health checks) out of /metrics.
  Generation(EngineContext& context, std::vector<PromptJob> prompts, bool record_metrics = true);
  // Aborts whatever is still live.
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // Submits every prompt, each to `pinned` or to the rank the controller picks. A non-empty return
  // is a 400 message; whatever was already submitted has been aborted.
  std::string start(http::net::any_io_executor executor, std::optional<int> pinned);
  // Waits for outputs and applies them; returns the samples that changed (in order). Returns
  // nothing once done() or after cancel().
  http::net::awaitable<std::vector<size_t>> next();
  bool done() const { return live_ == 0; }
  // The client went away: abort everything live and wake next(). io thread only.
  void cancel();
  bool cancelled() const { return cancelled_; }

  std::vector<SampleState>& samples() { return samples_; }
  const std::vector<PromptJob>& prompts() const { return prompts_; }

 private:
  void apply(size_t prompt, const RequestOutput& output);

  EngineContext& context_;
  std::vector<PromptJob> prompts_;
  std::vector<size_t> first_sample_;  // per prompt: index of its sample 0 in samples_
  std::vector<SampleState> samples_;
  std::shared_ptr<OutputQueue> queue_;
  bool record_metrics_;
  size_t live_ = 0;  // samples not finished
  bool cancelled_ = false;
};

}  // namespace dpserve::engine
