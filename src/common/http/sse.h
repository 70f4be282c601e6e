// Server-Sent Events helpers. The proxy forwards bytes unchanged; these are for code that has to
// look inside a stream (tests, metrics) or produce one (the engine).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dpserve::http {

// Splits a byte stream into events. Chunk boundaries are not event boundaries: bytes are buffered
// until a blank line (LF LF or CRLF CRLF) ends an event.
class SseSplitter {
 public:
  // Appends `bytes`; returns the events completed by them, without their terminating blank line.
  std::vector<std::string> feed(std::string_view bytes);
  // Bytes of an event that has not ended yet.
  const std::string& pending() const { return pending_; }

 private:
  std::string pending_;
};

// The payload of an event's "data:" lines, joined with '\n' (SSE rules: one optional space after
// the colon is dropped).
std::string sse_data(std::string_view event);

// "data: <payload>\n\n".
std::string format_sse_data(std::string_view payload);

}  // namespace dpserve::http
