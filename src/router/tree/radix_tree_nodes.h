// Internal to the radix tree (radix_tree.cpp and radix_tree_inspect.cpp): node, owner, shard and
// per-worker state layouts. Invariants are listed in docs/design/radix-tree.md.
#pragma once

#include "router/tree/radix_tree.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

namespace dpserve::router::tree {

inline constexpr uint64_t kNoStamp = std::numeric_limits<uint64_t>::max();
// Rough per-allocation header of glibc malloc, so memory estimates are not optimistic.
inline constexpr int64_t kMallocOverhead = 16;

struct RadixTree::Owner {
  Node* node = nullptr;
  uint32_t slot = 0;
  uint64_t stamp = 0;
  // LRU list of this worker in this shard: prev is more recent, next is older.
  Owner* prev = nullptr;
  Owner* next = nullptr;
};

struct RadixTree::Node {
  struct Child {
    unsigned char first;
    std::unique_ptr<Node> node;
  };

  std::string label;
  Node* parent = nullptr;
  size_t depth = 0;  // key bytes before this label
  int64_t units = 0;
  std::vector<Child> children;  // sorted by first byte
  // The slot is kept next to the pointer so scans (match, owner_of) never touch the Owner itself.
  struct OwnerRef {
    uint32_t slot;
    std::unique_ptr<Owner> owner;
    Owner* operator->() const { return owner.get(); }
    Owner* get() const { return owner.get(); }
  };
  std::vector<OwnerRef> owners;

  Node* find_child(unsigned char c) const {
    auto it = std::lower_bound(children.begin(), children.end(), c,
                               [](const Child& ch, unsigned char v) { return ch.first < v; });
    return it != children.end() && it->first == c ? it->node.get() : nullptr;
  }
  std::vector<Child>::iterator child_slot(unsigned char c) {
    return std::lower_bound(children.begin(), children.end(), c,
                            [](const Child& ch, unsigned char v) { return ch.first < v; });
  }
  Owner* owner_of(uint32_t slot) const {
    for (const auto& o : owners) {
      if (o.slot == slot) return o.get();
    }
    return nullptr;
  }
};

struct RadixTree::Shard {
  size_t index = 0;
  mutable std::shared_mutex mu;
  Node root;
};

struct RadixTree::WorkerState {
  struct ShardLru {
    Owner* head = nullptr;  // most recent
    Owner* tail = nullptr;  // least recent; always a node with no descendant owned by this worker
    int64_t units = 0;
    int64_t nodes = 0;
    // Copy of tail->stamp readable without the shard lock, to find the globally oldest entry.
    std::atomic<uint64_t> tail_stamp{kNoStamp};
  };

  std::string id;  // guarded by registry_mu_
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> live{false};
  std::atomic<int64_t> units{0};
  std::array<ShardLru, kShards> shards;
};

}  // namespace dpserve::router::tree
