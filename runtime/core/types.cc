#include "runtime/core/types.h"

#include <algorithm>
#include <cctype>

namespace eddy {

std::string_view TypeName(TypeId type) {
  switch (type) {
    case TypeId::kBool:
      return "bool";
    case TypeId::kInt64:
      return "int64";
    case TypeId::kDouble:
      return "double";
    case TypeId::kString:
      return "string";
    case TypeId::kTimestamp:
      return "timestamp";
  }
  return "unknown";
}

std::optional<TypeId> ParseTypeName(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "bool" || lower == "boolean") return TypeId::kBool;
  if (lower == "int64" || lower == "int" || lower == "long" || lower == "bigint" ||
      lower == "integer")
    return TypeId::kInt64;
  if (lower == "double" || lower == "float" || lower == "float64" || lower == "real")
    return TypeId::kDouble;
  if (lower == "string" || lower == "varchar" || lower == "text" || lower == "bytes")
    return TypeId::kString;
  if (lower == "timestamp") return TypeId::kTimestamp;
  return std::nullopt;
}

std::optional<size_t> Schema::IndexOf(std::string_view name) const {
  for (size_t idx = 0; idx < fields_.size(); ++idx) {
    if (fields_[idx].name == name) return idx;
  }
  return std::nullopt;
}

std::string Schema::ToString() const {
  std::string out;
  for (size_t idx = 0; idx < fields_.size(); ++idx) {
    if (idx > 0) out += ", ";
    out += fields_[idx].name;
    out += ':';
    out += TypeName(fields_[idx].type);
    if (fields_[idx].nullable) out += '?';
  }
  return out;
}

}  // namespace eddy
