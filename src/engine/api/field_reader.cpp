#include "engine/api/field_reader.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace dpserve::engine {

using nlohmann::json;

FieldReader::FieldReader(const json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {
  if (!object_.is_object())
    error_ = (prefix_.empty() ? "the body" : prefix_) + " must be an object";
}

void FieldReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const json* FieldReader::find(const char* key) const {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool FieldReader::has(const char* key) const { return find(key) != nullptr; }

void FieldReader::get(const char* key, bool& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (!v->is_boolean()) return fail(name(key) + " must be true or false");
  out = v->get<bool>();
}

void FieldReader::get(const char* key, int& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (v->is_number_integer()) {
    const int64_t value = v->get<int64_t>();
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      return fail(name(key) + " is out of range");
    }
    out = static_cast<int>(value);
    return;
  }
  if (v->is_number_unsigned()) return fail(name(key) + " is out of range");
  if (v->is_number_float()) {
    const double d = v->get<double>();
    if (std::floor(d) == d && std::abs(d) < 2e9) {
      out = static_cast<int>(d);
      return;
    }
  }
  fail(name(key) + " must be an integer");
}

void FieldReader::get(const char* key, float& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (!v->is_number()) return fail(name(key) + " must be a number");
  const double d = v->get<double>();
  if (!std::isfinite(d)) return fail(name(key) + " must be finite");
  out = static_cast<float>(d);
}

void FieldReader::get(const char* key, std::string& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (!v->is_string()) return fail(name(key) + " must be a string");
  out = v->get<std::string>();
}

void FieldReader::get(const char* key, std::optional<uint64_t>& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0)) {
    out = v->get<uint64_t>();
    return;
  }
  fail(name(key) + " must be a non-negative integer");
}

void FieldReader::get_strings(const char* key, std::vector<std::string>& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  if (v->is_string()) {
    out = {v->get<std::string>()};
    return;
  }
  if (!v->is_array()) return fail(name(key) + " must be a string or a list of strings");
  std::vector<std::string> list;
  for (const auto& item : *v) {
    if (!item.is_string()) return fail(name(key) + " must be a string or a list of strings");
    list.push_back(item.get<std::string>());
  }
  out = std::move(list);
}

void FieldReader::get_ids(const char* key, std::vector<int32_t>& out) {
  const json* v = find(key);
  if (!ok() || v == nullptr) return;
  std::string message;
  auto ids = read_ids(*v, name(key), &message);
  if (!ids) return fail(message);
  out = std::move(*ids);
}

void FieldReader::reject_unknown(std::initializer_list<const char*> known) {
  if (!ok()) return;
  for (const auto& [key, value] : object_.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) return fail("unknown field " + prefix_ + key);
  }
}

std::optional<std::vector<int32_t>> read_ids(const json& value, const std::string& what,
                                             std::string* error) {
  if (!value.is_array()) {
    *error = what + " must be a list of token ids";
    return std::nullopt;
  }
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const auto& item : value) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 ||
        item.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      *error = what + " must be a list of non-negative integer token ids";
      return std::nullopt;
    }
    ids.push_back(static_cast<int32_t>(item.get<int64_t>()));
  }
  return ids;
}

}  // namespace dpserve::engine
