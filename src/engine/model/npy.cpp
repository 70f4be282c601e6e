#include "engine/model/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>

namespace dpserve::engine {

void write_npy(const std::string& path, const NpyArray& array) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(array.rows) + ", " + std::to_string(array.cols) + "), }";
  // Magic (6) + version (2) + length (2) + header must be a multiple of 64, ending in '\n'.
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(array.data.data()),
            static_cast<std::streamsize>(array.data.size() * sizeof(float)));
  if (!out) throw std::runtime_error("write failed for " + path);
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  char magic[10];
  in.read(magic, 10);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0 || magic[6] != 1) {
    throw std::runtime_error(path + ": not a version 1 .npy file");
  }
  const size_t len =
      static_cast<unsigned char>(magic[8]) | (size_t{static_cast<unsigned char>(magic[9])} << 8);
  std::string header(len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(len));
  std::smatch m;
  if (header.find("'<f4'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos ||
      !std::regex_search(header, m, std::regex(R"(\((\d+),\s*(\d+)\))"))) {
    throw std::runtime_error(path + ": expected a C-order 2-D float32 array");
  }
  NpyArray array;
  array.rows = std::stoll(m[1]);
  array.cols = std::stoll(m[2]);
  array.data.resize(static_cast<size_t>(array.rows * array.cols));
  in.read(reinterpret_cast<char*>(array.data.data()),
          static_cast<std::streamsize>(array.data.size() * sizeof(float)));
  if (!in) throw std::runtime_error(path + ": truncated data");
  return array;
}

}  // namespace dpserve::engine
