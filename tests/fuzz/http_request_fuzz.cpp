// Fuzzes the HTTP/1.x parsers the server, the proxy and the client rely on: the head scanner and
// the request and response head parsers on the input, the chunked decoder on the input fed whole
// and in pieces (which must agree), then the URL parser on the target and the SSE splitter.
#include "common/http/parser.h"
#include "common/http/sse.h"
#include "common/http/url.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace dpserve::http;

struct Decoded {
  std::string payload;
  size_t consumed = 0;
  bool done = false;
  bool error = false;
};

Decoded decode(std::string_view input, size_t step) {
  ChunkedDecoder decoder;
  Decoded out;
  std::string pending;
  for (size_t at = 0; at < input.size() && !out.done && !out.error;) {
    size_t n = std::min(step, input.size() - at);
    pending.append(input.substr(at, n));
    at += n;
    auto result = decoder.decode(pending.data(), pending.size());
    if (result.payload > result.consumed) std::abort();  // payload moved forward, never grown
    out.payload.append(pending, 0, result.payload);
    pending.erase(0, result.consumed);
    out.consumed = at - pending.size();
    out.done = result.done;
    out.error = result.error;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  HeadScanner scanner;
  if (scanner.scan(input) == HeadScanner::Result::kFound) {
    if (scanner.head_bytes() > input.size()) std::abort();
    auto head_bytes = input.substr(0, scanner.head_bytes());
    MessageHead head;
    std::string error;
    if (parse_request_head(head_bytes, head, error) == ParseResult::kOk) {
      if (head.framing == BodyFraming::kChunked && head.version != 11) std::abort();
      std::string url = "http://h:1";
      url.append(head.target);
      (void)parse_endpoint(url, error);
      SseSplitter splitter;
      for (const auto& event : splitter.feed(input.substr(head_bytes.size()))) {
        (void)sse_data(event);
      }
    }
    MessageHead response;
    (void)parse_response_head(head_bytes, response, error);
  }
  auto whole = decode(input, input.size() + 1);
  auto pieces = decode(input, 1 + size % 7);
  if (!whole.error && !pieces.error &&
      (whole.payload != pieces.payload || whole.done != pieces.done ||
       (whole.done && whole.consumed != pieces.consumed))) {
    std::abort();
  }
  std::string error;
  (void)parse_endpoint(input, error);
  return 0;
}
