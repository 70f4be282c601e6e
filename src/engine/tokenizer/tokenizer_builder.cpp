#include "engine/tokenizer/tokenizer_builder.h"

#include "engine/tokenizer/bpe_trainer.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/training_corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <stdexcept>

namespace dpserve::engine {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kDeepseekV3Pattern =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

enum class Family { kLlama, kQwen2, kDeepseekV2, kDeepseekV3 };

struct Layout {
  Family family;
  Json normalizer;
  Json pre_tokenizer;
  // DeepSeek puts BOS/EOS/PAD at ids 0..2 and lists its special tokens in model.vocab as well:
  // HF ignores an added token's declared id unless the model vocab has the token, numbering it
  // after the model vocab instead, so out-of-order ids must be in both places.
  bool specials_first = false;
  bool pair_merges = false;  // ["a","b"] (tokenizers >= 0.20) instead of "a b"
  bool ignore_merges = false;
  std::vector<std::string> fixed_specials;  // in id order
  std::vector<std::string> late_specials;   // after the merges (DeepSeek-V3 chat markers)
  std::string bos, eos, pad;                // tokenizer_config.json names; bos may be ""
  std::string config_bos;                   // config.json bos_token_id
  std::vector<std::string> eos_list;
  std::string filler_prefix, filler_suffix;
  int filler_start = 0;
  bool add_bos = false;
  ChatTemplate::Kind chat = ChatTemplate::Kind::kChatml;
};

Json split(std::string_view pattern) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", pattern}}},
          {"behavior", "Isolated"},
          {"invert", false}};
}

Json byte_level_step() {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", false}};
}

Layout layout_for(std::string_view family) {
  Layout l;
  if (family == "llama" || family == "llama3") {
    l.family = Family::kLlama;
    l.pre_tokenizer = {{"type", "Sequence"},
                       {"pretokenizers", Json::array({split(kLlama3Pattern), byte_level_step()})}};
    l.pair_merges = true;
    l.ignore_merges = true;
    l.fixed_specials = {"<|begin_of_text|>",
                        "<|end_of_text|>",
                        "<|reserved_special_token_0|>",
                        "<|reserved_special_token_1|>",
                        "<|finetune_right_pad_id|>",
                        "<|reserved_special_token_2|>",
                        "<|start_header_id|>",
                        "<|end_header_id|>",
                        "<|eom_id|>",
                        "<|eot_id|>",
                        "<|python_tag|>"};
    l.bos = l.config_bos = "<|begin_of_text|>";
    l.eos = "<|eot_id|>";
    l.pad = "<|finetune_right_pad_id|>";
    l.eos_list = {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"};
    l.filler_prefix = "<|reserved_special_token_";
    l.filler_suffix = "|>";
    l.filler_start = 3;
    l.add_bos = true;
    l.chat = ChatTemplate::Kind::kLlama3;
  } else if (family == "qwen2") {
    l.family = Family::kQwen2;
    l.normalizer = {{"type", "NFC"}};
    l.pre_tokenizer = {{"type", "Sequence"},
                       {"pretokenizers", Json::array({split(kQwen2Pattern), byte_level_step()})}};
    l.fixed_specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    l.eos = "<|im_end|>";
    l.pad = "<|endoftext|>";
    l.config_bos = "<|endoftext|>";
    l.eos_list = {"<|im_end|>", "<|endoftext|>"};
    l.filler_prefix = "<|extra_";
    l.filler_suffix = "|>";
    l.chat = ChatTemplate::Kind::kQwen2;
  } else if (family == "deepseek_v2" || family == "deepseek_v3") {
    const bool v3 = family == "deepseek_v3";
    l.family = v3 ? Family::kDeepseekV3 : Family::kDeepseekV2;
    if (v3) {
      l.pre_tokenizer = {
          {"type", "Sequence"},
          {"pretokenizers", Json::array({split(R"(\p{N}{1,3})"), split("[一-龥\u3040-ゟ゠-ヿ]+"),
                                         split(kDeepseekV3Pattern), byte_level_step()})}};
      l.late_specials = {"<｜User｜>", "<｜Assistant｜>"};
      l.chat = ChatTemplate::Kind::kDeepseekV3;
    } else {
      // DeepSeek-V2 layout: newlines, letters, punctuation and CJK runs split apart, then every
      // digit on its own.
      l.pre_tokenizer = {
          {"type", "Sequence"},
          {"pretokenizers",
           Json::array({split(R"([\r\n])"), split(R"(\s?\p{L}+)"), split(R"(\s?[\p{P}\p{S}]+)"),
                        split(R"(\s+$)"), split("[一-龥ࠀ-一가-퟿]+"),
                        Json{{"type", "Digits"}, {"individual_digits", true}},
                        byte_level_step()})}};
      l.chat = ChatTemplate::Kind::kDeepseekV2;
    }
    l.specials_first = true;
    l.fixed_specials = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"};
    l.bos = l.config_bos = "<｜begin▁of▁sentence｜>";
    l.eos = "<｜end▁of▁sentence｜>";
    l.pad = "<｜▁pad▁｜>";
    l.eos_list = {"<｜end▁of▁sentence｜>"};
    l.filler_prefix = "<｜place▁holder▁no▁";
    l.filler_suffix = "｜>";
    l.add_bos = true;
  } else {
    throw std::invalid_argument("tokenizer builder: unknown family \"" + std::string(family) +
                                "\" (llama, qwen2, deepseek_v2, deepseek_v3)");
  }
  return l;
}

std::string quote(std::string_view s) { return nlohmann::json(s).dump(); }

}  // namespace

int min_vocab_size(std::string_view family) {
  const Layout l = layout_for(family);
  return 256 + static_cast<int>(l.fixed_specials.size() + l.late_specials.size());
}

TokenizerFiles build_tokenizer(std::string_view family, int vocab_size) {
  const Layout l = layout_for(family);
  const int minimum = min_vocab_size(family);
  if (vocab_size < minimum || vocab_size > (1 << 20)) {
    throw std::invalid_argument("tokenizer builder: vocab_size " + std::to_string(vocab_size) +
                                " outside [" + std::to_string(minimum) + ", 1048576] for " +
                                std::string(family));
  }

  // Learn merges on the corpus as the family's own pre-tokenizer splits it.
  const auto pre = PreTokenizer::from_json(nlohmann::json::parse(l.pre_tokenizer.dump()));
  const std::string_view corpus = training_corpus();
  std::vector<Span> pieces;
  pre->split(corpus, pieces);
  std::map<std::string, int64_t> words;
  for (const auto& [b, e] : pieces) ++words[std::string(corpus.substr(b, e - b))];
  const BpeTrainingResult trained = train_bpe(words, vocab_size - minimum, 2);

  // Ids: [fixed specials] bytes merges [fixed specials] [late specials] fillers.
  std::vector<std::pair<std::string, int32_t>> vocab;  // model tokens in id order
  std::vector<std::pair<std::string, int32_t>> added;  // special tokens in id order
  int32_t next = 0;
  std::map<std::string, int32_t> special_ids;
  auto add_special = [&](const std::string& content) {
    special_ids[content] = next;
    added.emplace_back(content, next++);
  };
  if (l.specials_first) {
    for (const auto& s : l.fixed_specials) add_special(s);
  }
  const auto& spelling = byte_level::byte_to_unicode();
  for (uint8_t b : byte_level::alphabet_order()) vocab.emplace_back(spelling[b], next++);
  for (const auto& token : trained.new_tokens) vocab.emplace_back(token, next++);
  if (!l.specials_first) {
    for (const auto& s : l.fixed_specials) add_special(s);
  }
  for (const auto& s : l.late_specials) add_special(s);
  const int fillers = vocab_size - next;
  for (int n = 0; n < fillers; ++n) {
    add_special(l.filler_prefix + std::to_string(l.filler_start + n) + l.filler_suffix);
  }

  Json post_processor;
  if (l.add_bos) {
    const int32_t bos = special_ids.at(l.bos);
    post_processor = {
        {"type", "TemplateProcessing"},
        {"single", Json::array({{{"SpecialToken", {{"id", l.bos}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", Json::array({{{"SpecialToken", {{"id", l.bos}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", l.bos}, {"type_id", 1}}}},
                              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
        {"special_tokens",
         {{l.bos,
           {{"id", l.bos}, {"ids", Json::array({bos})}, {"tokens", Json::array({l.bos})}}}}}};
  } else {
    post_processor = {{"type", "ByteLevel"},
                      {"add_prefix_space", false},
                      {"trim_offsets", false},
                      {"use_regex", false}};
  }
  const Json decoder = {{"type", "ByteLevel"},
                        {"add_prefix_space", true},
                        {"trim_offsets", true},
                        {"use_regex", true}};

  // Written by hand, one entry per line: a DOM of tens of thousands of reserved tokens is slow to
  // build, and line-per-entry files diff well.
  std::string tok = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  tok += "  \"added_tokens\": [";
  for (size_t i = 0; i < added.size(); ++i) {
    tok += i == 0 ? "\n" : ",\n";
    tok += "    {\"id\": " + std::to_string(added[i].second) +
           ", \"content\": " + quote(added[i].first) +
           ", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": "
           "false, \"special\": true}";
  }
  tok += "\n  ],\n  \"normalizer\": " + l.normalizer.dump() + ",\n";
  tok += "  \"pre_tokenizer\": " + l.pre_tokenizer.dump() + ",\n";
  tok += "  \"post_processor\": " + post_processor.dump() + ",\n";
  tok += "  \"decoder\": " + decoder.dump() + ",\n";
  tok +=
      "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n";
  tok += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n";
  tok += "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n";
  tok += std::string("    \"ignore_merges\": ") + (l.ignore_merges ? "true" : "false") + ",\n";
  if (l.specials_first) {
    vocab.insert(vocab.end(), added.begin(), added.end());
    std::sort(vocab.begin(), vocab.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
  }
  tok += "    \"vocab\": {";
  for (size_t i = 0; i < vocab.size(); ++i) {
    tok += i == 0 ? "\n" : ",\n";
    tok += "      " + quote(vocab[i].first) + ": " + std::to_string(vocab[i].second);
  }
  tok += "\n    },\n    \"merges\": [";
  for (size_t i = 0; i < trained.merges.size(); ++i) {
    const auto& [left, right] = trained.merges[i];
    tok += i == 0 ? "\n" : ",\n";
    tok += "      " + (l.pair_merges ? "[" + quote(left) + ", " + quote(right) + "]"
                                     : quote(left + " " + right));
  }
  tok += "\n    ]\n  }\n}\n";

  std::string cfg = "{\n";
  cfg += std::string("  \"add_bos_token\": ") + (l.add_bos ? "true" : "false") + ",\n";
  cfg += "  \"add_eos_token\": false,\n  \"added_tokens_decoder\": {";
  for (size_t i = 0; i < added.size(); ++i) {
    cfg += i == 0 ? "\n" : ",\n";
    cfg += "    \"" + std::to_string(added[i].second) +
           "\": {\"content\": " + quote(added[i].first) +
           ", \"lstrip\": false, \"normalized\": false, \"rstrip\": false, \"single_word\": "
           "false, \"special\": true}";
  }
  cfg += "\n  },\n";
  cfg += "  \"bos_token\": " + (l.bos.empty() ? std::string("null") : quote(l.bos)) + ",\n";
  std::string_view jinja;
  for (const auto name : ChatTemplate::names()) {
    const auto t = ChatTemplate::by_name(name);
    if (t->kind() == l.chat) jinja = t->jinja();
  }
  cfg += "  \"chat_template\": " + quote(jinja) + ",\n";
  cfg += "  \"clean_up_tokenization_spaces\": false,\n";
  cfg += "  \"eos_token\": " + quote(l.eos) + ",\n";
  cfg += "  \"model_max_length\": 131072,\n";
  cfg += "  \"pad_token\": " + quote(l.pad) + ",\n";
  cfg += "  \"tokenizer_class\": \"PreTrainedTokenizerFast\"\n}\n";

  TokenizerFiles files;
  files.tokenizer_json = std::move(tok);
  files.tokenizer_config_json = std::move(cfg);
  files.bos_id = special_ids.at(l.config_bos);
  for (const auto& e : l.eos_list) files.eos_ids.push_back(special_ids.at(e));
  return files;
}

}  // namespace dpserve::engine
