// Builds worker lists for policy tests.
#pragma once

#include "router/worker.h"

#include <memory>
#include <string>
#include <vector>

namespace dpserve::router::testing {

inline std::vector<WorkerPtr> make_workers(size_t n, const std::string& model = "m") {
  std::vector<WorkerPtr> out;
  for (size_t i = 0; i < n; ++i) {
    // Appending (not operator+ on a literal) dodges a GCC 12 -Wrestrict false positive.
    std::string id = "w";
    id.append(std::to_string(i));
    std::string url = "http://";
    url.append(id).append(":80");
    out.push_back(std::make_shared<Worker>(id, url, url, std::nullopt, model));
  }
  return out;
}

// Sets a worker's router-tracked load to exactly (requests, tokens) through its public API.
inline void set_load(Worker& w, int64_t requests, int64_t tokens) {
  w.add_load(tokens - w.in_flight_tokens());  // tokens now exact, one extra request
  w.remove_load(0);
  while (w.in_flight_requests() < requests) w.add_load(0);
  while (w.in_flight_requests() > requests) w.remove_load(0);
}

}  // namespace dpserve::router::testing
