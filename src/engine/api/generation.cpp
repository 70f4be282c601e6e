#include "engine/api/generation.h"

#include <algorithm>

namespace dpserve::engine {

namespace net = http::net;

namespace {

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Generation::Generation(EngineContext& context, std::vector<PromptJob> prompts, bool record_metrics)
    : context_(context), prompts_(std::move(prompts)), record_metrics_(record_metrics) {
  for (size_t p = 0; p < prompts_.size(); ++p) {
    const PromptJob& job = prompts_[p];
    first_sample_.push_back(samples_.size());
    for (int i = 0; i < job.request.n; ++i) {
      samples_.emplace_back(
          p, i, job.request.id,
          SampleText(*context_.tokenizer, job.skip_special_tokens, job.stop, job.no_stop_trim));
    }
  }
}

Generation::~Generation() {
  // At shutdown the controller is gone before the io contexts destroy suspended handlers.
  if (live_ > 0 && context_.dp) {
    for (const auto& job : prompts_) context_.dp->abort(job.request.id);
  }
}

std::string Generation::start(net::any_io_executor executor, std::optional<int> pinned) {
  queue_ = std::make_shared<OutputQueue>(std::move(executor));
  live_ = samples_.size();
  for (size_t p = 0; p < prompts_.size(); ++p) {
    const int rank = context_.dp->choose(pinned);
    std::weak_ptr<OutputQueue> weak = queue_;
    auto callback = [weak, p](const RequestOutput& out) {
      if (auto queue = weak.lock()) queue->push(p, out);
    };
    std::string error = context_.dp->submit(rank, prompts_[p].request, std::move(callback));
    if (!error.empty()) {
      for (size_t q = 0; q < p; ++q) context_.dp->abort(prompts_[q].request.id);
      live_ = 0;
      return prompts_.size() > 1 ? "prompt " + std::to_string(p) + ": " + error : error;
    }
  }
  return {};
}

void Generation::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  for (const auto& job : prompts_) context_.dp->abort(job.request.id);
  if (queue_) queue_->interrupt();
}

net::awaitable<std::vector<size_t>> Generation::next() {
  std::vector<size_t> changed;
  while (changed.empty() && live_ > 0 && !cancelled_) {
    auto items = co_await queue_->wait();
    for (auto& [prompt, out] : items) {
      apply(prompt, out);
      if (out.finish && out.finish->kind == FinishKind::kError) {
        for (int i = 0; i < prompts_[prompt].request.n; ++i) {
          changed.push_back(first_sample_[prompt] + static_cast<size_t>(i));
        }
      } else {
        changed.push_back(first_sample_[prompt] + static_cast<size_t>(out.index));
      }
    }
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  co_return changed;
}

void Generation::apply(size_t prompt, const RequestOutput& out) {
  const bool error = out.finish && out.finish->kind == FinishKind::kError;
  const int count = error ? prompts_[prompt].request.n : 1;
  for (int k = 0; k < count; ++k) {
    const int index = error ? k : out.index;
    if (index < 0 || index >= prompts_[prompt].request.n) continue;
    SampleState& s = samples_[first_sample_[prompt] + static_cast<size_t>(index)];
    if (s.finish) continue;
    if (!s.started) {
      s.started = true;
      s.arrival = out.arrival_time;
      s.last_output = out.arrival_time;
    }
    if (!out.token_ids.empty() && record_metrics_) {
      if (s.output_ids.empty()) {
        context_.metrics.observe_ttft(seconds(out.time - s.arrival));
      } else {
        context_.metrics.observe_inter_token(seconds(out.time - s.last_output) /
                                             static_cast<double>(out.token_ids.size()));
      }
    }
    if (!out.token_ids.empty()) s.last_output = out.time;
    s.output_ids.insert(s.output_ids.end(), out.token_ids.begin(), out.token_ids.end());
    s.logprobs.insert(s.logprobs.end(), out.logprobs.begin(), out.logprobs.end());
    s.top_logprobs.insert(s.top_logprobs.end(), out.top_logprobs.begin(), out.top_logprobs.end());
    s.prompt_tokens =
        error ? static_cast<int>(prompts_[prompt].request.input_ids.size()) : out.prompt_tokens;
    s.completion_tokens = static_cast<int>(s.output_ids.size());
    s.cached_tokens = out.cached_tokens;
    s.text.push(out.token_ids, out.finish ? &*out.finish : nullptr);
    if (out.finish) {
      s.finish = out.finish;
      s.e2e_latency = seconds(out.time - s.arrival);
      if (record_metrics_) {
        context_.metrics.observe_request(s.e2e_latency, out.finish->kind == FinishKind::kAbort ||
                                                            out.finish->kind == FinishKind::kError);
      }
      --live_;
    }
  }
}

}  // namespace dpserve::engine
