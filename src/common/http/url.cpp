#include "common/http/url.h"

#include <charconv>

namespace dpserve::http {

namespace {

// Built with append: GCC 12 flags `"'" + std::string(...)` with a false -Wrestrict.
std::string complaint(std::string_view url, std::string_view what) {
  std::string out = "'";
  out.append(url);
  out.append("' ");
  out.append(what);
  return out;
}

}  // namespace

std::optional<Endpoint> parse_endpoint(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = complaint(url, "is not an http:// URL");
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (authority.find('@') != std::string_view::npos ||
      authority.find('?') != std::string_view::npos) {
    error = complaint(url, "has user info or a query, which upstream URLs cannot have");
    return std::nullopt;
  }
  Endpoint endpoint;
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = complaint(url, "has an unterminated IPv6 address");
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = complaint(url, "has junk after the IPv6 address");
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    error = complaint(url, "has no host");
    return std::nullopt;
  }
  if (port.empty()) port = "80";
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
    error = complaint(url, "has an invalid port");
    return std::nullopt;
  }
  endpoint.host = std::string(host);
  endpoint.port = std::string(port);
  bool v6 = host.find(':') != std::string_view::npos;
  if (v6) endpoint.host_header.append("[");
  endpoint.host_header.append(endpoint.host);
  if (v6) endpoint.host_header.append("]");
  endpoint.host_header.append(":");
  endpoint.host_header.append(endpoint.port);
  endpoint.path_prefix = std::string(path);
  endpoint.key = endpoint.host_header;
  return endpoint;
}

}  // namespace dpserve::http
