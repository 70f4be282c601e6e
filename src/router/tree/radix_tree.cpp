#include "router/tree/radix_tree.h"

#include "router/tree/radix_tree_nodes.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace dpserve::router::tree {

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  // Word-at-a-time compare: long shared prompts are the common case.
  while (i + 8 <= n) {
    uint64_t x, y;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    if (x != y) break;
    i += 8;
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

namespace {

// Characters in UTF-8 bytes: bytes minus continuation bytes (10xxxxxx), eight bytes at a time.
// A continuation byte is one whose bit 7 is set and bit 6 clear; (x << 1) moves each byte's bit 6
// under its bit 7.
int64_t count_text_units(const char* p, size_t n) {
  int64_t continuation = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    // At most one bit per byte is left; the multiply sums the eight bytes into the top one
    // (std::popcount would be a libgcc call on baseline x86-64).
    const uint64_t marks = (x & ~(x << 1) & 0x8080808080808080ULL) >> 7;
    continuation += static_cast<int64_t>((marks * 0x0101010101010101ULL) >> 56);
  }
  for (; i < n; ++i) continuation += is_continuation(p[i]) ? 1 : 0;
  return static_cast<int64_t>(n) - continuation;
}

}  // namespace

int64_t count_units(KeyKind kind, std::string_view key) {
  if (kind == KeyKind::kTokenIds) return static_cast<int64_t>((key.size() + 3) / 4);
  return count_text_units(key.data(), key.size());
}

RadixTree::RadixTree(KeyKind kind, int64_t max_units_per_worker)
    : kind_(kind),
      max_units_(max_units_per_worker),
      shards_(new Shard[kShards]),
      states_(new std::atomic<WorkerState*>[kMaxWorkers]) {
  for (size_t i = 0; i < kShards; ++i) shards_[i].index = i;
  for (uint32_t i = 0; i < kMaxWorkers; ++i) states_[i].store(nullptr, std::memory_order_relaxed);
}

RadixTree::~RadixTree() {
  // Nodes own their Owner entries; states only point into them.
  shards_.reset();
  for (uint32_t i = 0; i < next_slot_; ++i) delete states_[i].load(std::memory_order_relaxed);
}

int64_t RadixTree::units_in(std::string_view label, size_t depth) const {
  if (kind_ == KeyKind::kTokenIds) {
    // Offsets that start an id (multiples of 4) inside [depth, depth + size).
    const size_t end = depth + label.size();
    return static_cast<int64_t>((end + 3) / 4 - (depth + 3) / 4);
  }
  return count_units(KeyKind::kText, label);
}

RadixTree::Shard& RadixTree::shard_for(std::string_view key) const {
  return shards_[static_cast<unsigned char>(key.front()) % kShards];
}

RadixTree::WorkerState* RadixTree::state(uint32_t slot) const {
  return states_[slot].load(std::memory_order_acquire);
}

std::optional<std::pair<uint32_t, uint64_t>> RadixTree::acquire_slot(std::string_view worker_id) {
  {
    std::shared_lock lock(registry_mu_);
    auto it = slots_.find(worker_id);
    if (it != slots_.end()) {
      return std::pair{it->second, state(it->second)->generation.load(std::memory_order_acquire)};
    }
  }
  std::unique_lock lock(registry_mu_);
  auto it = slots_.find(worker_id);
  if (it != slots_.end()) {
    return std::pair{it->second, state(it->second)->generation.load(std::memory_order_acquire)};
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else if (next_slot_ < kMaxWorkers) {
    slot = next_slot_++;
    states_[slot].store(new WorkerState, std::memory_order_release);
  } else {
    return std::nullopt;
  }
  WorkerState* st = state(slot);
  st->id = std::string(worker_id);
  const uint64_t gen = st->generation.fetch_add(1, std::memory_order_acq_rel) + 1;
  st->live.store(true, std::memory_order_release);
  slots_.emplace(std::string(worker_id), slot);
  return std::pair{slot, gen};
}

std::optional<uint32_t> RadixTree::slot_of(std::string_view worker_id) const {
  std::shared_lock lock(registry_mu_);
  auto it = slots_.find(worker_id);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

void RadixTree::insert(std::string_view key, std::string_view worker_id) {
  if (key.empty()) return;
  auto acquired = acquire_slot(worker_id);
  if (!acquired) return;  // more than kMaxWorkers workers: route without learning
  const auto [slot, gen] = *acquired;
  WorkerState* st = state(slot);
  Shard& shard = shard_for(key);
  {
    std::unique_lock lock(shard.mu);
    // A removal that started after we looked the slot up has already cleaned, or will clean, this
    // shard; do not resurrect the worker.
    if (!st->live.load(std::memory_order_acquire) ||
        st->generation.load(std::memory_order_acquire) != gen) {
      return;
    }
    insert_locked(shard, key, slot);
  }
  // Amortised eviction: trim this worker's oldest leaves, wherever they are, right now.
  while (st->units.load(std::memory_order_acquire) > max_units_) {
    Shard* oldest = nullptr;
    uint64_t oldest_stamp = kNoStamp;
    for (size_t i = 0; i < kShards; ++i) {
      const uint64_t s = st->shards[i].tail_stamp.load(std::memory_order_acquire);
      if (s < oldest_stamp) {
        oldest_stamp = s;
        oldest = &shards_[i];
      }
    }
    if (oldest == nullptr) break;
    std::unique_lock lock(oldest->mu);
    if (st->generation.load(std::memory_order_acquire) != gen) break;
    evict_one_locked(*oldest, slot);
  }
}

void RadixTree::insert_locked(Shard& shard, std::string_view key, uint32_t slot) {
  WorkerState* st = state(slot);
  auto& lru = st->shards[shard.index];
  thread_local std::vector<Node*> path;
  path.clear();

  Node* node = &shard.root;
  size_t pos = 0;
  while (pos < key.size()) {
    const auto first = static_cast<unsigned char>(key[pos]);
    Node* child = node->find_child(first);
    if (child == nullptr) {
      auto leaf = std::make_unique<Node>();
      leaf->label = std::string(key.substr(pos));
      leaf->parent = node;
      leaf->depth = pos;
      leaf->units = units_in(leaf->label, pos);
      child = leaf.get();
      node->children.insert(node->child_slot(first), Node::Child{first, std::move(leaf)});
      path.push_back(child);
      break;
    }
    const size_t shared = common_prefix(child->label, key.substr(pos));
    if (shared < child->label.size()) {
      // Split: `mid` takes the shared part and a copy of the child's owners, each placed just
      // ahead of (more recent than) the child's entry so ancestors stay ahead of descendants.
      auto mid = std::make_unique<Node>();
      mid->label = child->label.substr(0, shared);
      mid->parent = node;
      mid->depth = child->depth;
      mid->units = units_in(mid->label, mid->depth);
      child->label.erase(0, shared);
      child->depth += shared;
      child->units -= mid->units;
      for (const auto& o : child->owners) {
        auto copy = std::make_unique<Owner>();
        copy->node = mid.get();
        copy->slot = o->slot;
        copy->stamp = o->stamp;
        auto& olru = state(o->slot)->shards[shard.index];
        copy->next = o.get();
        copy->prev = o->prev;
        if (o->prev != nullptr) {
          o->prev->next = copy.get();
        } else {
          olru.head = copy.get();
        }
        o->prev = copy.get();
        ++olru.nodes;
        mid->owners.push_back(Node::OwnerRef{o.slot, std::move(copy)});
      }
      auto it = node->child_slot(first);
      Node* mid_raw = mid.get();
      child->parent = mid_raw;
      mid->children.push_back(
          Node::Child{static_cast<unsigned char>(child->label[0]), std::move(it->node)});
      it->node = std::move(mid);
      child = mid_raw;
    }
    path.push_back(child);
    pos += shared;
    node = child;
  }

  // Touch leaf first, root last: every ancestor ends up ahead of all its descendants in the LRU.
  const uint64_t stamp = clock_.fetch_add(1, std::memory_order_relaxed) + 1;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    Node* n = *it;
    Owner* o = n->owner_of(slot);
    if (o == nullptr) {
      auto fresh = std::make_unique<Owner>();
      fresh->node = n;
      fresh->slot = slot;
      o = fresh.get();
      n->owners.push_back(Node::OwnerRef{slot, std::move(fresh)});
      lru.units += n->units;
      ++lru.nodes;
      st->units.fetch_add(n->units, std::memory_order_acq_rel);
    } else {
      if (o->prev == nullptr) {
        lru.head = o->next;
      } else {
        o->prev->next = o->next;
      }
      if (o->next == nullptr) {
        lru.tail = o->prev;
      } else {
        o->next->prev = o->prev;
      }
    }
    o->stamp = stamp;
    o->prev = nullptr;
    o->next = lru.head;
    if (lru.head != nullptr) lru.head->prev = o;
    lru.head = o;
    if (lru.tail == nullptr) lru.tail = o;
  }
  lru.tail_stamp.store(lru.tail != nullptr ? lru.tail->stamp : kNoStamp, std::memory_order_release);
}

bool RadixTree::evict_one_locked(Shard& shard, uint32_t slot) {
  Owner* tail = state(slot)->shards[shard.index].tail;
  if (tail == nullptr) return false;
  drop_owner_locked(shard, tail);
  return true;
}

void RadixTree::drop_owner_locked(Shard& shard, Owner* owner) {
  WorkerState* st = state(owner->slot);
  auto& lru = st->shards[shard.index];
  Node* node = owner->node;
  if (owner->prev == nullptr) {
    lru.head = owner->next;
  } else {
    owner->prev->next = owner->next;
  }
  if (owner->next == nullptr) {
    lru.tail = owner->prev;
  } else {
    owner->next->prev = owner->prev;
  }
  lru.tail_stamp.store(lru.tail != nullptr ? lru.tail->stamp : kNoStamp, std::memory_order_release);
  lru.units -= node->units;
  --lru.nodes;
  st->units.fetch_sub(node->units, std::memory_order_acq_rel);

  auto& owners = node->owners;
  auto it = std::find_if(owners.begin(), owners.end(),
                         [owner](const auto& p) { return p.get() == owner; });
  std::swap(*it, owners.back());
  owners.pop_back();  // frees `owner`
  if (owners.empty()) {
    // Ownership is prefix-closed, so a node nobody owns has no owned (hence no) children.
    Node* parent = node->parent;
    auto slot_it = parent->child_slot(static_cast<unsigned char>(node->label[0]));
    parent->children.erase(slot_it);
  }
}

void RadixTree::remove_worker(std::string_view worker_id) {
  uint32_t slot;
  {
    std::unique_lock lock(registry_mu_);
    auto it = slots_.find(worker_id);
    if (it == slots_.end()) return;
    slot = it->second;
    slots_.erase(it);
    state(slot)->live.store(false, std::memory_order_release);
  }
  for (size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(shards_[i].mu);
    while (evict_one_locked(shards_[i], slot)) {
    }
  }
  std::unique_lock lock(registry_mu_);
  state(slot)->id.clear();
  free_slots_.push_back(slot);
}

void RadixTree::clear_shard_locked(Shard& shard) {
  shard.root.children.clear();
  // Slots are allocated in order, so the first empty one ends the list.
  for (uint32_t i = 0; i < kMaxWorkers; ++i) {
    WorkerState* st = state(i);
    if (st == nullptr) break;
    auto& lru = st->shards[shard.index];
    st->units.fetch_sub(lru.units, std::memory_order_acq_rel);
    lru.head = lru.tail = nullptr;
    lru.units = lru.nodes = 0;
    lru.tail_stamp.store(kNoStamp, std::memory_order_release);
  }
}

void RadixTree::clear() {
  for (size_t i = 0; i < kShards; ++i) {
    std::unique_lock lock(shards_[i].mu);
    clear_shard_locked(shards_[i]);
  }
}

void RadixTree::enforce_budgets() {
  std::vector<uint32_t> slots;
  {
    std::shared_lock lock(registry_mu_);
    for (const auto& [id, slot] : slots_) slots.push_back(slot);
  }
  for (uint32_t slot : slots) {
    WorkerState* st = state(slot);
    while (st->units.load(std::memory_order_acquire) > max_units_) {
      size_t oldest = kShards;
      uint64_t oldest_stamp = kNoStamp;
      for (size_t i = 0; i < kShards; ++i) {
        const uint64_t s = st->shards[i].tail_stamp.load(std::memory_order_acquire);
        if (s < oldest_stamp) {
          oldest_stamp = s;
          oldest = i;
        }
      }
      if (oldest == kShards) break;
      std::unique_lock lock(shards_[oldest].mu);
      evict_one_locked(shards_[oldest], slot);
    }
  }
}

MatchResult RadixTree::match(std::string_view key) const {
  MatchResult result;
  if (key.empty()) return result;
  const Shard& shard = shard_for(key);

  struct Step {
    const Node* node;
    size_t end;  // key bytes matched once this node is (partly) consumed
  };
  thread_local std::vector<Step> steps;
  steps.clear();
  std::shared_lock lock(shard.mu);
  const Node* node = &shard.root;
  size_t pos = 0;
  while (pos < key.size()) {
    const Node* child = node->find_child(static_cast<unsigned char>(key[pos]));
    if (child == nullptr) break;
    const size_t shared = common_prefix(child->label, key.substr(pos));
    pos += shared;
    steps.push_back({child, pos});
    if (shared < child->label.size()) break;
    node = child;
  }

  // Units matched at each step end, and of the whole key, in one forward pass over the key. A
  // unit cut in half by the match end does not count.
  thread_local std::vector<int64_t> units_at;
  units_at.assign(steps.size(), 0);
  {
    int64_t units = 0;
    size_t p = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      const size_t end = steps[s].end;
      if (kind_ == KeyKind::kTokenIds) {
        units = static_cast<int64_t>(end / 4);
      } else {
        units += count_text_units(key.data() + p, end - p);
        p = end;
        if (end < key.size() && is_continuation(key[end])) --units;
      }
      units_at[s] = units;
      if (kind_ == KeyKind::kText && end < key.size() && is_continuation(key[end])) ++units;
    }
    result.input_units = kind_ == KeyKind::kTokenIds
                             ? count_units(kind_, key)
                             : units + count_text_units(key.data() + p, key.size() - p);
  }
  if (steps.empty()) return result;
  result.max_matched_units = units_at.back();

  // Deepest first: a worker's match is the deepest matched node it owns.
  std::array<uint64_t, kMaxWorkers / 64> seen{};
  for (size_t s = steps.size(); s-- > 0;) {
    for (const auto& o : steps[s].node->owners) {
      uint64_t& word = seen[o.slot / 64];
      const uint64_t bit = uint64_t{1} << (o.slot % 64);
      if ((word & bit) != 0) continue;
      word |= bit;
      result.workers.push_back({o.slot, units_at[s]});
    }
  }
  return result;
}

void RadixTree::matched_for(const MatchResult& m, std::span<const std::string_view> worker_ids,
                            std::span<int64_t> out) const {
  // Slot -> matched units, through a small sorted copy: m.workers is short next to kMaxWorkers.
  thread_local std::vector<WorkerMatch> by_slot;
  by_slot.assign(m.workers.begin(), m.workers.end());
  std::sort(by_slot.begin(), by_slot.end(),
            [](const WorkerMatch& a, const WorkerMatch& b) { return a.slot < b.slot; });
  std::shared_lock lock(registry_mu_);
  for (size_t i = 0; i < worker_ids.size(); ++i) {
    out[i] = 0;
    if (by_slot.empty()) continue;
    auto it = slots_.find(worker_ids[i]);
    if (it == slots_.end()) continue;
    auto hit = std::lower_bound(by_slot.begin(), by_slot.end(), it->second,
                                [](const WorkerMatch& w, uint32_t s) { return w.slot < s; });
    if (hit != by_slot.end() && hit->slot == it->second) out[i] = hit->matched_units;
  }
}

int64_t RadixTree::worker_units(std::string_view worker_id) const {
  auto slot = slot_of(worker_id);
  return slot ? state(*slot)->units.load(std::memory_order_acquire) : 0;
}

}  // namespace dpserve::router::tree
