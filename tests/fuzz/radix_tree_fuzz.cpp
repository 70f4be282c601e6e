// Fuzzes radix tree operation sequences: byte 0 picks the key kind, byte 1 the per-worker budget,
// then each op is [opcode, worker, length, key bytes...]. Any broken invariant aborts.
#include "router/tree/radix_tree.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

using dpserve::router::tree::KeyKind;
using dpserve::router::tree::RadixTree;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "radix_tree_fuzz: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const KeyKind kind = (data[0] & 1) != 0 ? KeyKind::kTokenIds : KeyKind::kText;
  const int64_t budget = 1 + data[1];
  RadixTree tree(kind, budget);
  const char* workers[] = {"w0", "w1", "w2", "w3", "w4", "w5"};
  const std::vector<std::string_view> all(std::begin(workers), std::end(workers));
  dpserve::router::tree::Candidates candidates;
  dpserve::router::tree::BestMatch best;
  std::vector<size_t> holders;
  size_t pos = 2;
  while (pos + 3 <= size) {
    const uint8_t op = data[pos] % 6;
    const size_t w = data[pos + 1] % 6;
    const char* worker = workers[w];
    const size_t len = std::min<size_t>(data[pos + 2] % 48, size - pos - 3);
    const std::string_view key(reinterpret_cast<const char*>(data + pos + 3), len);
    pos += 3 + len;
    switch (op) {
      case 0:
        tree.insert(key, worker);
        if (tree.worker_units(worker) > budget) fail("worker over budget after insert");
        break;
      case 1: {
        // As the cache_aware policy does: the best match among every worker, then the insert
        // by the chosen worker's ref, starting where the match stopped.
        const auto m = tree.match(key);
        tree.resolve(all, candidates);
        tree.match(key, candidates, best);
        const int64_t own = m.matched_units(candidates[w].slot);
        const int64_t misses = tree.stats().id_cache_misses;
        if (tree.insert(key, worker, &best.walk, candidates[w]) != own) {
          fail("insert answered another length than the worker's own match");
        }
        // A ref just resolved is live: the insert did not look the id up.
        const bool known = candidates[w].slot != dpserve::router::tree::kNoSlot;
        if (known && !key.empty() && tree.stats().id_cache_misses != misses) {
          fail("insert by a live ref looked the id up");
        }
        if (tree.worker_units(worker) > budget) fail("worker over budget after insert");
        break;
      }
      case 2: {
        const auto m = tree.match(key);
        if (m.input_units != dpserve::router::tree::count_units(kind, key)) fail("input units");
        if (m.max_matched_units > m.input_units) fail("matched more than the key");
        if (m.max_matched_units < 0) fail("negative match");
        // Steps deepen, each lists only owners of the step above (ownership is prefix-closed),
        // and every node has an owner, so the owners of the first step hold the longest match.
        int64_t last = 0;
        for (size_t s = 0; s < m.steps.size(); ++s) {
          const auto& step = m.steps[s];
          if (step.units < last || step.units > m.max_matched_units) fail("step units");
          if (step.owners_begin >= step.owners_end) fail("matched node without an owner");
          last = step.units;
          for (uint32_t i = step.owners_begin; i < step.owners_end; ++i) {
            if (m.matched_units(m.owners[i]) < step.units) fail("worker match below its step");
            if (s == 0) continue;
            const auto* above = m.owners.data() + m.steps[s - 1].owners_begin;
            const auto* above_end = m.owners.data() + m.steps[s - 1].owners_end;
            if (std::find(above, above_end, m.owners[i]) == above_end) {
              fail("ownership not prefix-closed");
            }
          }
        }
        // Every owner is one of the workers: the best among all of them is the longest match.
        tree.resolve(all, candidates);
        tree.match(key, candidates, best);
        candidates.holders(best.owners, holders);
        if (best.units != m.max_matched_units || best.input_units != m.input_units ||
            holders.empty() != (m.max_matched_units == 0)) {
          fail("best match among every worker is not the longest match");
        }
        for (const size_t h : holders) {
          if (m.matched_units(candidates[h].slot) != best.units) fail("holder without the match");
        }
        break;
      }
      case 3:
        tree.remove_worker(worker);
        if (tree.worker_units(worker) != 0) fail("removed worker still owns units");
        break;
      case 4:
        tree.clear();
        break;
      default:
        tree.enforce_budgets();
        break;
    }
  }
  if (auto broken = tree.check_invariants(); !broken.empty()) fail(broken);
  (void)tree.stats();
  return 0;
}
