#include "router/tree/key_bytes.h"

#include "router/tree/radix_tree.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dpserve::router::tree {

namespace {

// Continuation bytes (10xxxxxx) among the eight bytes of `x`: (x << 1) moves each byte's bit 6
// under its bit 7, so at most one bit per byte is left; the multiply sums the eight bytes into the
// top one (std::popcount would be a libgcc call on baseline x86-64).
int64_t continuation_bytes(uint64_t x) {
  const uint64_t marks = (x & ~(x << 1) & 0x8080808080808080ULL) >> 7;
  return static_cast<int64_t>((marks * 0x0101010101010101ULL) >> 56);
}

}  // namespace

// Bytes minus continuation bytes. Sixteen bytes per compare where SSE2 exists (a 32 KiB prompt is
// counted on every decision): as signed bytes the continuation bytes are exactly those below -64,
// and each lane counts up to 255 blocks before the lanes are summed. The last bytes are read as
// one word that overlaps bytes already counted.
int64_t count_text_units(const char* p, size_t n) {
  int64_t continuation = 0;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i below = _mm_set1_epi8(-64);
  while (n - i >= 16) {
    __m128i lanes = _mm_setzero_si128();
    const size_t blocks = std::min<size_t>((n - i) / 16, 255);
    for (size_t b = 0; b < blocks; ++b, i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      lanes = _mm_sub_epi8(lanes, _mm_cmplt_epi8(v, below));  // a match is -1
    }
    const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
    continuation += _mm_cvtsi128_si32(sums) + _mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
  }
#endif
  for (; n - i >= 8; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    continuation += continuation_bytes(x);
  }
  if (i < n && n >= 8) {
    uint64_t x;  // the last eight bytes, of which the first 8 - (n - i) were counted
    std::memcpy(&x, p + n - 8, 8);
    continuation += continuation_bytes(x >> (8 * (8 - (n - i))));
  } else {
    for (; i < n; ++i) continuation += is_continuation(p[i]) ? 1 : 0;
  }
  return static_cast<int64_t>(n) - continuation;
}

int64_t count_units(KeyKind kind, std::string_view key) {
  if (kind == KeyKind::kTokenIds) return static_cast<int64_t>((key.size() + 3) / 4);
  return count_text_units(key.data(), key.size());
}

}  // namespace dpserve::router::tree
