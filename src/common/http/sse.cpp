#include "common/http/sse.h"

namespace dpserve::http {

std::vector<std::string> SseSplitter::feed(std::string_view bytes) {
  std::vector<std::string> events;
  pending_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t lf = pending_.find("\n\n", start);
    size_t crlf = pending_.find("\r\n\r\n", start);
    size_t end;
    size_t skip;
    if (lf == std::string::npos && crlf == std::string::npos) break;
    if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf)) {
      end = crlf;
      skip = 4;
    } else {
      end = lf;
      skip = 2;
    }
    events.emplace_back(pending_, start, end - start);
    start = end + skip;
  }
  pending_.erase(0, start);
  return events;
}

std::string sse_data(std::string_view event) {
  std::string out;
  bool first = true;
  while (!event.empty()) {
    auto eol = event.find('\n');
    auto line = event.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) == "data:") {
      line.remove_prefix(5);
      if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
      if (!first) out += '\n';
      out.append(line);
      first = false;
    }
    if (eol == std::string_view::npos) break;
    event.remove_prefix(eol + 1);
  }
  return out;
}

std::string format_sse_data(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out.append("data: ");
  out.append(payload);
  out.append("\n\n");
  return out;
}

}  // namespace dpserve::http
