// Whole-tree inspection: statistics for the admin API and the invariant checker used by tests.
#include "router/tree/radix_tree.h"
#include "router/tree/radix_tree_nodes.h"

#include <unordered_set>

namespace dpserve::router::tree {

TreeStats RadixTree::stats() const {
  TreeStats out;
  std::vector<std::pair<std::string, uint32_t>> registry;
  {
    std::shared_lock lock(registry_mu_);
    for (const auto& [id, slot] : slots_) registry.emplace_back(id, slot);
  }
  std::vector<int64_t> nodes(registry.size(), 0);
  for (size_t i = 0; i < kShards; ++i) {
    std::shared_lock lock(shards_[i].mu);
    std::vector<const Node*> stack{&shards_[i].root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (n != &shards_[i].root) {
        ++out.nodes;
        out.stored_units += n->units;
        out.stored_bytes += static_cast<int64_t>(n->label.size());
        out.memory_bytes += static_cast<int64_t>(sizeof(Node)) + kMallocOverhead;
        if (n->label.capacity() > 15) {
          out.memory_bytes += static_cast<int64_t>(n->label.capacity()) + 1 + kMallocOverhead;
        }
        out.memory_bytes += static_cast<int64_t>(n->owners.capacity() * sizeof(Node::OwnerRef)) +
                            static_cast<int64_t>(n->owners.size()) *
                                (static_cast<int64_t>(sizeof(Owner)) + kMallocOverhead);
        if (n->owners.capacity() > 0) out.memory_bytes += kMallocOverhead;
      }
      if (n->children.capacity() > 0) {
        out.memory_bytes +=
            static_cast<int64_t>(n->children.capacity() * sizeof(Node::Child)) + kMallocOverhead;
      }
      for (const auto& c : n->children) stack.push_back(c.node.get());
    }
    for (size_t w = 0; w < registry.size(); ++w) {
      nodes[w] += state(registry[w].second)->shards[i].nodes;
    }
  }
  for (size_t w = 0; w < registry.size(); ++w) {
    out.workers.push_back({registry[w].first,
                           state(registry[w].second)->units.load(std::memory_order_acquire),
                           nodes[w]});
  }
  std::sort(out.workers.begin(), out.workers.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::string RadixTree::check_invariants() const {
  std::unique_lock registry_lock(registry_mu_);
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  for (size_t i = 0; i < kShards; ++i) locks.emplace_back(shards_[i].mu);

  std::vector<int64_t> total_units(next_slot_, 0);
  for (size_t i = 0; i < kShards; ++i) {
    const Shard& shard = shards_[i];
    std::vector<int64_t> units(next_slot_, 0), nodes(next_slot_, 0);
    std::vector<const Node*> stack{&shard.root};
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      const bool is_root = n == &shard.root;
      if (!is_root) {
        if (n->label.empty()) return "empty label";
        if (n->owners.empty()) return "node without owners";
        if (n->units != units_in(n->label, n->depth)) return "stale unit count";
        if (n->parent != &shard.root && n->depth != n->parent->depth + n->parent->label.size()) {
          return "wrong depth";
        }
        if (n->parent == &shard.root && static_cast<unsigned char>(n->label[0]) % kShards != i) {
          return "key in wrong shard";
        }
        std::unordered_set<uint32_t> slots;
        for (const auto& o : n->owners) {
          if (o->node != n) return "owner points at another node";
          if (o.slot != o->slot) return "owner slot copy differs";
          if (!slots.insert(o->slot).second) return "duplicate owner";
          if (n->parent != &shard.root && n->parent->owner_of(o->slot) == nullptr) {
            return "ownership not prefix-closed";
          }
          WorkerState* st = state(o->slot);
          if (st == nullptr || !st->live.load()) return "owner slot not live";
          units[o->slot] += n->units;
          ++nodes[o->slot];
        }
      }
      for (size_t c = 0; c < n->children.size(); ++c) {
        const auto& ch = n->children[c];
        if (ch.node->parent != n) return "wrong parent pointer";
        if (ch.first != static_cast<unsigned char>(ch.node->label[0])) return "wrong child key";
        if (c > 0 && n->children[c - 1].first >= ch.first) return "children not sorted";
        stack.push_back(ch.node.get());
      }
    }
    for (uint32_t s = 0; s < next_slot_; ++s) {
      WorkerState* st = state(s);
      const auto& lru = st->shards[i];
      if (lru.units != units[s] || lru.nodes != nodes[s]) return "per-shard accounting drift";
      total_units[s] += units[s];
      // Walk the LRU: stamps never increase towards the tail and every ancestor is ahead.
      std::unordered_set<const Node*> passed;
      int64_t count = 0;
      const Owner* prev = nullptr;
      for (const Owner* o = lru.head; o != nullptr; o = o->next) {
        if (o->slot != s || o->prev != prev) return "broken LRU links";
        if (prev != nullptr && prev->stamp < o->stamp) return "LRU stamps out of order";
        if (o->node->parent != &shard.root && passed.count(o->node->parent) == 0) {
          return "descendant ahead of its ancestor in the LRU";
        }
        passed.insert(o->node);
        prev = o;
        ++count;
      }
      if (prev != lru.tail) return "wrong LRU tail";
      if (count != lru.nodes) return "LRU length drift";
      if (lru.tail_stamp.load() != (lru.tail ? lru.tail->stamp : kNoStamp)) {
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
