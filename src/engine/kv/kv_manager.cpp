#include "engine/kv/kv_manager.h"

#include <cstdio>
#include <cstdlib>

namespace dpserve::engine {

KvManager::KvManager(int64_t total_tokens, int page_size, bool radix_enabled)
    : pool_(total_tokens / page_size, page_size), tree_(pool_), radix_enabled_(radix_enabled) {}

int64_t KvManager::match(std::span<const int32_t> tokens, SeqKv& kv) {
  if (!radix_enabled_) return 0;
  RadixCache::Match m = tree_.match_prefix(tokens);
  tree_.lock(m.node);
  kv.pages = std::move(m.pages);
  kv.cached_len = m.tokens;
  kv.lock = m.node;
  return m.tokens;
}

int64_t KvManager::peek(std::span<const int32_t> tokens) {
  return radix_enabled_ ? tree_.match_prefix(tokens).tokens : 0;
}

int64_t KvManager::pages_needed(const SeqKv& kv, int64_t len) const {
  const int64_t need = pool_.pages_for(len) - static_cast<int64_t>(kv.pages.size());
  return need > 0 ? need : 0;
}

bool KvManager::grow(SeqKv& kv, int64_t len) {
  const int64_t need = pages_needed(kv, len);
  if (need == 0) return true;
  if (pool_.num_free_pages() < need) {
    tree_.evict((need - pool_.num_free_pages()) * page_size());
  }
  auto pages = pool_.allocate(need);
  if (!pages) return false;
  kv.pages.insert(kv.pages.end(), pages->begin(), pages->end());
  private_pages_ += need;
  return true;
}

void KvManager::cache(std::span<const int32_t> tokens, SeqKv& kv) {
  if (!radix_enabled_) return;
  const int64_t ps = page_size();
  const int64_t aligned = static_cast<int64_t>(tokens.size()) / ps * ps;
  if (aligned <= kv.cached_len) return;
  if (static_cast<int64_t>(kv.pages.size()) * ps < aligned) {
    std::fprintf(stderr, "KvManager::cache: sequence has no pages for its tokens\n");
    std::abort();
  }
  RadixCache::Inserted ins = tree_.insert(tokens.first(static_cast<size_t>(aligned)), kv.pages);
  for (int64_t i = kv.cached_len / ps; i < aligned / ps; ++i) {
    auto& own = kv.pages[static_cast<size_t>(i)];
    const PageId canonical = ins.pages[static_cast<size_t>(i)];
    if (own != canonical) {
      pool_.free(std::span<const PageId>(&own, 1));
      own = canonical;
    }
  }
  private_pages_ -= (aligned - kv.cached_len) / ps;
  // Pin the new end before unpinning the old one so the shared path never becomes evictable.
  tree_.lock(ins.node);
  if (kv.lock != nullptr) tree_.unlock(kv.lock);
  kv.lock = ins.node;
  kv.cached_len = aligned;
}

void KvManager::release(std::span<const int32_t> tokens, SeqKv& kv) {
  cache(tokens, kv);
  const size_t first_private = static_cast<size_t>(kv.cached_len / page_size());
  if (kv.pages.size() > first_private) {
    std::span<const PageId> own(kv.pages.data() + first_private, kv.pages.size() - first_private);
    pool_.free(own);
    private_pages_ -= static_cast<int64_t>(own.size());
  }
  if (kv.lock != nullptr) tree_.unlock(kv.lock);
  kv = SeqKv{};
}

void KvManager::fill_slots(const SeqKv& kv, int64_t len, std::vector<int64_t>& slots) const {
  const int64_t ps = page_size();
  slots.resize(static_cast<size_t>(len));
  for (int64_t i = 0; i < len; ++i) {
    slots[static_cast<size_t>(i)] = pool_.slot(kv.pages[static_cast<size_t>(i / ps)], i % ps);
  }
}

bool KvManager::flush() {
  if (private_pages_ != 0 || tree_.protected_tokens() != 0) return false;
  tree_.reset();
  return true;
}

std::string KvManager::check_invariants() const {
  std::string tree = tree_.check_invariants();
  if (!tree.empty()) return tree;
  if (free_tokens() + cached_tokens() + private_tokens() != total_tokens()) {
    return "free + cached + private != total";
  }
  return {};
}

}  // namespace dpserve::engine
