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

// One node of a match's path: the key units matched once it is (partly) consumed, and its owners,
// as a range of MatchResult::owners.
struct MatchStep {
  int64_t units = 0;
  uint32_t owners_begin = 0;
  uint32_t owners_end = 0;
};

struct MatchResult {
  int64_t input_units = 0;
  // Longest prefix of the key found in the tree, whoever owns it.
  int64_t max_matched_units = 0;
  // The matched path, shallowest first, with each node's owner slots copied out (node tables are
  // only readable under the shard lock). Ownership is prefix-closed, so each step's owners are a
  // subset of the step before's, and a worker's own match is the units of the deepest step that
  // lists it. Per-worker lengths are read from this on demand: writing one for every owner of
  // every matched node was most of a match with hundreds of workers sharing a prefix.
  std::vector<MatchStep> steps;
  std::vector<uint16_t> owners;  // only the ranges named by `steps` are meaningful

  // Units matched by the worker in `slot` (0 when it owns nothing on the path, or slot is kNoSlot).
  int64_t matched_units(uint32_t slot) const;
  // The longest own match among candidate workers given by slot (kNoSlot for a worker the tree
  // does not know): returns its units (0 when no candidate matched anything) and puts the
  // positions in `slots` of every candidate holding it into `holders` (cleared first; empty when
  // the result is 0). Reads only the steps from the deepest up to the first with a candidate.
  int64_t longest_among(std::span<const uint32_t> slots, std::vector<size_t>& holders) const;

  // Where match() stopped, so that an insert of the same key right after need not walk the tree
  // again. Used only while the shard is unchanged since (checked under its lock).
  struct Walk {
    const void* tree = nullptr;
    const char* key = nullptr;
    size_t key_size = 0;
    uint64_t version = 0;
    size_t pos = 0;                 // key bytes consumed by the fully matched nodes
    std::vector<const void*> path;  // those nodes, shallowest first
  } walk;
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
  // `walked`, if given, must be the result of match() of this same key (same bytes, same buffer)
  // on this tree: when the key's shard has not changed since, the insert starts where that match
  // stopped instead of walking from the root again (the cache_aware decision does both).
  void insert(std::string_view key, std::string_view worker_id,
              const MatchResult* walked = nullptr);

  // Longest match of `key`, overall and per owning worker. Takes only a shared lock.
  MatchResult match(std::string_view key) const;
  // The same into `out`, reusing its storage (the decision path keeps one per thread).
  void match(std::string_view key, MatchResult& out) const;

  // Slot of a known worker, to read a MatchResult; nullopt if it owns nothing here.
  std::optional<uint32_t> slot_of(std::string_view worker_id) const;

  // The slot of each of `worker_ids` into `out` (same length), kNoSlot for an unknown id. One
  // registry lock for the whole batch; a caller passing the same ids in the same order decision
  // after decision skips the hash lookups and, while no worker is added or removed, reads no
  // worker's state either.
  void slots_for(std::span<const std::string_view> worker_ids, std::span<uint32_t> out) const;

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
  void insert_locked(Shard& shard, std::string_view key, uint32_t slot, const MatchResult* walked);
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
  // Bumped whenever an id is added to or removed from slots_ (see slots_for); starts at 1.
  uint64_t registry_version_ = 1;
  std::atomic<int64_t> id_cache_misses_{0};
  std::unique_ptr<std::atomic<WorkerState*>[]> states_;
};

}  // namespace dpserve::router::tree
