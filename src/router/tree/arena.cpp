#include "router/tree/arena.h"

#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <new>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define DPSERVE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define DPSERVE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define DPSERVE_POISON(p, n) ((void)(p), (void)(n))
#define DPSERVE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace dpserve::router::tree {

namespace {

// Chunks start small so that a tree with a handful of keys stays small, and double up to one
// huge page.
constexpr size_t kFirstChunk = 16 << 10;
constexpr size_t kHugePage = 2 << 20;
// glibc's per-allocation header, counted so that footprint() is not optimistic.
constexpr int64_t kMallocHeader = 16;

size_t chunk_size(size_t bytes) {
  return bytes >= kHugePage ? (bytes + kHugePage - 1) / kHugePage * kHugePage : bytes;
}

}  // namespace

void* chunk_alloc(size_t bytes) {
  const size_t size = chunk_size(bytes);
  void* p = size >= kHugePage ? std::aligned_alloc(kHugePage, size) : std::malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void chunk_free(void* p) { std::free(p); }

int64_t chunk_footprint(size_t bytes) {
  return static_cast<int64_t>(chunk_size(bytes)) + kMallocHeader;
}

namespace {

// A fresh 2 MiB-aligned mapping, advised for a huge page. Not from malloc: a heap range that was
// used before is already mapped in 4 KiB pages (the advice then changes nothing), and freeing into
// the heap kept or trimmed it at glibc's discretion.
void* map_huge_page() {
  const size_t span = 2 * kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  if (aligned != start) munmap(raw, aligned - start);
  const uintptr_t end = aligned + kHugePage;
  if (end != start + span) munmap(reinterpret_cast<void*>(end), start + span - end);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, kHugePage, MADV_HUGEPAGE);
  return p;
}

}  // namespace

ChunkSource::~ChunkSource() {
  for (void* p : pages_) munmap(p, kHugePage);
}

void* ChunkSource::take() {
  std::lock_guard lock(mu_);
  ++out_;
  if (!free_.empty()) {
    void* p = free_.back();
    free_.pop_back();
    return p;
  }
  if (pages_.empty() || carved_ == kHugePage / kBlock) {
    pages_.push_back(map_huge_page());
    carved_ = 0;
  }
  return static_cast<char*>(pages_.back()) + kBlock * carved_++;
}

void ChunkSource::give(void* block) {
  std::lock_guard lock(mu_);
  --out_;
  if (out_ == 0) {
    // Everything is back (the tree was cleared): hand the pages to the system.
    for (void* p : pages_) munmap(p, kHugePage);
    pages_.clear();
    free_.clear();
    carved_ = 0;
    return;
  }
  free_.push_back(block);
}

int64_t ChunkSource::footprint() const {
  std::lock_guard lock(mu_);
  return static_cast<int64_t>(pages_.size() * kHugePage) +
         static_cast<int64_t>(free_.capacity() + pages_.capacity()) *
             static_cast<int64_t>(sizeof(void*));
}

Arena::~Arena() { release(); }

void Arena::push_free(void* p, size_t size) {
  void*& head = free_[size / kGranule];
  DPSERVE_UNPOISON(p, sizeof(void*));  // the rest of a chunk is poisoned until carved
  std::memcpy(p, &head, sizeof(void*));
  head = p;
  DPSERVE_POISON(p, size);
}

void* Arena::carve(size_t size) {
  if (static_cast<size_t>(end_ - bump_) < size) {
    // The rest of the current chunk is a multiple of the granule: keep it as a free block.
    if (end_ != bump_) push_free(bump_, std::min<size_t>(end_ - bump_, kMaxSmall));
    const size_t chunk = next_chunk_ == 0 ? kFirstChunk : next_chunk_;
    next_chunk_ = std::min(chunk * 2, source_ != nullptr ? ChunkSource::kBlock : kHugePage);
    void* p;
    if (source_ != nullptr && chunk == ChunkSource::kBlock) {
      p = source_->take();
      chunks_.push_back({p, chunk, true});
    } else {
      p = chunk_alloc(chunk);
      chunks_.push_back({p, chunk, false});
      chunk_bytes_ += chunk_footprint(chunk);
    }
    bump_ = static_cast<char*>(p);
    end_ = bump_ + chunk;
    DPSERVE_POISON(p, chunk);
  }
  void* out = bump_;
  bump_ += size;
  return out;
}

void* Arena::allocate(size_t bytes) {
  const size_t size = round_up(bytes);
  if (size > kMaxSmall) {
    void* p = std::malloc(size);
    if (p == nullptr) throw std::bad_alloc();
    large_bytes_ += static_cast<int64_t>(malloc_usable_size(p)) + kMallocHeader;
    return p;
  }
  void*& head = free_[size / kGranule];
  void* p;
  if (head != nullptr) {
    p = head;
    DPSERVE_UNPOISON(p, size);
    std::memcpy(&head, p, sizeof(void*));
  } else {
    p = carve(size);
    DPSERVE_UNPOISON(p, size);
  }
  return p;
}

void Arena::deallocate(void* p, size_t bytes) {
  const size_t size = round_up(bytes);
  if (size > kMaxSmall) {
    deallocate_large(p);
    return;
  }
  push_free(p, size);
}

void Arena::deallocate_large(void* p) {
  large_bytes_ -= static_cast<int64_t>(malloc_usable_size(p)) + kMallocHeader;
  std::free(p);
}

void Arena::shrink_small(void* p, size_t bytes, size_t new_bytes) {
  const size_t size = round_up(bytes);
  const size_t keep = round_up(new_bytes);
  if (keep < size) push_free(static_cast<char*>(p) + keep, size - keep);
}

void Arena::release() {
  for (const Chunk& c : chunks_) {
    DPSERVE_UNPOISON(c.p, c.size);
    if (c.from_source) {
      source_->give(c.p);
    } else {
      chunk_free(c.p);
    }
  }
  chunks_.clear();
  free_.fill(nullptr);
  bump_ = end_ = nullptr;
  next_chunk_ = 0;
  chunk_bytes_ = 0;
}

}  // namespace dpserve::router::tree
