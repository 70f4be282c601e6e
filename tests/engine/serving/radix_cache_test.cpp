#include "engine/kv/radix_cache.h"

#include "engine/serving/kv_harness.h"

#include <gtest/gtest.h>

#include <random>

namespace dpserve::engine {
namespace {

using Tokens = std::vector<int32_t>;

std::vector<PageId> take(PagePool& pool, int64_t n) { return *pool.allocate(n); }

TEST(RadixCache, EmptyTreeMatchesNothing) {
  PagePool pool(8, 1);
  RadixCache tree(pool);
  auto m = tree.match_prefix(Tokens{1, 2, 3});
  EXPECT_EQ(m.tokens, 0);
  EXPECT_EQ(m.node, tree.root());
  EXPECT_TRUE(m.pages.empty());
}

TEST(RadixCache, InsertThenMatchReturnsSamePages) {
  PagePool pool(8, 1);
  RadixCache tree(pool);
  auto pages = take(pool, 4);
  auto ins = tree.insert(Tokens{1, 2, 3, 4}, pages);
  EXPECT_EQ(ins.already_cached, 0);
  EXPECT_EQ(ins.pages, pages);
  EXPECT_EQ(tree.evictable_tokens(), 4);
  auto m = tree.match_prefix(Tokens{1, 2, 3, 4, 5});
  EXPECT_EQ(m.tokens, 4);
  EXPECT_EQ(m.pages, pages);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, PartialMatchSplitsNode) {
  PagePool pool(8, 1);
  RadixCache tree(pool);
  auto pages = take(pool, 4);
  tree.insert(Tokens{1, 2, 3, 4}, pages);
  auto m = tree.match_prefix(Tokens{1, 2, 9});
  EXPECT_EQ(m.tokens, 2);
  EXPECT_EQ(m.pages, (std::vector<PageId>{pages[0], pages[1]}));
  EXPECT_EQ(m.node->key, (Tokens{1, 2}));
  ASSERT_EQ(m.node->children.size(), 1u);
  EXPECT_EQ(m.node->children.begin()->second->key, (Tokens{3, 4}));
  EXPECT_EQ(tree.cached_tokens(), 4);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, InsertReportsExistingPrefixAndKeepsTreePages) {
  PagePool pool(16, 1);
  RadixCache tree(pool);
  auto first = take(pool, 3);
  tree.insert(Tokens{1, 2, 3}, first);
  auto second = take(pool, 5);
  auto ins = tree.insert(Tokens{1, 2, 3, 7, 8}, second);
  EXPECT_EQ(ins.already_cached, 3);
  EXPECT_EQ(ins.pages, (std::vector<PageId>{first[0], first[1], first[2], second[3], second[4]}));
  EXPECT_EQ(tree.cached_tokens(), 5);
  // The duplicates stay the caller's to free.
  pool.free(std::span<const PageId>(second).first(3));
  EXPECT_EQ(pool.num_free_pages(), 16 - 5);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, PageAlignedKeysAndSharing) {
  PagePool pool(8, 4);
  RadixCache tree(pool);
  auto pages = take(pool, 2);
  // 10 tokens: only the first 8 (two pages) are stored.
  auto ins = tree.insert(Tokens{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, pages);
  EXPECT_EQ(ins.pages.size(), 2u);
  EXPECT_EQ(tree.cached_tokens(), 8);
  // Differs inside the second page: only the first page is shared.
  auto m = tree.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 0, 8});
  EXPECT_EQ(m.tokens, 4);
  EXPECT_EQ(m.pages, (std::vector<PageId>{pages[0]}));
  // Shorter than a page: nothing.
  EXPECT_EQ(tree.match_prefix(Tokens{1, 2, 3}).tokens, 0);
  // Siblings are keyed by their whole first page, not the first token.
  auto other = take(pool, 1);
  tree.insert(Tokens{1, 2, 3, 4, 5, 9, 9, 9}, std::vector<PageId>{pages[0], other[0]});
  EXPECT_EQ(tree.match_prefix(Tokens{1, 2, 3, 4, 5, 9, 9, 9}).pages,
            (std::vector<PageId>{pages[0], other[0]}));
  EXPECT_EQ(tree.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 7, 8}).pages, pages);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, LockProtectsPathAndMovesAccounting) {
  PagePool pool(8, 1);
  RadixCache tree(pool);
  tree.insert(Tokens{1, 2, 3, 4}, take(pool, 4));
  auto m = tree.match_prefix(Tokens{1, 2});  // splits: [1 2] -> [3 4]
  tree.lock(m.node);
  EXPECT_EQ(tree.protected_tokens(), 2);
  EXPECT_EQ(tree.evictable_tokens(), 2);
  tree.lock(m.node);              // nested
  EXPECT_EQ(tree.evict(100), 2);  // only the unlocked leaf [3 4] goes
  EXPECT_EQ(tree.cached_tokens(), 2);
  EXPECT_EQ(tree.match_prefix(Tokens{1, 2, 3, 4}).tokens, 2);
  tree.unlock(m.node);
  EXPECT_EQ(tree.protected_tokens(), 2);
  tree.unlock(m.node);
  EXPECT_EQ(tree.protected_tokens(), 0);
  EXPECT_EQ(tree.evict(100), 2);
  EXPECT_EQ(pool.num_free_pages(), 8);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, EvictsLeastRecentlyUsedLeafFirstAndCascades) {
  PagePool pool(16, 1);
  RadixCache tree(pool);
  tree.insert(Tokens{1, 1}, take(pool, 2));
  tree.insert(Tokens{2, 2}, take(pool, 2));
  tree.insert(Tokens{3, 3}, take(pool, 2));
  tree.match_prefix(Tokens{1, 1});  // touch: [2 2] is now the oldest
  EXPECT_EQ(tree.evict(1), 2);
  EXPECT_EQ(tree.match_prefix(Tokens{2, 2}).tokens, 0);
  EXPECT_EQ(tree.match_prefix(Tokens{1, 1}).tokens, 2);
  EXPECT_EQ(tree.match_prefix(Tokens{3, 3}).tokens, 2);
  // A parent whose children are all evicted becomes a leaf and goes too.
  tree.insert(Tokens{4, 4, 5}, take(pool, 3));
  tree.insert(Tokens{4, 4, 6}, take(pool, 3));  // splits [4 4] -> {[5], [6]}
  tree.match_prefix(Tokens{1, 1});
  tree.match_prefix(Tokens{3, 3});
  EXPECT_EQ(tree.evict(4), 4);  // [5], [6], then [4 4]
  EXPECT_EQ(tree.match_prefix(Tokens{4, 4}).tokens, 0);
  EXPECT_EQ(tree.cached_tokens(), 4);
  EXPECT_EQ(tree.check_invariants(), "");
}

TEST(RadixCache, ResetReturnsEveryPage) {
  PagePool pool(8, 2);
  RadixCache tree(pool);
  tree.insert(Tokens{1, 2, 3, 4}, take(pool, 2));
  auto dup = take(pool, 2);
  auto ins = tree.insert(Tokens{1, 2, 5, 6}, dup);
  EXPECT_EQ(ins.already_cached, 2);
  pool.free(std::span<const PageId>(dup).first(1));  // the tree kept its own first page
  tree.reset();
  EXPECT_EQ(pool.num_free_pages(), 8);
  EXPECT_EQ(tree.cached_tokens(), 0);
  EXPECT_EQ(tree.match_prefix(Tokens{1, 2}).tokens, 0);
}

TEST(RadixCache, ResetRefusedWhileLocked) {
  PagePool pool(8, 1);
  RadixCache tree(pool);
  auto ins = tree.insert(Tokens{1}, take(pool, 1));
  tree.lock(ins.node);
  EXPECT_THROW(tree.reset(), std::logic_error);
  tree.unlock(ins.node);
}

// Random op sequences against the naive model, for several page sizes and pool sizes (small pools
// force eviction inside grow()).
TEST(RadixCacheProperty, RandomOpsMatchNaiveModel) {
  std::mt19937 rng(1234);
  for (int round = 0; round < 300; ++round) {
    const int page_size = 1 + round % 4;
    const int64_t pages = 4 + round % 40;
    std::vector<uint8_t> ops(static_cast<size_t>(30 + rng() % 300));
    for (auto& b : ops) b = static_cast<uint8_t>(rng());
    testing::KvHarness harness(page_size, pages, /*radix=*/round % 10 != 0);
    ASSERT_EQ(harness.run(ops), "") << "round " << round;
  }
}

}  // namespace
}  // namespace dpserve::engine
