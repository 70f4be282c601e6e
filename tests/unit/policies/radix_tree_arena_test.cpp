#include "router/tree/arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace dpserve::router::tree {
namespace {

struct Block {
  unsigned char* p;
  size_t bytes;
  unsigned char fill;
};

bool intact(const Block& b) {
  for (size_t i = 0; i < b.bytes; ++i) {
    if (b.p[i] != b.fill) return false;
  }
  return true;
}

// Random allocations of small (size class) and large (malloc'd) blocks, frees and in-place shrinks
// of small ones (a split hands a node's freed end back): no two live blocks may overlap (each keeps
// its fill pattern) and everything is released.
TEST(RadixTreeArena, BlocksNeverOverlapAcrossFreesAndShrinks) {
  std::mt19937_64 rng(5);
  Arena arena;
  std::vector<Block> live;
  const size_t sizes[] = {1, 8, 39, 100, 1024, 1025, 1500, 2087, 16423, 40000, 262144, 262145};
  for (int step = 0; step < 4000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5 || live.empty()) {
      size_t bytes = sizes[rng() % std::size(sizes)];
      if (rng() % 2 == 0) bytes = 1 + rng() % 2048;
      auto* p = static_cast<unsigned char*>(arena.allocate(bytes));
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % Arena::kGranule, 0u);
      const auto fill = static_cast<unsigned char>(rng());
      std::memset(p, fill, bytes);
      live.push_back({p, bytes, fill});
    } else {
      const size_t i = rng() % live.size();
      Block& b = live[i];
      ASSERT_TRUE(intact(b)) << "step " << step;
      if (op < 8) {
        arena.deallocate(b.p, b.bytes);
        live[i] = live.back();
        live.pop_back();
      } else if (!Arena::is_large(b.bytes)) {
        const size_t keep = 1 + rng() % b.bytes;
        arena.shrink_small(b.p, b.bytes, keep);
        b.bytes = keep;
      }
    }
  }
  for (const Block& b : live) {
    ASSERT_TRUE(intact(b));
    arena.deallocate(b.p, b.bytes);
  }
  EXPECT_GT(arena.footprint(), 0);
  arena.release();
  EXPECT_EQ(arena.footprint(), 0);
}

}  // namespace
}  // namespace dpserve::router::tree
