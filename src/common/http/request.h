// A request as the server hands it to handlers: the head's bytes, owned, with header views into
// them, and the decoded body. One object per connection, reused request after request, so a
// keep-alive connection allocates nothing once its buffers have grown.
#pragma once

#include "common/http/parser.h"

#include <boost/beast/http/verb.hpp>

#include <span>
#include <string>
#include <string_view>

namespace dpserve::http {

class Request {
 public:
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // Copies `head` (a complete head) and parses it; on kInvalid `error` says why. The body is left
  // to the reader: resizing it from the last request's size zero-fills only the growth.
  ParseResult parse(std::string_view head, std::string& error) {
    raw_.assign(head);
    auto result = parse_request_head(raw_, head_, error);
    method_ = result == ParseResult::kOk ? boost::beast::http::string_to_verb(head_.method)
                                         : boost::beast::http::verb::unknown;
    return result;
  }

  boost::beast::http::verb method() const { return method_; }
  std::string_view method_string() const { return head_.method; }
  std::string_view target() const { return head_.target; }
  unsigned version() const { return head_.version; }
  bool keep_alive() const { return head_.keep_alive; }
  const MessageHead& head() const { return head_; }
  std::span<const Header> headers() const { return head_.headers; }

  const Header* find(HeaderKind kind) const { return head_.find(kind); }
  const Header* find(std::string_view name) const { return head_.find(name); }
  // The first value of `name`, or empty when absent.
  std::string_view header(std::string_view name) const {
    const Header* h = find(name);
    return h ? h->value : std::string_view();
  }
  std::string_view header(HeaderKind kind) const {
    const Header* h = find(kind);
    return h ? h->value : std::string_view();
  }

  std::string& body() { return body_; }
  const std::string& body() const { return body_; }

 private:
  std::string raw_;
  MessageHead head_;
  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::string body_;
};

}  // namespace dpserve::http
