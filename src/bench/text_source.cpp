#include "bench/text_source.h"

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <vector>

namespace dpserve::bench {

namespace {

// Common short English words: most are one token in any BPE vocabulary trained on English.
constexpr std::array<std::string_view, 96> kWords = {
    "the",   "of",    "and",   "to",     "in",   "is",   "you",   "that",   "it",    "he",
    "was",   "for",   "on",    "are",    "as",   "with", "his",   "they",   "at",    "be",
    "this",  "have",  "from",  "or",     "one",  "had",  "by",    "word",   "but",   "not",
    "what",  "all",   "were",  "we",     "when", "your", "can",   "said",   "there", "use",
    "an",    "each",  "which", "she",    "do",   "how",  "their", "if",     "will",  "up",
    "other", "about", "out",   "many",   "then", "them", "these", "so",     "some",  "her",
    "would", "make",  "like",  "him",    "into", "time", "has",   "look",   "two",   "more",
    "write", "go",    "see",   "number", "no",   "way",  "could", "people", "my",    "than",
    "first", "water", "been",  "call",   "who",  "oil",  "its",   "now",    "find",  "long",
    "down",  "day",   "did",   "get",    "come", "made"};

}  // namespace

TextSource::TextSource(const std::string& tokenizer_dir) {
  if (tokenizer_dir.empty()) return;
  tokenizer_ = engine::Tokenizer::load(tokenizer_dir);
  // Only ids that decode to whole characters on their own: a byte-level vocabulary also holds
  // pieces of multi-byte characters, which turn into U+FFFD (several tokens each) when cut apart,
  // and prompts came out ~1.6x longer than asked with a 512-token vocabulary.
  for (int32_t id = 0; id < tokenizer_->vocab_size(); ++id) {
    if (tokenizer_->is_special(id)) continue;
    std::vector<int32_t> one = {id};
    std::string piece = tokenizer_->decode(one, true);
    if (!piece.empty() && engine::utf8::is_valid(piece)) whole_ids_.push_back(id);
  }
  if (whole_ids_.empty()) throw std::runtime_error("no token decodes to whole characters");
}

TextSource::~TextSource() = default;

std::string TextSource::make(int tokens, std::mt19937_64& rng) const {
  std::string out;
  if (tokens <= 0) return out;
  if (tokenizer_) {
    // SGLang's recipe: random ids, decoded. Re-encoding merges or splits across id boundaries, so
    // top up or trim the ids until the text has the asked length (or close to it after a few
    // rounds).
    std::uniform_int_distribution<size_t> pick(0, whole_ids_.size() - 1);
    std::vector<int32_t> ids;
    while (ids.size() < static_cast<size_t>(tokens)) ids.push_back(whole_ids_[pick(rng)]);
    for (int round = 0; round < 16; ++round) {
      out = engine::utf8::to_valid_lossy(tokenizer_->decode(ids, true));
      const int have = count(out);
      if (have == tokens) break;
      if (have < tokens) {
        for (int i = have; i < tokens; ++i) ids.push_back(whole_ids_[pick(rng)]);
      } else {
        const auto drop = std::min<size_t>(static_cast<size_t>(have - tokens), ids.size() - 1);
        ids.resize(ids.size() - drop);
      }
    }
    return out;
  }
  std::uniform_int_distribution<size_t> pick(0, kWords.size() - 1);
  for (int i = 0; i < tokens; ++i) {
    if (i > 0) out += ' ';
    out += kWords[pick(rng)];
  }
  return out;
}

int TextSource::count(std::string_view text) const {
  if (tokenizer_) return static_cast<int>(tokenizer_->encode(text, false, false).size());
  int words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace dpserve::bench
