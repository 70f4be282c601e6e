// Workloads, generated offline from a seed (no downloads): generated-shared-prefix, random,
// multi-turn chat and tree-of-thought fan-out.
#pragma once

#include "bench/bench_options.h"
#include "bench/text_source.h"

#include <cstdint>
#include <string>
#include <vector>

namespace dpserve::bench {

struct BenchItem {
  // The whole prompt; in a conversation, only the new user message (the runner prepends history).
  std::string prompt;
  int prompt_tokens = 0;  // of `prompt` (TextSource::count)
  int output_len = 0;
  int group = -1;  // prefix group: gsp system prompt, tree, or conversation
  // Prompt tokens a perfect prefix cache could serve: the part shared with an earlier request of
  // the same group (0 for the first one). For conversations, set by the runner from real history.
  int cacheable_tokens = 0;
  int shared_prefix_tokens = 0;  // size of the group's shared prefix (capacity check)
};

// Requests that arrive together; stages of a unit run one after another.
struct Stage {
  std::vector<int> items;
};

// What one Poisson arrival starts: a single request, a conversation (stages of one item that build
// on the answers so far) or one tree (a stage per level, siblings together).
struct Unit {
  std::vector<Stage> stages;
  bool conversation = false;
};

struct Workload {
  std::vector<BenchItem> items;
  std::vector<Unit> units;
  int64_t total_prompt_tokens() const;
};

Workload make_workload(const BenchOptions& options, const TextSource& text);

// The offline oracle: the share of prompt tokens a prefix cache could serve if each group were
// pinned to one worker whose cache holds `capacity_tokens` (0 = unbounded) and its requests ran
// back to back. Uses the items' cacheable_tokens.
double oracle_hit_rate(const Workload& workload, int64_t capacity_tokens);

}  // namespace dpserve::bench
