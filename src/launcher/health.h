// Blocking readiness probes and port helpers for the launcher (which runs no event loop).
#pragma once

#include <chrono>
#include <string>

namespace dpserve::launcher {

// True when GET http://host:port/path answers 200 within `timeout`.
bool http_ok(const std::string& host, int port, const std::string& path,
             std::chrono::milliseconds timeout);

// True when a TCP listener could bind host:port now.
bool port_is_free(const std::string& host, int port);

// A port the kernel considers free on `host` (bind to 0); 0 on failure.
int pick_free_port(const std::string& host);

}  // namespace dpserve::launcher
