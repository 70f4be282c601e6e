// Whole-tree inspection: statistics for the admin API and the invariant checker used by tests.
#include "router/tree/radix_tree.h"
#include "router/tree/radix_tree_nodes.h"

#include <unordered_set>

namespace dpserve::router::tree {

namespace {

// glibc's per-allocation header, as in the arena: estimates must not be optimistic.
constexpr int64_t kMallocHeader = 16;

int64_t heap_string_bytes(const std::string& s) {
  // Beyond the small-string buffer the characters live in their own allocation.
  return s.capacity() > 15 ? static_cast<int64_t>(s.capacity()) + 1 + kMallocHeader : 0;
}

}  // namespace

TreeStats RadixTree::stats() const {
  TreeStats out;
  out.id_cache_misses = id_cache_misses_.load(std::memory_order_relaxed);
  out.resolve_lookups = resolve_lookups_.load(std::memory_order_relaxed);
  std::vector<std::pair<std::string, uint32_t>> registry;
  {
    std::shared_lock lock(registry_mu_);
    for (const auto& [id, slot] : slots_) registry.emplace_back(id, slot);
    // Fixed parts and the registry: shards, slot table, worker states, map nodes and buckets.
    out.memory_bytes += chunks_->footprint();
    out.memory_bytes +=
        static_cast<int64_t>(sizeof(RadixTree) + sizeof(ChunkSource) + kShards * sizeof(Shard) +
                             kMaxWorkers * sizeof(states_[0])) +
        3 * kMallocHeader;
    out.memory_bytes += static_cast<int64_t>(next_slot_) *
                        (static_cast<int64_t>(sizeof(WorkerState)) + kMallocHeader);
    out.memory_bytes += static_cast<int64_t>(slots_.bucket_count() * sizeof(void*));
    for (const auto& [id, slot] : slots_) {
      out.memory_bytes +=
          static_cast<int64_t>(sizeof(void*) + sizeof(id) + sizeof(slot) + sizeof(size_t)) +
          kMallocHeader + heap_string_bytes(id);
    }
  }
  // Nodes per worker are counted here rather than kept on every insert, split and eviction: a
  // split would otherwise touch the state of every owner of the node it splits.
  std::vector<int64_t> slot_nodes(kMaxWorkers, 0);
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::shared_lock lock(shard.mu);
    // Everything a shard allocates comes from its arena and entry pool, counted whole (free
    // blocks and not yet used chunk space included), plus the root.
    out.memory_bytes += shard.arena.footprint() + shard.entries.footprint() +
                        static_cast<int64_t>(Node::bytes_for(0)) + kMallocHeader;
    std::vector<const Node*> stack(shard.root->kid_ptrs(),
                                   shard.root->kid_ptrs() + shard.root->nkids);
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      ++out.nodes;
      out.stored_units += node_units(n);
      out.stored_bytes += n->label_len;
      for (size_t o = 0; o < n->nowners; ++o) ++slot_nodes[n->owner_slots()[o]];
      stack.insert(stack.end(), n->kid_ptrs(), n->kid_ptrs() + n->nkids);
    }
  }
  for (const auto& [id, slot] : registry) {
    out.workers.push_back(
        {id, state(slot)->units.load(std::memory_order_acquire), slot_nodes[slot]});
  }
  std::sort(out.workers.begin(), out.workers.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::string RadixTree::check_invariants() const {
  std::unique_lock registry_lock(registry_mu_);
  std::vector<std::unique_lock<RwMutex>> locks;
  for (size_t i = 0; i < kShards; ++i) locks.emplace_back(shards_[i].mu);

  std::vector<int64_t> total_units(next_slot_, 0);
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    const EntryPool& pool = shard.entries;
    std::vector<int64_t> units(next_slot_, 0), listed(next_slot_, 0);
    // (node, byte depth of its label's start)
    std::vector<std::pair<const Node*, size_t>> stack{{shard.root, 0}};
    while (!stack.empty()) {
      const auto [n, depth] = stack.back();
      stack.pop_back();
      const bool is_root = n == shard.root;
      if ((n->kid_log2 == 0) != (n->nkids <= 1) || n->nkids > (1u << n->kid_log2)) {
        return "child table in the wrong form";
      }
      if ((n->owner_log2 == 0) != (n->nowners <= 1) || n->nowners > (1u << n->owner_log2)) {
        return "owner table in the wrong form";
      }
      if (!is_root) {
        if (n->label_len == 0) return "empty label";
        if (n->nowners == 0) return "node without owners";
        const int64_t n_units = units_in(n->label_view(), depth);
        if (kind_ == KeyKind::kTokenIds ? n->unit_hint != depth % 4
                                        : n->unit_hint != (n_units == n->label_len ? 1 : 0)) {
          return "stale unit hint";
        }
        if (node_units(n) != n_units) return "stale unit count";
        if (n->parent == shard.root && n->first() % kShards != i) return "key in wrong shard";
        std::unordered_set<uint32_t> slots;
        const uint32_t* entries = n->owner_entries();
        const uint16_t* owner_slots = n->owner_slots();
        const uint16_t* owner_kids = n->owner_kids();
        for (size_t o = 0; o < n->nowners; ++o) {
          const uint32_t slot = owner_slots[o];
          if (entries[o] != kNil) {
            if (pool[entries[o]].node() != n) return "owner entry points at another node";
            ++listed[slot];
          } else if (owner_kids[o] == 0) {
            return "owner of no child is off the LRU list (never evictable)";
          }
          if (!slots.insert(slot).second) return "duplicate owner";
          if (n->parent != shard.root && n->parent->owner_index(slot) < 0) {
            return "ownership not prefix-closed";
          }
          size_t owned_kids = 0;
          for (size_t c = 0; c < n->nkids; ++c) {
            if (n->kid_ptrs()[c]->owner_index(slot) >= 0) ++owned_kids;
          }
          if (owned_kids != owner_kids[o]) return "owned-children count drift";
          WorkerState* st = slot < next_slot_ ? state(slot) : nullptr;
          if (st == nullptr || !st->live.load()) return "owner slot not live";
          units[slot] += n_units;
        }
      }
      const size_t child_depth = depth + n->label_len;
      Node* const* kids = n->kid_ptrs();
      for (size_t c = 0; c < n->nkids; ++c) {
        const Node* ch = kids[c];
        if (ch->parent != n) return "wrong parent pointer";
        if (n->kid_log2 != 0) {
          if (n->kid_firsts()[c] != ch->first()) return "wrong child key";
          if (c > 0 && n->kid_firsts()[c - 1] >= ch->first()) return "children not sorted";
        }
        stack.emplace_back(ch, child_depth);
      }
    }
    for (uint32_t s = 0; s < next_slot_; ++s) {
      WorkerState* st = state(s);
      const auto& lru = st->shards[i];
      if (lru.units != units[s]) return "per-shard accounting drift";
      total_units[s] += units[s];
      // Walk the LRU: stamps never increase towards the tail, and the list holds exactly the
      // owners whose entry is set.
      int64_t count = 0;
      uint32_t prev = kNil;
      for (uint32_t o = st->heads[i]; o != kNil; o = pool[o].next) {
        const LruEntry& e = pool[o];
        const int at = e.node()->owner_index(s);
        if (at < 0 || e.node()->owner_entries()[at] != o) return "LRU entry not the node's owner";
        if (e.prev != prev) return "broken LRU links";
        if (prev != kNil && pool[prev].stamp() < e.stamp()) return "LRU stamps out of order";
        prev = o;
        if (++count > listed[s]) return "LRU length drift";
      }
      if (prev != lru.tail) return "wrong LRU tail";
      if (count != listed[s]) return "LRU length drift";
      if (lru.tail_stamp.load() != (lru.tail != kNil ? pool[lru.tail].stamp() : kNoStamp)) {
        return "stale tail stamp";
      }
    }
  }
  for (uint32_t s = 0; s < next_slot_; ++s) {
    if (state(s)->units.load() != total_units[s]) return "worker unit total drift";
  }
  return "";
}

}  // namespace dpserve::router::tree
