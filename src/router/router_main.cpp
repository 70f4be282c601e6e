#include "router/router_main.h"

#include "common/logging.h"
#include "router/router.h"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <malloc.h>
#include <memory>
#include <thread>

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
    options.active_connections = &router.metrics().active_connections();
    http::Server server(options,
                        [&router](http::Exchange& exchange) { return router.handle(exchange); });
    std::unique_ptr<http::Server> metrics_server;
    if (config.prometheus_port >= 0) {
      http::ServerOptions metrics_options;
      metrics_options.host = config.prometheus_host;
      metrics_options.port = static_cast<uint16_t>(config.prometheus_port);
      metrics_server = std::make_unique<http::Server>(
          metrics_options, [&router](http::Exchange& exchange) -> net::awaitable<void> {
            auto target = exchange.request().target();
            if (target != "/metrics" && !target.starts_with("/metrics?")) {
              co_await exchange.respond_error(404, "not_found", "only GET /metrics is served here");
              co_return;
            }
            if (exchange.request().method() != http::bhttp::verb::get) {
              exchange.add_response_header("allow", "GET");
              co_await exchange.respond_error(405, "method_not_allowed", "use GET /metrics");
              co_return;
            }
            std::string text = router.render_metrics();
            co_await exchange.respond(200, std::move(text), "text/plain; version=0.0.4");
          });
    }
    net::signal_set signals(server.context(0), SIGINT, SIGTERM);
    signals.async_wait([&server, &metrics_server](const http::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("router: signal {}, stopping", signal);
      server.stop();
      if (metrics_server) metrics_server->stop();
    });
    router.start(server);
    spdlog::info("router: policy {}, {} io thread(s), {} worker URL(s)", router.policy().name(),
                 server.threads(), config.worker_urls.size());
    std::thread metrics_thread;
    if (metrics_server) {
      metrics_thread = std::thread([&metrics_server] { metrics_server->run(); });
      std::printf("dpserve router metrics on http://%s:%u/metrics\n",
                  config.prometheus_host.c_str(), metrics_server->port());
    }
    // Tests and scripts read the bound port (useful with --port 0) from this line.
    std::printf("dpserve router listening on http://%s:%u\n", config.host.c_str(), server.port());
    std::fflush(stdout);
    server.run();
    if (metrics_thread.joinable()) {
      metrics_server->stop();
      metrics_thread.join();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpserve router: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace dpserve::router
