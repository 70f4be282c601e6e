#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace dpserve::common {

std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return std::nullopt;
}

void init_logging(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("dpserve");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
  // Warnings and errors must reach the log even if the process dies right after.
  spdlog::flush_on(spdlog::level::warn);
}

}  // namespace dpserve::common
