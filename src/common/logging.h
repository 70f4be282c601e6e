// Process-wide logging set-up shared by every subcommand (spdlog, stderr, one format).
#pragma once

#include <spdlog/spdlog.h>

#include <optional>
#include <string_view>

namespace dpserve::common {

// Parses "debug", "info", "warn" / "warning", "error", "off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> parse_log_level(std::string_view name);

// Installs the default stderr logger with the project's format at `level`.
void init_logging(spdlog::level::level_enum level);

}  // namespace dpserve::common
