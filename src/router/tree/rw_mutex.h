// Reader-writer lock of the radix tree (see RwMutex). Internal to src/router/tree.
#pragma once

#include <atomic>
#include <cstdint>

namespace dpserve::router::tree {

// The tree's reader-writer lock (each shard's, and the worker registry's). A pair (the policy's
// match, then its insert) takes a shard lock twice and the registry lock once, all for short
// critical sections, so the uncontended path is one inline compare-and-swap to lock and one atomic
// to unlock: std::shared_mutex (pthread_rwlock) was several calls and atomics per round trip,
// about 7% of a 64-worker pair. A waiting writer keeps new readers out (so a stream of
// matches cannot starve inserts); waiters spin briefly, then yield, then sleep on the word (futex).
class RwMutex {
 public:
  void lock() {
    uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & (kWriter | kReaders)) == 0 &&
        state_.compare_exchange_weak(s, (s & kSleepers) | kWriter, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return;
    }
    lock_slow();
  }
  void unlock() {
    const uint32_t prev = state_.fetch_and(~kWriter, std::memory_order_release);
    if ((prev & kSleepers) != 0) wake();
  }
  void lock_shared() {
    uint32_t s = state_.load(std::memory_order_relaxed);
    if ((s & (kWriter | kPending)) == 0 &&
        state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return;
    }
    lock_shared_slow();
  }
  void unlock_shared() {
    const uint32_t prev = state_.fetch_sub(1, std::memory_order_release);
    if ((prev & kSleepers) != 0) wake();
  }

 private:
  static constexpr uint32_t kWriter = 1u << 31;
  static constexpr uint32_t kPending = 1u << 30;   // a writer waits: readers hold back
  static constexpr uint32_t kSleepers = 1u << 29;  // someone sleeps on the word: unlock wakes
  static constexpr uint32_t kReaders = kSleepers - 1;

  void lock_slow();
  void lock_shared_slow();
  // Waits a little while the lock is seen as `s`; sleeps only on a held lock, whose holder's
  // unlock then sees kSleepers and wakes every sleeper.
  void back_off(uint32_t s, int& spins);
  void wake();

  std::atomic<uint32_t> state_{0};
};

}  // namespace dpserve::router::tree
