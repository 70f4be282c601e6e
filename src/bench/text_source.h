// Deterministic prompt text of a requested token length. With a model's tokenizer it samples token
// ids uniformly from the vocabulary and decodes them (SGLang's generated-shared-prefix recipe);
// without one it draws words from a fixed list, about one token per word.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {
class Tokenizer;
}

namespace dpserve::bench {

class TextSource {
 public:
  // `tokenizer_dir` empty: words. Throws std::runtime_error when the tokenizer cannot be loaded.
  explicit TextSource(const std::string& tokenizer_dir);
  ~TextSource();
  TextSource(const TextSource&) = delete;
  TextSource& operator=(const TextSource&) = delete;

  std::string make(int tokens, std::mt19937_64& rng) const;
  // Tokens of `text` (exact with a tokenizer, words otherwise).
  int count(std::string_view text) const;
  bool exact() const { return tokenizer_ != nullptr; }

 private:
  std::unique_ptr<engine::Tokenizer> tokenizer_;
  std::vector<int32_t> whole_ids_;  // ids that decode to whole characters on their own
};

}  // namespace dpserve::bench
