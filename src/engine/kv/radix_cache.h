// RadixAttention's prefix tree (engine-internals.md §6.2-6.3) over page-aligned token runs. The
// tree owns the pages it stores; a sequence pins the path it uses with lock()/unlock(), and
// eviction only ever removes unlocked leaves, oldest access first. Single-threaded: one scheduler
// owns it. Invariants are spelled out in docs/design/kv-cache.md and checked by check_invariants().
#pragma once

#include "engine/kv/page_pool.h"

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine {

class RadixCache {
 private:
  // Children are keyed by their first page of tokens, compared as spans so lookups don't copy.
  struct PageKeyLess {
    using is_transparent = void;
    bool operator()(std::span<const int32_t> a, std::span<const int32_t> b) const;
  };

 public:
  struct Node {
    std::vector<int32_t> key;   // token run, a page multiple (empty for the root)
    std::vector<PageId> pages;  // key.size() / page_size pages
    Node* parent = nullptr;
    std::map<std::vector<int32_t>, std::unique_ptr<Node>, PageKeyLess> children;
    int lock_ref = 0;
    uint64_t last_access = 0;
    uint64_t serial = 0;  // creation order: breaks LRU ties deterministically
  };

  struct Match {
    Node* node = nullptr;       // last matched node (the root when nothing matched)
    std::vector<PageId> pages;  // one page per page_size matched tokens
    int64_t tokens = 0;         // matched length, a page multiple
  };
  struct Inserted {
    Node* node = nullptr;        // node ending exactly at the inserted key
    std::vector<PageId> pages;   // the tree's pages for the whole key
    int64_t already_cached = 0;  // leading tokens that were in the tree before
  };

  explicit RadixCache(PagePool& pool);
  ~RadixCache();
  RadixCache(const RadixCache&) = delete;
  RadixCache& operator=(const RadixCache&) = delete;

  // Longest cached prefix of key (truncated to a page multiple). Splits a node when the match ends
  // inside it, so the returned node covers exactly the match and can be locked.
  Match match_prefix(std::span<const int32_t> key);
  // Stores key (its page-aligned part) with one page per page_size tokens. Where the tree already
  // holds a prefix, its pages win: the caller keeps ownership of (and must free) any of its pages
  // that differ from Inserted::pages. The tree takes ownership of the pages of the new tail.
  Inserted insert(std::span<const int32_t> key, std::span<const PageId> pages);

  // Pin / unpin the path from node to the root. Locks nest (a reference count per node).
  void lock(Node* node);
  void unlock(Node* node);

  // Frees unlocked leaves, least recently used first, until at least `tokens` tokens are back in
  // the pool or nothing is evictable. Returns the tokens freed.
  int64_t evict(int64_t tokens);
  // Drops every node and returns its pages to the pool. Requires that nothing is locked.
  void reset();

  int64_t evictable_tokens() const { return evictable_tokens_; }
  int64_t protected_tokens() const { return protected_tokens_; }
  int64_t cached_tokens() const { return evictable_tokens_ + protected_tokens_; }
  Node* root() const { return root_.get(); }
  // Empty when every invariant holds, else a description of the first violation (tests, fuzzing).
  std::string check_invariants() const;

 private:
  int64_t common_pages(std::span<const int32_t> a, std::span<const int32_t> b) const;
  Node* split(Node* node, int64_t tokens);
  void free_subtree(Node* node);
  std::unique_ptr<Node> new_node(Node* parent);

  PagePool& pool_;
  int page_size_;
  std::unique_ptr<Node> root_;
  uint64_t clock_ = 0;  // logical access clock: deterministic LRU order
  uint64_t next_serial_ = 0;
  int64_t evictable_tokens_ = 0;
  int64_t protected_tokens_ = 0;
};

}  // namespace dpserve::engine
