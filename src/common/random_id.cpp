#include "common/random_id.h"

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

std::string random_alnum(std::string_view prefix, size_t length) {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(prefix.size() + length);
  out.append(prefix);
  auto& gen = generator();
  uint64_t bits = 0;
  for (size_t i = 0; i < length; ++i) {
    // 62 symbols; a 6-bit draw with rejection keeps the distribution uniform.
    for (;;) {
      if (bits < 64) bits = gen() | (uint64_t{1} << 63);
      uint64_t v = bits & 63;
      bits >>= 6;
      if (v < 62) {
        out += kChars[v];
        break;
      }
    }
  }
  return out;
}

}  // namespace dpserve::common
