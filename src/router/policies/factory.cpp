#include "router/policies/factory.h"

#include "router/policies/simple_policies.h"

#include <stdexcept>

namespace dpserve::router {

std::vector<std::string> policy_names() { return {"round_robin", "random", "power_of_two"}; }

std::unique_ptr<Policy> make_policy(const PolicyConfig& config) {
  if (config.name == "round_robin") return std::make_unique<policies::RoundRobinPolicy>();
  if (config.name == "random") return std::make_unique<policies::RandomPolicy>(config.seed);
  if (config.name == "power_of_two") {
    return std::make_unique<policies::PowerOfTwoPolicy>(config.seed);
  }
  std::string expected;
  for (const auto& n : policy_names()) {
    if (!expected.empty()) expected += ", ";
    expected += n;
  }
  throw std::invalid_argument("unknown policy '" + config.name + "' (expected one of: " + expected +
                              ")");
}

}  // namespace dpserve::router
