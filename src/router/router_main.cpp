#include "router/router_main.h"

#include "common/logging.h"
#include "router/router.h"

#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
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
    auto stop_all = [&server, &metrics_server] {
      server.stop();
      if (metrics_server) metrics_server->stop();
    };
    // First signal: drain (refuse new connections, let requests in flight finish within the
    // grace period); a second signal stops at once.
    net::signal_set signals(server.context(0), SIGINT, SIGTERM);
    net::steady_timer drain_timer(server.context(0));
    const auto grace = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(config.shutdown_grace_period_secs));
    std::function<void()> poll_drain;
    std::chrono::steady_clock::time_point drain_deadline;
    poll_drain = [&] {
      const int64_t left = server.in_flight();
      if (left == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
        if (left > 0) spdlog::warn("router: grace period over, {} request(s) cut off", left);
        stop_all();
        return;
      }
      drain_timer.expires_after(std::chrono::milliseconds(20));
      drain_timer.async_wait([&](const http::error_code& ec) {
        if (!ec) poll_drain();
      });
    };
    std::function<void(const http::error_code&, int)> on_signal = [&](const http::error_code& ec,
                                                                      int signal) {
      if (ec) return;
      if (drain_deadline != std::chrono::steady_clock::time_point{}) {
        spdlog::info("router: second signal {}, stopping now", signal);
        stop_all();
        return;
      }
      spdlog::info("router: signal {}, draining {} request(s) in flight (grace {} s)", signal,
                   server.in_flight(), config.shutdown_grace_period_secs);
      drain_deadline = std::chrono::steady_clock::now() + grace;
      server.stop_accepting();
      signals.async_wait(on_signal);
      poll_drain();
    };
    signals.async_wait(on_signal);
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
