// Fuzzes the request path of the HTTP server: Beast's parser with the server's limits, then the
// URL parser on the target and the SSE splitter on the body.
#include "common/http/beast.h"
#include "common/http/sse.h"
#include "common/http/url.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dpserve::http;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(1 << 20);
  parser.header_limit(64 * 1024);
  parser.eager(true);
  error_code ec;
  size_t used = parser.put(net::buffer(input.data(), input.size()), ec);
  if (!ec && parser.is_done()) {
    auto& request = parser.get();
    std::string error;
    std::string url = "http://h:1";
    url.append(request.target().data(), request.target().size());
    (void)parse_endpoint(url, error);
    SseSplitter splitter;
    for (const auto& event : splitter.feed(request.body())) (void)sse_data(event);
  }
  (void)used;
  std::string error;
  (void)parse_endpoint(input, error);
  return 0;
}
