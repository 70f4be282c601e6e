// The model `dpserve engine` serves when no --model-path is given: the tiny Llama preset, created
// once (seed 0) in the user's cache folder, so `make run` works on a fresh machine with no hub.
#pragma once

#include <string>

namespace dpserve::engine {

// $XDG_CACHE_HOME/dpserve/models/tiny-llama, else $HOME/.cache/dpserve/models/tiny-llama.
// Throws std::runtime_error when neither variable is set.
std::string default_model_dir();

// Creates the default model in `dir` unless a complete one is there. Concurrent callers are safe:
// each writes a private folder and renames it into place. Throws on I/O errors.
void ensure_default_model(const std::string& dir);

}  // namespace dpserve::engine
