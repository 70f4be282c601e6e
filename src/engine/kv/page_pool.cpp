#include "engine/kv/page_pool.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace dpserve::engine {

int64_t kv_capacity_tokens(const KvCapacityOptions& options, int64_t kv_bytes_per_token) {
  if (options.page_size < 1) throw std::invalid_argument("--page-size must be at least 1");
  if (options.max_total_tokens < 0 || options.kv_cache_memory < 0) {
    throw std::invalid_argument("--max-total-tokens and --kv-cache-memory must not be negative");
  }
  int64_t tokens = std::numeric_limits<int64_t>::max();
  if (options.max_total_tokens > 0) tokens = options.max_total_tokens;
  if (options.kv_cache_memory > 0) {
    if (kv_bytes_per_token <= 0) throw std::invalid_argument("model reports no KV bytes per token");
    tokens = std::min(tokens, options.kv_cache_memory / kv_bytes_per_token);
  }
  if (tokens == std::numeric_limits<int64_t>::max()) {
    throw std::invalid_argument("set --max-total-tokens or --kv-cache-memory to size the KV pool");
  }
  tokens -= tokens % options.page_size;
  if (tokens < options.page_size) {
    throw std::invalid_argument("KV budget holds less than one page (" +
                                std::to_string(options.page_size) + " tokens)");
  }
  if (tokens / options.page_size > std::numeric_limits<PageId>::max()) {
    throw std::invalid_argument("KV pool too large: more than 2^31 pages");
  }
  return tokens;
}

PagePool::PagePool(int64_t num_pages, int page_size)
    : num_pages_(num_pages), page_size_(page_size) {
  if (page_size < 1 || num_pages < 1 || num_pages > std::numeric_limits<PageId>::max()) {
    throw std::invalid_argument("PagePool needs page_size >= 1 and 1..2^31-1 pages");
  }
  reset();
}

void PagePool::reset() {
  free_.clear();
  free_.reserve(static_cast<size_t>(num_pages_));
  // Reverse order so allocation hands out page 0 first: easier to read in logs and tests.
  for (int64_t p = num_pages_ - 1; p >= 0; --p) free_.push_back(static_cast<PageId>(p));
  is_free_.assign(static_cast<size_t>(num_pages_), 1);
}

std::optional<std::vector<PageId>> PagePool::allocate(int64_t count) {
  if (count < 0 || count > num_free_pages()) return std::nullopt;
  std::vector<PageId> out(free_.end() - count, free_.end());
  free_.resize(free_.size() - static_cast<size_t>(count));
  for (PageId p : out) is_free_[static_cast<size_t>(p)] = 0;
  return out;
}

void PagePool::free(std::span<const PageId> pages) {
  for (PageId p : pages) {
    if (p < 0 || p >= num_pages_ || is_free_[static_cast<size_t>(p)]) {
      std::fprintf(stderr, "PagePool::free: invalid or double-freed page %d\n", p);
      std::abort();
    }
    is_free_[static_cast<size_t>(p)] = 1;
    free_.push_back(p);
  }
}

}  // namespace dpserve::engine
