// The parts of an upstream base URL ("http://host:port[/prefix]") the HTTP client needs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dpserve::http {

struct Endpoint {
  std::string host;         // without IPv6 brackets
  std::string port;         // always set ("80" when the URL has none)
  std::string host_header;  // "host:port" as sent in Host
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
  std::string key;          // "host:port", the connection-pool key
};

// Accepts only http:// URLs; returns nullopt and sets `error` otherwise.
std::optional<Endpoint> parse_endpoint(std::string_view url, std::string& error);

}  // namespace dpserve::http
