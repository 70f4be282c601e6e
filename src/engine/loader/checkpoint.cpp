#include "engine/loader/checkpoint.h"

#include "engine/loader/load_error.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace dpserve::engine {
namespace fs = std::filesystem;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

HfConfig read_config(const std::string& dir) {
  const fs::path path = fs::path(dir) / "config.json";
  if (!fs::exists(path))
    throw LoadError(dir + ": no config.json (expected a HF checkpoint folder)");
  return HfConfig::from_file(path.string());
}

std::vector<std::string> shard_files(const std::string& dir) {
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream in(index);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("weight_map") ||
        !doc["weight_map"].is_object()) {
      throw LoadError(index.string() + ": expected an object with a 'weight_map'");
    }
    std::set<std::string> names;
    for (const auto& file : doc["weight_map"]) {
      if (!file.is_string()) throw LoadError(index.string() + ": weight_map values must be names");
      const std::string f = file.get<std::string>();
      if (f.find('/') != std::string::npos || f == "..") {
        throw LoadError(index.string() + ": shard name '" + f + "' is not a plain file name");
      }
      names.insert(f);
    }
    return {names.begin(), names.end()};
  }
  if (fs::exists(single)) return {"model.safetensors"};
  throw LoadError(dir + ": neither model.safetensors nor model.safetensors.index.json found");
}

}  // namespace

Checkpoint::Checkpoint(const std::string& dir) : dir_(dir), config_(read_config(dir)) {
  for (const auto& name : shard_files(dir)) {
    files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / name).string()));
    const SafetensorsFile& file = *files_.back();
    for (const auto& [tensor_name, info] : file.header().tensors) {
      if (where_.count(tensor_name)) {
        throw LoadError(dir + ": tensor '" + tensor_name + "' appears in more than one shard");
      }
      where_.emplace(tensor_name, file.tensor(tensor_name));
    }
  }
  // Views keep string_views into the file headers; rebind names to the map's own keys.
  for (auto& [name, view] : where_) view.name = name;
}

std::vector<std::string> Checkpoint::tensor_names() const {
  std::vector<std::string> names;
  for (const auto& [name, view] : where_) names.push_back(name);
  return names;
}

TensorView Checkpoint::tensor(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw LoadError(dir_ + ": missing tensor '" + name + "'");
  return it->second;
}

const TensorView& Checkpoint::checked(const std::string& name,
                                      const std::vector<int64_t>& shape) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw LoadError(dir_ + ": missing tensor '" + name + "'");
  if (it->second.info->shape != shape) {
    throw LoadError(dir_ + ": tensor '" + name + "' has shape " +
                    shape_string(it->second.info->shape) + ", config.json implies " +
                    shape_string(shape));
  }
  return it->second;
}

std::vector<float> Checkpoint::load_f32(const std::string& name,
                                        const std::vector<int64_t>& shape) const {
  const TensorView& view = checked(name, shape);
  std::vector<float> out(static_cast<size_t>(view.info->numel()));
  try {
    convert_to_f32(view.info->dtype, view.data, out.size(), out.data());
  } catch (const LoadError& e) {
    throw LoadError(dir_ + ": tensor '" + name + "': " + e.what());
  }
  return out;
}

std::vector<uint16_t> Checkpoint::load_bf16(const std::string& name,
                                            const std::vector<int64_t>& shape) const {
  const TensorView& view = checked(name, shape);
  const size_t n = static_cast<size_t>(view.info->numel());
  std::vector<uint16_t> out(n);
  if (view.info->dtype == DType::kBF16) {
    std::memcpy(out.data(), view.data, n * 2);
    return out;
  }
  std::vector<float> f = load_f32(name, shape);
  for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(f[i]);
  return out;
}

int64_t Checkpoint::parameter_count() const {
  int64_t total = 0;
  for (const auto& [name, view] : where_) {
    const DType d = view.info->dtype;
    if (d == DType::kF32 || d == DType::kF16 || d == DType::kBF16 || d == DType::kF64) {
      total += view.info->numel();
    }
  }
  return total;
}

}  // namespace dpserve::engine
