// Per-shard memory for radix tree nodes and their side tables. Blocks up to kMaxSmall bytes come
// from size classes of 8 bytes carved out of large chunks; bigger ones from malloc. A node is one
// small block (header and label together), so most inserts cost one or two carves instead of a
// handful of mallocs, and no block pays malloc's header and 16-byte rounding. Not thread-safe: a
// shard's arena is only used under that shard's exclusive lock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
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

// Hands out fixed 64 KiB blocks carved from 2 MiB huge pages, to every arena and entry pool of
// one tree. Sixteen shards each growing their own 2 MiB chunks left up to 2 MiB of each shard's
// last chunk uncarved (a sixth of a 100 MiB tree of short keys, see docs/benchmarks.md); blocks
// this size waste at most one per shard and pool and keep the huge pages. Thread-safe (one
// mutex, taken once per 64 KiB a shard grows).
class ChunkSource {
 public:
  static constexpr size_t kBlock = 64 << 10;

  ChunkSource() = default;
  ~ChunkSource();
  ChunkSource(const ChunkSource&) = delete;
  ChunkSource& operator=(const ChunkSource&) = delete;

  void* take();
  void give(void* block);
  // Bytes taken from the system (whole pages).
  int64_t footprint() const;

 private:
  mutable std::mutex mu_;
  std::vector<void*> pages_;
  std::vector<void*> free_;
  size_t carved_ = 0;  // blocks carved from pages_.back()
  size_t out_ = 0;     // blocks handed out and not given back
};

class Arena {
 public:
  static constexpr size_t kGranule = 8;
  static constexpr size_t kMaxSmall = 1024;

  // Without a source, chunks double up to 2 MiB from the system (for tests and standalone use).
  explicit Arena(ChunkSource* source = nullptr) : source_(source) {}
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

  void set_source(ChunkSource* source) { source_ = source; }

  // Returns every chunk to the system (or its source). Blocks above kMaxSmall must have been
  // deallocated first.
  void release();

  // Bytes taken from the system: every chunk whole (used, free or not yet carved) and every large
  // block at its real malloc size plus header; blocks from the source are counted by the source.
  // This is what stats() reports, so it is honest about free-list slack and fragmentation.
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
  ChunkSource* source_ = nullptr;
  // (chunk, size, whether it came from source_)
  struct Chunk {
    void* p;
    size_t size;
    bool from_source;
  };
  std::vector<Chunk> chunks_;
  int64_t chunk_bytes_ = 0;
  int64_t large_bytes_ = 0;
};

}  // namespace dpserve::router::tree
