#include "router/router_main.h"

#include "common/logging.h"
#include "router/router.h"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <malloc.h>

namespace dpserve::router {

int router_main(int argc, char** argv) {
  RouterConfig config;
  auto outcome = parse_router_config(argc, argv, config);
  if (!outcome.run) {
    std::fprintf(outcome.exit_code == 0 ? stdout : stderr, "%s\n", outcome.message.c_str());
    return outcome.exit_code;
  }
  common::init_logging(*common::parse_log_level(config.log_level));
  // Every request allocates and frees a body of its prompt's size. With glibc's defaults the heap
  // top is trimmed and regrown (brk) hundreds of times a second under load, and bodies over the
  // adaptive mmap threshold are mapped and unmapped per request (page faults, TLB shootdowns).
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  try {
    Router router(config);
    http::ServerOptions options;
    options.host = config.host;
    options.port = static_cast<uint16_t>(config.port);
    options.threads = static_cast<size_t>(config.threads);
    options.body_limit = static_cast<uint64_t>(config.max_payload_size);
    http::Server server(options,
                        [&router](http::Exchange& exchange) { return router.handle(exchange); });
    net::signal_set signals(server.context(0), SIGINT, SIGTERM);
    signals.async_wait([&server](const http::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("router: signal {}, stopping", signal);
      server.stop();
    });
    router.start(server);
    spdlog::info("router: policy {}, {} io thread(s), {} worker URL(s)", router.policy().name(),
                 server.threads(), config.worker_urls.size());
    // Tests and scripts read the bound port (useful with --port 0) from this line.
    std::printf("dpserve router listening on http://%s:%u\n", config.host.c_str(), server.port());
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpserve router: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace dpserve::router
