#include "engine/tokenizer/tokenizer_builder.h"

#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>

namespace dpserve::engine {
namespace {

class BuilderFamily : public ::testing::TestWithParam<const char*> {};

TEST_P(BuilderFamily, LoadsBackAndRoundTrips) {
  for (int vocab : {512, 4000}) {
    const TokenizerFiles files = build_tokenizer(GetParam(), vocab);
    const auto tok = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
    EXPECT_EQ(tok->vocab_size(), vocab);
    EXPECT_GT(tok->merge_count(), 100u);
    for (const std::string& text : std::vector<std::string>{
             "Hello world, the quick brown fox!", "fn main() { println!(\"{}\", 42); }",
             "Größe 東京 😀 12345", std::string("\xff\xfe raw \x80 bytes\0 end", 19)}) {
      const auto ids = tok->encode(text, false);
      EXPECT_EQ(tok->decode(ids, false), text) << GetParam() << " " << vocab;
      EXPECT_LT(ids.size(), text.size() + 1);
    }
    // Common words became single tokens.
    EXPECT_EQ(tok->encode(" the", false).size(), 1u);
    ASSERT_FALSE(files.eos_ids.empty());
    EXPECT_EQ(files.eos_ids.front(), tok->eos_ids().front());
    EXPECT_TRUE(tok->is_special(files.eos_ids.front()));
    EXPECT_TRUE(tok->is_special(files.bos_id));
  }
}

INSTANTIATE_TEST_SUITE_P(Families, BuilderFamily,
                         ::testing::Values("llama", "qwen2", "deepseek_v2", "deepseek_v3"));

TEST(TokenizerBuilder, IsDeterministic) {
  const auto a = build_tokenizer("qwen2", 600);
  const auto b = build_tokenizer("qwen2", 600);
  EXPECT_EQ(a.tokenizer_json, b.tokenizer_json);
  EXPECT_EQ(a.tokenizer_config_json, b.tokenizer_config_json);
}

TEST(TokenizerBuilder, FamilyLayouts) {
  {
    const auto files = build_tokenizer("llama", 8000);
    const auto tok = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
    const auto bot = tok->special_token_id("<|begin_of_text|>");
    ASSERT_TRUE(bot.has_value());
    EXPECT_EQ(files.bos_id, *bot);
    EXPECT_EQ(tok->bos_id(), *bot);
    EXPECT_EQ(files.eos_ids.front(), *tok->special_token_id("<|eot_id|>"));
    EXPECT_TRUE(tok->special_token_id("<|start_header_id|>").has_value());
    EXPECT_TRUE(tok->special_token_id("<|reserved_special_token_3|>").has_value());
    // Llama 3 adds BOS; merges are written as pairs.
    EXPECT_EQ(tok->encode("hi", true).front(), *bot);
    const auto json = nlohmann::json::parse(files.tokenizer_json);
    EXPECT_TRUE(json["model"]["merges"][0].is_array());
    EXPECT_TRUE(json["model"]["ignore_merges"].get<bool>());
    EXPECT_EQ(tok->vocab_size(), 8000);
  }
  {
    const auto files = build_tokenizer("qwen2", 1000);
    const auto tok = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
    EXPECT_EQ(tok->bos_id(), -1);  // Qwen2 adds no BOS
    EXPECT_EQ(files.bos_id, *tok->special_token_id("<|endoftext|>"));
    EXPECT_EQ(files.eos_ids.front(), *tok->special_token_id("<|im_end|>"));
    EXPECT_NE(tok->encode("hi", true).front(), files.bos_id);
    const auto json = nlohmann::json::parse(files.tokenizer_json);
    EXPECT_TRUE(json["model"]["merges"][0].is_string());
    EXPECT_EQ(json["normalizer"]["type"], "NFC");
  }
  {
    const auto files = build_tokenizer("deepseek_v3", 1000);
    const auto tok = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
    EXPECT_EQ(files.bos_id, 0);  // DeepSeek puts BOS/EOS first
    EXPECT_EQ(files.eos_ids, std::vector<int32_t>{1});
    EXPECT_EQ(*tok->special_token_id("<｜begin▁of▁sentence｜>"), 0);
    EXPECT_TRUE(tok->special_token_id("<｜User｜>").has_value());
    EXPECT_EQ(tok->encode("hi", true).front(), 0);
  }
}

TEST(TokenizerBuilder, RejectsBadArguments) {
  EXPECT_THROW(build_tokenizer("gpt5", 1000), std::invalid_argument);
  EXPECT_THROW(build_tokenizer("llama", 200), std::invalid_argument);
  EXPECT_EQ(min_vocab_size("llama"), 256 + 11);
  EXPECT_NO_THROW(build_tokenizer("llama", min_vocab_size("llama")));
}

}  // namespace
}  // namespace dpserve::engine
