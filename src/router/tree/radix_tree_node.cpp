// Node tables: children (first bytes and pointers) and owners, grown and shrunk in the arena.
#include "router/tree/radix_tree_nodes.h"

#include <algorithm>
#include <cstring>

namespace dpserve::router::tree {

void RadixTree::Node::resize_kids(Arena& arena, uint8_t log2) {
  void* old_table = kid_log2 == 0 ? nullptr : kids;
  const uint8_t old_log2 = kid_log2;
  Node* const* old_ptrs = kid_ptrs();
  const uint8_t* old_firsts = kid_log2 == 0 ? nullptr : kid_firsts();
  if (log2 == 0) {
    kids = nkids == 1 ? old_ptrs[0] : nullptr;
  } else {
    void* table = arena.allocate(kid_table_bytes(log2));
    auto** ptrs = static_cast<Node**>(table);
    auto* firsts = static_cast<uint8_t*>(table) + (sizeof(Node*) << log2);
    for (size_t i = 0; i < nkids; ++i) {
      ptrs[i] = old_ptrs[i];
      firsts[i] = old_firsts != nullptr ? old_firsts[i] : old_ptrs[i]->first();
    }
    kids = table;
  }
  kid_log2 = log2;
  if (old_table != nullptr) arena.deallocate(old_table, kid_table_bytes(old_log2));
}

void RadixTree::Node::add_kid(Arena& arena, Node* kid) {
  if (kid_log2 == 0 && nkids == 0) {
    kids = kid;
    nkids = 1;
    return;
  }
  if (kid_log2 == 0 || nkids == (1u << kid_log2)) resize_kids(arena, kid_log2 + 1);
  const unsigned char c = kid->first();
  const size_t i = kid_lower_bound(c);
  Node** p = kid_ptrs();
  uint8_t* f = kid_firsts();
  std::memmove(p + i + 1, p + i, (nkids - i) * sizeof(Node*));
  std::memmove(f + i + 1, f + i, nkids - i);
  p[i] = kid;
  f[i] = c;
  ++nkids;
}

void RadixTree::Node::remove_kid(Arena& arena, unsigned char c) {
  if (kid_log2 == 0) {
    kids = nullptr;
    nkids = 0;
    return;
  }
  const size_t i = kid_lower_bound(c);
  Node** p = kid_ptrs();
  uint8_t* f = kid_firsts();
  std::memmove(p + i, p + i + 1, (nkids - i - 1) * sizeof(Node*));
  std::memmove(f + i, f + i + 1, nkids - i - 1);
  --nkids;
  if (nkids <= 1) {
    resize_kids(arena, 0);
  } else if (kid_log2 > 2 && nkids <= (1u << (kid_log2 - 2))) {
    resize_kids(arena, kid_log2 - 1);
  }
}

void RadixTree::Node::replace_kid(unsigned char c, Node* kid) {
  if (kid_log2 == 0) {
    kids = kid;
  } else {
    kid_ptrs()[kid_lower_bound(c)] = kid;
  }
}

void RadixTree::Node::resize_owners(Arena& arena, uint8_t log2) {
  void* old_table = owner_log2 == 0 ? nullptr : owners.table;
  const uint8_t old_log2 = owner_log2;
  const uint32_t* old_entries = owner_entries();
  const uint16_t* old_slots = owner_slots();
  const uint16_t* old_kids = owner_kids();
  if (log2 == 0) {
    const uint32_t e = nowners == 1 ? old_entries[0] : kNil;
    const uint16_t s = nowners == 1 ? old_slots[0] : 0;
    const uint16_t k = nowners == 1 ? old_kids[0] : 0;
    owners.one.entry = e;
    owners.one.slot = s;
    owners.one.kids = k;
  } else {
    void* table = arena.allocate(owner_table_bytes(log2));
    auto* slots = static_cast<uint16_t*>(table);
    uint16_t* owned_kids = slots + (size_t{1} << log2);
    auto* entries = reinterpret_cast<uint32_t*>(owned_kids + (size_t{1} << log2));
    for (size_t i = 0; i < nowners; ++i) {
      entries[i] = old_entries[i];
      slots[i] = old_slots[i];
      owned_kids[i] = old_kids[i];
    }
    owners.table = table;
  }
  owner_log2 = log2;
  if (old_table != nullptr) arena.deallocate(old_table, owner_table_bytes(old_log2));
}

void RadixTree::Node::add_owner(Arena& arena, uint16_t slot, uint32_t entry, uint16_t owned_kids) {
  if (owner_log2 == 0 && nowners == 0) {
    owners.one.entry = entry;
    owners.one.slot = slot;
    owners.one.kids = owned_kids;
    nowners = 1;
    return;
  }
  if (owner_log2 == 0 || nowners == (1u << owner_log2)) resize_owners(arena, owner_log2 + 1);
  owner_entries()[nowners] = entry;
  owner_slots()[nowners] = slot;
  owner_kids()[nowners] = owned_kids;
  ++nowners;
}

void RadixTree::Node::remove_owner_at(Arena& arena, int i) {
  if (owner_log2 == 0) {
    nowners = 0;
    return;
  }
  const int last = nowners - 1;
  owner_entries()[i] = owner_entries()[last];
  owner_slots()[i] = owner_slots()[last];
  owner_kids()[i] = owner_kids()[last];
  --nowners;
  if (nowners <= 1) {
    resize_owners(arena, 0);
  } else if (owner_log2 > 2 && nowners <= (1u << (owner_log2 - 2))) {
    resize_owners(arena, owner_log2 - 1);
  }
}

}  // namespace dpserve::router::tree
