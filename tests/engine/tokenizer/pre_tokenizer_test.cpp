#include "engine/tokenizer/pre_tokenizer.h"

#include "engine/tokenizer/normalizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace dpserve::engine {
namespace {

using nlohmann::json;

std::vector<std::string> split(const json& config, std::string_view text) {
  const auto pre = PreTokenizer::from_json(config);
  std::vector<Span> spans;
  pre->split(text, spans);
  std::vector<std::string> out;
  for (const auto& [b, e] : spans) out.emplace_back(text.substr(b, e - b));
  return out;
}

json split_step(std::string_view regex, std::string_view behavior, bool invert = false) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", regex}}},
          {"behavior", behavior},
          {"invert", invert}};
}

using V = std::vector<std::string>;

TEST(PreTokenizer, KnownSplitsOfFamilyPatterns) {
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(split(split_step(llama3, "Isolated"), "Hello world's 123 4567 ..."),
            (V{"Hello", " world", "'s", " ", "123", " ", "456", "7", " ..."}));
  EXPECT_EQ(split(split_step(llama3, "Isolated"), "I'M  fine\n\n  ok"),
            (V{"I", "'M", " ", " fine", "\n\n", " ", " ok"}));
  EXPECT_EQ(
      split({{"type", "ByteLevel"}, {"add_prefix_space", false}}, "Hello world's 123 4567 ..."),
      (V{"Hello", " world", "'s", " 123", " 4567", " ..."}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", true}}, "a12b3"),
            (V{"a", "1", "2", "b", "3"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}, "a12b3"),
            (V{"a", "12", "b", "3"}));
}

TEST(PreTokenizer, SplitBehaviours) {
  const std::string text = "a-b--c";
  EXPECT_EQ(split(split_step("-", "Isolated"), text), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split(split_step("-", "Removed"), text), (V{"a", "b", "c"}));
  EXPECT_EQ(split(split_step("-", "MergedWithPrevious"), text), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split(split_step("-", "MergedWithNext"), text), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split(split_step("-", "Contiguous"), text), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split(split_step("-", "Removed", true), text), (V{"-", "-", "-"}));
  const json literal = {{"type", "Split"}, {"pattern", {{"String", "."}}}, {"behavior", "Removed"}};
  EXPECT_EQ(split(literal, "a.b.c"), (V{"a", "b", "c"}));
  EXPECT_THROW(split(split_step("-", "Sideways"), text), std::invalid_argument);
}

TEST(PreTokenizer, InvalidUtf8StaysInGapsAndCoversInput) {
  const std::string text("ab\xFF\xFE cd\xE4\xB8", 9);
  const auto pieces = split(split_step(R"(\p{L}+)", "Isolated"), text);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, text);
  EXPECT_EQ(pieces.front(), "ab");
}

TEST(PreTokenizer, LongWhitespaceRunsDoNotExhaustTheMatcher) {
  const std::string text = "a" + std::string(200000, ' ') + "b";
  const auto pieces = split(split_step(R"(\s+(?!\S)|\s+|\S+)", "Isolated"), text);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, text);
}

TEST(Nfc, ComposesDecomposesAndReorders) {
  EXPECT_EQ(to_nfc("e\u0301"), "\u00e9");
  EXPECT_EQ(to_nfc("A\u030a"), "\u00c5");
  EXPECT_EQ(to_nfc("\u212b"), "\u00c5");                // Angstrom sign: singleton
  EXPECT_EQ(to_nfc("q\u0307\u0323"), "q\u0323\u0307");  // canonical order
  EXPECT_EQ(to_nfc("s\u0307\u0323"), "\u1e69");         // reorder, then compose twice
  EXPECT_EQ(to_nfc("\u1100\u1161\u11a8"), "\uac01");    // Hangul LVT
  EXPECT_EQ(to_nfc("\u0958"), "\u0915\u093c");          // composition exclusion
  EXPECT_EQ(to_nfc("plain ascii"), "plain ascii");
  EXPECT_EQ(to_nfc("\u00e9\u0301"), "\u00e9\u0301");  // blocked after a composite
}

TEST(Nfc, MatchesPythonUnicodedataOnRandomStrings) {
  std::ifstream in(std::filesystem::path(DPSERVE_SOURCE_DIR) /
                   "tests/data/tokenizer/nfc_cases.txt");
  ASSERT_TRUE(in.good());
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos);
    EXPECT_EQ(to_nfc(line.substr(0, tab)), line.substr(tab + 1)) << "line " << cases + 1;
    ++cases;
  }
  EXPECT_EQ(cases, 1600);
}

}  // namespace
}  // namespace dpserve::engine
