#include "engine/tokenizer/pre_tokenizer.h"

#include "engine/tokenizer/regex.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace dpserve::engine {
namespace {

constexpr int kMaxNesting = 8;  // real files nest one Sequence; bounds recursion on hostile input

SplitBehavior parse_behavior(const nlohmann::json& value) {
  const std::string name = value.is_string() ? value.get<std::string>() : "";
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw std::invalid_argument("pre_tokenizer.behavior: unknown value " + value.dump());
}

bool flag(const nlohmann::json& config, const char* key, bool fallback) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) {
    throw std::invalid_argument(std::string("pre_tokenizer.") + key + ": expected a boolean");
  }
  return it->get<bool>();
}

// Applies one split step to a piece, appending the resulting pieces.
void apply(const Regex& regex, SplitBehavior behavior, bool invert, std::string_view text,
           Span piece, std::vector<Span>& matches, std::vector<Span>& out) {
  matches.clear();
  regex.find_all(text.substr(piece.first, piece.second - piece.first), matches);
  // Segments covering the piece, each flagged as delimiter (a match, unless inverted) or not.
  struct Segment {
    size_t begin, end;
    bool delimiter;
  };
  std::vector<Segment> segments;
  size_t cursor = piece.first;
  for (const auto& [b, e] : matches) {
    const size_t begin = piece.first + b;
    const size_t end = piece.first + e;
    if (begin > cursor) segments.push_back({cursor, begin, invert});
    segments.push_back({begin, end, !invert});
    cursor = end;
  }
  if (cursor < piece.second) segments.push_back({cursor, piece.second, invert});

  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& s : segments) out.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& s : segments) {
        if (!s.delimiter) out.emplace_back(s.begin, s.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_open = false;  // last emitted piece is a non-delimiter that may take a match
      for (const auto& s : segments) {
        if (s.delimiter && previous_open) {
          out.back().second = s.end;
          previous_open = false;
        } else {
          out.emplace_back(s.begin, s.end);
          previous_open = !s.delimiter;
        }
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool pending = false;  // last emitted piece is a delimiter waiting for the next segment
      for (const auto& s : segments) {
        if (pending && !s.delimiter) {
          out.back().second = s.end;
          pending = false;
        } else {
          out.emplace_back(s.begin, s.end);
          pending = s.delimiter;
        }
      }
      break;
    }
    case SplitBehavior::kContiguous: {
      bool previous_delimiter = false;
      for (const auto& s : segments) {
        if (s.delimiter && previous_delimiter) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.begin, s.end);
        }
        previous_delimiter = s.delimiter;
      }
      break;
    }
  }
}

}  // namespace

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;

std::unique_ptr<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& config) {
  std::unique_ptr<PreTokenizer> result(new PreTokenizer);
  if (config.is_null()) return result;
  result->add_step(config, true, 0);
  return result;
}

void PreTokenizer::add_step(const nlohmann::json& config, bool first, int depth) {
  if (depth > kMaxNesting) throw std::invalid_argument("pre_tokenizer: nested too deeply");
  if (!config.is_object() || !config.contains("type") || !config["type"].is_string()) {
    throw std::invalid_argument("pre_tokenizer: expected an object with a string \"type\"");
  }
  const std::string type = config["type"].get<std::string>();
  if (type == "Sequence") {
    const auto it = config.find("pretokenizers");
    if (it == config.end() || !it->is_array()) {
      throw std::invalid_argument("pre_tokenizer.pretokenizers: expected an array");
    }
    for (const auto& sub : *it) add_step(sub, first && steps_.empty(), depth + 1);
    return;
  }
  if (type == "Split") {
    const auto it = config.find("pattern");
    if (it == config.end() || !it->is_object()) {
      throw std::invalid_argument(
          "pre_tokenizer.pattern: expected {\"Regex\": ...} or {\"String\": ...}");
    }
    Step step;
    if (it->contains("Regex") && (*it)["Regex"].is_string()) {
      step.regex = std::make_unique<Regex>((*it)["Regex"].get<std::string>());
    } else if (it->contains("String") && (*it)["String"].is_string()) {
      step.regex = std::make_unique<Regex>((*it)["String"].get<std::string>(), true);
    } else {
      throw std::invalid_argument(
          "pre_tokenizer.pattern: expected {\"Regex\": ...} or {\"String\": ...}");
    }
    step.behavior = parse_behavior(config.value("behavior", nlohmann::json("Isolated")));
    step.invert = flag(config, "invert", false);
    steps_.push_back(std::move(step));
    return;
  }
  if (type == "ByteLevel") {
    if (byte_level_) throw std::invalid_argument("pre_tokenizer: ByteLevel appears twice");
    byte_level_ = true;
    add_prefix_space_ = flag(config, "add_prefix_space", true);
    // The prefix space is added once to the whole input; HF adds it per piece, which differs
    // only when ByteLevel follows another splitting step, so that layout is refused.
    if (add_prefix_space_ && !first) {
      throw std::invalid_argument(
          "pre_tokenizer: ByteLevel with add_prefix_space after another step is not supported");
    }
    if (flag(config, "use_regex", true)) {
      Step step;
      step.regex = std::make_unique<Regex>(kGpt2Pattern);
      steps_.push_back(std::move(step));
    }
    return;
  }
  if (type == "Digits") {
    Step step;
    step.regex = std::make_unique<Regex>(flag(config, "individual_digits", false) ? R"(\p{N})"
                                                                                  : R"(\p{N}+)");
    steps_.push_back(std::move(step));
    return;
  }
  throw std::invalid_argument("pre_tokenizer: unsupported type \"" + type +
                              "\" (supported: Sequence, Split, ByteLevel, Digits)");
}

void PreTokenizer::split(std::string_view text, std::vector<Span>& pieces) const {
  pieces.clear();
  if (text.empty()) return;
  pieces.emplace_back(0, text.size());
  std::vector<Span> next;
  std::vector<Span> matches;
  for (const Step& step : steps_) {
    next.clear();
    for (const Span& piece : pieces) {
      apply(*step.regex, step.behavior, step.invert, text, piece, matches, next);
    }
    pieces.swap(next);
  }
}

}  // namespace dpserve::engine
