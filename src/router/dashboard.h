// A self-contained HTML page (GET /dashboard) that polls the router's own admin endpoints:
// workers, loads, request rates and the cache-aware policy's estimated hit rate.
#pragma once

#include <string_view>

namespace dpserve::router {

std::string_view dashboard_html();

}  // namespace dpserve::router
