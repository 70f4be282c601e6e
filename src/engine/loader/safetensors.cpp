#include "engine/loader/safetensors.h"

#include "engine/loader/load_error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dpserve::engine {
namespace {

// The reference implementation's cap; a larger header is an attack or a corrupt file.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

TensorInfo parse_tensor(const std::string& name, const nlohmann::json& entry) {
  auto fail = [&](const std::string& why) -> LoadError {
    return LoadError("safetensors: tensor '" + name + "': " + why);
  };
  if (!entry.is_object()) throw fail("entry is not an object");
  TensorInfo info;
  auto dt = entry.find("dtype");
  if (dt == entry.end() || !dt->is_string()) throw fail("missing dtype");
  auto dtype = dtype_from_name(dt->get<std::string>());
  if (!dtype) throw fail("unsupported dtype " + dt->get<std::string>());
  info.dtype = *dtype;
  auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) throw fail("missing shape");
  uint64_t numel = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned()) throw fail("shape entries must be non-negative integers");
    const uint64_t dim = d.get<uint64_t>();
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / dim)
      throw fail("shape overflows");
    numel *= dim;
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) throw fail("dim too big");
    info.shape.push_back(static_cast<int64_t>(dim));
  }
  auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
    throw fail("data_offsets must be two non-negative integers");
  }
  info.begin = (*offsets)[0].get<uint64_t>();
  info.end = (*offsets)[1].get<uint64_t>();
  if (info.end < info.begin) throw fail("data_offsets end before begin");
  const uint64_t elem = dtype_size(info.dtype);
  if (numel > std::numeric_limits<uint64_t>::max() / elem) throw fail("byte size overflows");
  if (info.end - info.begin != numel * elem) {
    throw fail("byte range of " + std::to_string(info.end - info.begin) + " bytes does not match " +
               "shape (" + std::to_string(numel * elem) + " bytes)");
  }
  return info;
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsHeader parse_safetensors_header(std::string_view prefix, uint64_t file_size) {
  if (file_size < 8 || prefix.size() < 8) {
    throw LoadError("safetensors: file is shorter than the 8-byte header length");
  }
  const uint64_t header_len = read_u64_le(prefix.data());
  if (header_len > kMaxHeaderBytes) throw LoadError("safetensors: header length is implausible");
  if (header_len > file_size - 8) {
    throw LoadError("safetensors: truncated file: header of " + std::to_string(header_len) +
                    " bytes but the file has " + std::to_string(file_size) + " bytes");
  }
  if (prefix.size() < 8 + header_len) throw LoadError("safetensors: header not fully read");
  const std::string_view text = prefix.substr(8, header_len);
  if (text.empty() || text.front() != '{')
    throw LoadError("safetensors: header is not JSON object");

  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw LoadError("safetensors: header is not valid JSON");
  }
  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  const uint64_t data_size = file_size - header.data_offset;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) throw LoadError("safetensors: __metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) throw LoadError("safetensors: __metadata__ values must be strings");
        header.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    TensorInfo info = parse_tensor(it.key(), *it);
    if (info.end > data_size) {
      throw LoadError("safetensors: truncated file: tensor '" + it.key() + "' ends at byte " +
                      std::to_string(info.end) + " of a " + std::to_string(data_size) +
                      "-byte data buffer");
    }
    header.tensors.emplace(it.key(), std::move(info));
  }
  // Ranges must not overlap (empty tensors occupy nothing).
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, info] : header.tensors) {
    if (info.end > info.begin) ranges.emplace_back(info.begin, info.end);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      throw LoadError("safetensors: tensor byte ranges overlap");
    }
  }
  return header;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw LoadError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw LoadError("cannot stat " + path + ": " + std::strerror(errno));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw LoadError("cannot mmap " + path + ": " + std::strerror(errno));
  }
  try {
    const std::string_view bytes(static_cast<const char*>(map_), size_);
    header_ = parse_safetensors_header(bytes, size_);
  } catch (const LoadError& e) {
    if (map_ != nullptr) ::munmap(map_, size_);
    map_ = nullptr;
    throw LoadError(path + ": " + e.what());
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

TensorView SafetensorsFile::tensor(const std::string& name) const {
  auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) throw LoadError(path_ + ": missing tensor '" + name + "'");
  TensorView view;
  view.name = it->first;
  view.info = &it->second;
  view.data = static_cast<const unsigned char*>(map_) + header_.data_offset + it->second.begin;
  return view;
}

}  // namespace dpserve::engine
