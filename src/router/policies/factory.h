// Creates a policy by name. Unknown or not-yet-implemented names throw std::invalid_argument with a
// message naming the value, so the CLI can reject them at start-up.
#pragma once

#include "router/policy.h"

#include <memory>
#include <string>
#include <vector>

namespace dpserve::router {

std::unique_ptr<Policy> make_policy(const PolicyConfig& config);

// Names make_policy accepts, for --help and error messages.
std::vector<std::string> policy_names();

}  // namespace dpserve::router
