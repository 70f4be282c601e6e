#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_builder.h"
#include "engine/tokenizer/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace dpserve::engine {
namespace {

TEST(Utf8, CompletePrefixHoldsBackOnlyTruncatedSequences) {
  EXPECT_EQ(utf8::complete_prefix_length("abc"), 3u);
  EXPECT_EQ(utf8::complete_prefix_length("ab\xE4\xB8"), 2u);      // 中 missing one byte
  EXPECT_EQ(utf8::complete_prefix_length("ab\xE4\xB8\xAD"), 5u);  // complete
  EXPECT_EQ(utf8::complete_prefix_length("\xF0\x9F\x98"), 0u);    // emoji missing one byte
  EXPECT_EQ(utf8::complete_prefix_length("\xF0"), 0u);
  EXPECT_EQ(utf8::complete_prefix_length("a\xFF"), 2u);      // never valid: emit
  EXPECT_EQ(utf8::complete_prefix_length("a\xE4\x41"), 3u);  // broken: emit
  EXPECT_EQ(utf8::complete_prefix_length("a\xED\xA0"), 3u);  // surrogate: emit
  EXPECT_EQ(utf8::complete_prefix_length("a\x80"), 2u);      // stray continuation
}

TEST(Utf8, LossyReplacesMaximalInvalidSubparts) {
  EXPECT_EQ(utf8::to_valid_lossy("a\xFF"
                                 "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8::to_valid_lossy("\xE4\xB8"
                                 "x"),
            "\xEF\xBF\xBD"
            "x");                                                           // one U+FFFD for E4 B8
  EXPECT_EQ(utf8::to_valid_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(utf8::to_valid_lossy("ok 中"), "ok 中");
  EXPECT_TRUE(utf8::is_valid("ok 中 😀"));
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // above U+10FFFF
}

class StreamDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto files = build_tokenizer("qwen2", 600);
    tok_ = Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json).release();
  }
  static void TearDownTestSuite() { delete tok_; }
  static Tokenizer* tok_;
};
Tokenizer* StreamDecoderTest::tok_ = nullptr;

TEST_F(StreamDecoderTest, NeverEmitsPartialUtf8AndReassemblesText) {
  const std::string text = "emoji 😀🚀 中文 Größe ✨ and ascii";
  const auto ids = tok_->encode(text, false);
  // Some token must end inside a code point for this test to mean anything.
  bool split_inside = false;
  for (int32_t id : ids) split_inside |= !utf8::is_valid(tok_->token_to_piece(id));
  ASSERT_TRUE(split_inside);

  StreamDecoder stream = tok_->stream_decoder(false);
  std::string out;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    EXPECT_TRUE(utf8::is_valid(chunk)) << id;
    out += chunk;
  }
  out += stream.flush();
  EXPECT_EQ(out, text);
}

TEST_F(StreamDecoderTest, InvalidBytesBecomeReplacementAndFlushReleasesTail) {
  const std::string raw(
      "ab\xFF"
      "c\xE4\xB8",
      6);
  const auto ids = tok_->encode(raw, false);
  StreamDecoder stream = tok_->stream_decoder(false);
  std::string out;
  for (int32_t id : ids) out += stream.push(id);
  EXPECT_EQ(out,
            "ab\xEF\xBF\xBD"
            "c");  // the truncated 中 is still held back
  EXPECT_EQ(stream.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.flush(), "");
}

TEST_F(StreamDecoderTest, SkipsSpecialTokensWhenAsked) {
  const auto ids = tok_->encode("<|im_start|>hi<|im_end|>", false);
  ASSERT_EQ(ids.front(), *tok_->special_token_id("<|im_start|>"));
  StreamDecoder skip = tok_->stream_decoder(true);
  StreamDecoder keep = tok_->stream_decoder(false);
  std::string a, b;
  for (int32_t id : ids) {
    a += skip.push(id);
    b += keep.push(id);
  }
  EXPECT_EQ(a + skip.flush(), "hi");
  EXPECT_EQ(b + keep.flush(), "<|im_start|>hi<|im_end|>");
  EXPECT_EQ(tok_->decode(ids, true), "hi");
}

TEST_F(StreamDecoderTest, RandomBytesRoundTripAndStreamStaysValid) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::string raw(rng() % 64, '\0');
    for (char& c : raw) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : 'a' + rng() % 26);
    const auto ids = tok_->encode(raw, false, false);
    ASSERT_EQ(tok_->decode(ids, false), raw);
    StreamDecoder stream = tok_->stream_decoder(false);
    std::string out;
    for (int32_t id : ids) out += stream.push(id);
    out += stream.flush();
    ASSERT_TRUE(utf8::is_valid(out));
    ASSERT_EQ(out, utf8::to_valid_lossy(raw));
  }
}

}  // namespace
}  // namespace dpserve::engine
