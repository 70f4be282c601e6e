// HTTP/1.x message heads and chunked bodies, parsed without allocating: header names and values
// are views into the caller's bytes. Strict where leniency lets two parsers disagree about where a
// message ends (request smuggling): CRLF line ends only, no obs-fold, one Content-Length value,
// Content-Length and Transfer-Encoding never together in a request, chunked as the only coding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::http {

// Headers the server, the proxy and the client act on; everything else is kOther.
enum class HeaderKind : uint8_t {
  kOther,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kUpgrade,
  kHost,
  kExpect,
  kAuthorization,
  kRequestId,  // x-request-id
};

HeaderKind header_kind(std::string_view name);
// Hop-by-hop and framing headers: never copied from one connection to another.
bool is_hop_by_hop(HeaderKind kind);
bool iequals(std::string_view a, std::string_view b);

struct Header {
  std::string_view name;
  std::string_view value;
  HeaderKind kind = HeaderKind::kOther;
};

enum class BodyFraming : uint8_t { kNone, kLength, kChunked, kUntilClose };

struct MessageHead {
  std::string_view method;  // requests
  std::string_view target;  // requests
  unsigned status = 0;      // responses
  std::string_view reason;  // responses
  unsigned version = 11;    // 10 or 11
  std::vector<Header> headers;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;

  const Header* find(HeaderKind kind) const;
  const Header* find(std::string_view name) const;  // case-insensitive
};

// Finds the end of a head ("\r\n\r\n") across partial reads without rescanning: feed it the whole
// buffer each time; it resumes where it stopped. A bare LF is an error at once (a slow client
// cannot make it wait for a terminator that a lenient parser would have seen).
class HeadScanner {
 public:
  enum class Result { kNeedMore, kFound, kInvalid };
  Result scan(std::string_view bytes);
  // Length of the head including the blank line (after kFound).
  size_t head_bytes() const { return end_; }
  void reset() { *this = HeadScanner(); }

 private:
  size_t pos_ = 0;
  size_t end_ = 0;
};

enum class ParseResult { kOk, kInvalid };

// `head` is the complete head (HeadScanner::head_bytes() bytes). On error `error` says why.
ParseResult parse_request_head(std::string_view head, MessageHead& out, std::string& error);
// `head_request`: the request was HEAD, so no body follows whatever the headers say.
ParseResult parse_response_head(std::string_view head, MessageHead& out, std::string& error,
                                bool head_request = false);

// Decodes a chunked body in place, across partial reads: the payload of what it is given moves to
// the front of that span. It stops at the end of the message; what follows is the next message.
class ChunkedDecoder {
 public:
  struct Result {
    size_t payload = 0;   // payload bytes now at data[0, payload)
    size_t consumed = 0;  // input bytes used
    bool done = false;    // the last chunk and the trailers were read
    bool error = false;
  };
  Result decode(char* data, size_t size);
  bool done() const { return state_ == State::kDone; }
  void reset() { *this = ChunkedDecoder(); }

 private:
  enum class State : uint8_t {
    kSize,
    kExtension,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerLine,
    kTrailerLf,
    kFinalLf,
    kDone,
  };
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  int digits_ = 0;
};

}  // namespace dpserve::http
