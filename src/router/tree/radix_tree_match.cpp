// The tree's read side: matches (the decision's and the full one) and resolving worker ids
// (docs/design/radix-tree.md, "Match output" and "Worker ids to slots in a decision").
#include "router/tree/key_bytes.h"
#include "router/tree/radix_tree.h"
#include "router/tree/radix_tree_nodes.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace dpserve::router::tree {

MatchResult RadixTree::match(std::string_view key) const {
  MatchResult result;
  match(key, result);
  return result;
}

std::shared_lock<RwMutex> RadixTree::walk_shared(std::string_view key, MatchWalk& walk,
                                                 std::vector<WalkStep>& steps) const {
  const Shard& shard = shard_for(key);
  std::shared_lock lock(shard.mu);
  steps.clear();
  walk.tree = this;
  walk.key = key.data();
  walk.key_size = key.size();
  walk.version = shard.version;
  walk.path.clear();
  const Node* node = shard.root;
  size_t pos = 0;
  while (pos < key.size()) {
    const Node* child = node->find_child(static_cast<unsigned char>(key[pos]));
    if (child == nullptr) break;
    // Owner tables are read after the walk (and by the insert that follows it) and the next child
    // table right after this label: their cache misses overlap with the label compare instead of
    // following it.
    if (child->owner_log2 != 0) __builtin_prefetch(child->owners.table);
    if (child->kid_log2 != 0) {
      __builtin_prefetch(child->kid_firsts());
      // In tables of 32 slots and more (the ~54-way fan-out right under a shared prefix) the
      // SSE2 search reads one line of first bytes, but the pointer it picks is on one of 4 to 32
      // further lines: a second dependent miss per level. Prefetch them all; such tables are few
      // and mostly cached, so this costs little bandwidth (from 16 slots up measured no better).
      if (child->kid_log2 >= 5) {
        const char* ptrs = static_cast<const char*>(child->kids);
        for (size_t off = 0; off < (sizeof(Node*) << child->kid_log2); off += 64) {
          __builtin_prefetch(ptrs + off);
        }
      }
    }
    const size_t shared = common_prefix(child->label_view(), key.substr(pos));
    steps.push_back({child, pos + shared});
    if (shared < child->label_len) break;
    pos += shared;
    walk.path.push_back(child);
    node = child;
  }
  walk.pos = pos;
  return lock;
}

int64_t RadixTree::units_to(std::string_view key, size_t end, int64_t starts) const {
  if (kind_ == KeyKind::kTokenIds) return static_cast<int64_t>(end / 4);
  const bool cut = end < key.size() && is_continuation(key[end]) && starts > 0;
  return starts - (cut ? 1 : 0);
}

void RadixTree::match(std::string_view key, MatchResult& result) const {
  result.input_units = 0;
  result.max_matched_units = 0;
  result.steps.clear();
  result.walk.tree = nullptr;
  if (key.empty()) return;
  thread_local std::vector<WalkStep> steps;
  const auto lock = walk_shared(key, result.walk, steps);

  // Each step: units matched at its end, in one forward pass over the key, and its owner slots
  // copied: a plain copy of each table, where writing a length per (node, owner) pair was most of
  // a match once hundreds of workers share a prefix. A text unit cut in half by the match end does
  // not count (continuation bytes before the key's first character belong to no unit).
  size_t total = 0;
  for (const WalkStep& step : steps) total += step.node->nowners;
  if (result.owners.size() < total) result.owners.resize(total);
  result.steps.resize(steps.size());
  int64_t starts = 0;  // text: character starts in key[0, p)
  size_t p = 0;
  uint32_t at = 0;
  for (size_t s = 0; s < steps.size(); ++s) {
    const size_t end = steps[s].end;
    if (kind_ == KeyKind::kText) starts += count_text_units(key.data() + p, end - p);
    p = end;
    const Node* n = steps[s].node;
    std::memcpy(result.owners.data() + at, n->owner_slots(), n->nowners * sizeof(uint16_t));
    result.steps[s] = {units_to(key, end, starts), at, at + n->nowners};
    at += n->nowners;
  }
  result.input_units = kind_ == KeyKind::kTokenIds
                           ? count_units(kind_, key)
                           : starts + count_text_units(key.data() + p, key.size() - p);
  if (!steps.empty()) result.max_matched_units = result.steps.back().units;
}

void RadixTree::match(std::string_view key, const Candidates& among, BestMatch& out) const {
  out.input_units = 0;
  out.units = 0;
  out.owners.clear();
  out.walk.tree = nullptr;
  if (key.empty()) return;
  thread_local std::vector<WalkStep> steps;
  const auto lock = walk_shared(key, out.walk, steps);
  if (among.tree_ != serial_) steps.clear();  // resolved by another tree: no candidate here
  // Ownership is prefix-closed, so the deepest step listing any candidate is where the longest
  // candidate match ends, and usually the very last step (a leaf, one or a few owners): the wide
  // tables of shared prefixes above it are not read. Copying every step's owners out instead cost
  // a kilobyte per shared prefix with hundreds of workers.
  const uint32_t* first = among.first_.data();
  size_t best = steps.size();
  for (size_t s = steps.size(); s-- > 0 && best == steps.size();) {
    const Node* n = steps[s].node;
    const uint16_t* o = n->owner_slots();
    for (size_t i = 0; i < n->nowners; ++i) {
      if (first[o[i]] != 0) {  // first_ has kMaxWorkers entries once resolved
        best = s;
        break;
      }
    }
  }
  if (best == steps.size()) {
    out.input_units = count_units(kind_, key);
    return;
  }
  const bool text = kind_ == KeyKind::kText;
  size_t end = steps[best].end;
  int64_t starts = text ? count_text_units(key.data(), end) : 0;  // in key[0, end)
  out.input_units = text ? starts + count_text_units(key.data() + end, key.size() - end)
                         : count_units(kind_, key);
  const int64_t units = units_to(key, end, starts);
  if (units == 0) return;
  // A step that ends inside a unit (a text character or a token id) matched no more units than
  // the one above it: owners of the shallowest step with as many units hold the longest match
  // too.
  while (best > 0) {
    const size_t above = steps[best - 1].end;
    if (text) {
      // Two unit starts between the ends already make the step above shorter: count no further
      // (the step may be a 16 KiB suffix).
      int64_t between = 0;
      for (size_t i = above; i < end && between < 2; ++i)
        between += is_continuation(key[i]) ? 0 : 1;
      if (between >= 2) break;
      starts -= between;
    }
    end = above;
    if (units_to(key, end, starts) != units) break;
    --best;
  }
  out.units = units;
  const Node* n = steps[best].node;
  out.owners.assign(n->owner_slots(), n->owner_slots() + n->nowners);
}

void Candidates::holders(std::span<const uint16_t> owners, std::vector<size_t>& out) const {
  out.clear();
  if (first_.empty()) return;
  // Ascending positions without a sort (a shared prefix may have hundreds of owners): marked in
  // a bitmap of positions, which is read back and cleared over the words marked.
  thread_local std::vector<uint64_t> marks;
  if (marks.size() < (size_ + 63) / 64) marks.resize((size_ + 63) / 64);
  size_t lo = marks.size();
  size_t hi = 0;
  for (const uint16_t slot : owners) {
    for (uint32_t p = first_[slot]; p != 0; p = next_[p - 1]) {
      marks[(p - 1) / 64] |= uint64_t{1} << ((p - 1) % 64);
      lo = std::min<size_t>(lo, (p - 1) / 64);
      hi = std::max<size_t>(hi, (p - 1) / 64);
    }
  }
  for (size_t w = lo; w <= hi && lo < marks.size(); ++w) {
    for (uint64_t bits = marks[w]; bits != 0; bits &= bits - 1) {
      out.push_back(w * 64 + static_cast<size_t>(std::countr_zero(bits)));
    }
    marks[w] = 0;
  }
}

int64_t MatchResult::matched_units(uint32_t slot) const {
  if (slot >= RadixTree::kMaxWorkers) return 0;  // kNoSlot: nothing to look for
  for (size_t s = steps.size(); s-- > 0;) {
    const MatchStep& step = steps[s];
    for (uint32_t i = step.owners_begin; i < step.owners_end; ++i) {
      if (owners[i] == slot) return step.units;
    }
  }
  return 0;
}

void RadixTree::resolve(std::span<const std::string_view> worker_ids, Candidates& out) const {
  // The policy passes the same workers in the same order decision after decision, and hashing
  // every id was most of a many-worker decision. So each position remembers its last answer and
  // the registry version it was true at (the version changes, under the exclusive registry lock,
  // whenever an id is added or removed): for the same id at an unchanged version the answer still
  // holds, slot or unknown, and nothing shared is read. After a change a remembered slot is used
  // again if it is live under exactly this id (both change only under the exclusive lock), and
  // anything else is looked up. Reading each worker's state line for that check was a cold line
  // per worker and decision with hundreds of workers, and one that inserts on other threads write.
  bool moved = out.tree_ != serial_ || out.size_ != worker_ids.size();
  if (out.tree_ != serial_) {
    out.tree_ = serial_;
    out.entries_.clear();
  }
  out.size_ = worker_ids.size();
  if (out.entries_.size() < worker_ids.size()) out.entries_.resize(worker_ids.size());
  int64_t lookups = 0;
  {
    std::shared_lock lock(registry_mu_);
    for (size_t i = 0; i < worker_ids.size(); ++i) {
      Candidates::Entry& e = out.entries_[i];
      const uint32_t before = e.ref.slot;
      if (e.id == worker_ids[i]) {
        if (e.version == registry_version_) continue;
        if (e.ref.slot != kNoSlot) {
          const WorkerState* st = state(e.ref.slot);
          if (st->live.load(std::memory_order_acquire) && st->id == worker_ids[i]) {
            e.version = registry_version_;
            e.ref.generation = st->generation.load(std::memory_order_acquire);
            continue;
          }
        }
      } else {
        e.id.assign(worker_ids[i]);
      }
      auto it = slots_.find(worker_ids[i]);
      ++lookups;
      e.ref = {serial_, kNoSlot, 0};
      if (it != slots_.end()) {
        e.ref.slot = it->second;
        e.ref.generation = state(it->second)->generation.load(std::memory_order_acquire);
      }
      e.version = registry_version_;
      moved = moved || e.ref.slot != before;
    }
  }
  if (lookups != 0) resolve_lookups_.fetch_add(lookups, std::memory_order_relaxed);
  if (!moved) return;
  // Slot to positions, the lowest first: rebuilt only when a position's slot changed.
  out.first_.assign(kMaxWorkers, 0);
  out.next_.assign(out.size_, 0);
  for (size_t i = out.size_; i-- > 0;) {
    const uint32_t slot = out.entries_[i].ref.slot;
    if (slot == kNoSlot) continue;
    out.next_[i] = out.first_[slot];
    out.first_[slot] = static_cast<uint32_t>(i + 1);
  }
}

}  // namespace dpserve::router::tree
