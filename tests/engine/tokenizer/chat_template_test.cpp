#include "engine/tokenizer/chat_template.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dpserve::engine {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "  Hi!\n"}, {"assistant", "Hello."}, {"user", "2+2?"}};

std::string render(std::string_view name, const std::vector<ChatMessage>& messages, bool gen,
                   std::string_view bos = "", std::string_view eos = "") {
  return ChatTemplate::by_name(name)->render(messages, gen, bos, eos);
}

TEST(ChatTemplate, Llama3) {
  EXPECT_EQ(render("llama3", kConversation, true, "<|begin_of_text|>", "<|eot_id|>"),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  // Jinja's trim strips Unicode whitespace (NBSP, ideographic space) too.
  EXPECT_EQ(render("llama3", {{"user", "\u00a0x\u3000"}}, false, "<s>"),
            "<s><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
}

TEST(ChatTemplate, Qwen2AddsDefaultSystemPromptOnlyWithoutOne) {
  EXPECT_EQ(render("qwen2", {{"user", "Hi"}}, true),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render("qwen2", {{"system", "S"}, {"user", "Hi"}}, false),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  EXPECT_EQ(render("chatml", {{"user", "Hi"}}, true),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplate, DeepSeek) {
  EXPECT_EQ(render("deepseek_v2", kConversation, true, "<BOS>", "<EOS>"),
            "<BOS>Be brief.\n\nUser:   Hi!\n\n\nAssistant: Hello.<EOS>User: 2+2?\n\nAssistant:");
  EXPECT_EQ(render("deepseek_v3", {{"system", "A"}, {"user", "q"}, {"system", "B"}}, true, "<BOS>"),
            "<BOS>A\n\nB<｜User｜>q<｜Assistant｜>");
  EXPECT_EQ(render("deepseek_v3", {{"user", "q"}, {"assistant", "a"}, {"tool", "t"}}, false, "<B>"),
            "<B><｜User｜>q<｜Assistant｜>a<｜end▁of▁sentence｜>");
}

TEST(ChatTemplate, NamesAndDetection) {
  EXPECT_EQ(ChatTemplate::names().size(), 5u);
  EXPECT_FALSE(ChatTemplate::by_name("vicuna").has_value());
  for (const auto name : ChatTemplate::names()) {
    const auto t = ChatTemplate::by_name(name);
    // Each template's own Jinja source is detected as itself.
    EXPECT_EQ(ChatTemplate::detect(t->jinja(), "")->name(), name);
  }
  EXPECT_EQ(ChatTemplate::detect("", "Qwen2ForCausalLM")->name(), "qwen2");
  EXPECT_EQ(ChatTemplate::detect("", "LlamaForCausalLM")->name(), "llama3");
  EXPECT_EQ(ChatTemplate::detect("", "DeepseekV3ForCausalLM")->name(), "deepseek_v3");
  EXPECT_FALSE(ChatTemplate::detect("{{ messages }}", "GPT2LMHeadModel").has_value());
}

TEST(ChatTemplate, MessagesFromJson) {
  std::string error;
  auto m = chat_message_from_json(
      nlohmann::json::parse(R"({"role":"user","content":[{"type":"text","text":"a"},)"
                            R"({"type":"text","text":"b"}]})"),
      &error);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->content, "ab");
  m = chat_message_from_json(nlohmann::json::parse(R"({"role":"assistant","content":null})"),
                             &error);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->content, "");
  EXPECT_FALSE(chat_message_from_json(nlohmann::json::parse(R"({"content":"x"})"), &error));
  EXPECT_NE(error.find("role"), std::string::npos);
  EXPECT_FALSE(chat_message_from_json(
      nlohmann::json::parse(R"({"role":"user","content":[{"type":"image_url"}]})"), &error));
  EXPECT_FALSE(
      chat_message_from_json(nlohmann::json::parse(R"({"role":"user","content":5})"), &error));
  EXPECT_FALSE(chat_message_from_json(nlohmann::json::parse("[]"), &error));
}

}  // namespace
}  // namespace dpserve::engine
