#include "engine/api/default_model.h"

#include "engine/model/presets.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace dpserve::engine {

namespace fs = std::filesystem;

std::string default_model_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg != '\0') return (fs::path(xdg) / "dpserve/models/tiny-llama").string();
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    return (fs::path(home) / ".cache/dpserve/models/tiny-llama").string();
  }
  throw std::runtime_error("no --model-path given and neither XDG_CACHE_HOME nor HOME is set");
}

void ensure_default_model(const std::string& dir) {
  // config.json is written first and the folder appears only by rename, so its presence in the
  // final folder means a complete checkpoint.
  if (fs::exists(fs::path(dir) / "config.json")) return;
  const fs::path final_dir(dir);
  fs::create_directories(final_dir.parent_path());
  const fs::path staging = final_dir.parent_path() /
                           (final_dir.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::remove_all(staging);
  CreateOptions options;
  options.arch = "llama";
  options.preset = "tiny";
  options.seed = 0;
  options.out = staging.string();
  create_checkpoint(options);
  std::error_code ec;
  fs::rename(staging, final_dir, ec);
  if (ec) {
    fs::remove_all(staging);
    // Another process won the race; anything else is a real failure.
    if (!fs::exists(final_dir / "config.json")) {
      throw std::runtime_error("cannot create " + dir + ": " + ec.message());
    }
  }
}

}  // namespace dpserve::engine
