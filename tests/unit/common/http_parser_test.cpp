// The zero-allocation HTTP/1.x head parser and the in-place chunked decoder.
#include "common/http/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace dpserve::http {
namespace {

ParseResult parse_request(const std::string& text, MessageHead& head, std::string& error) {
  HeadScanner scanner;
  if (scanner.scan(text) != HeadScanner::Result::kFound) {
    error = "no head";
    return ParseResult::kInvalid;
  }
  return parse_request_head(std::string_view(text).substr(0, scanner.head_bytes()), head, error);
}

TEST(HttpParser, RequestHeadAndHeaders) {
  MessageHead head;
  std::string error;
  std::string text =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
      "X-Custom:  spaced value \t\r\nauthorization: Bearer k\r\n\r\n{\"a\":1}rest";
  ASSERT_EQ(parse_request(text, head, error), ParseResult::kOk) << error;
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/v1/chat/completions?x=1");
  EXPECT_EQ(head.version, 11u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.framing, BodyFraming::kLength);
  EXPECT_EQ(head.content_length, 12u);
  ASSERT_EQ(head.headers.size(), 4u);
  EXPECT_EQ(head.find("x-custom")->value, "spaced value");
  EXPECT_EQ(head.find(HeaderKind::kAuthorization)->value, "Bearer k");
  EXPECT_EQ(head.find(HeaderKind::kHost)->name, "Host");
  EXPECT_EQ(head.find("missing"), nullptr);
}

TEST(HttpParser, KeepAliveFollowsVersionAndConnection) {
  MessageHead head;
  std::string error;
  ASSERT_EQ(parse_request("GET / HTTP/1.0\r\n\r\n", head, error), ParseResult::kOk);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse_request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head, error),
            ParseResult::kOk);
  EXPECT_TRUE(head.keep_alive);
  ASSERT_EQ(parse_request("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", head, error),
            ParseResult::kOk);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse_request("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", head, error),
            ParseResult::kOk);
  EXPECT_TRUE(head.expect_continue);
  EXPECT_EQ(head.framing, BodyFraming::kNone);
}

TEST(HttpParser, RejectsWhatCouldBeSmuggled) {
  const char* bad[] = {
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: b\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
      "GET / HTTP/2.0\r\n\r\n",
      "GET /a b HTTP/1.1\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GET  HTTP/1.1\r\n\r\n",
  };
  for (const char* text : bad) {
    MessageHead head;
    std::string error;
    EXPECT_EQ(parse_request(text, head, error), ParseResult::kInvalid) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
  // Repeating the same length is harmless.
  MessageHead head;
  std::string error;
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", head,
                          error),
            ParseResult::kOk);
}

TEST(HttpParser, ScannerResumesAndRejectsBareLf) {
  std::string text = "GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT";
  HeadScanner scanner;
  for (size_t n = 0; n < text.size() - 4; ++n) {
    ASSERT_EQ(scanner.scan(std::string_view(text).substr(0, n)), HeadScanner::Result::kNeedMore)
        << n;
  }
  EXPECT_EQ(scanner.scan(text), HeadScanner::Result::kFound);
  EXPECT_EQ(scanner.head_bytes(), text.size() - 4);
  HeadScanner lf;
  EXPECT_EQ(lf.scan("GET / HTTP/1.1\nHost: a\n\n"), HeadScanner::Result::kInvalid);
}

TEST(HttpParser, ResponseHeadFraming) {
  auto parse = [](std::string_view text, MessageHead& head) {
    std::string error;
    return parse_response_head(text, head, error);
  };
  MessageHead head;
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Request-Id: w\r\n\r\n", head),
            ParseResult::kOk);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.reason, "OK");
  EXPECT_EQ(head.framing, BodyFraming::kLength);
  EXPECT_EQ(head.find(HeaderKind::kRequestId)->value, "w");
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head), ParseResult::kOk);
  EXPECT_EQ(head.framing, BodyFraming::kChunked);
  ASSERT_EQ(parse("HTTP/1.1 200 OK\r\n\r\n", head), ParseResult::kOk);
  EXPECT_EQ(head.framing, BodyFraming::kUntilClose);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse("HTTP/1.1 204\r\n\r\n", head), ParseResult::kOk);
  EXPECT_EQ(head.framing, BodyFraming::kNone);
  EXPECT_EQ(head.reason, "");
  ASSERT_EQ(parse("HTTP/1.1 100 Continue\r\n\r\n", head), ParseResult::kOk);
  EXPECT_EQ(head.status, 100u);
  EXPECT_EQ(parse("HTTP/1.1 2x0 OK\r\n\r\n", head), ParseResult::kInvalid);
  EXPECT_EQ(parse("HTTP/1.1 099 X\r\n\r\n", head), ParseResult::kInvalid);
  EXPECT_EQ(parse("ICY 200 OK\r\n\r\n", head), ParseResult::kInvalid);
}

// Feeds `wire` in pieces of `step` bytes, the way reads arrive, and returns the payload.
std::string decode_in_steps(const std::string& wire, size_t step, bool& done, bool& error,
                            size_t& leftover) {
  ChunkedDecoder decoder;
  std::string pending;
  std::string payload;
  done = error = false;
  for (size_t at = 0; at < wire.size() && !done && !error;) {
    size_t n = std::min(step, wire.size() - at);
    pending.append(wire, at, n);
    at += n;
    auto result = decoder.decode(pending.data(), pending.size());
    payload.append(pending, 0, result.payload);
    pending.erase(0, result.consumed);
    done = result.done;
    error = result.error;
    leftover = pending.size() + (wire.size() - at);
  }
  return payload;
}

TEST(HttpParser, ChunkedDecodesAcrossAnySplit) {
  const std::string wire =
      "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t step = 1; step <= wire.size(); ++step) {
    bool done, error;
    size_t leftover = 0;
    EXPECT_EQ(decode_in_steps(wire, step, done, error, leftover), "hello 0123456789") << step;
    EXPECT_TRUE(done) << step;
    EXPECT_FALSE(error) << step;
    EXPECT_EQ(leftover, 4u) << step;  // "NEXT" belongs to the next message
  }
}

TEST(HttpParser, ChunkedRejectsMalformed) {
  const char* bad[] = {"x\r\n", "5\r\nhelloXX", "5\nhello\r\n", "1234567890abcdef0\r\n",
                       "0\r\nbad\n"};
  for (const char* wire : bad) {
    bool done, error;
    size_t leftover;
    decode_in_steps(wire, 3, done, error, leftover);
    EXPECT_TRUE(error) << wire;
  }
}

}  // namespace
}  // namespace dpserve::http
