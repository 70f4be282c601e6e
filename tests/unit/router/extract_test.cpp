#include "router/extract.h"

#include "router/splice.h"

#include <gtest/gtest.h>

namespace dpserve::router {
namespace {

struct Case {
  ApiKind kind;
  std::string body;
  std::string text;
  std::vector<int32_t> ids;
  std::string model;
  bool stream;
};

TEST(Extract, RoutingTextPerApi) {
  const Case cases[] = {
      {ApiKind::kGenerate, R"({"text":"hello"})", "hello", {}, "", false},
      {ApiKind::kGenerate, R"({"text":["a","b"],"stream":true})", "a b", {}, "", true},
      {ApiKind::kGenerate, R"({"input_ids":[1,2,3]})", "", {1, 2, 3}, "", false},
      {ApiKind::kGenerate, R"({"input_ids":[[1,2],[3]]})", "", {1, 2, 3}, "", false},
      {ApiKind::kGenerate, R"({"input_ids":[9],"text":"t"})", "t", {}, "", false},
      {ApiKind::kCompletions, R"({"model":"m","prompt":"p q"})", "p q", {}, "m", false},
      {ApiKind::kCompletions, R"({"prompt":["x","y"],"model":"m2"})", "x y", {}, "m2", false},
      {ApiKind::kCompletions, R"({"prompt":[5,6]})", "", {5, 6}, "", false},
      {ApiKind::kEmbeddings, R"({"input":"e"})", "e", {}, "", false},
      {ApiKind::kChat,
       R"({"messages":[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"u1"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"u2"}]},{"role":"assistant","content":null,"reasoning_content":"r"}],"model":"m","stream":false})",
       "sys u1 u2 r",
       {},
       "m",
       false},
      {ApiKind::kChat,
       R"({"messages":[{"role":"user","content":"caf\u00e9 \"q\""}]})",
       "caf\xc3\xa9 \"q\"",
       {},
       "",
       false},
      {ApiKind::kGenerate, R"({"unknown":{"text":"no"},"text":"yes"})", "yes", {}, "", false},
  };
  for (const auto& c : cases) {
    std::string body = c.body;
    Extracted out;
    std::string error;
    ASSERT_TRUE(Extractor::local().extract(c.kind, body, out, error)) << c.body << ": " << error;
    EXPECT_EQ(out.route.text, c.text) << c.body;
    EXPECT_EQ(std::vector<int32_t>(out.route.token_ids.begin(), out.route.token_ids.end()), c.ids)
        << c.body;
    EXPECT_EQ(out.route.model, c.model) << c.body;
    EXPECT_EQ(out.stream, c.stream) << c.body;
    EXPECT_EQ(out.route.prompt_size,
              static_cast<int64_t>(c.ids.empty() ? c.text.size() : c.ids.size()));
    EXPECT_EQ(body, c.body);  // never modified
  }
}

TEST(Extract, RejectsMalformedAndWrongTypes) {
  const std::pair<ApiKind, std::string> cases[] = {
      {ApiKind::kGenerate, ""},
      {ApiKind::kGenerate, "{"},
      {ApiKind::kGenerate, "[]"},
      {ApiKind::kGenerate, "\"s\""},
      {ApiKind::kGenerate, R"({"text":1})"},
      {ApiKind::kGenerate, R"({"text":[1]})"},
      {ApiKind::kGenerate, R"({"input_ids":["a"]})"},
      {ApiKind::kGenerate, R"({"input_ids":[[1,"a"]]})"},
      {ApiKind::kGenerate, R"({"stream":"true"})"},
      {ApiKind::kGenerate, R"({"model":{}})"},
      {ApiKind::kGenerate, R"({"a":1} {"b":2})"},
      {ApiKind::kChat, R"({"messages":{}})"},
      {ApiKind::kChat, R"({"messages":[1]})"},
      {ApiKind::kChat, R"({"messages":[{"content":5}]})"},
      {ApiKind::kChat, R"({"messages":[{"content":[{"type":"text","text":3}]}]})"},
      {ApiKind::kCompletions, R"({"prompt":{}})"},
  };
  for (const auto& [kind, text] : cases) {
    std::string body = text;
    Extracted out;
    std::string error;
    EXPECT_FALSE(Extractor::local().extract(kind, body, out, error)) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(Extract, NullFieldsAreAbsent) {
  std::string body = R"({"model":null,"stream":null,"text":null})";
  Extracted out;
  std::string error;
  ASSERT_TRUE(Extractor::local().extract(ApiKind::kGenerate, body, out, error)) << error;
  EXPECT_EQ(out.route.model, "");
  EXPECT_FALSE(out.stream);
  EXPECT_EQ(out.route.prompt_size, 0);
}

TEST(Splice, InsertsRankAfterTheBrace) {
  Splice s;
  ASSERT_TRUE(splice_dp_rank(R"( {"text":"x"})", 3, s));
  std::string joined = std::string(s.prefix) + s.insertion + std::string(s.suffix);
  EXPECT_EQ(joined, R"( {"routed_dp_rank":3,"data_parallel_rank":3,"text":"x"})");
  EXPECT_EQ(s.size(), joined.size());
  ASSERT_TRUE(splice_dp_rank("{ }", 0, s));
  EXPECT_EQ(std::string(s.prefix) + s.insertion + std::string(s.suffix),
            R"({"routed_dp_rank":0,"data_parallel_rank":0 })");
  EXPECT_FALSE(splice_dp_rank("[1]", 0, s));
  EXPECT_FALSE(splice_dp_rank("", 0, s));
  EXPECT_FALSE(splice_dp_rank("{", 0, s));
}

}  // namespace
}  // namespace dpserve::router
