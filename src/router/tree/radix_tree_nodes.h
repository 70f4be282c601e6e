// Internal to the radix tree (src/router/tree/radix_tree*.cpp): node, LRU entry, shard and
// per-worker state layouts. Invariants are listed in docs/design/radix-tree.md, the memory
// layout and its reasons in its "Memory" section.
#pragma once

#include "router/tree/arena.h"
#include "router/tree/radix_tree.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dpserve::router::tree {

inline constexpr uint64_t kNoStamp = std::numeric_limits<uint64_t>::max();
inline constexpr uint32_t kNil = std::numeric_limits<uint32_t>::max();

// A link of a worker's LRU list in one shard, for a node that worker owns: a node the worker
// inserted a key ending at, or that no longer has a child the worker owns. Entries live in a
// per-shard pool and link to each other by 32-bit index; the worker is implied by the list.
struct RadixTree::LruEntry {
  uint32_t prev;  // more recent
  uint32_t next;  // older

  Node* node() const {
    return reinterpret_cast<Node*>(((uint64_t{hi_ & kNodeHiMask} << 32 | node_lo_) << 3));
  }
  // Both at once, without reading the entry first: a new entry is usually a cold line.
  void set(Node* n, uint64_t s) {
    const uint64_t v = reinterpret_cast<uint64_t>(n) >> 3;
    assert(v >> 45 == 0);
    node_lo_ = static_cast<uint32_t>(v);
    stamp_lo_ = static_cast<uint32_t>(s);
    hi_ = static_cast<uint32_t>(v >> 32) | static_cast<uint32_t>(s >> 32) << kNodeHiBits;
  }
  uint64_t stamp() const { return uint64_t{hi_ >> kNodeHiBits} << 32 | stamp_lo_; }
  void set_stamp(uint64_t s) {
    stamp_lo_ = static_cast<uint32_t>(s);
    hi_ = (hi_ & kNodeHiMask) | static_cast<uint32_t>(s >> 32) << kNodeHiBits;
  }

 private:
  // 20 bytes instead of 24 (there is about one entry per stored key): the node pointer's 45
  // significant bits (8-byte aligned, below 2^48) and a 51-bit stamp share three words. A
  // worker's clock would take 2^51 inserts to run out.
  static constexpr int kNodeHiBits = 13;
  static constexpr uint32_t kNodeHiMask = (1u << kNodeHiBits) - 1;
  uint32_t stamp_lo_;
  uint32_t node_lo_;
  uint32_t hi_;  // node bits 35..47 (low 13), stamp bits 32..50 (high 19)
};

// Fixed-size LRU entries of one shard, addressed by index, recycled through a free list. The first
// chunk is small (4 Ki entries), so a small tree stays small; every later one is a block of the
// tree's ChunkSource, so a big pool wastes at most one block and sits on huge pages.
class RadixTree::EntryPool {
 public:
  static constexpr size_t kFirstEntries = 4096;
  static constexpr size_t kBlockEntries = ChunkSource::kBlock / sizeof(LruEntry);

  EntryPool() = default;
  ~EntryPool() { reset(); }
  EntryPool(const EntryPool&) = delete;
  EntryPool& operator=(const EntryPool&) = delete;

  void set_source(ChunkSource* source) { source_ = source; }

  LruEntry& operator[](uint32_t i) const {
    if (i < kFirstEntries) return chunks_[0][i];
    const size_t j = i - kFirstEntries;
    return chunks_[1 + j / kBlockEntries][j % kBlockEntries];
  }
  uint32_t allocate() {
    if (free_ != kNil) {
      const uint32_t i = free_;
      free_ = (*this)[i].next;
      return i;
    }
    if (used_ == capacity_) {
      if (chunks_.empty()) {
        chunks_.push_back(static_cast<LruEntry*>(chunk_alloc(kFirstEntries * sizeof(LruEntry))));
        footprint_ += chunk_footprint(kFirstEntries * sizeof(LruEntry));
        capacity_ += kFirstEntries;
      } else {
        chunks_.push_back(static_cast<LruEntry*>(source_->take()));
        capacity_ += kBlockEntries;
      }
    }
    return static_cast<uint32_t>(used_++);
  }
  void release(uint32_t i) {
    (*this)[i].next = free_;
    free_ = i;
  }
  void reset() {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      if (c == 0) {
        chunk_free(chunks_[c]);
      } else {
        source_->give(chunks_[c]);
      }
    }
    chunks_.clear();
    used_ = capacity_ = 0;
    free_ = kNil;
    footprint_ = 0;
  }
  // The first chunk and the chunk table; blocks are counted by the source.
  int64_t footprint() const {
    return footprint_ + static_cast<int64_t>(chunks_.capacity() * sizeof(LruEntry*));
  }

 private:
  ChunkSource* source_ = nullptr;
  std::vector<LruEntry*> chunks_;
  size_t used_ = 0;
  size_t capacity_ = 0;
  uint32_t free_ = kNil;
  int64_t footprint_ = 0;
};

// One allocation per node: this header, then the label bytes. Children and owners are stored
// inline while there is one of them (most nodes are leaves with one owner) and in an arena table
// beyond that. The byte depth of a node is not stored: every walk starts at the root and knows it.
struct RadixTree::Node {
  Node* parent;
  // kid_log2 == 0: `kids` is the only child or null. Else a table of capacity 1 << kid_log2:
  // Node* [cap], then the children's first label bytes uint8_t [cap], sorted, nkids used.
  void* kids;
  // owner_log2 == 0: `owners.one` is the only owner (if nowners == 1). Else a table of capacity
  // 1 << owner_log2: worker slot uint16_t [cap], owned children uint16_t [cap], LRU entry index
  // uint32_t [cap]. An owner's entry is kNil while it is off its worker's LRU list (see design doc
  // "LRU order"); `kids` counts the children this owner also owns (at most 256).
  union {
    struct {
      uint32_t entry;
      uint16_t slot;
      uint16_t kids;
    } one;
    void* table;
  } owners;
  // Label length, flags, counts and table sizes in two words, so that the header is 32 bytes: a
  // node block is rounded up to 8 bytes, and short-key leaves are most of a tree's memory.
  uint32_t label_len : 31;
  // The node's block came from malloc (above Arena::kMaxSmall). A split keeps the block and moves
  // the label's rest to its front, so the label may since have shrunk below that size.
  uint32_t large_block : 1;
  uint32_t nkids : 9;     // at most 256 (one per byte value)
  uint32_t nowners : 13;  // at most kMaxWorkers
  uint32_t kid_log2 : 4;
  uint32_t owner_log2 : 4;
  // What the label's unit count (design doc "Keys") follows from, instead of storing it: for text
  // 1 when every byte starts a character (ASCII: units = label_len), else 0 (counted when
  // needed); for token ids the byte depth of the label's start modulo 4.
  uint32_t unit_hint : 2;
  char label[];

  static size_t bytes_for(size_t label_len) {
    return std::max(sizeof(Node), offsetof(Node, label) + label_len);
  }
  size_t bytes() const { return bytes_for(label_len); }
  std::string_view label_view() const { return {label, label_len}; }
  unsigned char first() const { return static_cast<unsigned char>(label[0]); }

  // Children.
  Node* const* kid_ptrs() const {
    return kid_log2 == 0 ? reinterpret_cast<Node* const*>(&kids) : static_cast<Node* const*>(kids);
  }
  Node** kid_ptrs() {
    return kid_log2 == 0 ? reinterpret_cast<Node**>(&kids) : static_cast<Node**>(kids);
  }
  const uint8_t* kid_firsts() const {
    return static_cast<const uint8_t*>(kids) + (sizeof(Node*) << kid_log2);
  }
  uint8_t* kid_firsts() { return static_cast<uint8_t*>(kids) + (sizeof(Node*) << kid_log2); }
  // Index of the first child whose first byte is >= c (table mode only).
  size_t kid_lower_bound(unsigned char c) const {
    const uint8_t* f = kid_firsts();
    if (nkids <= 16) {
      size_t i = 0;
      while (i < nkids && f[i] < c) ++i;
      return i;
    }
    return static_cast<size_t>(std::lower_bound(f, f + nkids, c) - f);
  }
  Node* find_child(unsigned char c) const {
    if (kid_log2 == 0) {
      Node* only = static_cast<Node*>(kids);
      return only != nullptr && only->first() == c ? only : nullptr;
    }
#if defined(__SSE2__)
    // Tables of 16 slots and more (the fan-out under a shared prefix: tens of children) are
    // searched for the byte 16 at a time: a binary search there was a chain of mispredicted
    // branches. Smaller tables have fewer than 16 bytes of firsts to read.
    if (kid_log2 >= 4) {
      const uint8_t* f = kid_firsts();
      const __m128i want = _mm_set1_epi8(static_cast<char>(c));
      for (size_t i = 0; i < nkids; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(f + i));
        auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, want)));
        if (nkids - i < 16) mask &= (1u << (nkids - i)) - 1;
        if (mask != 0) return kid_ptrs()[i + static_cast<size_t>(std::countr_zero(mask))];
      }
      return nullptr;
    }
#endif
    const size_t i = kid_lower_bound(c);
    return i < nkids && kid_firsts()[i] == c ? kid_ptrs()[i] : nullptr;
  }

  // Owners. Table layout: slots first, then owned-child counts, then entries: match reads only
  // the slots, insert the slots and one count, so those share lines in small tables.
  uint32_t* owner_entries() {
    return owner_log2 == 0 ? &owners.one.entry
                           : reinterpret_cast<uint32_t*>(static_cast<char*>(owners.table) +
                                                         (2 * sizeof(uint16_t) << owner_log2));
  }
  const uint32_t* owner_entries() const { return const_cast<Node*>(this)->owner_entries(); }
  const uint16_t* owner_slots() const {
    return owner_log2 == 0 ? &owners.one.slot : static_cast<const uint16_t*>(owners.table);
  }
  uint16_t* owner_slots() {
    return const_cast<uint16_t*>(static_cast<const Node*>(this)->owner_slots());
  }
  const uint16_t* owner_kids() const {
    return owner_log2 == 0 ? &owners.one.kids
                           : static_cast<const uint16_t*>(owners.table) + (size_t{1} << owner_log2);
  }
  uint16_t* owner_kids() {
    return const_cast<uint16_t*>(static_cast<const Node*>(this)->owner_kids());
  }
  // Table edits. Tables come from and go back to the shard's arena; a table shrinks back to the
  // inline form at one entry, so a leaf with one owner has no side allocation at all.
  void add_kid(Arena& arena, Node* kid);  // no child with kid's first byte yet
  void remove_kid(Arena& arena, unsigned char c);
  void replace_kid(unsigned char c, Node* kid);
  void add_owner(Arena& arena, uint16_t slot, uint32_t entry, uint16_t owned_kids);
  void remove_owner_at(Arena& arena, int i);
  void resize_kids(Arena& arena, uint8_t log2);
  void resize_owners(Arena& arena, uint8_t log2);
  static size_t kid_table_bytes(uint8_t log2) { return (sizeof(Node*) + 1) << log2; }
  static size_t owner_table_bytes(uint8_t log2) {
    return (sizeof(uint32_t) + 2 * sizeof(uint16_t)) << log2;
  }

  // Position of `slot` among the owners, or -1. Shared prefixes are owned by every worker, so
  // insert looks through tables of hundreds of slots: eight at a time where SSE2 exists.
  int owner_index(uint32_t slot) const {
    const uint16_t* s = owner_slots();
    int i = 0;
#if defined(__SSE2__)
    const __m128i want = _mm_set1_epi16(static_cast<int16_t>(slot));
    for (; i + 8 <= nowners; i += 8) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi16(v, want)));
      if (mask != 0) return i + std::countr_zero(mask) / 2;
    }
#endif
    for (; i < nowners; ++i) {
      if (s[i] == slot) return i;
    }
    return -1;
  }
};

struct RadixTree::Shard {
  size_t index = 0;
  mutable RwMutex mu;
  Arena arena;
  EntryPool entries;
  Node* root = nullptr;
  // Bumped by every change made under the exclusive lock: a match's walk (MatchWalk)
  // taken at the same version is still valid.
  uint64_t version = 0;
};

struct RadixTree::WorkerState {
  // A shard's list, but for its head (see `heads`); 32-byte aligned, so that it sits in one line.
  struct alignas(32) ShardLru {
    // Least recent. It may own a child (its stamp is then older than the node's real last use):
    // eviction takes such an entry off the list instead of the ownership (design doc, "LRU").
    uint32_t tail = kNil;
    int64_t units = 0;  // of every node this worker owns here, on the list or not
    // Copy of the tail's stamp readable without the shard lock, to find the globally oldest entry.
    std::atomic<uint64_t> tail_stamp{kNoStamp};
  };

  // What every insert reads or writes comes first, on one cache line (the state is line-aligned):
  // with hundreds of workers each insert finds its worker's state cold.
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> live{false};
  std::atomic<int64_t> units{0};
  // This worker's LRU clock. Stamps are only ever compared within one worker, so a per-worker
  // counter orders them as well as a global one would, without a cache line every insert shares.
  std::atomic<uint64_t> clock{0};
  // Each shard's list head (most recent entry), apart from the rest of its list: an insert links
  // its entry in front of the head, so it needs the head's index before anything else, and all
  // sixteen share this line, which every insert of the worker touches. A shard's own line is used
  // by one insert in sixteen and is cold with hundreds of workers; it is fetched meanwhile.
  static_assert(kShards * sizeof(uint32_t) <= 64, "the list heads share one line");
  alignas(64) std::array<uint32_t, kShards> heads = [] {
    std::array<uint32_t, kShards> a{};
    a.fill(kNil);
    return a;
  }();
  std::string id;  // guarded by registry_mu_
  alignas(64) std::array<ShardLru, kShards> shards;

  // One shard list's two ends, as the list edits take them.
  struct Ends {
    uint32_t& head;
    uint32_t& tail;
  };
  Ends ends(size_t shard) { return {heads[shard], shards[shard].tail}; }
};

}  // namespace dpserve::router::tree
