// The cache-aware router's approximate radix tree: one byte-level trie of routing keys, every node
// annotated with the workers whose KV cache probably holds that prefix. Design, invariants and the
// concurrency model are in docs/design/radix-tree.md.
#pragma once

#include "router/tree/rw_mutex.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dpserve::router::tree {

class ChunkSource;

// What one key unit is. Text keys are UTF-8 and a unit is a character (a byte that is not a
// continuation byte); token keys are the little-endian bytes of int32 ids and a unit is one id.
// The tree itself only ever compares bytes, so neither kind is converted or copied to be looked up.
enum class KeyKind { kText, kTokenIds };

// Views token ids as the byte key the tree stores (no copy).
inline std::string_view token_key(std::span<const int32_t> ids) {
  return {reinterpret_cast<const char*>(ids.data()), ids.size_bytes()};
}

// Stands for "no slot": a worker the tree does not know.
inline constexpr uint32_t kNoSlot = 0xFFFFFFFF;

// Units (characters or ids) in a whole key.
int64_t count_units(KeyKind kind, std::string_view key);

// Where a match stopped, so that an insert of the same key right after need not walk the tree
// again. Used only while the shard is unchanged since (checked under its lock).
struct MatchWalk {
  const void* tree = nullptr;
  const char* key = nullptr;
  size_t key_size = 0;
  uint64_t version = 0;
  size_t pos = 0;                 // key bytes consumed by the fully matched nodes
  std::vector<const void*> path;  // those nodes, shallowest first
};

// One node of a match's path: the key units matched once it is (partly) consumed, and its owners,
// as a range of MatchResult::owners.
struct MatchStep {
  int64_t units = 0;
  uint32_t owners_begin = 0;
  uint32_t owners_end = 0;
};

// Everything a match found: every owner of every matched node (tests read any worker's own match
// from it; the decision asks match(key, candidates, best)).
struct MatchResult {
  int64_t input_units = 0;
  // Longest prefix of the key found in the tree, whoever owns it.
  int64_t max_matched_units = 0;
  // The matched path, shallowest first, with each node's owner slots copied out (node tables are
  // only readable under the shard lock). Ownership is prefix-closed, so each step's owners are a
  // subset of the step before's, and a worker's own match is the units of the deepest step that
  // lists it.
  std::vector<MatchStep> steps;
  std::vector<uint16_t> owners;  // only the ranges named by `steps` are meaningful

  // Units matched by the worker in `slot` (0 when it owns nothing on the path, or slot is kNoSlot).
  int64_t matched_units(uint32_t slot) const;

  MatchWalk walk;
};

// A worker as one tree knows it: its slot, and the slot's generation when it was looked up (a
// slot is reused for another id only under a new generation). kNoSlot: the tree does not know it.
struct WorkerRef {
  uint64_t tree = 0;  // serial of the tree that answered (a ref means nothing to another tree)
  uint32_t slot = kNoSlot;
  uint64_t generation = 0;
};

// The workers a decision may choose, as one tree knows them, by position in the caller's list
// (RadixTree::resolve fills it). Kept by the caller and passed again decision after decision: the
// same ids in the same order at an unchanged registry are answered without hashing an id or
// reading any worker's state, and the slot-to-position index is rebuilt only when a slot changed.
class Candidates {
 public:
  size_t size() const { return size_; }
  const WorkerRef& operator[](size_t i) const { return entries_[i].ref; }
  // Positions, ascending, of the candidates among `owners` (worker slots, e.g. BestMatch::owners).
  void holders(std::span<const uint16_t> owners, std::vector<size_t>& out) const;

 private:
  friend class RadixTree;
  struct Entry {
    WorkerRef ref;
    std::string id;
    uint64_t version = 0;  // registry version the answer was right at; 0: none
  };
  uint64_t tree_ = 0;  // serial of the tree that answered
  size_t size_ = 0;
  std::vector<Entry> entries_;  // beyond size_: answers kept for a longer list later
  // By slot: first position holding it, plus one (0: not a candidate); by position: the next one
  // holding the same slot, plus one (a worker may be listed twice).
  std::vector<uint32_t> first_;
  std::vector<uint32_t> next_;
};

// The decision's question: the longest own match among the candidates, and who holds it.
struct BestMatch {
  int64_t input_units = 0;
  int64_t units = 0;  // 0 when no candidate holds any of the key
  // Owners (slots) of the node where that match ends: the candidates among them hold it
  // (Candidates::holders), others may be listed too. Empty when units is 0.
  std::vector<uint16_t> owners;
  MatchWalk walk;
};

struct WorkerTreeStats {
  std::string id;
  int64_t units = 0;
  int64_t nodes = 0;
};

struct TreeStats {
  int64_t nodes = 0;         // excluding the per-shard roots
  int64_t stored_units = 0;  // units in distinct labels (shared prefixes counted once)
  int64_t stored_bytes = 0;  // key bytes in labels
  int64_t memory_bytes = 0;  // taken from the system: arenas, entry pools, worker states, headers
  // Inserts whose worker id (of at most 44 bytes) was not in the inserting thread's id cache and
  // was looked up in the registry: about one per worker and thread once every worker was seen.
  int64_t id_cache_misses = 0;
  // Worker ids resolve() looked up in the registry: about one per worker, thread and tree, and
  // again for the workers the tree does not know each time one is added or removed.
  int64_t resolve_lookups = 0;
  std::vector<WorkerTreeStats> workers;
};

class RadixTree {
 public:
  // A worker slot is a small integer standing for one worker id inside this tree.
  static constexpr uint32_t kMaxWorkers = 4096;
  // Shards are picked by the key's first byte, so shard choice loses no match (see design doc).
  static constexpr size_t kShards = 16;

  // Every worker is kept at or under `max_units_per_worker` units after each insert.
  RadixTree(KeyKind kind, int64_t max_units_per_worker);
  ~RadixTree();
  RadixTree(const RadixTree&) = delete;
  RadixTree& operator=(const RadixTree&) = delete;

  KeyKind kind() const { return kind_; }
  int64_t max_units_per_worker() const { return max_units_; }

  // Records that `worker_id` now caches `key`: every node on the key's path becomes owned by it
  // and most recently used. Evicts that worker's least recently used leaves if it went over budget.
  // Returns the units of `key` the worker held before (its own match), 0 if none or if the tree
  // could not take the worker (kMaxWorkers in use, or it was removed meanwhile).
  // `walked`, if given, must be the walk of a match() of this same key (same bytes, same buffer)
  // on this tree: when the key's shard has not changed since, the insert starts where that match
  // stopped instead of walking from the root again (the cache_aware decision does both).
  // `ref`, if given, is what resolve() answered for `worker_id`: the insert then skips looking the
  // id up, unless the worker was removed since.
  int64_t insert(std::string_view key, std::string_view worker_id,
                 const MatchWalk* walked = nullptr, WorkerRef ref = {});

  // Longest match of `key`, overall and per owning worker. Takes only a shared lock.
  MatchResult match(std::string_view key) const;
  // The same into `out`, reusing its storage.
  void match(std::string_view key, MatchResult& out) const;
  // The longest own match of `key` among `among` (resolved by this tree; else none), and the
  // owners of the node it ends at. Reads owner tables from the deepest matched node up to the
  // first listing a candidate, usually the deepest one: the wide tables of shared prefixes above
  // it are neither read nor copied.
  void match(std::string_view key, const Candidates& among, BestMatch& out) const;

  // Slot of a known worker, to read a MatchResult; nullopt if it owns nothing here.
  std::optional<uint32_t> slot_of(std::string_view worker_id) const;

  // Each of `worker_ids` as this tree knows it, into `out` by position (kNoSlot for an unknown
  // id). One registry lock for the whole batch; see Candidates for what passing the same object
  // again saves.
  void resolve(std::span<const std::string_view> worker_ids, Candidates& out) const;

  // Drops every entry of the worker (it left the registry).
  void remove_worker(std::string_view worker_id);
  // Drops everything (admin reset).
  void clear();
  // Evicts until every worker is within budget. Insert already does this for the inserting
  // worker; the periodic sweep catches what concurrent inserts overshot.
  void enforce_budgets();

  int64_t worker_units(std::string_view worker_id) const;
  TreeStats stats() const;

  // Walks the whole tree and checks every invariant of the design doc. Returns an empty string
  // when they hold, else a description of the first violation. For tests; takes every lock.
  std::string check_invariants() const;

 private:
  struct Node;
  struct LruEntry;
  class EntryPool;
  struct Shard;
  struct WorkerState;

  Shard& shard_for(std::string_view key) const;
  WorkerState* state(uint32_t slot) const;
  // Slot and generation of a worker, creating it on first use; nullopt once kMaxWorkers are used.
  std::optional<std::pair<uint32_t, uint64_t>> acquire_slot(std::string_view worker_id);
  // acquire_slot through a per-thread cache of ids to (slot, generation), checked without locks.
  std::optional<std::pair<uint32_t, uint64_t>> cached_slot(std::string_view worker_id);
  // What the worker held of a key before an insert: key[0, end), with `starts` unit starts in it
  // (text; -1 while not counted yet).
  struct Held {
    size_t end = 0;
    int64_t starts = 0;
  };
  Held insert_locked(Shard& shard, std::string_view key, uint32_t slot, const MatchWalk* walked);
  struct WalkStep {
    const Node* node;
    size_t end;  // key bytes matched once this node is (partly) consumed
  };
  // Takes the shard lock of `key` (not empty) shared and walks: every node the key reaches into,
  // into `steps`. Returns the lock, held while the caller reads those nodes.
  std::shared_lock<RwMutex> walk_shared(std::string_view key, MatchWalk& walk,
                                        std::vector<WalkStep>& steps) const;
  // Units of key[0, end) that are whole (a unit cut by `end` does not count), given `starts`, the
  // unit starts in key[0, end).
  int64_t units_to(std::string_view key, size_t end, int64_t starts) const;
  // Evicts `st`'s globally oldest entries until it is within budget; stops if `gen` went stale.
  void trim_worker(WorkerState* st, uint32_t slot, uint64_t gen);
  // Takes the least recently used entry of `slot` in `shard` off its list, and the ownership with
  // it unless the worker owns a child of that node; false when the list is empty.
  bool evict_one_locked(Shard& shard, uint32_t slot);
  // A node for `label` starting at byte depth `depth` of its keys.
  Node* new_node(Shard& shard, std::string_view label, Node* parent, size_t depth);
  // Units in a node's label (from its unit hint, counting a non-ASCII text label).
  int64_t node_units(const Node* n) const;
  // Sets the unit hint of `n`, whose label starts at byte depth `depth`.
  void set_unit_hint(Node* n, size_t depth) const;
  // Cuts `child` (a child of `parent` at byte depth `depth`) after `shared` bytes; returns the new
  // node holding the first part, which replaces `child` under `parent`.
  Node* split_locked(Shard& shard, Node* parent, Node* child, size_t shared, size_t depth);
  void free_node(Shard& shard, Node* node);
  void clear_shard_locked(Shard& shard);
  void reset_shard_locked(Shard& shard);
  int64_t units_in(std::string_view label, size_t depth) const;

  const KeyKind kind_;
  const int64_t max_units_;
  const uint64_t serial_;  // unique per tree in this process
  // Blocks for every shard's arena and entry pool; outlives the shards.
  std::unique_ptr<ChunkSource> chunks_;
  std::unique_ptr<Shard[]> shards_;

  // Worker registry. Slots are looked up under a shared lock; states are allocated once per slot
  // and never freed before the tree, so an atomic pointer read is always safe.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable RwMutex registry_mu_;
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> slots_;
  std::vector<uint32_t> free_slots_;
  uint32_t next_slot_ = 0;
  // Bumped whenever an id is added to or removed from slots_ (see resolve); starts at 1.
  uint64_t registry_version_ = 1;
  std::atomic<int64_t> id_cache_misses_{0};
  mutable std::atomic<int64_t> resolve_lookups_{0};
  std::unique_ptr<std::atomic<WorkerState*>[]> states_;
};

}  // namespace dpserve::router::tree
