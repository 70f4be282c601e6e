// A scheduler's view of one sample of one request: its tokens, KV pages, sampler and progress.
#pragma once

#include "engine/kv/kv_manager.h"
#include "engine/sampler/sampler.h"
#include "engine/sched/request.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dpserve::engine {

// State shared by the n samples of one request.
struct RequestGroup {
  GenerateRequest request;
  OutputCallback callback;
  Clock::time_point arrival_time;
  int live = 0;        // samples not yet finished
  int prefilling = 0;  // samples admitted whose prompt is not fully computed yet
};

struct Sequence {
  Sequence(std::shared_ptr<RequestGroup> g, int i, uint64_t seed, uint64_t order)
      : group(std::move(g)),
        index(i),
        arrival_order(order),
        tokens(group->request.input_ids),
        prompt_len(static_cast<int>(tokens.size())),
        sampler(group->request.sampling, seed, group->request.input_ids) {}

  const GenerateRequest& request() const { return group->request; }
  int completion_tokens() const { return static_cast<int>(tokens.size()) - prompt_len; }
  // Tokens whose KV still has to be computed before the next token can be sampled.
  int64_t remaining_prefill() const { return static_cast<int64_t>(tokens.size()) - kv_len; }

  std::shared_ptr<RequestGroup> group;
  int index;
  uint64_t arrival_order;       // FCFS order; retracted sequences keep theirs
  std::vector<int32_t> tokens;  // prompt, then generated tokens
  int prompt_len;
  int64_t kv_len = 0;  // positions [0, kv_len) have KV in `kv`
  SeqKv kv;
  Sampler sampler;
  bool admitted_once = false;
  bool in_prefill = false;  // admitted, prompt KV not complete (counted in group->prefilling)
  int cached_tokens = 0;
  int retractions = 0;
  Clock::time_point first_token_time{};
  RequestOutput pending;  // output being assembled this step
};

}  // namespace dpserve::engine
