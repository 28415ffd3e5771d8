#include "connectors/format/format.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <unordered_set>

#include "connectors/format/format_internal.h"
#include "runtime/core/value_text.h"

namespace eddy {

namespace format_internal {

Result<Schema> SchemaFromColumns(const ColumnSpecs& columns) {
  Schema schema;
  std::unordered_set<std::string> names;
  for (int idx = 0; idx < columns.size(); ++idx) {
    const spec::ColumnSpec& column = columns[idx];
    if (column.name().empty()) {
      return Status::InvalidArgument("column " + std::to_string(idx + 1) + ": missing name");
    }
    if (!names.insert(column.name()).second) {
      return Status::InvalidArgument("duplicate column '" + column.name() + "'");
    }
    if (column.type().empty()) {
      return Status::InvalidArgument("column '" + column.name() +
                                     "': missing type (expected bool, int64, double, string, "
                                     "timestamp)");
    }
    std::optional<TypeId> type = ParseTypeName(column.type());
    if (!type.has_value()) {
      return Status::InvalidArgument("column '" + column.name() + "': unknown type '" +
                                     column.type() +
                                     "' (expected bool, int64, double, string, timestamp)");
    }
    schema.AddField(Field{column.name(), *type, column.nullable()});
  }
  return schema;
}

void AppendInt64Text(int64_t value, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, end);
}

void AppendDoubleText(double value, std::string* out) {
  char buf[kValueTextBuffer];
  out->append(FormatDoubleTo(value, buf));
}

void AppendTimestampText(TimestampMicros micros, std::string* out) {
  char buf[kValueTextBuffer];
  out->append(FormatTimestampTo(micros, buf));
}

DeadLetter MakeDecodeDeadLetter(const RawRecord& record, std::string reason) {
  DeadLetter letter;
  letter.reason = std::move(reason);
  letter.topic = std::string(record.topic);
  letter.partition = record.partition;
  letter.offset = record.offset;
  if (record.key.has_value()) letter.key = std::string(*record.key);
  letter.value = std::string(record.value);
  return letter;
}

std::string Abbreviate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::string out(text.substr(0, max_bytes));
  out += "...";
  return out;
}

Status CheckOutputBatch(const Schema& schema, const Batch& out) {
  if (!(out.schema() == schema) || out.num_columns() != schema.size()) {
    return Status::Internal("decoder output batch has schema {" + out.schema().ToString() +
                            "}, expected {" + schema.ToString() + "}");
  }
  if (out.meta().size() != out.num_rows()) {
    return Status::Internal("decoder output batch has source metadata for " +
                            std::to_string(out.meta().size()) + " of " +
                            std::to_string(out.num_rows()) + " rows");
  }
  return Status::OK();
}

}  // namespace format_internal

namespace {

enum class FormatKind { kJson, kCsv, kProtobuf, kRaw };

Result<FormatKind> ParseFormatKind(const std::string& type) {
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.empty() || lower == "json") return FormatKind::kJson;
  if (lower == "csv") return FormatKind::kCsv;
  if (lower == "protobuf") return FormatKind::kProtobuf;
  if (lower == "raw") return FormatKind::kRaw;
  return Status::InvalidArgument("unknown format '" + type +
                                 "' (expected json, csv, protobuf, raw)");
}

Result<Schema> DeclaredSchema(FormatKind kind, const format_internal::ColumnSpecs& columns) {
  if (columns.empty()) {
    return Status::InvalidArgument(std::string("format ") +
                                   (kind == FormatKind::kJson ? "json" : "csv") +
                                   " needs declared columns (schema)");
  }
  return format_internal::SchemaFromColumns(columns);
}

}  // namespace

Result<Schema> ResolveSchema(const spec::FormatSpec& format,
                             const google::protobuf::RepeatedPtrField<spec::ColumnSpec>& columns,
                             const std::string& base_dir) {
  EDDY_ASSIGN_OR_RETURN(FormatKind kind, ParseFormatKind(format.type()));
  switch (kind) {
    case FormatKind::kJson:
    case FormatKind::kCsv:
      return DeclaredSchema(kind, columns);
    case FormatKind::kProtobuf:
      return format_internal::ResolveProtobufSchema(format, columns, base_dir);
    case FormatKind::kRaw:
      return format_internal::ResolveRawSchema(columns);
  }
  return Status::Internal("unhandled format kind");
}

Result<std::unique_ptr<Decoder>> MakeDecoder(
    const spec::FormatSpec& format,
    const google::protobuf::RepeatedPtrField<spec::ColumnSpec>& columns,
    const std::string& base_dir) {
  EDDY_ASSIGN_OR_RETURN(FormatKind kind, ParseFormatKind(format.type()));
  switch (kind) {
    case FormatKind::kJson: {
      EDDY_ASSIGN_OR_RETURN(Schema schema, DeclaredSchema(kind, columns));
      return format_internal::MakeJsonDecoder(columns, std::move(schema));
    }
    case FormatKind::kCsv: {
      EDDY_ASSIGN_OR_RETURN(Schema schema, DeclaredSchema(kind, columns));
      return format_internal::MakeCsvDecoder(format, std::move(schema));
    }
    case FormatKind::kProtobuf:
      return format_internal::MakeProtobufDecoder(format, columns, base_dir);
    case FormatKind::kRaw: {
      EDDY_ASSIGN_OR_RETURN(Schema schema, format_internal::ResolveRawSchema(columns));
      return format_internal::MakeRawDecoder(std::move(schema));
    }
  }
  return Status::Internal("unhandled format kind");
}

Result<std::unique_ptr<Encoder>> MakeEncoder(const spec::FormatSpec& format, const Schema& schema,
                                             const std::string& base_dir) {
  EDDY_ASSIGN_OR_RETURN(FormatKind kind, ParseFormatKind(format.type()));
  switch (kind) {
    case FormatKind::kJson:
      return format_internal::MakeJsonEncoder(schema);
    case FormatKind::kCsv:
      return format_internal::MakeCsvEncoder(format, schema);
    case FormatKind::kProtobuf:
      return format_internal::MakeProtobufEncoder(format, schema, base_dir);
    case FormatKind::kRaw:
      return format_internal::MakeRawEncoder(schema);
  }
  return Status::Internal("unhandled format kind");
}

}  // namespace eddy
