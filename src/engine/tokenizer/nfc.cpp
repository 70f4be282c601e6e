// Unicode Normalization Form C: canonical decomposition, canonical ordering, canonical
// composition (UAX #15), with Hangul handled algorithmically. Tables: nfc_tables.inc.
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/utf8.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {
namespace {

struct CccRange {
  uint32_t first, last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint32_t parts[4];
};
struct Composition {
  uint32_t first, second, composite;
};

#include "engine/tokenizer/nfc_tables.inc"

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount;
constexpr uint32_t kSCount = kLCount * kNCount;

int ccc_of(uint32_t cp) {
  const auto it = std::upper_bound(std::begin(kCccRanges), std::end(kCccRanges), cp,
                                   [](uint32_t v, const CccRange& r) { return v < r.first; });
  if (it == std::begin(kCccRanges)) return 0;
  const CccRange& r = *std::prev(it);
  return cp <= r.last ? r.ccc : 0;
}

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const auto it = std::lower_bound(std::begin(kDecompositions), std::end(kDecompositions), cp,
                                   [](const Decomposition& d, uint32_t v) { return d.cp < v; });
  if (it == std::end(kDecompositions) || it->cp != cp) {
    out.push_back(cp);
    return;
  }
  for (uint32_t part : it->parts) {
    if (part != 0) out.push_back(part);
  }
}

// The primary composite of (first, second), or 0.
uint32_t compose(uint32_t first, uint32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase &&
      second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 &&
      second > kTBase && second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const auto it =
      std::lower_bound(std::begin(kCompositions), std::end(kCompositions), std::pair(first, second),
                       [](const Composition& c, const std::pair<uint32_t, uint32_t>& v) {
                         return std::pair(c.first, c.second) < v;
                       });
  if (it == std::end(kCompositions) || it->first != first || it->second != second) return 0;
  return it->composite;
}

bool decomposes(uint32_t cp) {
  return std::binary_search(
      std::begin(kDecompositions), std::end(kDecompositions), Decomposition{cp, {}},
      [](const Decomposition& a, const Decomposition& b) { return a.cp < b.cp; });
}

// Code points that can make NFC differ from the input: combining marks (ccc != 0), code points
// that compose with a preceding starter, and decomposable ones that do not recompose to
// themselves (singletons, exclusions). Text without any of them is already NFC.
class QuickCheck {
 public:
  QuickCheck() : seconds_(), composites_() {
    for (const Composition& c : kCompositions) {
      seconds_.push_back(c.second);
      composites_.push_back(c.composite);
    }
    for (uint32_t v = kVBase; v < kVBase + kVCount; ++v) seconds_.push_back(v);
    for (uint32_t t = kTBase + 1; t < kTBase + kTCount; ++t) seconds_.push_back(t);
    std::sort(seconds_.begin(), seconds_.end());
    std::sort(composites_.begin(), composites_.end());
    for (uint32_t cp = 0; cp < kBmpSize; ++cp) {
      if (slow(cp)) bmp_[cp / 64] |= uint64_t{1} << (cp % 64);
    }
  }
  bool maybe_changes(uint32_t cp) const {
    if (cp < kBmpSize) return (bmp_[cp / 64] >> (cp % 64)) & 1;
    return slow(cp);
  }

 private:
  static constexpr uint32_t kBmpSize = 0x10000;
  bool slow(uint32_t cp) const {
    return ccc_of(cp) != 0 || std::binary_search(seconds_.begin(), seconds_.end(), cp) ||
           (decomposes(cp) && !std::binary_search(composites_.begin(), composites_.end(), cp));
  }
  std::vector<uint32_t> seconds_, composites_;
  uint64_t bmp_[kBmpSize / 64] = {};
};

}  // namespace

namespace {

// Full NFC of a region that starts and ends at stable boundaries.
void normalize_region(std::string_view text, std::string& out) {
  std::vector<uint32_t> decomposed;
  uint32_t cp = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int len = utf8::decode(text, pos, &cp);
    decompose(cp, decomposed);
    pos += len;
  }

  // Canonical ordering: stable-sort each run of non-starters by combining class.
  for (size_t i = 0; i < decomposed.size();) {
    if (ccc_of(decomposed[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < decomposed.size() && ccc_of(decomposed[j]) != 0) ++j;
    std::stable_sort(decomposed.begin() + i, decomposed.begin() + j,
                     [](uint32_t a, uint32_t b) { return ccc_of(a) < ccc_of(b); });
    i = j;
  }

  std::vector<uint32_t> composed;
  composed.reserve(decomposed.size());
  long starter = -1;
  int last_ccc = 0;
  for (uint32_t c : decomposed) {
    const int ccc = ccc_of(c);
    if (starter >= 0) {
      const bool adjacent = static_cast<long>(composed.size()) - 1 == starter;
      if (adjacent || last_ccc < ccc) {
        if (const uint32_t comp = compose(composed[starter], c); comp != 0) {
          composed[starter] = comp;
          continue;
        }
      }
    }
    if (ccc == 0) starter = static_cast<long>(composed.size());
    last_ccc = ccc;
    composed.push_back(c);
  }
  for (uint32_t c : composed) utf8::append(out, c);
}

}  // namespace

std::string to_nfc(std::string_view text) {
  if (!utf8::is_valid(text)) return std::string(text);
  static const QuickCheck quick;
  // A code point the quick check passes is a stable boundary: nothing before it can compose with
  // it or reorder past it. Runs between such boundaries that contain a flagged code point are
  // normalised (from the last stable code point before them, which may compose with what
  // follows); everything else is copied.
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;       // text[0, copied) is in out
  size_t last_stable = 0;  // start of the last stable code point, or 0
  uint32_t cp = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const int len = utf8::decode(text, pos, &cp);
    if (cp < 0x300 || !quick.maybe_changes(cp)) {
      last_stable = pos;
      pos += len;
      continue;
    }
    // Flagged: extend to just before the next stable code point.
    size_t end = pos + len;
    while (end < text.size()) {
      const int l = utf8::decode(text, end, &cp);
      if (cp < 0x300 || !quick.maybe_changes(cp)) break;
      end += l;
    }
    const size_t begin = std::max(last_stable, copied);
    out.append(text.substr(copied, begin - copied));
    normalize_region(text.substr(begin, end - begin), out);
    copied = end;
    pos = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace dpserve::engine
