#include "bench/text_source.h"

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

#include <array>
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
  if (!tokenizer_dir.empty()) tokenizer_ = engine::Tokenizer::load(tokenizer_dir);
}

TextSource::~TextSource() = default;

std::string TextSource::make(int tokens, std::mt19937_64& rng) const {
  std::string out;
  if (tokens <= 0) return out;
  if (tokenizer_) {
    std::uniform_int_distribution<int32_t> pick(0, tokenizer_->vocab_size() - 1);
    std::vector<int32_t> ids;
    ids.reserve(static_cast<size_t>(tokens));
    while (ids.size() < static_cast<size_t>(tokens)) {
      int32_t id = pick(rng);
      if (!tokenizer_->is_special(id)) ids.push_back(id);
    }
    // Random ids cut multi-byte characters apart. Like Python's str decode in SGLang's recipe,
    // replace what is left invalid: a JSON body must be valid UTF-8.
    return engine::utf8::to_valid_lossy(tokenizer_->decode(ids, true));
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
