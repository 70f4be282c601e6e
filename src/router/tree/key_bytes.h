// Byte-level helpers of the radix tree's keys (docs/design/radix-tree.md, "Keys"). Internal to
// src/router/tree.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace dpserve::router::tree {

inline bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Length of the common prefix of `a` and `b`, a word at a time: long shared prompts are the
// common case.
inline size_t common_prefix(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
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

// Characters (UTF-8 bytes that are not continuation bytes) in p[0, n).
int64_t count_text_units(const char* p, size_t n);

}  // namespace dpserve::router::tree
