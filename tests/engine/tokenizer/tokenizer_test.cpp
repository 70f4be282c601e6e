#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/byte_level.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace dpserve::engine {
namespace {

using nlohmann::json;

const std::filesystem::path kDataDir =
    std::filesystem::path(DPSERVE_SOURCE_DIR) / "tests/data/tokenizer";

// A small GPT-2 style tokenizer: the 256 byte characters plus a few merges.
json minimal_tokenizer(bool pair_merges) {
  json vocab = json::object();
  const auto& spelling = byte_level::byte_to_unicode();
  int id = 0;
  for (uint8_t b : byte_level::alphabet_order()) vocab[spelling[b]] = id++;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}};
  json merge_list = json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    merge_list.push_back(pair_merges ? json::array({a, b}) : json(a + " " + b));
  }
  return {
      {"added_tokens", json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}}};
}

std::unique_ptr<Tokenizer> make(const json& tok, const json& cfg = json::object()) {
  return Tokenizer::from_json(tok.dump(), cfg.dump());
}

std::string load_error(const json& tok, const json& cfg = json::object()) {
  try {
    make(tok, cfg);
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Tokenizer, MergesInBothSpellingsEncodeIdentically) {
  const auto strings = make(minimal_tokenizer(false));
  const auto pairs = make(minimal_tokenizer(true));
  EXPECT_EQ(strings->merge_count(), 5u);
  EXPECT_EQ(pairs->merge_count(), 5u);
  const auto ids = strings->encode("hello world", false);
  EXPECT_EQ(ids, pairs->encode("hello world", false));
  EXPECT_EQ(ids.front(), *strings->token_to_id("hello"));
  EXPECT_EQ(ids[1], *strings->token_to_id("Ġw"));
}

TEST(Tokenizer, MergeRankDecidesNotLength) {
  // "ab"+"c" ranks above "a"+"bc": from "abc" the first applicable merge by rank wins.
  json tok = minimal_tokenizer(true);
  json& m = tok["model"];
  int next = 300;
  for (const char* t : {"ab", "bc", "abc"}) m["vocab"][t] = next++;
  m["merges"] =
      json::array({json::array({"b", "c"}), json::array({"a", "b"}), json::array({"a", "bc"})});
  const auto t = make(tok);
  EXPECT_EQ(t->encode("abc", false), std::vector<int32_t>{302});
  m["merges"] = json::array({json::array({"a", "b"}), json::array({"b", "c"})});
  EXPECT_EQ(make(tok)->encode("abc", false), (std::vector<int32_t>{300, *t->token_to_id("c")}));
}

TEST(Tokenizer, IgnoreMergesTakesWholeVocabPieces) {
  json tok = minimal_tokenizer(true);
  tok["model"]["vocab"]["xyz"] = 400;
  EXPECT_EQ(make(tok)->encode("xyz", false).size(), 3u);
  tok["model"]["ignore_merges"] = true;
  EXPECT_EQ(make(tok)->encode("xyz", false), std::vector<int32_t>{400});
}

TEST(Tokenizer, AddedTokensAndParseSpecial) {
  json tok = minimal_tokenizer(false);
  tok["added_tokens"] = json::array({{{"id", 261}, {"content", "<|x|>"}, {"special", true}},
                                     {{"id", 262}, {"content", "<|xy|>"}, {"special", true}},
                                     {{"id", 263}, {"content", "TOOL"}, {"special", false}}});
  const auto t = make(tok, {{"eos_token", "<|x|>"}});
  // Longest match at the leftmost position.
  EXPECT_EQ(t->encode("<|xy|>", false), std::vector<int32_t>{262});
  const auto ids = t->encode("a<|x|>bTOOL", false);
  EXPECT_EQ(ids, (std::vector<int32_t>{*t->token_to_id("a"), 261, *t->token_to_id("b"), 263}));
  // User text: special tokens are plain text, non-special added tokens still match.
  const auto plain = t->encode("a<|x|>bTOOL", false, false);
  EXPECT_EQ(plain.back(), 263);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 261), 0);
  EXPECT_EQ(t->decode(plain, false), "a<|x|>bTOOL");
  EXPECT_EQ(t->decode(ids, true), "abTOOL");
  EXPECT_EQ(t->eos_ids(), std::vector<int32_t>{261});
  EXPECT_EQ(t->bos_id(), -1);
  EXPECT_EQ(t->vocab_size(), 264);
  EXPECT_TRUE(t->is_special(261));
  EXPECT_FALSE(t->is_special(263));
  EXPECT_EQ(t->special_token_id("<|xy|>"), 262);
  EXPECT_FALSE(t->special_token_id("TOOL").has_value());
  EXPECT_EQ(t->id_to_token(262), "<|xy|>");
  EXPECT_FALSE(t->id_to_token(9999).has_value());
  EXPECT_EQ(t->token_to_piece(-1), "");
  EXPECT_EQ(t->decode(std::vector<int32_t>{-5, 100000}, false), "");
}

TEST(Tokenizer, LoadsFixtureDirectoriesWithGenerationConfig) {
  const auto t = Tokenizer::load((kDataDir / "llama3_style").string());
  EXPECT_EQ(t->bos_token(), "<|begin_of_text|>");
  EXPECT_EQ(t->encode("Hello", true).front(), t->bos_id());
  const auto dir = std::filesystem::temp_directory_path() / "dpserve_tok_gen_config";
  std::filesystem::create_directories(dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    std::filesystem::copy_file(kDataDir / "llama3_style" / f, dir / f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": [291, 294]})";
  const auto g = Tokenizer::load(dir.string());
  EXPECT_EQ(g->eos_ids(), (std::vector<int32_t>{*g->token_to_id("<|eot_id|>"), 291}));
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": 99999})";
  EXPECT_THROW(Tokenizer::load(dir.string()), TokenizerError);
  std::filesystem::remove_all(dir);
}

TEST(Tokenizer, ErrorsNameFileAndField) {
  EXPECT_THROW(Tokenizer::load("/nonexistent/dir"), TokenizerError);
  try {
    Tokenizer::load("/nonexistent/dir");
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos);
  }
  EXPECT_NE(load_error(json::array()).find("tokenizer.json: (root)"), std::string::npos);
  EXPECT_NE(std::string([] {
              try {
                Tokenizer::from_json("{nope", "{}");
              } catch (const TokenizerError& e) {
                return std::string(e.what());
              }
              return std::string();
            }())
                .find("malformed JSON"),
            std::string::npos);

  json tok = minimal_tokenizer(false);
  tok["model"]["merges"] = json::array();
  EXPECT_NE(load_error(tok).find("model.merges: empty"), std::string::npos);
  tok["model"]["merges"] = json::array({"h e", "he"});
  EXPECT_NE(load_error(tok).find("model.merges[1]"), std::string::npos);
  tok["model"]["merges"] = json::array({"q z"});
  EXPECT_NE(load_error(tok).find("missing from model.vocab"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["model"]["type"] = "WordPiece";
  EXPECT_NE(load_error(tok).find("model.type"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["model"]["byte_fallback"] = true;
  EXPECT_NE(load_error(tok).find("byte_fallback"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["model"].erase("vocab");
  EXPECT_NE(load_error(tok).find("model.vocab"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(load_error(tok).find("Metaspace"), std::string::npos);
  tok["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}};
  EXPECT_NE(load_error(tok).find("regex error"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_NE(load_error(tok).find("normalizer"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["decoder"] = {{"type", "Metaspace"}};
  EXPECT_NE(load_error(tok).find("decoder"), std::string::npos);
  tok = minimal_tokenizer(false);
  tok["added_tokens"] = json::array({{{"id", 999}, {"content", "<x>"}}});
  EXPECT_NE(load_error(tok).find("would assign 261"), std::string::npos);
  tok = minimal_tokenizer(false);
  EXPECT_NE(load_error(tok, {{"bos_token", "<nope>"}}).find("tokenizer_config.json: bos_token"),
            std::string::npos);
  EXPECT_NE(load_error(tok, {{"chat_template", 5}}).find("chat_template"), std::string::npos);
}

TEST(Tokenizer, NfcNormalizerAndPrefixSpace) {
  json tok = minimal_tokenizer(false);
  tok["normalizer"] = {{"type", "NFC"}};
  const auto t = make(tok);
  EXPECT_EQ(t->decode(t->encode("e\u0301", false), false), "\u00e9");
  tok["normalizer"] = nullptr;
  tok["pre_tokenizer"]["add_prefix_space"] = true;
  const auto p = make(tok);
  EXPECT_EQ(p->decode(p->encode("hello", false), false), " hello");
  EXPECT_EQ(p->decode(p->encode(" hello", false), false), " hello");
}

TEST(Tokenizer, ChatTemplateSourceFromNamedList) {
  const json cfg = {{"chat_template", json::array({{{"name", "tool_use"}, {"template", "T"}},
                                                   {{"name", "default"}, {"template", "D"}}})}};
  EXPECT_EQ(make(minimal_tokenizer(false), cfg)->chat_template_source(), "D");
}

}  // namespace
}  // namespace dpserve::engine
