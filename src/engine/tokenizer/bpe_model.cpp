#include "engine/tokenizer/bpe_model.h"

#include "engine/tokenizer/byte_level.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace dpserve::engine {

BpeModel::BpeModel(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                   bool ignore_merges, std::optional<int32_t> unk_id)
    : vocab_(std::move(vocab)), ignore_merges_(ignore_merges), unk_id_(unk_id) {
  int32_t limit = 0;
  bool multi_char = false;
  for (const auto& [spelling, id] : vocab_) {
    if (id < 0) throw std::invalid_argument("model.vocab: negative id for " + spelling);
    limit = std::max(limit, id + 1);
    // Two-byte single characters (e.g. "Ġ") are still base tokens; anything longer than one
    // code point is a merge product.
    if (spelling.size() > 2 || (spelling.size() == 2 && static_cast<uint8_t>(spelling[0]) < 0x80)) {
      multi_char = true;
    }
  }
  id_to_token_.resize(limit);
  defined_.assign(limit, false);
  for (const auto& [spelling, id] : vocab_) {
    if (defined_[id])
      throw std::invalid_argument("model.vocab: id " + std::to_string(id) + " used twice");
    id_to_token_[id] = spelling;
    defined_[id] = true;
  }
  if (merges.empty() && multi_char) {
    throw std::invalid_argument(
        "model.merges: empty, but the vocabulary has multi-character tokens (merges were not "
        "read; expected \"a b\" strings or [\"a\", \"b\"] pairs)");
  }
  merges_.reserve(merges.size());
  std::string joined;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto l = vocab_.find(left);
    const auto r = vocab_.find(right);
    joined = left + right;
    const auto m = vocab_.find(joined);
    if (l == vocab_.end() || r == vocab_.end() || m == vocab_.end()) {
      throw std::invalid_argument("model.merges[" + std::to_string(rank) + "]: \"" + left +
                                  "\" + \"" + right + "\" uses a token missing from model.vocab");
    }
    // The first occurrence of a pair wins, as in HF.
    merges_.try_emplace(pair_key(l->second, r->second),
                        Merge{static_cast<int32_t>(rank), m->second});
  }
  const auto& spelling = byte_level::byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    const auto it = vocab_.find(spelling[b]);
    byte_ids_[b] = it == vocab_.end() ? -1 : it->second;
  }
}

const std::string* BpeModel::token(int32_t id) const {
  if (id < 0 || id >= id_limit() || !defined_[id]) return nullptr;
  return &id_to_token_[id];
}

std::optional<int32_t> BpeModel::token_id(std::string_view spelling) const {
  const auto it = vocab_.find(spelling);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::merge_symbols(std::vector<int32_t>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // (rank, left position, left id, right id); stale entries are skipped when popped.
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int pos) {
    const int right = next[pos];
    if (right < 0 || symbols[pos] < 0 || symbols[right] < 0) return;
    const auto it = merges_.find(pair_key(symbols[pos], symbols[right]));
    if (it != merges_.end()) heap.push({it->second.rank, pos, symbols[pos], symbols[right]});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int right = next[c.pos];
    if (symbols[c.pos] != c.left || right < 0 || symbols[right] != c.right) continue;
    symbols[c.pos] = merges_.find(pair_key(c.left, c.right))->second.merged;
    symbols[right] = -2;  // removed
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    if (prev[c.pos] >= 0) consider(prev[c.pos]);
    consider(c.pos);
  }
  symbols.erase(std::remove(symbols.begin(), symbols.end(), -2), symbols.end());
}

void BpeModel::encode_piece(std::string_view raw, std::vector<int32_t>& out) const {
  if (raw.empty()) return;
  const bool cacheable = raw.size() <= kCacheMaxPieceBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(raw);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  bool whole = false;
  if (ignore_merges_) {
    const auto it = vocab_.find(byte_level::encode(raw));
    if (it != vocab_.end()) {
      symbols.push_back(it->second);
      whole = true;
    }
  }
  if (!whole) {
    symbols.reserve(raw.size());
    for (char c : raw) symbols.push_back(byte_ids_[static_cast<uint8_t>(c)]);
    merge_symbols(symbols);
    // A byte missing from the vocabulary becomes unk when there is one, else it is dropped (HF).
    size_t kept = 0;
    for (int32_t id : symbols) {
      if (id >= 0) {
        symbols[kept++] = id;
      } else if (unk_id_) {
        symbols[kept++] = *unk_id_;
      }
    }
    symbols.resize(kept);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::string(raw), std::move(symbols));
  }
}

}  // namespace dpserve::engine
