#include "engine/kv/radix_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <stdexcept>
#include <tuple>
#include <unordered_set>

namespace dpserve::engine {

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "RadixCache: %s\n", what);
  std::abort();
}

int64_t len(const RadixCache::Node* node) { return static_cast<int64_t>(node->key.size()); }

}  // namespace

bool RadixCache::PageKeyLess::operator()(std::span<const int32_t> a,
                                         std::span<const int32_t> b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

RadixCache::RadixCache(PagePool& pool)
    : pool_(pool), page_size_(pool.page_size()), root_(new_node(nullptr)) {
  root_->lock_ref = 1;  // the root is never evicted
}

RadixCache::~RadixCache() = default;

std::unique_ptr<RadixCache::Node> RadixCache::new_node(Node* parent) {
  auto node = std::make_unique<Node>();
  node->parent = parent;
  node->serial = next_serial_++;
  return node;
}

int64_t RadixCache::common_pages(std::span<const int32_t> a, std::span<const int32_t> b) const {
  const int64_t n = static_cast<int64_t>(std::min(a.size(), b.size())) / page_size_;
  int64_t pages = 0;
  while (pages < n &&
         std::equal(a.begin() + pages * page_size_, a.begin() + (pages + 1) * page_size_,
                    b.begin() + pages * page_size_)) {
    ++pages;
  }
  return pages;
}

RadixCache::Node* RadixCache::split(Node* node, int64_t tokens) {
  // The new node takes the first `tokens` of `node` and sits between it and its parent. Both are on
  // the same root paths, so they share lock counts and the evictable/protected totals don't change.
  Node* parent = node->parent;
  auto head = new_node(parent);
  head->key.assign(node->key.begin(), node->key.begin() + tokens);
  head->pages.assign(node->pages.begin(), node->pages.begin() + tokens / page_size_);
  head->lock_ref = node->lock_ref;
  head->last_access = node->last_access;
  auto it = parent->children.find(std::span<const int32_t>(node->key).first(page_size_));
  std::unique_ptr<Node> tail = std::move(it->second);
  tail->key.erase(tail->key.begin(), tail->key.begin() + tokens);
  tail->pages.erase(tail->pages.begin(), tail->pages.begin() + tokens / page_size_);
  tail->parent = head.get();
  Node* raw = head.get();
  std::vector<int32_t> tail_first(tail->key.begin(), tail->key.begin() + page_size_);
  head->children.emplace(std::move(tail_first), std::move(tail));
  it->second = std::move(head);
  return raw;
}

RadixCache::Match RadixCache::match_prefix(std::span<const int32_t> key) {
  key = key.first(key.size() - key.size() % static_cast<size_t>(page_size_));
  Match match;
  match.node = root_.get();
  const uint64_t now = ++clock_;
  root_->last_access = now;
  size_t pos = 0;
  while (pos < key.size()) {
    auto it = match.node->children.find(key.subspan(pos, static_cast<size_t>(page_size_)));
    if (it == match.node->children.end()) break;
    Node* child = it->second.get();
    const int64_t common = common_pages(child->key, key.subspan(pos)) * page_size_;
    const bool partial = common < len(child);
    if (partial) child = split(child, common);
    child->last_access = now;
    match.pages.insert(match.pages.end(), child->pages.begin(), child->pages.end());
    pos += static_cast<size_t>(common);
    match.node = child;
    if (partial) break;
  }
  match.tokens = static_cast<int64_t>(pos);
  return match;
}

RadixCache::Inserted RadixCache::insert(std::span<const int32_t> key,
                                        std::span<const PageId> pages) {
  key = key.first(key.size() - key.size() % static_cast<size_t>(page_size_));
  if (pages.size() < key.size() / static_cast<size_t>(page_size_)) die("insert: too few pages");
  Inserted out;
  out.node = root_.get();
  const uint64_t now = ++clock_;
  size_t pos = 0;
  while (pos < key.size()) {
    auto it = out.node->children.find(key.subspan(pos, static_cast<size_t>(page_size_)));
    if (it == out.node->children.end()) {
      auto leaf = new_node(out.node);
      leaf->key.assign(key.begin() + static_cast<ptrdiff_t>(pos), key.end());
      leaf->pages.assign(pages.begin() + static_cast<ptrdiff_t>(pos) / page_size_,
                         pages.begin() + static_cast<ptrdiff_t>(key.size()) / page_size_);
      leaf->last_access = now;
      evictable_tokens_ += len(leaf.get());
      out.already_cached = static_cast<int64_t>(pos);
      out.pages.insert(out.pages.end(), leaf->pages.begin(), leaf->pages.end());
      Node* raw = leaf.get();
      std::vector<int32_t> first(leaf->key.begin(), leaf->key.begin() + page_size_);
      out.node->children.emplace(std::move(first), std::move(leaf));
      out.node = raw;
      return out;
    }
    Node* child = it->second.get();
    const int64_t common = common_pages(child->key, key.subspan(pos)) * page_size_;
    if (common < len(child)) child = split(child, common);
    child->last_access = now;
    out.pages.insert(out.pages.end(), child->pages.begin(), child->pages.end());
    pos += static_cast<size_t>(common);
    out.node = child;
  }
  out.already_cached = static_cast<int64_t>(pos);
  return out;
}

void RadixCache::lock(Node* node) {
  for (; node != root_.get(); node = node->parent) {
    if (node->lock_ref++ == 0) {
      evictable_tokens_ -= len(node);
      protected_tokens_ += len(node);
    }
  }
}

void RadixCache::unlock(Node* node) {
  for (; node != root_.get(); node = node->parent) {
    if (node->lock_ref <= 0) die("unlock of an unlocked node");
    if (--node->lock_ref == 0) {
      evictable_tokens_ += len(node);
      protected_tokens_ -= len(node);
    }
  }
}

int64_t RadixCache::evict(int64_t tokens) {
  using Entry = std::tuple<uint64_t, uint64_t, Node*>;  // (last_access, serial, node): oldest first
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  std::vector<Node*> stack{root_.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (auto& [first, child] : node->children) stack.push_back(child.get());
    if (node != root_.get() && node->children.empty() && node->lock_ref == 0) {
      heap.emplace(node->last_access, node->serial, node);
    }
  }
  int64_t freed = 0;
  while (freed < tokens && !heap.empty()) {
    Node* leaf = std::get<2>(heap.top());
    heap.pop();
    pool_.free(leaf->pages);
    freed += len(leaf);
    evictable_tokens_ -= len(leaf);
    Node* parent = leaf->parent;
    parent->children.erase(
        parent->children.find(std::span<const int32_t>(leaf->key).first(page_size_)));
    if (parent != root_.get() && parent->children.empty() && parent->lock_ref == 0) {
      heap.emplace(parent->last_access, parent->serial, parent);
    }
  }
  return freed;
}

void RadixCache::free_subtree(Node* node) {
  for (auto& [first, child] : node->children) free_subtree(child.get());
  if (node != root_.get()) pool_.free(node->pages);
}

void RadixCache::reset() {
  if (protected_tokens_ != 0) throw std::logic_error("RadixCache::reset while nodes are locked");
  free_subtree(root_.get());
  root_->children.clear();
  evictable_tokens_ = 0;
}

std::string RadixCache::check_invariants() const {
  int64_t evictable = 0;
  int64_t protected_sum = 0;
  std::unordered_set<PageId> seen;
  std::vector<const Node*> stack{root_.get()};
  while (!stack.empty()) {
    const Node* node = stack.back();
    stack.pop_back();
    int64_t child_locks = 0;
    for (const auto& [first, child] : node->children) {
      const Node* c = child.get();
      if (c->parent != node) return "child with a wrong parent pointer";
      if (c->key.empty() || c->key.size() % static_cast<size_t>(page_size_) != 0) {
        return "node key is empty or not page aligned";
      }
      if (c->pages.size() * static_cast<size_t>(page_size_) != c->key.size()) {
        return "node has a page count that does not match its key";
      }
      if (!std::equal(first.begin(), first.end(), c->key.begin()) ||
          first.size() != static_cast<size_t>(page_size_)) {
        return "child map key is not the child's first page";
      }
      if (c->lock_ref < 0) return "negative lock count";
      child_locks += c->lock_ref;
      (c->lock_ref == 0 ? evictable : protected_sum) += len(c);
      for (PageId p : c->pages) {
        if (!seen.insert(p).second) return "a page is stored twice";
      }
      stack.push_back(c);
    }
    // Locking a node increments every ancestor, so a parent counts at least its children's locks.
    if (node != root_.get() && node->lock_ref < child_locks) return "lock count below children's";
  }
  if (evictable != evictable_tokens_) return "evictable_tokens out of sync";
  if (protected_sum != protected_tokens_) return "protected_tokens out of sync";
  return {};
}

}  // namespace dpserve::engine
