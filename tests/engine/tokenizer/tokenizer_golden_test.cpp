// Checks the tokenizer against outputs recorded from Hugging Face `tokenizers` / `transformers`
// (tests/data/tokenizer/golden.json, written by make_golden.py) for every fixture: encodings with
// and without special tokens, pre-tokenizer splits, decodes and chat-template renderings.
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace dpserve::engine {
namespace {

const std::filesystem::path kDataDir =
    std::filesystem::path(DPSERVE_SOURCE_DIR) / "tests/data/tokenizer";

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

const nlohmann::json& golden() {
  static const nlohmann::json g = read_json(kDataDir / "golden.json");
  return g;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesHuggingFace) {
  const std::string& name = GetParam();
  const nlohmann::json& expected = golden()["fixtures"][name];
  const nlohmann::json& texts = golden()["texts"];
  const auto tok = Tokenizer::load((kDataDir / name).string());
  const auto pre = PreTokenizer::from_json(
      read_json(kDataDir / name / "tokenizer.json").value("pre_tokenizer", nlohmann::json()));
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = texts[i].get<std::string>();
    SCOPED_TRACE(name + " text #" + std::to_string(i) + ": " + text);
    const auto ids = tok->encode(text, false);
    EXPECT_EQ(ids, expected["encode"][i].get<std::vector<int32_t>>());
    EXPECT_EQ(tok->encode(text, true), expected["encode_special"][i].get<std::vector<int32_t>>());
    EXPECT_EQ(tok->decode(ids, false), expected["decode"][i].get<std::string>());

    // The tokenizer adds ByteLevel's prefix space before splitting; HF does it inside the step.
    const std::string input =
        pre->add_prefix_space() && !text.empty() && text[0] != ' ' ? " " + text : text;
    std::vector<Span> spans;
    pre->split(input, spans);
    std::vector<std::string> pieces;
    for (const auto& [b, e] : spans) pieces.push_back(byte_level::encode(input.substr(b, e - b)));
    EXPECT_EQ(pieces, expected["pre_tokenize"][i].get<std::vector<std::string>>());
  }
  if (!expected.contains("chat")) return;
  const auto chat = ChatTemplate::detect(tok->chat_template_source(), "");
  ASSERT_TRUE(chat.has_value());
  for (const auto& c : expected["chat"]) {
    std::vector<ChatMessage> messages;
    for (const auto& m : c["messages"]) {
      std::string error;
      messages.push_back(*chat_message_from_json(m, &error));
    }
    EXPECT_EQ(chat->render(messages, c["add_generation_prompt"].get<bool>(), tok->bos_token(),
                           tok->eos_token()),
              c["text"].get<std::string>())
        << name << " " << c["messages"].dump();
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden,
                         ::testing::Values("gpt2_style", "gpt2_prefix", "llama3_style",
                                           "built_llama", "built_qwen2", "built_deepseek_v2",
                                           "built_deepseek_v3"));

TEST(Golden, CoversEveryFixture) {
  size_t dirs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDataDir)) {
    if (std::filesystem::exists(entry.path() / "tokenizer.json")) ++dirs;
  }
  EXPECT_EQ(golden()["fixtures"].size(), dirs);
  EXPECT_EQ(dirs, 7u);
}

}  // namespace
}  // namespace dpserve::engine
