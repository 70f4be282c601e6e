#include "engine/tokenizer/bpe_trainer.h"

#include "engine/tokenizer/byte_level.h"

#include <unordered_map>

namespace dpserve::engine {

BpeTrainingResult train_bpe(const std::map<std::string, int64_t>& words, int max_new_tokens,
                            int64_t min_frequency) {
  BpeTrainingResult result;
  // Symbols are indices into `spellings`; the 256 byte characters come first.
  std::vector<std::string> spellings(byte_level::byte_to_unicode().begin(),
                                     byte_level::byte_to_unicode().end());
  std::unordered_map<std::string, int32_t> index;
  for (int32_t i = 0; i < 256; ++i) index.emplace(spellings[i], i);

  std::vector<std::pair<std::vector<int32_t>, int64_t>> corpus;
  corpus.reserve(words.size());
  for (const auto& [word, count] : words) {
    std::vector<int32_t> symbols;
    for (char c : word) symbols.push_back(static_cast<uint8_t>(c));
    if (symbols.size() > 1) corpus.emplace_back(std::move(symbols), count);
  }

  std::unordered_map<uint64_t, int64_t> pair_counts;
  while (static_cast<int>(result.new_tokens.size()) < max_new_tokens) {
    pair_counts.clear();
    for (const auto& [symbols, count] : corpus) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        pair_counts[(static_cast<uint64_t>(symbols[i]) << 32) |
                    static_cast<uint32_t>(symbols[i + 1])] += count;
      }
    }
    uint64_t best = 0;
    int64_t best_count = 0;
    for (const auto& [key, count] : pair_counts) {
      if (count < best_count || count < min_frequency) continue;
      if (count == best_count) {
        const auto& bl = spellings[key >> 32];
        const auto& br = spellings[key & 0xFFFFFFFF];
        const auto& cl = spellings[best >> 32];
        const auto& cr = spellings[best & 0xFFFFFFFF];
        if (std::tie(bl, br) >= std::tie(cl, cr)) continue;
      }
      best = key;
      best_count = count;
    }
    if (best_count == 0) break;
    const auto left = static_cast<int32_t>(best >> 32);
    const auto right = static_cast<int32_t>(best & 0xFFFFFFFF);
    std::string merged = spellings[left] + spellings[right];
    result.merges.emplace_back(spellings[left], spellings[right]);
    int32_t merged_id;
    if (auto it = index.find(merged); it != index.end()) {
      merged_id = it->second;
    } else {
      merged_id = static_cast<int32_t>(spellings.size());
      index.emplace(merged, merged_id);
      spellings.push_back(merged);
      result.new_tokens.push_back(merged);
    }
    for (auto& [symbols, count] : corpus) {
      size_t out = 0;
      for (size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
          symbols[out++] = merged_id;
          ++i;
        } else {
          symbols[out++] = symbols[i];
        }
      }
      symbols.resize(out);
    }
  }
  return result;
}

}  // namespace dpserve::engine
