// Per-shard memory for radix tree nodes and their side tables. Blocks up to kMaxSmall bytes come
// from size classes of 8 bytes carved out of large chunks; bigger ones from malloc. A node is one
// small block (header and label together), so most inserts cost one or two carves instead of a
// handful of mallocs, and no block pays malloc's header and 16-byte rounding. Not thread-safe: a
// shard's arena is only used under that shard's exclusive lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dpserve::router::tree {

// Big zero-initialised-or-not blocks for arenas and pools. Sizes from 2 MiB up are huge-page
// aligned and advised: the kernel then backs them with 2 MiB pages, one page fault and one TLB
// entry where 4 KiB pages would take 512 of each (both are slow on the VMs we run on, see
// docs/benchmarks.md). chunk_footprint() is what such a block costs, header included.
void* chunk_alloc(size_t bytes);
void chunk_free(void* p);
int64_t chunk_footprint(size_t bytes);

class Arena {
 public:
  static constexpr size_t kGranule = 8;
  static constexpr size_t kMaxSmall = 1024;

  Arena() = default;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` > 0. The block is 8-byte aligned. `deallocate` must get the same size back.
  void* allocate(size_t bytes);
  void deallocate(void* p, size_t bytes);
  // Whether a block of `bytes` comes from malloc rather than a size class.
  static bool is_large(size_t bytes) { return round_up(bytes) > kMaxSmall; }
  // Frees a large block whatever size it was allocated with.
  void deallocate_large(void* p);
  // A small block of `bytes` now only needs its first `new_bytes`: the rest goes to a free list.
  void shrink_small(void* p, size_t bytes, size_t new_bytes);

  // Returns every chunk to the system. Blocks above kMaxSmall must have been deallocated first.
  void release();

  // Bytes taken from the system: every chunk whole (used, free or not yet carved) and every large
  // block at its real malloc size plus header. This is what stats() reports, so it is honest about
  // free-list slack and fragmentation.
  int64_t footprint() const { return chunk_bytes_ + large_bytes_; }

 private:
  static size_t round_up(size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }
  void* carve(size_t size);
  void push_free(void* p, size_t size);

  // free_[size / kGranule]: singly linked through each block's first word.
  std::array<void*, kMaxSmall / kGranule + 1> free_{};
  char* bump_ = nullptr;
  char* end_ = nullptr;
  size_t next_chunk_ = 0;
  std::vector<std::pair<void*, size_t>> chunks_;
  int64_t chunk_bytes_ = 0;
  int64_t large_bytes_ = 0;
};

}  // namespace dpserve::router::tree
