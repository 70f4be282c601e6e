// Runs a Scheduler over a FakeModel synchronously and collects every sample's output stream.
#pragma once

#include "engine/sched/scheduler.h"
#include "engine/serving/fake_model.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace dpserve::engine::testing {

struct Collected {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;
  std::vector<std::vector<TokenLogprob>> top_logprobs;
  std::optional<FinishReason> finish;
  int prompt_tokens = 0;
  int cached_tokens = 0;
  int completion_tokens = 0;
  int outputs = 0;
};

inline std::vector<int32_t> random_tokens(uint32_t seed, size_t n, int vocab = 64) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& v : t) v = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return t;
}

inline GenerateRequest make_request(std::string id, std::vector<int32_t> prompt, int max_new = 16,
                                    float temperature = 0.0f) {
  GenerateRequest r;
  r.id = std::move(id);
  r.input_ids = std::move(prompt);
  r.max_new_tokens = max_new;
  r.ignore_eos = true;
  r.sampling.temperature = temperature;
  r.sampling.seed = 1234;
  return r;
}

inline SchedulerConfig small_config(int64_t tokens = 4096, int page_size = 1) {
  SchedulerConfig c;
  c.max_total_tokens = tokens;
  c.page_size = page_size;
  return c;
}

class SchedulerHarness {
 public:
  explicit SchedulerHarness(SchedulerConfig config, FakeModel* model = nullptr)
      : own_model_(model == nullptr ? std::make_unique<FakeModel>() : nullptr),
        model_(model == nullptr ? own_model_.get() : model),
        scheduler(config, *model_) {}

  std::string add(GenerateRequest r) {
    return scheduler.add(std::move(r), [this](const RequestOutput& out) {
      Collected& c = results[{out.id, out.index}];
      c.tokens.insert(c.tokens.end(), out.token_ids.begin(), out.token_ids.end());
      c.logprobs.insert(c.logprobs.end(), out.logprobs.begin(), out.logprobs.end());
      c.top_logprobs.insert(c.top_logprobs.end(), out.top_logprobs.begin(), out.top_logprobs.end());
      c.finish = out.finish;
      c.prompt_tokens = out.prompt_tokens;
      c.cached_tokens = out.cached_tokens;
      c.completion_tokens = out.completion_tokens;
      ++c.outputs;
      if (c.outputs == 1) first_output_order.push_back(out.id);
      if (out.finish) finish_order.push_back(out.id);
    });
  }

  // Steps until idle, checking the KV accounting after every step.
  void run(int max_steps = 100000) {
    for (int i = 0; i < max_steps && scheduler.step(); ++i) {
      ASSERT_EQ(scheduler.check_invariants(), "") << "after step " << i;
      const SchedulerLoad l = scheduler.load();
      max_running_seen = std::max(max_running_seen, l.num_running);
    }
    ASSERT_TRUE(scheduler.idle());
    ASSERT_EQ(model_->bad_reads.load(), 0);
  }

  const Collected& get(const std::string& id, int index = 0) { return results[{id, index}]; }
  FakeModel& model() { return *model_; }

  std::unique_ptr<FakeModel> own_model_;
  FakeModel* model_;
  Scheduler scheduler;
  std::map<std::pair<std::string, int>, Collected> results;
  std::vector<std::string> first_output_order;
  std::vector<std::string> finish_order;
  int max_running_seen = 0;
};

// Output of one request run alone on a fresh scheduler.
inline Collected run_alone(GenerateRequest r, SchedulerConfig config = small_config()) {
  SchedulerHarness h(config);
  const std::string id = r.id;
  EXPECT_EQ(h.add(std::move(r)), "");
  h.run();
  return h.get(id);
}

}  // namespace dpserve::engine::testing
