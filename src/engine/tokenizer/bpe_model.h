// Byte-level BPE: a vocabulary in GPT-2's byte alphabet and a ranked merge table. A piece is
// encoded by repeatedly merging the adjacent pair with the lowest rank (a linked list plus a
// min-heap, O(n log n)); results for short pieces are cached because real text repeats words.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dpserve::engine {

// std::string keys looked up by string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // vocab: token spelling -> id; merges in priority order. Throws std::invalid_argument when a
  // merge names a token missing from the vocabulary or the merge table is empty while the vocab
  // has multi-character tokens (a silently empty merge table tokenises every byte separately).
  BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
           bool ignore_merges, std::optional<int32_t> unk_id);

  // Encodes one pre-token given as raw bytes, appending ids.
  void encode_piece(std::string_view raw, std::vector<int32_t>& out) const;

  // Spelling of an id in the byte alphabet, or nullptr for an id the vocab does not define.
  const std::string* token(int32_t id) const;
  std::optional<int32_t> token_id(std::string_view spelling) const;
  // One past the largest id in the vocabulary.
  int32_t id_limit() const { return static_cast<int32_t>(id_to_token_.size()); }
  size_t merge_count() const { return merges_.size(); }
  // Number of vocabulary entries (HF's get_vocab_size, which numbers new added tokens).
  size_t entry_count() const { return vocab_.size(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  void merge_symbols(std::vector<int32_t>& symbols) const;

  TokenMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> defined_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byte_ids_{};  // id of each byte's alphabet character, or -1
  bool ignore_merges_;
  std::optional<int32_t> unk_id_;

  static constexpr size_t kCacheMaxPieceBytes = 64;
  static constexpr size_t kCacheMaxEntries = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace dpserve::engine
