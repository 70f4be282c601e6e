#include "common/random_id.h"

#include <algorithm>
#include <random>

namespace dpserve::common {

namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 gen{(uint64_t{std::random_device{}()} << 32) ^
                                   std::random_device{}()};
  return gen;
}

}  // namespace

uint64_t thread_random() { return generator()(); }

std::string_view random_alnum_into(char* out, size_t capacity, std::string_view prefix,
                                   size_t length) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const size_t size = std::min(capacity, prefix.size() + length);
  size_t at = std::min(prefix.size(), size);
  std::copy_n(prefix.data(), at, out);
  auto& gen = generator();
  uint64_t bits = 0;
  while (at < size) {
    // 62 symbols; a 6-bit draw with rejection keeps the distribution uniform.
    if (bits < 64) bits = gen() | (uint64_t{1} << 63);
    uint64_t v = bits & 63;
    bits >>= 6;
    if (v < 62) out[at++] = kChars[v];
  }
  return {out, size};
}

std::string random_alnum(std::string_view prefix, size_t length) {
  std::string out(prefix.size() + length, '\0');
  random_alnum_into(out.data(), out.size(), prefix, length);
  return out;
}

}  // namespace dpserve::common
