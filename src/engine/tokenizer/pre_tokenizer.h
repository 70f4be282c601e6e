// HF pre-tokenizers for byte-level BPE: Sequence, Split (regex or literal, all five delimiter
// behaviours, invert), ByteLevel (with its GPT-2 regex when use_regex) and Digits. Pieces are byte
// ranges of the input; the byte-to-alphabet mapping itself happens in the BPE model.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dpserve::engine {

class Regex;

// GPT-2's pattern, which ByteLevel applies when use_regex is true.
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

class PreTokenizer {
 public:
  // Builds from the "pre_tokenizer" value of tokenizer.json (null = the whole text is one piece).
  // Throws std::invalid_argument naming the unsupported type or malformed field.
  static std::unique_ptr<PreTokenizer> from_json(const nlohmann::json& config);
  ~PreTokenizer();

  // Splits text into non-empty pieces (offsets into text).
  void split(std::string_view text, std::vector<Span>& pieces) const;

  // True when a ByteLevel step is present (the model then works in GPT-2's byte alphabet).
  bool byte_level() const { return byte_level_; }
  // ByteLevel's add_prefix_space: the caller prepends ' ' to text that does not start with one.
  bool add_prefix_space() const { return add_prefix_space_; }

 private:
  struct Step {
    std::unique_ptr<Regex> regex;
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  PreTokenizer();
  void add_step(const nlohmann::json& config, bool first, int depth);

  std::vector<Step> steps_;
  bool byte_level_ = false;
  bool add_prefix_space_ = false;
};

}  // namespace dpserve::engine
