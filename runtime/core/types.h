#pragma once
// Logical column types, fields and schemas shared by every module.
//
// Timestamps are microseconds since the Unix epoch, UTC (as in Spark and
// Arrow's TIMESTAMP(us)); durations in the job file are parsed into the same
// unit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {

enum class TypeId : uint8_t {
  kBool,
  kInt64,
  kDouble,
  kString,     // UTF-8 text or arbitrary bytes (binary safe)
  kTimestamp,  // int64 microseconds since the epoch, UTC
};

// Lower-case name as written in job files: bool, int64, double, string, timestamp.
std::string_view TypeName(TypeId type);
// Accepts the names above plus common aliases (boolean, int, long, bigint,
// float, float64, varchar, text, bytes). Case-insensitive.
std::optional<TypeId> ParseTypeName(std::string_view name);

struct Field {
  std::string name;
  TypeId type = TypeId::kString;
  bool nullable = true;

  bool operator==(const Field&) const = default;
};

// An ordered list of uniquely named fields.
class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  size_t size() const { return fields_.size(); }
  const Field& field(size_t idx) const { return fields_[idx]; }
  const std::vector<Field>& fields() const { return fields_; }
  void AddField(Field field) { fields_.push_back(std::move(field)); }

  // Index of the field called `name`, if any.
  std::optional<size_t> IndexOf(std::string_view name) const;
  // "name:type[?], ..." with `?` marking nullable fields.
  std::string ToString() const;

  bool operator==(const Schema&) const = default;

 private:
  std::vector<Field> fields_;
};

// Typed identifiers so offsets, partitions and batch ids cannot be swapped.
struct PartitionId {
  int32_t value = 0;
  auto operator<=>(const PartitionId&) const = default;
};
struct Offset {
  int64_t value = 0;
  auto operator<=>(const Offset&) const = default;
  // `count` records further on.
  Offset operator+(int64_t count) const { return Offset{value + count}; }
  // Records from `from` up to (not including) this offset.
  int64_t operator-(Offset from) const { return value - from.value; }
};
struct BatchId {
  int64_t value = 0;
  auto operator<=>(const BatchId&) const = default;
};

// Microseconds since the epoch.
using TimestampMicros = int64_t;
// The final watermark, after every event time: bounded input that ended.
inline constexpr TimestampMicros kEndOfTime = INT64_MAX;

}  // namespace eddy
