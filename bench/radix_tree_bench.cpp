// Cost of the cache-aware radix tree and of a full cache_aware decision (issue 5 floors):
//   - insert + match pairs per second for 100 B, 2 KiB and 32 KiB keys, 8 / 64 / 512 workers
//   - p50 / p99 latency of CacheAwarePolicy::select for 32 KiB prompts with 64 workers
//   - tree memory per stored character
// Keys look like chat traffic: one of 32 shared "system prompts" (half the key) plus a unique
// suffix, so inserts both split shared nodes and add fresh leaves.
#include "router/policies/cache_aware.h"
#include "router/tree/radix_tree.h"
#include "router/worker.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using dpserve::router::tree::KeyKind;
using dpserve::router::tree::RadixTree;

constexpr size_t kPrefixes = 32;

std::string random_text(std::mt19937_64& rng, size_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz      ,.ABCDEFGHIJ0123456789";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
  return s;
}

// `count` keys of `len` bytes: shared prefix of len/2 from a pool of kPrefixes, unique suffix.
// Cached: Google Benchmark calls each benchmark several times while it sizes the iteration count.
const std::vector<std::string>& make_keys(size_t len, size_t count, uint64_t seed) {
  static std::map<std::tuple<size_t, size_t, uint64_t>, std::vector<std::string>> cache;
  auto& keys = cache[{len, count, seed}];
  if (!keys.empty()) return keys;
  std::mt19937_64 rng(seed);
  std::vector<std::string> prefixes;
  for (size_t i = 0; i < kPrefixes; ++i) prefixes.push_back(random_text(rng, len / 2));
  keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    keys.push_back(prefixes[rng() % kPrefixes] + random_text(rng, len - len / 2));
  }
  return keys;
}

double thread_cpu_micros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

std::vector<std::string> worker_ids(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back("http://worker-" + std::to_string(i) + ":8000");
  return ids;
}

// Every worker inserts one short key of another set first, so that all of them are known to the
// tree, as in a running router, and resolve() below names them all.
void register_workers(RadixTree& tree, const std::vector<std::string>& workers) {
  const auto& keys = make_keys(100, workers.size(), 43);
  for (size_t i = 0; i < workers.size(); ++i) tree.insert(keys[i], workers[i]);
}

// One insert + one match of a fresh key per iteration, on one thread, as the cache_aware policy
// makes them: the longest match among every worker into one reused result, then the insert for
// the worker (here every one in turn) starting from that match's walk. The candidates are resolved
// once: the policy keeps them per thread and re-resolving unchanged workers reads nothing shared
// (its cost per decision is in BM_CacheAwareDecision). `by_ref`: the insert names the worker by
// the ref resolve() gave, as the policy does, instead of by id (a per-thread id cache lookup).
void BM_InsertMatch(benchmark::State& state, bool by_ref) {
  using dpserve::router::tree::BestMatch;
  using dpserve::router::tree::Candidates;
  const auto len = static_cast<size_t>(state.range(0));
  const auto workers = worker_ids(static_cast<size_t>(state.range(1)));
  // Enough distinct keys that the loop rarely repeats one, capped at ~128 MiB of key text.
  const size_t count = std::clamp<size_t>((size_t{128} << 20) / len, 256, 1 << 20);
  const auto& keys = make_keys(len, count, 42);
  RadixTree tree(KeyKind::kText, int64_t{1} << 26);
  register_workers(tree, workers);
  const std::vector<std::string_view> ids(workers.begin(), workers.end());
  Candidates candidates;
  tree.resolve(ids, candidates);
  BestMatch best;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& key = keys[i % count];
    const size_t w = i % workers.size();
    tree.match(key, candidates, best);
    benchmark::DoNotOptimize(best);
    if (by_ref) {
      tree.insert(key, workers[w], &best.walk, candidates[w]);
    } else {
      tree.insert(key, workers[w], &best.walk);
    }
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
  const auto s = tree.stats();
  state.counters["tree_MiB"] = static_cast<double>(s.memory_bytes) / (1 << 20);
  state.counters["bytes_per_char"] = static_cast<double>(s.memory_bytes) /
                                     static_cast<double>(std::max<int64_t>(1, s.stored_units));
}
// Fixed iteration counts (a quarter of the distinct keys, 25-32 MiB of key text): the tree grows
// with every iteration and its size decides how many node visits miss the cache, so only runs
// that make the same number of pairs are comparable.
BENCHMARK_CAPTURE(BM_InsertMatch, by_ref, true)
    ->ArgsProduct({{100}, {8, 64, 512}})
    ->ArgNames({"key_bytes", "workers"})
    ->Iterations(1 << 18);
BENCHMARK_CAPTURE(BM_InsertMatch, by_ref, true)
    ->ArgsProduct({{2048}, {8, 64, 512}})
    ->ArgNames({"key_bytes", "workers"})
    ->Iterations(1 << 14);
BENCHMARK_CAPTURE(BM_InsertMatch, by_ref, true)
    ->ArgsProduct({{32768}, {8, 64, 512}})
    ->ArgNames({"key_bytes", "workers"})
    ->Iterations(1 << 10);
BENCHMARK_CAPTURE(BM_InsertMatch, by_id, false)
    ->ArgsProduct({{100}, {8, 64, 512}})
    ->ArgNames({"key_bytes", "workers"})
    ->Iterations(1 << 18);

// A full cache_aware decision (load scan, resolving the workers, match, choice, insert) on a warm
// tree; reports latency percentiles of individual decisions.
void BM_CacheAwareDecision(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  const auto n = static_cast<size_t>(state.range(1));
  std::vector<dpserve::router::WorkerPtr> workers;
  for (const auto& id : worker_ids(n)) {
    workers.push_back(std::make_shared<dpserve::router::Worker>(id, id, id, std::nullopt, "m"));
  }
  dpserve::router::PolicyConfig config;
  config.name = "cache_aware";
  config.seed = 1;
  // Third argument: --max-tree-size in characters, 0 = the default (64 Mi). A small one puts the
  // tree at its budget during warm-up, as in a long-running router: every insert then evicts about
  // as much as it stores, and the allocator reuses that memory instead of faulting in new pages.
  if (state.range(2) > 0) config.max_tree_size = state.range(2);
  dpserve::router::policies::CacheAwarePolicy policy(config);
  const auto& keys = make_keys(len, 4096, 7);
  // Fourth argument: models the prompts go to in turn (one tree each).
  std::vector<std::string> models{"m"};
  while (models.size() < static_cast<size_t>(state.range(3))) {
    models.push_back(std::string("m").append(std::to_string(models.size())));
  }
  size_t routed = 0;
  auto route = [&](const std::string& key) {
    dpserve::router::RouteRequest r;
    r.model = models[routed++ % models.size()];
    r.text = key;
    r.prompt_size = static_cast<int64_t>(key.size());
    return policy.select(workers, r);
  };
  for (size_t i = 0; i < 1024; ++i) route(keys[i]);  // warm: every worker holds some prefixes
  // Wall time includes preemption by other processes; thread CPU time does not (it does include
  // page faults taken while storing new text), so both are reported.
  std::vector<double> wall, cpu;
  wall.reserve(1 << 16);
  cpu.reserve(1 << 16);
  size_t i = 0;
  for (auto _ : state) {
    const double c0 = thread_cpu_micros();
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(route(keys[i % keys.size()]));
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu_micros();
    if (wall.size() < wall.capacity()) {
      wall.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      cpu.push_back(c1 - c0);
    }
    ++i;
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  auto pct = [](const std::vector<double>& v, double p) {
    return v.empty() ? 0.0 : v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
  };
  state.counters["p50_us"] = pct(wall, 0.50);
  state.counters["p99_us"] = pct(wall, 0.99);
  state.counters["p50_cpu_us"] = pct(cpu, 0.50);
  state.counters["p99_cpu_us"] = pct(cpu, 0.99);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
// A fixed iteration count: the first pass over the 4096 prompts stores new text (fresh memory,
// page faults) and later passes mostly refresh it, so percentiles are only comparable between
// runs that make the same number of decisions.
BENCHMARK(BM_CacheAwareDecision)
    ->ArgsProduct({{100, 2048, 32768}, {8, 64, 512}, {0}, {1}})
    ->Args({32768, 64, 256 * 1024, 1})
    ->Args({100, 512, 0, 2})
    ->ArgNames({"key_bytes", "workers", "max_tree", "models"})
    ->Iterations(16384);

// Memory of a tree filled to a fixed volume of key text, relative to the distinct characters it
// stores (shared prefixes count once) and to the characters inserted.
void BM_TreeMemory(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  const auto workers = worker_ids(64);
  const size_t count = (size_t{64} << 20) / len;  // 64 MiB of inserted key text
  const auto& keys = make_keys(len, count, 9);
  for (auto _ : state) {
    RadixTree tree(KeyKind::kText, int64_t{1} << 26);
    for (size_t i = 0; i < count; ++i) tree.insert(keys[i], workers[i % workers.size()]);
    const auto s = tree.stats();
    state.counters["stored_chars"] = static_cast<double>(s.stored_units);
    state.counters["nodes"] = static_cast<double>(s.nodes);
    state.counters["memory_MiB"] = static_cast<double>(s.memory_bytes) / (1 << 20);
    state.counters["bytes_per_stored_char"] =
        static_cast<double>(s.memory_bytes) / static_cast<double>(s.stored_units);
    state.counters["bytes_per_inserted_char"] =
        static_cast<double>(s.memory_bytes) / static_cast<double>(count * len);
  }
}
BENCHMARK(BM_TreeMemory)
    ->Arg(100)
    ->Arg(2048)
    ->Arg(32768)
    ->ArgName("key_bytes")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
