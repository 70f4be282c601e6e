// Fuzzes radix tree operation sequences: byte 0 picks the key kind, byte 1 the per-worker budget,
// then each op is [opcode, worker, length, key bytes...]. Any broken invariant aborts.
#include "router/tree/radix_tree.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
  size_t pos = 2;
  while (pos + 3 <= size) {
    const uint8_t op = data[pos] % 6;
    const char* worker = workers[data[pos + 1] % 6];
    const size_t len = std::min<size_t>(data[pos + 2] % 48, size - pos - 3);
    const std::string_view key(reinterpret_cast<const char*>(data + pos + 3), len);
    pos += 3 + len;
    switch (op) {
      case 0:
        tree.insert(key, worker);
        if (tree.worker_units(worker) > budget) fail("worker over budget after insert");
        break;
      case 1: {
        // As the cache_aware policy does: the insert starts where the match stopped.
        dpserve::router::tree::MatchResult m;
        tree.match(key, m);
        tree.insert(key, worker, &m);
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
        if (!m.steps.empty()) {
          const auto& first = m.steps.front();
          const std::vector<uint32_t> all(m.owners.begin() + first.owners_begin,
                                          m.owners.begin() + first.owners_end);
          std::vector<size_t> holders;
          if (m.longest_among(all, holders) != m.max_matched_units ||
              holders.empty() != (m.max_matched_units == 0)) {
            fail("longest match among every owner is not the maximum");
          }
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
