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

namespace {

// Length of the valid UTF-8 sequence starting at text[pos] (2-4 bytes), or 0
// when the bytes there are not one (overlong forms and surrogates included).
size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t idx) { return static_cast<unsigned char>(text[idx]); };
  const unsigned char lead = byte(pos);
  size_t length;
  uint32_t min_code_point;
  uint32_t code_point;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    min_code_point = 0x80;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min_code_point = 0x800;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min_code_point = 0x10000;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t idx = 1; idx < length; ++idx) {
    const unsigned char cont = byte(pos + idx);
    if ((cont & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (cont & 0x3F);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++pos;
      continue;
    }
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, pos);
      if (length > 0) {
        pos += length;
        continue;
      }
    }
    out->append(text.data() + run_start, pos - run_start);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out->append(escaped, sizeof(escaped));
        } else {
          out->append("\\ufffd");  // not valid UTF-8
        }
    }
    ++pos;
    run_start = pos;
  }
  out->append(text.data() + run_start, pos - run_start);
  out->push_back('"');
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
