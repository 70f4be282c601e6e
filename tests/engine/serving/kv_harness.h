// Drives a KvManager (page pool + radix cache) with a byte-coded sequence of operations and checks
// it against a naive model after every step. Shared by the randomized gtest and the libFuzzer
// target tests/fuzz/radix_cache_fuzz.cpp. A failed check returns a message instead of aborting so
// gtest can print it; the fuzzer turns it into a crash.
#pragma once

#include "engine/kv/kv_manager.h"

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace dpserve::engine::testing {

class KvHarness {
 public:
  KvHarness(int page_size, int64_t num_pages, bool radix)
      : kv_(num_pages * page_size, page_size, radix),
        shadow_(static_cast<size_t>(num_pages * page_size), -1) {}

  // Runs ops from `data` until it is consumed; returns the first violation, or "".
  std::string run(std::span<const uint8_t> data) {
    size_t i = 0;
    auto next = [&]() -> uint8_t { return i < data.size() ? data[i++] : 0; };
    while (i < data.size()) {
      const uint8_t op = next();
      const uint8_t arg = next();
      const uint8_t arg2 = next();
      step(op % 7, arg, arg2);
      if (std::string e = check(); !e.empty())
        return e + " (after op " + std::to_string(op % 7) + ")";
    }
    while (!holders_.empty()) release(0);
    if (std::string e = check(); !e.empty()) return e + " (final)";
    if (kv_.private_tokens() != 0 || kv_.protected_tokens() != 0) return "leak after releasing all";
    return {};
  }

 private:
  struct Holder {
    std::vector<int32_t> tokens;
    int64_t computed = 0;  // positions with KV written
    SeqKv kv;
  };

  static std::vector<int32_t> make_tokens(uint8_t seed, uint8_t len_byte) {
    // A 2-letter alphabet and short keys so prefixes collide constantly.
    std::vector<int32_t> t(static_cast<size_t>(1 + len_byte % 20));
    uint32_t x = seed * 2654435761u + 1;
    for (auto& v : t) {
      x = x * 1103515245u + 12345u;
      v = static_cast<int32_t>((x >> 16) % 2);
    }
    return t;
  }

  void step(int op, uint8_t a, uint8_t b) {
    switch (op) {
      case 0:
      case 1: {  // a new sequence: match, then compute the rest
        Holder h;
        h.tokens = make_tokens(a, b);
        const int64_t len = static_cast<int64_t>(h.tokens.size());
        const auto key = std::span<const int32_t>(h.tokens).first(h.tokens.size() - 1);
        const int64_t m = kv_.match(key, h.kv);
        h.computed = m;
        check_match(key, m);
        if (!grow(h.kv, len)) {
          kv_.release({}, h.kv);
          return;
        }
        write(h, len);
        holders_.push_back(std::move(h));
        return;
      }
      case 2: {  // decode-style growth of an existing sequence
        if (holders_.empty()) return;
        Holder& h = holders_[a % holders_.size()];
        const int64_t len = static_cast<int64_t>(h.tokens.size()) + 1 + b % 5;
        if (!grow(h.kv, len)) return;
        while (static_cast<int64_t>(h.tokens.size()) < len) h.tokens.push_back(b % 2);
        write(h, len);
        return;
      }
      case 3: {  // cache the computed prefix, keep running
        if (holders_.empty()) return;
        Holder& h = holders_[a % holders_.size()];
        kv_.cache(std::span<const int32_t>(h.tokens).first(static_cast<size_t>(h.computed)), h.kv);
        remember(h.tokens, h.computed);
        return;
      }
      case 4:
        if (!holders_.empty()) release(a % holders_.size());
        return;
      case 5:
        if (kv_.tree().evict(1 + a % 16) > 0) evicted_ = true;
        return;
      case 6: {
        if (holders_.empty() && kv_.flush()) {
          cached_.clear();
          evicted_ = false;
        }
        const auto key = make_tokens(a, b);
        check_match(key, kv_.peek(key));
        return;
      }
    }
  }

  void release(size_t index) {
    Holder& h = holders_[index];
    kv_.release(std::span<const int32_t>(h.tokens).first(static_cast<size_t>(h.computed)), h.kv);
    remember(h.tokens, h.computed);
    holders_.erase(holders_.begin() + static_cast<ptrdiff_t>(index));
  }

  // "Computes" positions [computed, len): records which token each slot holds.
  void write(Holder& h, int64_t len) {
    std::vector<int64_t> slots;
    kv_.fill_slots(h.kv, len, slots);
    for (int64_t p = h.computed; p < len; ++p) {
      shadow_[static_cast<size_t>(slots[static_cast<size_t>(p)])] =
          h.tokens[static_cast<size_t>(p)];
    }
    h.computed = len;
  }

  void remember(const std::vector<int32_t>& tokens, int64_t len) {
    if (!kv_.radix_enabled()) return;
    const int ps = kv_.page_size();
    for (int64_t n = ps; n <= len; n += ps) {
      cached_.insert(std::vector<int32_t>(tokens.begin(), tokens.begin() + n));
    }
  }

  int64_t naive_match(const std::vector<int32_t>& key) const {
    int64_t best = 0;
    const int ps = kv_.page_size();
    for (int64_t n = ps; n <= static_cast<int64_t>(key.size()); n += ps) {
      if (cached_.count(std::vector<int32_t>(key.begin(), key.begin() + n))) best = n;
    }
    return best;
  }

  void check_match(std::span<const int32_t> key, int64_t matched) {
    const int64_t naive = naive_match(std::vector<int32_t>(key.begin(), key.end()));
    if (matched % kv_.page_size() != 0) error_ = "match not page aligned";
    if (matched > naive) error_ = "matched a prefix that was never cached";
    // Without evictions the tree must find everything the naive model has.
    if (!evicted_ && matched < naive) error_ = "missed a cached prefix";
  }

  // grow() may evict on its own; the naive model then only bounds matches from above.
  bool grow(SeqKv& kv, int64_t len) {
    const int64_t before = kv_.cached_tokens();
    const bool ok = kv_.grow(kv, len);
    if (kv_.cached_tokens() < before) evicted_ = true;
    return ok;
  }

  std::string check() {
    if (!error_.empty()) return error_;
    if (std::string e = kv_.check_invariants(); !e.empty()) return e;
    int64_t private_tokens = 0;
    for (const Holder& h : holders_) {
      std::vector<int64_t> slots;
      kv_.fill_slots(h.kv, h.computed, slots);
      for (int64_t p = 0; p < h.computed; ++p) {
        if (shadow_[static_cast<size_t>(slots[static_cast<size_t>(p)])] !=
            h.tokens[static_cast<size_t>(p)]) {
          return "a sequence reads KV written for another token";
        }
      }
      private_tokens += static_cast<int64_t>(h.kv.pages.size()) * kv_.page_size() - h.kv.cached_len;
    }
    if (private_tokens != kv_.private_tokens()) return "private page count drifted";
    return {};
  }

  KvManager kv_;
  std::vector<int32_t> shadow_;  // slot -> token whose KV it holds
  std::vector<Holder> holders_;
  std::set<std::vector<int32_t>> cached_;  // every page-aligned prefix ever cached
  bool evicted_ = false;
  std::string error_;
};

}  // namespace dpserve::engine::testing
