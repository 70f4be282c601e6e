// Typed, non-throwing reads of request JSON. The first problem is kept as a message naming the
// field ("sampling_params.top_p must be a number"), which becomes the 400 the client sees; later
// reads are no-ops, so a parser can read everything and check ok() once.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

class FieldReader {
 public:
  // `prefix` qualifies field names in messages (e.g. "sampling_params.").
  FieldReader(const nlohmann::json& object, std::string prefix);

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string message);
  // Present and not null.
  bool has(const char* key) const;
  const nlohmann::json* find(const char* key) const;

  // Each leaves `out` unchanged when the key is absent or null.
  void get(const char* key, bool& out);
  void get(const char* key, int& out);
  void get(const char* key, float& out);
  void get(const char* key, std::string& out);
  void get(const char* key, std::optional<uint64_t>& out);
  // A string or a list of strings.
  void get_strings(const char* key, std::vector<std::string>& out);
  // A list of integers in [0, 2^31).
  void get_ids(const char* key, std::vector<int32_t>& out);
  // Fails on any key not in `known`.
  void reject_unknown(std::initializer_list<const char*> known);

 private:
  std::string name(const char* key) const { return prefix_ + key; }
  const nlohmann::json& object_;
  std::string prefix_;
  std::string error_;
};

// A list of integers in [0, 2^31), or nullopt with *error naming `what`.
std::optional<std::vector<int32_t>> read_ids(const nlohmann::json& value, const std::string& what,
                                             std::string* error);

}  // namespace dpserve::engine
