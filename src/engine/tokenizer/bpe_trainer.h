// Deterministic byte-level BPE training: the most frequent adjacent pair is merged first, ties go
// to the lexicographically smallest (left, right) spelling. Small-corpus sized (a few hundred KB at
// most): pair counts are recomputed each round rather than maintained incrementally.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dpserve::engine {

struct BpeTrainingResult {
  // Merges in rank order, spelled in the byte alphabet.
  std::vector<std::pair<std::string, std::string>> merges;
  // New tokens (merge products) in the order they were created; merges.size() >= this size
  // because two merges can produce the same string.
  std::vector<std::string> new_tokens;
};

// words: raw pre-tokens (bytes) -> occurrence count. Stops after max_new_tokens new tokens or when
// no pair occurs at least min_frequency times.
BpeTrainingResult train_bpe(const std::map<std::string, int64_t>& words, int max_new_tokens,
                            int64_t min_frequency);

}  // namespace dpserve::engine
