// A lock-free random source shared by every io thread of one policy. A splitmix64 stream over an
// atomic counter: each draw is one fetch_add, so threads never wait on each other, and a fixed
// seed gives a reproducible sequence in single-threaded tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dpserve::router::policies {

class SharedRng {
 public:
  // seed 0 = seed from the clock (PolicyConfig::seed convention).
  explicit SharedRng(uint64_t seed)
      : state_(seed != 0 ? seed
                         : static_cast<uint64_t>(
                               std::chrono::steady_clock::now().time_since_epoch().count())) {}

  uint64_t next() {
    uint64_t z =
        state_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n > 0. Lemire's multiply-shift: the bias is below 2^-32 for any n we see.
  size_t below(size_t n) {
    return static_cast<size_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  std::atomic<uint64_t> state_;
};

}  // namespace dpserve::router::policies
