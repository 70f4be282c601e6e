#include "common/http/parser.h"

#include <array>
#include <cstring>

namespace dpserve::http {

namespace {

constexpr std::array<bool, 256> make_token_table() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr auto kToken = make_token_table();

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// Field values: visible characters, SP, HTAB and obs-text; no other control characters.
bool is_field_value(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_version(std::string_view text, unsigned& version) {
  if (text == "HTTP/1.1") {
    version = 11;
  } else if (text == "HTTP/1.0") {
    version = 10;
  } else {
    return false;
  }
  return true;
}

bool parse_decimal(std::string_view text, uint64_t& value) {
  if (text.empty() || text.size() > 19) return false;  // 19 digits cannot overflow 64 bits
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

// Splits the header lines after the start line; fills out.headers and the framing fields that
// requests and responses share. `lines` excludes the blank line.
ParseResult parse_fields(std::string_view lines, MessageHead& out, std::string& error) {
  out.headers.clear();
  out.content_length = 0;
  out.expect_continue = false;
  bool have_length = false;
  bool chunked = false;
  bool have_encoding = false;
  bool close = false;
  bool keep_alive = false;
  while (!lines.empty()) {
    size_t eol = lines.find("\r\n");
    std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    if (line.empty()) {
      error = "empty header line";
      return ParseResult::kInvalid;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      error = "obsolete line folding in a header is not accepted";
      return ParseResult::kInvalid;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      error = "malformed header line";
      return ParseResult::kInvalid;
    }
    Header header{line.substr(0, colon), trim(line.substr(colon + 1)), HeaderKind::kOther};
    if (!is_field_value(header.value)) {
      error = "control character in a header value";
      return ParseResult::kInvalid;
    }
    header.kind = header_kind(header.name);
    switch (header.kind) {
      case HeaderKind::kContentLength: {
        uint64_t length;
        if (!parse_decimal(header.value, length)) {
          error = "invalid Content-Length";
          return ParseResult::kInvalid;
        }
        if (have_length && length != out.content_length) {
          error = "conflicting Content-Length headers";
          return ParseResult::kInvalid;
        }
        have_length = true;
        out.content_length = length;
        break;
      }
      case HeaderKind::kTransferEncoding:
        // Only "chunked" alone is supported; anything else cannot be framed safely.
        if (have_encoding || !iequals(header.value, "chunked")) {
          error = "unsupported Transfer-Encoding (only a single 'chunked' is accepted)";
          return ParseResult::kInvalid;
        }
        have_encoding = true;
        chunked = true;
        break;
      case HeaderKind::kConnection:
        if (has_token(header.value, "close")) close = true;
        if (has_token(header.value, "keep-alive")) keep_alive = true;
        break;
      case HeaderKind::kExpect:
        if (iequals(header.value, "100-continue")) out.expect_continue = true;
        break;
      default:
        break;
    }
    out.headers.push_back(header);
  }
  if (chunked && have_length) {
    error = "both Content-Length and Transfer-Encoding are present";
    return ParseResult::kInvalid;
  }
  if (chunked && out.version == 10) {
    error = "Transfer-Encoding is not allowed in HTTP/1.0";
    return ParseResult::kInvalid;
  }
  out.framing = chunked       ? BodyFraming::kChunked
                : have_length ? BodyFraming::kLength
                              : BodyFraming::kNone;
  out.keep_alive = out.version == 11 ? !close : (keep_alive && !close);
  return ParseResult::kOk;
}

// The start line and the rest; `head` ends with the blank line.
bool split_head(std::string_view head, std::string_view& start, std::string_view& lines) {
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") return false;
  head.remove_suffix(2);  // keep the CRLF of the last line
  size_t eol = head.find("\r\n");
  start = head.substr(0, eol);
  lines = head.substr(eol + 2);
  if (!lines.empty()) lines.remove_suffix(2);
  return true;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

HeaderKind header_kind(std::string_view name) {
  // Dispatch on length first: most names are compared with at most one candidate.
  switch (name.size()) {
    case 2:
      if (iequals(name, "te")) return HeaderKind::kTe;
      break;
    case 4:
      if (iequals(name, "host")) return HeaderKind::kHost;
      break;
    case 6:
      if (iequals(name, "expect")) return HeaderKind::kExpect;
      break;
    case 7:
      if (iequals(name, "trailer")) return HeaderKind::kTrailer;
      if (iequals(name, "upgrade")) return HeaderKind::kUpgrade;
      break;
    case 10:
      if (iequals(name, "connection")) return HeaderKind::kConnection;
      if (iequals(name, "keep-alive")) return HeaderKind::kKeepAlive;
      break;
    case 12:
      if (iequals(name, "x-request-id")) return HeaderKind::kRequestId;
      break;
    case 13:
      if (iequals(name, "authorization")) return HeaderKind::kAuthorization;
      break;
    case 14:
      if (iequals(name, "content-length")) return HeaderKind::kContentLength;
      break;
    case 16:
      if (iequals(name, "proxy-connection")) return HeaderKind::kProxyConnection;
      break;
    case 17:
      if (iequals(name, "transfer-encoding")) return HeaderKind::kTransferEncoding;
      break;
    default:
      break;
  }
  return HeaderKind::kOther;
}

bool is_hop_by_hop(HeaderKind kind) {
  switch (kind) {
    case HeaderKind::kContentLength:
    case HeaderKind::kTransferEncoding:
    case HeaderKind::kConnection:
    case HeaderKind::kKeepAlive:
    case HeaderKind::kProxyConnection:
    case HeaderKind::kTe:
    case HeaderKind::kTrailer:
    case HeaderKind::kUpgrade:
      return true;
    default:
      return false;
  }
}

const Header* MessageHead::find(HeaderKind kind) const {
  for (const auto& header : headers) {
    if (header.kind == kind) return &header;
  }
  return nullptr;
}

const Header* MessageHead::find(std::string_view name) const {
  for (const auto& header : headers) {
    if (iequals(header.name, name)) return &header;
  }
  return nullptr;
}

HeadScanner::Result HeadScanner::scan(std::string_view bytes) {
  if (end_ != 0) return Result::kFound;
  // Leading empty lines before a request are allowed (RFC 9112 2.2) but not needed by anyone;
  // they are treated like any other malformed start line by the parser.
  const char* data = bytes.data();
  for (size_t i = pos_; i < bytes.size(); ++i) {
    const void* hit = std::memchr(data + i, '\n', bytes.size() - i);
    if (!hit) {
      pos_ = bytes.size();
      return Result::kNeedMore;
    }
    i = static_cast<size_t>(static_cast<const char*>(hit) - data);
    if (i == 0 || data[i - 1] != '\r') return Result::kInvalid;
    // "\r\n\r\n" ends the head.
    if (i >= 3 && data[i - 2] == '\n' && data[i - 3] == '\r') {
      end_ = i + 1;
      pos_ = end_;
      return Result::kFound;
    }
    pos_ = i + 1;
  }
  pos_ = bytes.size();
  return Result::kNeedMore;
}

ParseResult parse_request_head(std::string_view head, MessageHead& out, std::string& error) {
  std::string_view start, lines;
  if (!split_head(head, start, lines)) {
    error = "incomplete request head";
    return ParseResult::kInvalid;
  }
  size_t sp1 = start.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) {
    error = "malformed request line";
    return ParseResult::kInvalid;
  }
  out.method = start.substr(0, sp1);
  out.target = start.substr(sp1 + 1, sp2 - sp1 - 1);
  out.status = 0;
  out.reason = {};
  if (!is_token(out.method)) {
    error = "malformed request method";
    return ParseResult::kInvalid;
  }
  if (out.target.empty()) {
    error = "empty request target";
    return ParseResult::kInvalid;
  }
  for (char ch : out.target) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) {
      error = "invalid character in the request target";
      return ParseResult::kInvalid;
    }
  }
  if (!parse_version(start.substr(sp2 + 1), out.version)) {
    error = "unsupported HTTP version (HTTP/1.0 and HTTP/1.1 are served)";
    return ParseResult::kInvalid;
  }
  return parse_fields(lines, out, error);
}

ParseResult parse_response_head(std::string_view head, MessageHead& out, std::string& error,
                                bool head_request) {
  std::string_view start, lines;
  if (!split_head(head, start, lines)) {
    error = "incomplete response head";
    return ParseResult::kInvalid;
  }
  // "HTTP/1.1 200 OK": the reason phrase may be empty, and so may the space before it.
  if (start.size() < 12 || start[8] != ' ' || !parse_version(start.substr(0, 8), out.version) ||
      (start.size() > 12 && start[12] != ' ')) {
    error = "malformed status line";
    return ParseResult::kInvalid;
  }
  uint64_t status;
  if (!parse_decimal(start.substr(9, 3), status) || status < 100) {
    error = "malformed status code";
    return ParseResult::kInvalid;
  }
  out.status = static_cast<unsigned>(status);
  out.reason = start.size() > 13 ? start.substr(13) : std::string_view();
  out.method = {};
  out.target = {};
  if (parse_fields(lines, out, error) != ParseResult::kOk) return ParseResult::kInvalid;
  if (head_request || out.status < 200 || out.status == 204 || out.status == 304) {
    out.framing = BodyFraming::kNone;
  } else if (out.framing == BodyFraming::kNone) {
    out.framing = BodyFraming::kUntilClose;
    out.keep_alive = false;
  }
  return ParseResult::kOk;
}

ChunkedDecoder::Result ChunkedDecoder::decode(char* data, size_t size) {
  Result result;
  size_t in = 0;
  size_t out = 0;
  auto fail = [&result, &in, &out] {
    result.error = true;
    result.payload = out;
    result.consumed = in;
    return result;
  };
  while (in < size && state_ != State::kDone) {
    const char c = data[in];
    switch (state_) {
      case State::kSize: {
        int digit = (c >= '0' && c <= '9')   ? c - '0'
                    : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                    : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                             : -1;
        if (digit >= 0) {
          if (++digits_ > 15) return fail();  // 15 hex digits: no overflow, and plenty
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(digit);
          ++in;
        } else if (digits_ == 0) {
          return fail();
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExtension;
          ++in;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++in;
        } else {
          return fail();
        }
        break;
      }
      case State::kExtension:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) {
          return fail();
        }
        ++in;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail();
        ++in;
        digits_ = 0;
        state_ = remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kData: {
        size_t n = std::min<uint64_t>(remaining_, size - in);
        if (out != in) std::memmove(data + out, data + in, n);
        out += n;
        in += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail();
        ++in;
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail();
        ++in;
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        ++in;
        state_ = c == '\r' ? State::kFinalLf : State::kTrailerLine;
        if (c == '\n') return fail();
        break;
      case State::kTrailerLine:
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (c == '\n') {
          return fail();
        }
        ++in;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail();
        ++in;
        state_ = State::kTrailerStart;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail();
        ++in;
        state_ = State::kDone;
        break;
      case State::kDone:
        break;
    }
  }
  result.payload = out;
  result.consumed = in;
  result.done = state_ == State::kDone;
  return result;
}

}  // namespace dpserve::http
