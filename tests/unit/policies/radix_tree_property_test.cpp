// Random insert / match / evict / remove sequences against a naive model that keeps every key.
#include "router/tree/radix_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dpserve::router::tree {
namespace {

bool unit_start(KeyKind kind, std::string_view key, size_t p) {
  if (kind == KeyKind::kTokenIds) return p % 4 == 0;
  return (static_cast<unsigned char>(key[p]) & 0xC0) != 0x80;
}

// Units of the first `bytes` bytes of `key`, not counting a unit cut in half.
int64_t prefix_units(KeyKind kind, std::string_view key, size_t bytes) {
  int64_t n = 0;
  for (size_t p = 0; p < bytes; ++p) n += unit_start(kind, key, p) ? 1 : 0;
  if (bytes < key.size() && !unit_start(kind, key, bytes)) --n;
  return n;
}

size_t lcp(std::string_view a, std::string_view b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// Every key each worker ever inserted, in order; with no eviction this is exactly the tree.
class NaiveModel {
 public:
  explicit NaiveModel(KeyKind kind) : kind_(kind) {}
  void insert(const std::string& key, const std::string& worker) {
    if (!key.empty()) keys_[worker].push_back(key);
  }
  void remove(const std::string& worker) { keys_.erase(worker); }
  void clear() { keys_.clear(); }
  int64_t match(const std::string& key, const std::string& worker) const {
    auto it = keys_.find(worker);
    if (it == keys_.end()) return 0;
    size_t best = 0;
    for (const auto& k : it->second) best = std::max(best, lcp(k, key));
    return prefix_units(kind_, key, best);
  }
  // Units a worker owns with no eviction: distinct prefixes ending just after a unit start.
  int64_t units(const std::string& worker) const {
    auto it = keys_.find(worker);
    if (it == keys_.end()) return 0;
    std::set<std::string> prefixes;
    for (const auto& k : it->second) {
      for (size_t p = 0; p < k.size(); ++p) {
        if (unit_start(kind_, k, p)) prefixes.insert(k.substr(0, p + 1));
      }
    }
    return static_cast<int64_t>(prefixes.size());
  }
  const std::string* latest(const std::string& worker) const {
    auto it = keys_.find(worker);
    return it == keys_.end() || it->second.empty() ? nullptr : &it->second.back();
  }

 private:
  KeyKind kind_;
  std::map<std::string, std::vector<std::string>> keys_;
};

// Keys over a tiny alphabet so they share prefixes, split nodes mid-character and land in several
// shards: 'a', 'b', "é" (2 bytes) and "中" (3 bytes); ids share their low bytes.
std::string random_key(KeyKind kind, std::mt19937_64& rng, size_t max_units) {
  const size_t n = rng() % (max_units + 1);
  std::string key;
  for (size_t i = 0; i < n; ++i) {
    if (kind == KeyKind::kTokenIds) {
      const int32_t ids[] = {1, 2, 0x101, 0x10001};
      const int32_t id = ids[rng() % 4];
      key.append(reinterpret_cast<const char*>(&id), 4);
    } else {
      const char* chars[] = {"a", "b", "\xC3\xA9", "\xE4\xB8\xAD"};
      key += chars[rng() % 4];
    }
  }
  return key;
}

int64_t tree_match(const RadixTree& tree, const MatchResult& m, const std::string& worker) {
  auto slot = tree.slot_of(worker);
  if (!slot) return 0;
  return m.matched_units(*slot);
}

struct Params {
  KeyKind kind;
  int64_t budget;
};

// Hundreds of workers on few, short keys: shared nodes get owner tables of hundreds of slots,
// which shrink as most workers leave for a while and grow again as they come back (slots reused).
// Exact per-worker lengths and the longest match among random candidates against the model, with
// and without eviction; invariants checked throughout.
TEST(RadixTreeManyWorkers, AgreesWithNaiveModel) {
  for (const int64_t budget : {int64_t{1} << 30, int64_t{12}}) {
    const bool evicting = budget < (int64_t{1} << 30);
    std::vector<std::string> workers;
    for (int w = 0; w < 300; ++w) workers.push_back("worker-" + std::to_string(w));
    std::mt19937_64 rng(11 + static_cast<uint64_t>(budget));
    RadixTree tree(KeyKind::kText, budget);
    NaiveModel model(KeyKind::kText);
    Candidates candidates;  // kept across steps, as the policy keeps it
    // Removed workers come back after a while, so slots are reused and tables shrink and grow.
    for (int step = 0; step < 14000; ++step) {
      const std::string& worker = workers[rng() % workers.size()];
      // A third of the way in, most workers leave for a while: wide tables go back to lists.
      const bool leaving = step >= 4000 && step < 6000;
      const int op = leaving ? 97 + static_cast<int>(rng() % 3) : static_cast<int>(rng() % 100);
      if (op < 70) {
        const std::string key = "ab" + random_key(KeyKind::kText, rng, 3);
        MatchResult m;
        tree.match(key, m);
        // The insert answers the worker's own match, as the match just saw it.
        ASSERT_EQ(tree.insert(key, worker, &m.walk), tree_match(tree, m, worker))
            << "step " << step;
        model.insert(key, worker);
      } else if (op < 97) {
        const std::string key = "ab" + random_key(KeyKind::kText, rng, 4);
        const MatchResult m = tree.match(key);
        std::vector<std::string_view> ids;
        for (size_t i = rng() % 7; i < workers.size(); i += 1 + rng() % 5) {
          ids.push_back(workers[i]);
        }
        tree.resolve(ids, candidates);
        int64_t want_longest = 0;
        std::vector<int64_t> got(ids.size());
        for (size_t i = 0; i < ids.size(); ++i) {
          got[i] = m.matched_units(candidates[i].slot);
          const int64_t want = model.match(key, std::string(ids[i]));
          if (evicting) {
            ASSERT_LE(got[i], want) << "step " << step << " " << ids[i];
          } else {
            ASSERT_EQ(got[i], want) << "step " << step << " " << ids[i];
          }
          want_longest = std::max(want_longest, got[i]);
        }
        BestMatch best;
        tree.match(key, candidates, best);
        ASSERT_EQ(best.units, want_longest) << "step " << step;
        ASSERT_EQ(best.input_units, m.input_units) << "step " << step;
        std::vector<size_t> want_holders;
        for (size_t i = 0; i < ids.size() && want_longest > 0; ++i) {
          if (got[i] == want_longest) want_holders.push_back(i);
        }
        std::vector<size_t> holders;
        candidates.holders(best.owners, holders);
        ASSERT_EQ(holders, want_holders) << "step " << step;
      } else {
        tree.remove_worker(worker);
        model.remove(worker);
      }
      if (step % 500 == 0) {
        ASSERT_EQ(tree.check_invariants(), "") << "step " << step;
      }
    }
    ASSERT_EQ(tree.check_invariants(), "");
  }
}

class RadixTreeProperty : public ::testing::TestWithParam<Params> {};

TEST_P(RadixTreeProperty, AgreesWithNaiveModel) {
  const auto [kind, budget] = GetParam();
  const bool evicting = budget < 1'000'000;
  const std::vector<std::string> workers{"w0", "w1", "w2", "w3", "w4"};
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::mt19937_64 rng(seed);
    RadixTree tree(kind, budget);
    NaiveModel model(kind);
    for (int step = 0; step < 400; ++step) {
      const std::string& worker = workers[rng() % workers.size()];
      const int op = static_cast<int>(rng() % 100);
      if (op < 50) {
        const std::string key = random_key(kind, rng, 12);
        if (op < 25) {
          tree.insert(key, worker);
        } else {  // as the cache_aware policy does: the insert starts where the match stopped
          MatchResult m;
          tree.match(key, m);
          ASSERT_EQ(tree.insert(key, worker, &m.walk), tree_match(tree, m, worker))
              << "seed " << seed << " step " << step;
        }
        model.insert(key, worker);
        ASSERT_LE(tree.worker_units(worker), budget) << "seed " << seed << " step " << step;
      } else if (op < 90) {
        const std::string key = random_key(kind, rng, 14);
        const MatchResult m = tree.match(key);
        ASSERT_EQ(m.input_units, count_units(kind, key));
        int64_t best = 0;
        for (const auto& w : workers) {
          const int64_t got = tree_match(tree, m, w);
          const int64_t want = model.match(key, w);
          best = std::max(best, got);
          if (evicting) {
            ASSERT_LE(got, want) << "seed " << seed << " step " << step << " worker " << w;
          } else {
            ASSERT_EQ(got, want) << "seed " << seed << " step " << step << " worker " << w;
          }
        }
        ASSERT_EQ(m.max_matched_units, best);
        // The policy's question: the longest match among a random subset of the workers (one of
        // them possibly unknown to the tree, one possibly listed twice), and who holds it.
        std::vector<std::string_view> ids;
        for (const auto& w : workers) {
          if (rng() % 2 == 0) ids.push_back(w);
        }
        if (!ids.empty() && rng() % 4 == 0) ids.push_back(ids.front());
        if (rng() % 4 == 0) ids.push_back("unknown");
        Candidates candidates;
        tree.resolve(ids, candidates);
        BestMatch among;
        tree.match(key, candidates, among);
        ASSERT_EQ(among.input_units, m.input_units);
        const int64_t longest = among.units;
        int64_t want_longest = 0;
        for (const auto id : ids)
          want_longest = std::max(want_longest, tree_match(tree, m, std::string(id)));
        ASSERT_EQ(longest, want_longest) << "seed " << seed << " step " << step;
        std::vector<size_t> want_holders;
        for (size_t i = 0; i < ids.size() && longest > 0; ++i) {
          if (tree_match(tree, m, std::string(ids[i])) == longest) want_holders.push_back(i);
        }
        std::vector<size_t> holders;
        candidates.holders(among.owners, holders);
        ASSERT_EQ(holders, want_holders) << "seed " << seed << " step " << step;
      } else if (op < 97) {
        tree.remove_worker(worker);
        model.remove(worker);
      } else {
        tree.clear();
        model.clear();
      }
      for (const auto& w : workers) {
        if (!evicting && step % 8 == 0) {  // the model's count is slow; sample it
          ASSERT_EQ(tree.worker_units(w), model.units(w)) << "seed " << seed << " step " << step;
        }
        // LRU: a worker's latest key survives its own later evictions when it fits the budget.
        const std::string* latest = model.latest(w);
        if (latest != nullptr && count_units(kind, *latest) <= budget) {
          ASSERT_EQ(tree_match(tree, tree.match(*latest), w), count_units(kind, *latest))
              << "seed " << seed << " step " << step << " worker " << w;
        }
      }
      if (step % 20 == 0) {
        ASSERT_EQ(tree.check_invariants(), "") << "seed " << seed;
      }
    }
    ASSERT_EQ(tree.check_invariants(), "") << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, RadixTreeProperty,
                         ::testing::Values(Params{KeyKind::kText, 1'000'000'000},
                                           Params{KeyKind::kText, 16},
                                           Params{KeyKind::kTokenIds, 1'000'000'000},
                                           Params{KeyKind::kTokenIds, 10}));

// Several threads insert, match, remove and clear at once. Run under TSan as well.
TEST(RadixTreeConcurrency, RandomOperationsKeepInvariants) {
  constexpr int kThreads = 4;
  constexpr int64_t kBudget = 24;
  RadixTree tree(KeyKind::kText, kBudget);
  const std::vector<std::string> workers{"w0", "w1", "w2", "w3", "w4", "w5"};
  std::vector<std::map<std::string, std::vector<std::string>>> per_thread(kThreads);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      Candidates candidates;
      const std::vector<std::string_view> ids(workers.begin(), workers.end());
      for (int step = 0; step < 4000; ++step) {
        const size_t w = rng() % workers.size();
        const std::string& worker = workers[w];
        const int op = static_cast<int>(rng() % 1000);
        if (op < 450) {
          const std::string key = random_key(KeyKind::kText, rng, 12);
          if (op < 150) {
            tree.insert(key, worker);
          } else if (op < 300) {
            // Other threads may change the tree between the two: the walk goes stale.
            MatchResult m;
            tree.match(key, m);
            tree.insert(key, worker, &m.walk);
          } else {
            // As the policy: the ref goes stale when another thread removes the worker and its
            // slot is reused meanwhile.
            tree.resolve(ids, candidates);
            BestMatch best;
            tree.match(key, candidates, best);
            if (tree.insert(key, worker, &best.walk, candidates[w]) > best.input_units) {
              failed = true;
            }
          }
          per_thread[t][worker].push_back(key);
        } else if (op < 995) {
          const std::string key = random_key(KeyKind::kText, rng, 14);
          const MatchResult m = tree.match(key);
          if (m.input_units != count_units(KeyKind::kText, key) ||
              m.max_matched_units > m.input_units) {
            failed = true;
          }
          for (const auto& ms : m.steps) {
            if (ms.units > m.max_matched_units || ms.owners_begin >= ms.owners_end) {
              failed = true;
            }
          }
          // The best match among every worker while other threads remove workers and reuse
          // their slots.
          tree.resolve(ids, candidates);
          BestMatch best;
          tree.match(key, candidates, best);
          const int64_t longest = best.units;
          std::vector<size_t> holders;
          candidates.holders(best.owners, holders);
          if (longest < 0 || longest > best.input_units || (longest > 0) == holders.empty()) {
            failed = true;
          }
        } else if (op < 999) {
          tree.remove_worker(worker);
        } else {
          tree.clear();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed.load());
  ASSERT_EQ(tree.check_invariants(), "");
  tree.enforce_budgets();
  for (const auto& w : workers) EXPECT_LE(tree.worker_units(w), kBudget);
  // Nothing appears that was never inserted: every match is covered by some inserted key.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const std::string key = random_key(KeyKind::kText, rng, 14);
    const MatchResult m = tree.match(key);
    for (const auto& w : workers) {
      const auto slot = tree.slot_of(w);
      if (!slot) continue;
      int64_t best = 0;
      for (const auto& pt : per_thread) {
        auto it = pt.find(w);
        if (it == pt.end()) continue;
        for (const auto& k : it->second) {
          best = std::max(best, prefix_units(KeyKind::kText, key, lcp(k, key)));
        }
      }
      EXPECT_LE(m.matched_units(*slot), best);
    }
  }
}

}  // namespace
}  // namespace dpserve::router::tree
