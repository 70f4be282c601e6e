#include "bench/dataset.h"

#include <algorithm>
#include <random>

namespace dpserve::bench {

namespace {

Unit single(int item) {
  Unit unit;
  unit.stages.push_back(Stage{{item}});
  return unit;
}

int push(Workload& workload, BenchItem item) {
  workload.items.push_back(std::move(item));
  return static_cast<int>(workload.items.size()) - 1;
}

Workload shared_prefix(const BenchOptions& options, const TextSource& text, std::mt19937_64& rng) {
  const auto& gsp = options.gsp;
  Workload workload;
  std::vector<std::string> systems;
  std::vector<int> system_tokens;
  for (int g = 0; g < gsp.num_groups; ++g) {
    systems.push_back(text.make(gsp.system_prompt_len, rng));
    system_tokens.push_back(text.count(systems.back()));
  }
  for (int g = 0; g < gsp.num_groups; ++g) {
    for (int p = 0; p < gsp.prompts_per_group; ++p) {
      BenchItem item;
      item.prompt = systems[static_cast<size_t>(g)] + "\n\n" + text.make(gsp.question_len, rng);
      item.prompt_tokens = text.count(item.prompt);
      item.output_len = gsp.output_len;
      item.group = g;
      item.shared_prefix_tokens = system_tokens[static_cast<size_t>(g)];
      workload.units.push_back(single(push(workload, std::move(item))));
    }
  }
  std::shuffle(workload.units.begin(), workload.units.end(), rng);
  if (options.num_prompts > 0 && static_cast<size_t>(options.num_prompts) < workload.units.size()) {
    workload.units.resize(static_cast<size_t>(options.num_prompts));
  }
  // Cacheable: every request of a group after the first that is actually sent.
  std::vector<bool> seen(static_cast<size_t>(gsp.num_groups), false);
  for (const auto& unit : workload.units) {
    auto& item = workload.items[static_cast<size_t>(unit.stages[0].items[0])];
    auto group = static_cast<size_t>(item.group);
    item.cacheable_tokens = seen[group] ? item.shared_prefix_tokens : 0;
    seen[group] = true;
  }
  return workload;
}

Workload random_lengths(const BenchOptions& options, const TextSource& text, std::mt19937_64& rng) {
  const auto& random = options.random;
  int count = options.num_prompts > 0 ? options.num_prompts : 1000;
  auto lower = [&](int len) { return std::max(1, static_cast<int>(len * random.range_ratio)); };
  std::uniform_int_distribution<int> input(lower(random.input_len), random.input_len);
  std::uniform_int_distribution<int> output(lower(random.output_len), random.output_len);
  Workload workload;
  for (int i = 0; i < count; ++i) {
    BenchItem item;
    item.prompt = text.make(input(rng), rng);
    item.prompt_tokens = text.count(item.prompt);
    item.output_len = output(rng);
    workload.units.push_back(single(push(workload, std::move(item))));
  }
  return workload;
}

Workload multi_turn(const BenchOptions& options, const TextSource& text, std::mt19937_64& rng) {
  const auto& turns = options.multi_turn;
  int total = options.num_prompts > 0 ? options.num_prompts : 16 * turns.turns;
  int conversations = std::max(1, total / turns.turns);
  Workload workload;
  for (int c = 0; c < conversations; ++c) {
    Unit unit;
    unit.conversation = true;
    for (int t = 0; t < turns.turns; ++t) {
      BenchItem item;
      item.prompt = text.make(turns.turn_len, rng);
      item.prompt_tokens = text.count(item.prompt);
      item.output_len = turns.output_len;
      item.group = c;
      unit.stages.push_back(Stage{{push(workload, std::move(item))}});
    }
    workload.units.push_back(std::move(unit));
  }
  return workload;
}

Workload trees(const BenchOptions& options, const TextSource& text, std::mt19937_64& rng) {
  const auto& tree = options.tree;
  int per_tree = 0;
  for (int level = 0, width = 1; level <= tree.depth; ++level, width *= tree.fanout) {
    per_tree += width;
  }
  int count = options.num_prompts > 0 ? std::max(1, options.num_prompts / per_tree) : 4;
  Workload workload;
  for (int t = 0; t < count; ++t) {
    Unit unit;
    std::string root = text.make(tree.root_len, rng);
    int root_tokens = text.count(root);
    // Level by level: each node's prompt is its parent's plus one more thought.
    std::vector<std::string> level_prompts = {root};
    std::vector<int> parent_tokens = {0};
    for (int level = 0; level <= tree.depth; ++level) {
      Stage stage;
      std::vector<std::string> next_prompts;
      std::vector<int> next_parent_tokens;
      for (size_t n = 0; n < level_prompts.size(); ++n) {
        BenchItem item;
        item.prompt = level_prompts[n];
        item.prompt_tokens = text.count(item.prompt);
        item.output_len = tree.output_len;
        item.group = t;
        item.cacheable_tokens = parent_tokens[n];
        item.shared_prefix_tokens = root_tokens;
        if (level < tree.depth) {
          for (int child = 0; child < tree.fanout; ++child) {
            next_prompts.push_back(item.prompt + "\n\nStep " + std::to_string(level + 1) + ": " +
                                   text.make(tree.branch_len, rng));
            next_parent_tokens.push_back(item.prompt_tokens);
          }
        }
        stage.items.push_back(push(workload, std::move(item)));
      }
      unit.stages.push_back(std::move(stage));
      level_prompts = std::move(next_prompts);
      parent_tokens = std::move(next_parent_tokens);
    }
    workload.units.push_back(std::move(unit));
  }
  return workload;
}

}  // namespace

int64_t Workload::total_prompt_tokens() const {
  int64_t total = 0;
  for (const auto& unit : units) {
    for (const auto& stage : unit.stages) {
      for (int i : stage.items) total += items[static_cast<size_t>(i)].prompt_tokens;
    }
  }
  return total;
}

Workload make_workload(const BenchOptions& options, const TextSource& text) {
  std::mt19937_64 rng(options.seed);
  switch (options.dataset) {
    case DatasetKind::kGeneratedSharedPrefix:
      return shared_prefix(options, text, rng);
    case DatasetKind::kRandom:
      return random_lengths(options, text, rng);
    case DatasetKind::kMultiTurn:
      return multi_turn(options, text, rng);
    case DatasetKind::kTree:
      return trees(options, text, rng);
  }
  return {};
}

double oracle_hit_rate(const Workload& workload, int64_t capacity_tokens) {
  int64_t total = 0;
  int64_t cacheable = 0;
  for (const auto& unit : workload.units) {
    for (const auto& stage : unit.stages) {
      for (int i : stage.items) {
        const auto& item = workload.items[static_cast<size_t>(i)];
        total += item.prompt_tokens;
        bool fits = capacity_tokens <= 0 || item.prompt_tokens <= capacity_tokens;
        if (fits) cacheable += item.cacheable_tokens;
      }
    }
  }
  return total > 0 ? static_cast<double>(cacheable) / static_cast<double>(total) : 0.0;
}

}  // namespace dpserve::bench
