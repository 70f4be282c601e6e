#include "common/http/sse.h"
#include "common/http/url.h"
#include "common/json_error.h"
#include "common/logging.h"
#include "common/random_id.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace dpserve {
namespace {

TEST(JsonError, ShapeAndEscaping) {
  auto body = common::error_body(413, "payload_too_large", "quote \" slash \\ nl \n ctl \x01");
  auto parsed = nlohmann::json::parse(body);
  EXPECT_EQ(parsed["error"]["type"], "Payload Too Large");
  EXPECT_EQ(parsed["error"]["code"], "payload_too_large");
  EXPECT_EQ(parsed["error"]["message"], "quote \" slash \\ nl \n ctl \x01");
}

TEST(RandomId, PrefixLengthAlphabet) {
  auto id = common::random_alnum("gnt-", 24);
  ASSERT_EQ(id.size(), 28u);
  EXPECT_EQ(id.substr(0, 4), "gnt-");
  for (char c : id.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
  EXPECT_NE(common::random_alnum("", 24), common::random_alnum("", 24));
}

TEST(Logging, ParsesLevels) {
  EXPECT_EQ(common::parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(common::parse_log_level("warn"), spdlog::level::warn);
  EXPECT_FALSE(common::parse_log_level("loud").has_value());
}

TEST(Url, ParsesHostPortPrefix) {
  std::string error;
  auto endpoint = http::parse_endpoint("http://127.0.0.1:8000/", error);
  ASSERT_TRUE(endpoint) << error;
  EXPECT_EQ(endpoint->host, "127.0.0.1");
  EXPECT_EQ(endpoint->port, "8000");
  EXPECT_EQ(endpoint->path_prefix, "");
  auto v6 = http::parse_endpoint("http://[::1]:9/api", error);
  ASSERT_TRUE(v6) << error;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->host_header, "[::1]:9");
  EXPECT_EQ(v6->path_prefix, "/api");
  EXPECT_EQ(http::parse_endpoint("http://example.com", error)->port, "80");
}

TEST(Url, RejectsBadUrls) {
  std::string error;
  for (const char* bad : {"https://h:1", "h:1", "http://:80", "http://h:0", "http://h:99999",
                          "http://h:8x", "http://[::1", "http://u@h:1"}) {
    EXPECT_FALSE(http::parse_endpoint(bad, error)) << bad;
    EXPECT_NE(error.find('\''), std::string::npos);
  }
}

TEST(Sse, SplitsAcrossChunksAndLineEndings) {
  http::SseSplitter splitter;
  EXPECT_TRUE(splitter.feed("data: {\"a\"").empty());
  auto events = splitter.feed(":1}\n\ndata: x\r\n\r\ndata: y");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(http::sse_data(events[0]), "{\"a\":1}");
  EXPECT_EQ(http::sse_data(events[1]), "x");
  EXPECT_EQ(splitter.pending(), "data: y");
  EXPECT_EQ(http::sse_data("event: e\ndata: 1\ndata:2"), "1\n2");
  EXPECT_EQ(http::format_sse_data("[DONE]"), "data: [DONE]\n\n");
}

}  // namespace
}  // namespace dpserve
