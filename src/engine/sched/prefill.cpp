// Prefill admission (SGLang's PrefillAdder): which waiting sequences join the next prefill batch,
// and how much of each. Budgets: new tokens per batch (--max-prefill-tokens,
// --chunked-prefill-size), running sequences (--max-running-requests) and KV memory (free +
// evictable minus reservations).
#include "engine/sched/scheduler.h"

#include <algorithm>
#include <cmath>

namespace dpserve::engine {

namespace {

// Cap on the output budget a single request can reserve (SGLang's CLIP_MAX_NEW_TOKENS).
constexpr int64_t kMaxReservedOutput = 4096;
// Beyond this many waiting requests, longest-prefix-first costs more than it saves (SGLang).
constexpr size_t kLpmMaxWaiting = 128;
// A waiting request sharing at least this many uncached tokens with one already in the batch waits
// a round, so it reuses that prefix instead of computing it twice (SGLang's in-batch sharing).
constexpr int64_t kInBatchPrefixTokens = 32;

}  // namespace

int64_t Scheduler::reservation(const Sequence& s) const {
  const int64_t remaining_output =
      std::min<int64_t>(s.request().max_new_tokens - s.completion_tokens(), kMaxReservedOutput);
  const auto future =
      static_cast<int64_t>(std::ceil(static_cast<double>(remaining_output) * new_token_ratio_));
  // A sequence mid-prefill will also need pages for the rest of its prompt.
  return future + (s.in_prefill ? kv_.pages_needed(s.kv, static_cast<int64_t>(s.tokens.size())) *
                                      kv_.page_size()
                                : 0);
}

void Scheduler::order_waiting() {
  auto by_arrival = [](const SeqPtr& a, const SeqPtr& b) {
    return a->arrival_order < b->arrival_order;
  };
  if (config_.policy == SchedulePolicy::kFcfs || !kv_.radix_enabled() ||
      waiting_.size() > kLpmMaxWaiting) {
    std::stable_sort(waiting_.begin(), waiting_.end(), by_arrival);
    return;
  }
  std::vector<std::pair<int64_t, SeqPtr>> keyed;
  keyed.reserve(waiting_.size());
  for (auto& s : waiting_) {
    const int64_t matched =
        kv_.peek(std::span<const int32_t>(s->tokens).first(s->tokens.size() - 1));
    keyed.emplace_back(matched, std::move(s));
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return by_arrival(a.second, b.second);
  });
  waiting_.clear();
  for (auto& [matched, s] : keyed) waiting_.push_back(std::move(s));
}

bool Scheduler::shares_uncached_prefix(const Sequence& s, const std::vector<Chunk>& batch) {
  if (!kv_.radix_enabled()) return false;
  const auto key = std::span<const int32_t>(s.tokens).first(s.tokens.size() - 1);
  int64_t cached = -1;
  for (const Chunk& c : batch) {
    // What the batch member will have cached after this pass.
    const auto other =
        std::span<const int32_t>(c.seq->tokens).first(static_cast<size_t>(c.seq->kv_len + c.len));
    const size_t n = std::min(key.size(), other.size());
    const auto common = static_cast<int64_t>(
        std::mismatch(key.begin(), key.begin() + static_cast<ptrdiff_t>(n), other.begin()).first -
        key.begin());
    if (common < kInBatchPrefixTokens) continue;
    if (cached < 0) cached = kv_.peek(key);
    if (common >= cached + kInBatchPrefixTokens) return true;
  }
  return false;
}

bool Scheduler::admit(Sequence& s, int64_t& budget, int64_t& reserved, std::vector<Chunk>& batch) {
  const int64_t len = static_cast<int64_t>(s.tokens.size());
  // At least one token must be computed to get logits, so match at most len - 1.
  const int64_t matched =
      kv_.match(std::span<const int32_t>(s.tokens).first(static_cast<size_t>(len - 1)), s.kv);
  s.kv_len = matched;
  s.in_prefill = true;  // for reservation(): charge the whole remaining prompt
  const int64_t need = kv_.pages_needed(s.kv, len) * kv_.page_size();
  const int64_t charge = reservation(s);
  s.in_prefill = false;
  auto give_up = [&] {
    kv_.release({}, s.kv);
    s.kv_len = 0;
    return false;
  };
  // `charge` covers the rest of the prompt plus the reserved output. When nothing else runs, the
  // prompt alone must fit: validate() bounds prompt + max_new_tokens by the pool, but page rounding
  // plus the reservation could otherwise exceed it and stall the queue forever.
  const bool alone = running_.empty() && batch.empty();
  if (charge > kv_.available_tokens() - reserved && !(alone && need <= kv_.available_tokens())) {
    return give_up();
  }
  int64_t chunk = len - matched;
  if (chunk > budget) {
    if (config_.chunked_prefill_size > 0) {
      chunk = budget - budget % kv_.page_size();
      if (chunk == 0) return give_up();
    } else if (!batch.empty()) {
      return give_up();  // without chunking an oversized prompt runs alone in its batch
    }
  }
  if (!kv_.grow(s.kv, matched + chunk)) return give_up();
  if (!s.admitted_once) {
    s.admitted_once = true;
    s.cached_tokens = static_cast<int>(std::min<int64_t>(matched, s.prompt_len));
    totals_.prompt_tokens_total += s.prompt_len;
    totals_.cached_prompt_tokens_total += s.cached_tokens;
  }
  s.in_prefill = true;
  ++s.group->prefilling;
  budget -= chunk;
  reserved += charge;
  batch.push_back(Chunk{&s, chunk});
  return true;
}

std::vector<Scheduler::Chunk> Scheduler::schedule_prefill() {
  std::vector<Chunk> batch;
  if (waiting_.empty() && !chunked_) return batch;
  int64_t budget = config_.max_prefill_tokens;
  if (config_.chunked_prefill_size > 0)
    budget = std::min<int64_t>(budget, config_.chunked_prefill_size);
  int64_t reserved = 0;
  for (const auto& s : running_) reserved += reservation(*s);

  if (chunked_) {
    Sequence& s = *chunked_;
    int64_t chunk = s.remaining_prefill();
    // The batch budget is at least one page (validated), so a cut chunk is never empty.
    if (chunk > budget) chunk = budget - budget % kv_.page_size();
    if (!kv_.grow(s.kv, s.kv_len + chunk)) {
      retract(&s);  // cannot happen while reservations hold; re-queue rather than stall
      return batch;
    }
    batch.push_back(Chunk{&s, chunk});
    budget -= chunk;
    reserved += reservation(s);
    if (chunk < s.remaining_prefill()) return batch;  // still the chunked sequence next round
    running_.push_back(std::move(chunked_));
  }

  order_waiting();
  for (auto it = waiting_.begin(); it != waiting_.end() && budget > 0;) {
    if (static_cast<int>(running_.size()) >= config_.max_running_requests) break;
    Sequence& s = **it;
    // A sibling sample, or another request in this batch, is computing the same prompt prefix:
    // wait one round and reuse its cached pages.
    if (s.group->prefilling > 0 || shares_uncached_prefix(s, batch)) {
      ++it;
      continue;
    }
    if (!admit(s, budget, reserved, batch)) break;
    const bool whole = batch.back().len == s.remaining_prefill();
    if (whole) {
      running_.push_back(std::move(*it));
      it = waiting_.erase(it);
    } else {
      chunked_ = std::move(*it);
      waiting_.erase(it);
      break;
    }
  }
  return batch;
}

}  // namespace dpserve::engine
