// One rank's KV memory bookkeeping: the page pool plus the radix prefix cache, and the operations a
// scheduler performs on a sequence's pages (match, grow, cache, release). Every page is owned by
// the free list, the tree, or exactly one sequence; check_invariants() verifies the sum.
#pragma once

#include "engine/kv/page_pool.h"
#include "engine/kv/radix_cache.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

// A sequence's KV pages: pages[i] holds positions [i * page_size, (i + 1) * page_size).
struct SeqKv {
  std::vector<PageId> pages;
  int64_t cached_len = 0;  // leading tokens whose pages the radix cache owns (page aligned)
  RadixCache::Node* lock = nullptr;  // pinned node, null when nothing is pinned
};

class KvManager {
 public:
  KvManager(int64_t total_tokens, int page_size, bool radix_enabled);

  int page_size() const { return pool_.page_size(); }
  bool radix_enabled() const { return radix_enabled_; }

  // Pins the longest cached page-aligned prefix of `tokens` and adopts its pages; `kv` must be
  // empty. Returns the matched length (0 with the cache disabled).
  int64_t match(std::span<const int32_t> tokens, SeqKv& kv);
  // Length match() would return, without pinning anything (for longest-prefix-first ordering).
  int64_t peek(std::span<const int32_t> tokens);
  // Pages `kv` lacks to hold `len` tokens.
  int64_t pages_needed(const SeqKv& kv, int64_t len) const;
  // Gives `kv` pages for `len` tokens, evicting cached leaves if the free list is short. Returns
  // false, leaving `kv` unchanged, when even eviction cannot make room.
  bool grow(SeqKv& kv, int64_t len);
  // Inserts the page-aligned part of `tokens` (whose KV is computed) into the cache and re-pins the
  // sequence at its end. Duplicate pages (another sequence cached the same prefix first) are freed
  // and the sequence switches to the tree's pages, so shared prefixes occupy memory once.
  void cache(std::span<const int32_t> tokens, SeqKv& kv);
  // Caches `tokens` (when enabled), then frees the sequence's private pages and unpins it.
  void release(std::span<const int32_t> tokens, SeqKv& kv);
  // Slot of every position [0, len) of `kv`, for SeqInput::slots.
  void fill_slots(const SeqKv& kv, int64_t len, std::vector<int64_t>& slots) const;

  // Drops the whole cache; refused (false) while any sequence holds pages.
  bool flush();

  // Accounting, in tokens (page multiples).
  int64_t total_tokens() const { return pool_.num_slots(); }
  int64_t free_tokens() const { return pool_.free_tokens(); }
  int64_t evictable_tokens() const { return tree_.evictable_tokens(); }
  int64_t protected_tokens() const { return tree_.protected_tokens(); }
  int64_t cached_tokens() const { return tree_.cached_tokens(); }
  int64_t private_tokens() const { return private_pages_ * page_size(); }
  // What admission may count on: free plus evictable.
  int64_t available_tokens() const { return free_tokens() + evictable_tokens(); }
  // SGLang's num_used: memory that cannot be reclaimed right now.
  int64_t used_tokens() const { return total_tokens() - available_tokens(); }

  std::string check_invariants() const;
  RadixCache& tree() { return tree_; }

 private:
  PagePool pool_;
  RadixCache tree_;
  bool radix_enabled_;
  int64_t private_pages_ = 0;
};

}  // namespace dpserve::engine
