// Shared helpers for model_tests: temporary folders, tiny checkpoints, error measures. Header-only
// because the test binary is built from *_test.cpp files.
#pragma once

#include "engine/model/presets.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <stdlib.h>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace dpserve::engine::testing {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "dpserve-model-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes a seeded tiny checkpoint of `arch` into dir and returns dir.
inline std::string make_tiny(const std::string& dir, const std::string& arch, uint64_t seed = 1,
                             DType dtype = DType::kF32,
                             int64_t max_shard_bytes = int64_t{1} << 40) {
  CreateOptions options;
  options.arch = arch;
  options.preset = "tiny";
  options.seed = seed;
  options.out = dir;
  options.dtype = dtype;
  options.max_shard_bytes = max_shard_bytes;
  create_checkpoint(options);
  return dir;
}

// max|a - b| / max|b|: the relative error the engine's checks use.
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double diff = 0;
  double scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double{a[i]} - b[i]));
    scale = std::max(scale, std::fabs(double{b[i]}));
  }
  return scale == 0 ? diff : diff / scale;
}

// Runs a shell command and returns its exit status (-1 if it did not exit normally).
inline int run_command(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace dpserve::engine::testing
