// The KV slot allocator of one DP rank. Slots come in pages of page_size consecutive slots; a page
// is owned by exactly one party at a time (the free list, the radix cache, or one sequence), so
// free + cached + private pages always add up to the pool size (docs/design/kv-cache.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

using PageId = int32_t;

// How many token slots one rank gets. Exactly one of the two limits is normally set; with both, the
// smaller wins. Throws std::invalid_argument when neither yields at least one page.
struct KvCapacityOptions {
  int64_t max_total_tokens = 0;  // --max-total-tokens; 0 = unset
  int64_t kv_cache_memory = 0;   // --kv-cache-memory in bytes per rank; 0 = unset
  int page_size = 1;             // --page-size
};
int64_t kv_capacity_tokens(const KvCapacityOptions& options, int64_t kv_bytes_per_token);

class PagePool {
 public:
  PagePool(int64_t num_pages, int page_size);

  int page_size() const { return page_size_; }
  int64_t num_pages() const { return num_pages_; }
  int64_t num_free_pages() const { return static_cast<int64_t>(free_.size()); }
  int64_t num_slots() const { return num_pages_ * page_size_; }
  int64_t free_tokens() const { return num_free_pages() * page_size_; }
  // Pages needed to hold `tokens` slots.
  int64_t pages_for(int64_t tokens) const { return (tokens + page_size_ - 1) / page_size_; }

  // Takes `count` pages off the free list, or nothing when fewer are free.
  std::optional<std::vector<PageId>> allocate(int64_t count);
  // Returns pages to the free list. Freeing a page twice or a foreign id is a logic error and
  // aborts (the accounting would be silently wrong otherwise).
  void free(std::span<const PageId> pages);
  // Every page back to free, e.g. after /flush_cache.
  void reset();

  int64_t slot(PageId page, int64_t offset) const { return int64_t{page} * page_size_ + offset; }

 private:
  int64_t num_pages_;
  int page_size_;
  std::vector<PageId> free_;      // LIFO: recently freed pages are reused first (warm in cache)
  std::vector<uint8_t> is_free_;  // guards against double free
};

}  // namespace dpserve::engine
