#include "router/tree/radix_tree.h"

#include "router/tree/key_bytes.h"
#include "router/tree/radix_tree_nodes.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <tuple>
#include <type_traits>

namespace dpserve::router::tree {

namespace {

// A label's length is 31 bits (Node::label_len); a longer key is stored up to this many bytes.
constexpr size_t kMaxKeyBytes = (size_t{1} << 31) - 1;

// LRU list edits, on any worker's per-shard list given by its two ends (the types are private to
// RadixTree).
template <class Pool, class Lru>
void lru_unlink(Pool& pool, Lru lru, uint32_t e) {
  auto& x = pool[e];
  if (x.prev == kNil) {
    lru.head = x.next;
  } else {
    pool[x.prev].next = x.next;
  }
  if (x.next == kNil) {
    lru.tail = x.prev;
  } else {
    pool[x.next].prev = x.prev;
  }
}

template <class Pool, class Lru>
void lru_push_front(Pool& pool, Lru lru, uint32_t e) {
  auto& x = pool[e];
  x.prev = kNil;
  x.next = lru.head;
  if (lru.head != kNil) pool[lru.head].prev = e;
  lru.head = e;
  if (lru.tail == kNil) lru.tail = e;
}

template <class Pool, class Lru>
void lru_push_back(Pool& pool, Lru lru, uint32_t e) {
  auto& x = pool[e];
  x.prev = lru.tail;
  x.next = kNil;
  if (lru.tail != kNil) pool[lru.tail].next = e;
  lru.tail = e;
  if (lru.head == kNil) lru.head = e;
}

template <class Pool, class Lru>
void publish_tail(const Pool& pool, Lru& lru) {
  lru.tail_stamp.store(lru.tail != kNil ? pool[lru.tail].stamp() : kNoStamp,
                       std::memory_order_release);
}

}  // namespace

// ---- Tree -----------------------------------------------------------------------------------

namespace {
// Tells trees apart in per-thread caches (an address may be reused by a later tree).
std::atomic<uint64_t> next_serial{0};
}  // namespace

RadixTree::RadixTree(KeyKind kind, int64_t max_units_per_worker)
    : kind_(kind),
      max_units_(max_units_per_worker),
      serial_(next_serial.fetch_add(1, std::memory_order_relaxed) + 1),
      chunks_(std::make_unique<ChunkSource>()),
      shards_(new Shard[kShards]),
      states_(new std::atomic<WorkerState*>[kMaxWorkers]) {
  static_assert(std::is_trivially_destructible_v<Node>);
  static_assert(kMaxWorkers <= std::numeric_limits<uint16_t>::max());
  static_assert(kMaxWorkers < (1u << 13), "Node::nowners is 13 bits");
  static_assert(offsetof(Node, label) == 32);
  static_assert(sizeof(LruEntry) == 20);
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].index = i;
    shards_[i].arena.set_source(chunks_.get());
    shards_[i].entries.set_source(chunks_.get());
    // The root lives outside the arena, so an empty shard takes no chunk.
    shards_[i].root = new (::operator new(Node::bytes_for(0))) Node{};
  }
  for (uint32_t i = 0; i < kMaxWorkers; ++i) states_[i].store(nullptr, std::memory_order_relaxed);
}

RadixTree::~RadixTree() {
  for (size_t i = 0; i < kShards; ++i) {
    clear_shard_locked(shards_[i]);
    ::operator delete(shards_[i].root);
  }
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
  ++registry_version_;
  return std::pair{slot, gen};
}

std::optional<std::pair<uint32_t, uint64_t>> RadixTree::cached_slot(std::string_view worker_id) {
  // Keyed by where the id's characters are (callers keep one string per worker), checked by
  // content, so another string at a reused address only misses. An entry is one cache line with
  // the id in it (a heap copy was one more cold line per insert with hundreds of workers); a
  // longer id is looked up in the registry every time.
  //
  // 4 Ki entries (256 KiB) per thread, and an id may sit at either of two of them (two hashes of
  // its address; the first is used while free, so most ids are found with one line read); a miss
  // fills a free one of the two, else one of them at random. Sets of two ways with the least
  // recently used replaced (1 Ki sets) missed on 17% of inserts with 512 workers: three ids of one
  // set, used in turn, evict each other on every use. With two independent places per id, random
  // replacement settles on an assignment, which exists while the ids in use (workers times trees)
  // are well under half the entries. A miss is a registry lock and a hash lookup.
  struct alignas(64) Entry {
    uint64_t tree = 0;
    uint64_t gen = 0;
    uint16_t slot = 0;
    uint16_t size = 0;
    char id[44];
    bool holds(uint64_t serial, std::string_view worker) const {
      return tree == serial && size == worker.size() && std::memcmp(id, worker.data(), size) == 0;
    }
  };
  static_assert(sizeof(Entry) == 64 && kMaxWorkers <= 0xFFFF);
  constexpr int kLog2 = 12;
  thread_local std::vector<Entry> cache(size_t{1} << kLog2);
  thread_local uint64_t victim = 0x2545F4914F6CDD1DULL;  // xorshift state
  if (worker_id.size() > sizeof(Entry::id)) return acquire_slot(worker_id);
  const uint64_t h = reinterpret_cast<uintptr_t>(worker_id.data()) * 0x9E3779B97F4A7C15ULL;
  Entry* const at[2] = {&cache[h >> (64 - kLog2)],
                        &cache[(h >> (64 - 2 * kLog2)) & ((size_t{1} << kLog2) - 1)]};
  Entry* refill = nullptr;
  for (Entry* e : at) {
    if (!e->holds(serial_, worker_id)) continue;
    // Live first, then the generation: unchanged since the entry was filled means the slot was
    // not given to another id in between, so it was this worker's (and live) at that point. The
    // insert checks both again under the shard lock, as after acquire_slot.
    const WorkerState* st = state(e->slot);
    if (st->live.load(std::memory_order_acquire) &&
        st->generation.load(std::memory_order_acquire) == e->gen) {
      return std::pair{uint32_t{e->slot}, e->gen};
    }
    refill = e;  // the slot went stale
    break;
  }
  id_cache_misses_.fetch_add(1, std::memory_order_relaxed);
  auto acquired = acquire_slot(worker_id);
  if (!acquired) return acquired;
  if (refill == nullptr) {
    if (at[0]->tree != serial_) {
      refill = at[0];
    } else if (at[1]->tree != serial_) {
      refill = at[1];
    } else {
      victim ^= victim << 13;
      victim ^= victim >> 7;
      victim ^= victim << 17;
      refill = at[victim & 1];
    }
    refill->tree = serial_;
    refill->size = static_cast<uint16_t>(worker_id.size());
    std::memcpy(refill->id, worker_id.data(), worker_id.size());
  }
  refill->gen = acquired->second;
  refill->slot = static_cast<uint16_t>(acquired->first);
  return acquired;
}

std::optional<uint32_t> RadixTree::slot_of(std::string_view worker_id) const {
  std::shared_lock lock(registry_mu_);
  auto it = slots_.find(worker_id);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

int64_t RadixTree::insert(std::string_view key, std::string_view worker_id, const MatchWalk* walked,
                          WorkerRef ref) {
  if (key.empty()) return 0;
  if (key.size() > kMaxKeyBytes) key = key.substr(0, kMaxKeyBytes);
  // The decision resolved the worker already: its slot is still this id's while live under the
  // same generation (a reused slot gets a new one). Else, per thread, the id's last slot: no
  // registry lock or hash-map lookup per insert (about 5% of a pair).
  uint32_t slot = ref.slot;
  uint64_t gen = ref.generation;
  WorkerState* st = ref.tree == serial_ && slot < kMaxWorkers ? state(slot) : nullptr;
  if (st == nullptr || !st->live.load(std::memory_order_acquire) ||
      st->generation.load(std::memory_order_acquire) != gen) {
    auto acquired = cached_slot(worker_id);
    if (!acquired) return 0;  // more than kMaxWorkers workers: route without learning
    std::tie(slot, gen) = *acquired;
    st = state(slot);
  }
  Shard& shard = shard_for(key);
  // The worker's list heads and its list state for this shard: with hundreds of workers cold
  // lines, fetched while the lock is taken (the head is read first thing under it, see heads).
  __builtin_prefetch(st->heads.data());
  __builtin_prefetch(&st->shards[shard.index]);
  Held held;
  {
    std::unique_lock lock(shard.mu);
    // A removal that started after we looked the slot up has already cleaned, or will clean, this
    // shard; do not resurrect the worker.
    if (!st->live.load(std::memory_order_acquire) ||
        st->generation.load(std::memory_order_acquire) != gen) {
      return 0;
    }
    held = insert_locked(shard, key, slot, walked);
  }
  // Amortised eviction: trim this worker's oldest leaves, wherever they are, right now.
  trim_worker(st, slot, gen);
  // Text with characters of several bytes is counted here, not under the shard's lock.
  if (held.starts < 0) held.starts = count_text_units(key.data(), held.end);
  return units_to(key, held.end, held.starts);
}

void RadixTree::trim_worker(WorkerState* st, uint32_t slot, uint64_t gen) {
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

RadixTree::Node* RadixTree::new_node(Shard& shard, std::string_view label, Node* parent,
                                     size_t depth) {
  const size_t bytes = Node::bytes_for(label.size());
  auto* n = new (shard.arena.allocate(bytes)) Node{};
  n->parent = parent;
  n->label_len = static_cast<uint32_t>(label.size());
  n->large_block = Arena::is_large(bytes) ? 1 : 0;
  std::memcpy(n->label, label.data(), label.size());
  set_unit_hint(n, depth);
  return n;
}

void RadixTree::set_unit_hint(Node* n, size_t depth) const {
  if (kind_ == KeyKind::kTokenIds) {
    n->unit_hint = depth % 4;
  } else {
    n->unit_hint =
        count_text_units(n->label, n->label_len) == static_cast<int64_t>(n->label_len) ? 1 : 0;
  }
}

int64_t RadixTree::node_units(const Node* n) const {
  if (kind_ == KeyKind::kTokenIds) {
    // Offsets that start an id (multiples of 4) inside [depth, depth + label_len): only the
    // depth modulo 4 matters.
    const size_t start = n->unit_hint;
    return static_cast<int64_t>((start + n->label_len + 3) / 4 - (start + 3) / 4);
  }
  return n->unit_hint != 0 ? static_cast<int64_t>(n->label_len)
                           : count_text_units(n->label, n->label_len);
}

void RadixTree::free_node(Shard& shard, Node* node) {
  if (node->kid_log2 != 0)
    shard.arena.deallocate(node->kids, Node::kid_table_bytes(node->kid_log2));
  if (node->owner_log2 != 0) {
    shard.arena.deallocate(node->owners.table, Node::owner_table_bytes(node->owner_log2));
  }
  if (node->large_block != 0) {
    shard.arena.deallocate_large(node);
  } else {
    shard.arena.deallocate(node, node->bytes());
  }
}

RadixTree::Node* RadixTree::split_locked(Shard& shard, Node* parent, Node* child, size_t shared,
                                         size_t depth) {
  const std::string_view head = child->label_view().substr(0, shared);
  Node* mid = new_node(shard, head, parent, depth);
  // The child keeps its block, tables, children and LRU entries and becomes the rest: its label
  // moves to the block's front. A long label is thus moved within memory it already has (no fresh
  // pages to fault in, no copy of a 16 KiB suffix on every split, see docs/benchmarks.md); a small
  // block hands its freed end back to the arena, a malloc'd one keeps it (at most the bytes of the
  // ancestors carved out of it, which are stored and alive as long as it is).
  const size_t old_bytes = child->bytes();
  child->label_len -= static_cast<uint32_t>(shared);
  std::memmove(child->label, child->label + shared, child->label_len);
  // The rest of an ASCII label is ASCII: count only where it may have changed.
  if (kind_ == KeyKind::kTokenIds || child->unit_hint == 0) set_unit_hint(child, depth + shared);
  if (child->large_block == 0) shard.arena.shrink_small(child, old_bytes, child->bytes());
  child->parent = mid;
  // `mid` gets every owner of the child, each owning that one child and off its LRU list: its
  // last use is the child's, and it goes back on the list when the child is evicted.
  const uint16_t* slots = child->owner_slots();
  for (size_t i = 0; i < child->nowners; ++i) mid->add_owner(shard.arena, slots[i], kNil, 1);
  mid->add_kid(shard.arena, child);
  parent->replace_kid(mid->first(), mid);
  return mid;
}

RadixTree::Held RadixTree::insert_locked(Shard& shard, std::string_view key, uint32_t slot,
                                         const MatchWalk* walked) {
  WorkerState* st = state(slot);
  auto& lru = st->shards[shard.index];
  const auto ends = st->ends(shard.index);
  auto& pool = shard.entries;
  // The entry this insert links its own in front of: last touched hundreds of inserts ago with
  // hundreds of workers, so fetched now, while the path is updated.
  if (ends.head != kNil) __builtin_prefetch(&pool[ends.head]);
  thread_local std::vector<Node*> path;
  path.clear();

  Node* node = shard.root;
  size_t pos = 0;
  if (walked != nullptr && walked->tree == this && walked->key == key.data() &&
      walked->key_size == key.size() && walked->version == shard.version) {
    // Nothing changed since the match: its fully matched nodes are this key's path so far.
    for (const void* n : walked->path) path.push_back(static_cast<Node*>(const_cast<void*>(n)));
    if (!path.empty()) node = path.back();
    pos = walked->pos;
  }
  ++shard.version;
  while (pos < key.size()) {
    Node* child = node->find_child(static_cast<unsigned char>(key[pos]));
    if (child == nullptr) {
      const std::string_view rest = key.substr(pos);
      Node* leaf = new_node(shard, rest, node, pos);
      node->add_kid(shard.arena, leaf);
      path.push_back(leaf);
      break;
    }
    const size_t shared = common_prefix(child->label_view(), key.substr(pos));
    if (shared < child->label_len) child = split_locked(shard, node, child, shared, pos);
    path.push_back(child);
    pos += shared;
    node = child;
  }

  // Ownership is prefix-closed: find the deepest path node this worker owns already (usually
  // near the end, so look from there up), then own every node below it. Only the key's last node
  // moves to the head of the LRU list; its ancestors keep their entries (or have none) and are
  // kept from eviction by owning a child instead (design doc, "LRU order").
  int top = static_cast<int>(path.size()) - 1;
  int top_index = -1;
  for (; top >= 0; --top) {
    top_index = path[static_cast<size_t>(top)]->owner_index(slot);
    if (top_index >= 0) break;
  }
  // What the worker held: the path down to that node (invariant 2). Its unit starts are its
  // bytes where every label is all character starts (unit hint), else counted by the caller.
  Held held;
  bool simple = true;
  for (int k = 0; k <= top; ++k) {
    held.end += path[static_cast<size_t>(k)]->label_len;
    simple = simple && path[static_cast<size_t>(k)]->unit_hint != 0;
  }
  held.starts = kind_ == KeyKind::kTokenIds || simple ? static_cast<int64_t>(held.end) : -1;
  const size_t last = path.size() - 1;
  int64_t added = 0;
  if (top >= 0 && static_cast<size_t>(top) < last) {
    ++path[static_cast<size_t>(top)]->owner_kids()[top_index];
  }
  for (size_t k = static_cast<size_t>(top + 1); k < path.size(); ++k) {
    Node* n = path[k];
    n->add_owner(shard.arena, static_cast<uint16_t>(slot), kNil, k < last ? 1 : 0);
    added += node_units(n);
  }
  lru.units += added;
  if (added != 0) st->units.fetch_add(added, std::memory_order_acq_rel);
  Node* leaf = path[last];
  uint32_t& entry =
      leaf->owner_entries()[static_cast<size_t>(top) == last ? top_index : leaf->nowners - 1];
  const uint64_t stamp = st->clock.fetch_add(1, std::memory_order_relaxed) + 1;
  // The published tail stamp changes only if the tail entry is this one or another entry became
  // the tail; reading the tail's stamp otherwise would touch the worker's oldest (cold) entry on
  // every insert.
  const uint32_t old_tail = lru.tail;
  if (entry == kNil) {
    entry = pool.allocate();
    pool[entry].set(leaf, stamp);
    lru_push_front(pool, ends, entry);
  } else {
    pool[entry].set_stamp(stamp);
    if (ends.head != entry) {
      lru_unlink(pool, ends, entry);
      lru_push_front(pool, ends, entry);
    }
  }
  if (lru.tail != old_tail || entry == old_tail) publish_tail(pool, lru);
  return held;
}

bool RadixTree::evict_one_locked(Shard& shard, uint32_t slot) {
  WorkerState* st = state(slot);
  auto& lru = st->shards[shard.index];
  auto& pool = shard.entries;
  const uint32_t entry = lru.tail;
  if (entry == kNil) return false;
  ++shard.version;
  Node* node = pool[entry].node();
  const uint64_t stamp = pool[entry].stamp();
  const int at = node->owner_index(slot);
  lru_unlink(pool, st->ends(shard.index), entry);
  pool.release(entry);
  node->owner_entries()[at] = kNil;
  if (node->owner_kids()[at] != 0) {
    // Used since, through a child this worker owns: off the list until that child goes.
    publish_tail(pool, lru);
    return true;
  }
  const int64_t units = node_units(node);
  lru.units -= units;
  st->units.fetch_sub(units, std::memory_order_acq_rel);
  node->remove_owner_at(shard.arena, at);
  Node* parent = node->parent;
  if (parent != shard.root) {
    // The parent was last used when this, its last child owned by the worker, was: if it is off
    // the list it goes back at the tail with that stamp (the oldest one), so it is evicted next
    // unless it was used itself since.
    const int p = parent->owner_index(slot);
    if (--parent->owner_kids()[p] == 0 && parent->owner_entries()[p] == kNil) {
      const uint32_t e = pool.allocate();
      pool[e].set(parent, stamp);
      lru_push_back(pool, st->ends(shard.index), e);
      parent->owner_entries()[p] = e;
    }
  }
  if (node->nowners == 0) {
    // Ownership is prefix-closed, so a node nobody owns has no owned (hence no) children.
    parent->remove_kid(shard.arena, node->first());
    free_node(shard, node);
  }
  publish_tail(pool, lru);
  return true;
}

void RadixTree::remove_worker(std::string_view worker_id) {
  uint32_t slot;
  {
    std::unique_lock lock(registry_mu_);
    auto it = slots_.find(worker_id);
    if (it == slots_.end()) return;
    slot = it->second;
    slots_.erase(it);
    ++registry_version_;
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
  ++shard.version;
  Node* root = shard.root;
  std::vector<Node*> stack(root->kid_ptrs(), root->kid_ptrs() + root->nkids);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    stack.insert(stack.end(), n->kid_ptrs(), n->kid_ptrs() + n->nkids);
    free_node(shard, n);
  }
  if (root->kid_log2 != 0)
    shard.arena.deallocate(root->kids, Node::kid_table_bytes(root->kid_log2));
  root->kids = nullptr;
  root->nkids = 0;
  root->kid_log2 = 0;
  // Every small block is back on a free list: hand the chunks back to the system.
  shard.arena.release();
  shard.entries.reset();
  // Slots are allocated in order, so the first empty one ends the list.
  for (uint32_t i = 0; i < kMaxWorkers; ++i) {
    WorkerState* st = state(i);
    if (st == nullptr) break;
    auto& lru = st->shards[shard.index];
    st->units.fetch_sub(lru.units, std::memory_order_acq_rel);
    st->heads[shard.index] = lru.tail = kNil;
    lru.units = 0;
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
  std::vector<std::pair<uint32_t, uint64_t>> slots;
  {
    std::shared_lock lock(registry_mu_);
    for (const auto& [id, slot] : slots_) {
      slots.emplace_back(slot, state(slot)->generation.load(std::memory_order_acquire));
    }
  }
  for (const auto& [slot, gen] : slots) trim_worker(state(slot), slot, gen);
}

int64_t RadixTree::worker_units(std::string_view worker_id) const {
  auto slot = slot_of(worker_id);
  return slot ? state(*slot)->units.load(std::memory_order_acquire) : 0;
}

}  // namespace dpserve::router::tree
