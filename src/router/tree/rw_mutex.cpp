#include "router/tree/rw_mutex.h"

#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dpserve::router::tree {

void RwMutex::lock_slow() {
  int spins = 0;
  for (;;) {
    uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & (kWriter | kReaders)) == 0) {
      // Taking it clears kPending; other waiting writers set it again on their next round.
      if (state_.compare_exchange_weak(s, (s & kSleepers) | kWriter, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    if ((s & kPending) == 0) {
      state_.fetch_or(kPending, std::memory_order_relaxed);
      continue;
    }
    back_off(s, spins);
  }
}

void RwMutex::lock_shared_slow() {
  int spins = 0;
  for (;;) {
    uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & (kWriter | kPending)) == 0) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    back_off(s, spins);
  }
}

void RwMutex::back_off(uint32_t s, int& spins) {
  constexpr int kSpins = 64;
  constexpr int kYields = 16;
  if (spins < kSpins + kYields || (s & (kWriter | kReaders)) == 0) {
    // Not held (only a writer's kPending): that writer is about to take it, never sleep on that.
    if (spins++ < kSpins) {
#if defined(__SSE2__)
      _mm_pause();
#endif
    } else {
      std::this_thread::yield();
    }
    return;
  }
  if ((s & kSleepers) == 0 &&
      !state_.compare_exchange_weak(s, s | kSleepers, std::memory_order_relaxed)) {
    return;
  }
  // Returns at once if the word changed since: every unlock changes it.
  state_.wait(s | kSleepers, std::memory_order_relaxed);
}

void RwMutex::wake() {
  state_.fetch_and(~kSleepers, std::memory_order_relaxed);
  state_.notify_all();
}

}  // namespace dpserve::router::tree
