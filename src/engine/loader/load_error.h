// Errors raised while opening a checkpoint. Loading happens at start-up, so these are exceptions;
// the message names the file and tensor so a user can act on it without a debugger.
#pragma once

#include <stdexcept>
#include <string>

namespace dpserve::engine {

class LoadError : public std::runtime_error {
 public:
  explicit LoadError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace dpserve::engine
