#include "engine/kv/page_pool.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace dpserve::engine {
namespace {

TEST(KvCapacity, FromMaxTokensRoundsDownToPages) {
  EXPECT_EQ(kv_capacity_tokens({.max_total_tokens = 1000, .page_size = 16}, 64), 992);
  EXPECT_EQ(kv_capacity_tokens({.max_total_tokens = 1000, .page_size = 1}, 64), 1000);
}

TEST(KvCapacity, FromByteBudget) {
  // 1 MiB at 1 KiB per token = 1024 tokens.
  EXPECT_EQ(kv_capacity_tokens({.kv_cache_memory = 1 << 20, .page_size = 1}, 1024), 1024);
  // Both set: the smaller wins.
  EXPECT_EQ(kv_capacity_tokens({.max_total_tokens = 100, .kv_cache_memory = 1 << 20}, 1024), 100);
  EXPECT_EQ(kv_capacity_tokens({.max_total_tokens = 5000, .kv_cache_memory = 1 << 20}, 1024), 1024);
}

TEST(KvCapacity, RejectsUnusableBudgets) {
  EXPECT_THROW(kv_capacity_tokens({}, 64), std::invalid_argument);
  EXPECT_THROW(kv_capacity_tokens({.max_total_tokens = 8, .page_size = 16}, 64),
               std::invalid_argument);
  EXPECT_THROW(kv_capacity_tokens({.kv_cache_memory = 100}, 1024), std::invalid_argument);
  EXPECT_THROW(kv_capacity_tokens({.max_total_tokens = 10, .page_size = 0}, 64),
               std::invalid_argument);
}

TEST(PagePool, AllocateFreeAccounting) {
  PagePool pool(8, 4);
  EXPECT_EQ(pool.num_slots(), 32);
  EXPECT_EQ(pool.free_tokens(), 32);
  EXPECT_EQ(pool.pages_for(0), 0);
  EXPECT_EQ(pool.pages_for(1), 1);
  EXPECT_EQ(pool.pages_for(8), 2);
  auto a = pool.allocate(3);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size(), 3u);
  EXPECT_EQ(pool.num_free_pages(), 5);
  EXPECT_FALSE(pool.allocate(6));  // all-or-nothing
  EXPECT_EQ(pool.num_free_pages(), 5);
  auto b = pool.allocate(5);
  ASSERT_TRUE(b);
  EXPECT_EQ(pool.num_free_pages(), 0);
  pool.free(*a);
  EXPECT_EQ(pool.num_free_pages(), 3);
  EXPECT_EQ(pool.slot((*b)[0], 3), int64_t{(*b)[0]} * 4 + 3);
  pool.reset();
  EXPECT_EQ(pool.num_free_pages(), 8);
}

TEST(PagePool, PagesAreDistinct) {
  PagePool pool(16, 1);
  auto a = pool.allocate(16);
  ASSERT_TRUE(a);
  std::vector<bool> seen(16);
  for (PageId p : *a) {
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 16);
    EXPECT_FALSE(seen[static_cast<size_t>(p)]);
    seen[static_cast<size_t>(p)] = true;
  }
}

TEST(PagePoolDeathTest, DoubleFreeAborts) {
  PagePool pool(2, 1);
  auto a = pool.allocate(1);
  pool.free(*a);
  EXPECT_DEATH(pool.free(*a), "double-freed");
}

}  // namespace
}  // namespace dpserve::engine
