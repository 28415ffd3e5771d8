#pragma once
// Internals shared by the format implementations (json, csv, protobuf, raw)
// and the dispatch in format.cc. Not for use outside connectors/format/.
//
// The text helpers append to a std::string that the caller reuses across
// rows, so encoding a batch allocates only when the buffer grows.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/format/format.h"
#include "runtime/core/json_string.h"

namespace eddy::format_internal {

using ColumnSpecs = google::protobuf::RepeatedPtrField<spec::ColumnSpec>;

// The schema declared by `columns`: known type names, unique non-empty
// names. Nullability is taken as written (default false).
Result<Schema> SchemaFromColumns(const ColumnSpecs& columns);

// Per-format factories. `schema` is the already resolved schema where the
// format needs one.
Result<std::unique_ptr<Decoder>> MakeJsonDecoder(const ColumnSpecs& columns, Schema schema);
Result<std::unique_ptr<Encoder>> MakeJsonEncoder(const Schema& schema);
Result<std::unique_ptr<Decoder>> MakeCsvDecoder(const spec::FormatSpec& format, Schema schema);
Result<std::unique_ptr<Encoder>> MakeCsvEncoder(const spec::FormatSpec& format,
                                                const Schema& schema);
Result<Schema> ResolveProtobufSchema(const spec::FormatSpec& format, const ColumnSpecs& columns,
                                     const std::string& base_dir);
Result<std::unique_ptr<Decoder>> MakeProtobufDecoder(const spec::FormatSpec& format,
                                                     const ColumnSpecs& columns,
                                                     const std::string& base_dir);
Result<std::unique_ptr<Encoder>> MakeProtobufEncoder(const spec::FormatSpec& format,
                                                     const Schema& schema,
                                                     const std::string& base_dir);
Result<Schema> ResolveRawSchema(const ColumnSpecs& columns);
Result<std::unique_ptr<Decoder>> MakeRawDecoder(Schema schema);
Result<std::unique_ptr<Encoder>> MakeRawEncoder(const Schema& schema);

// Appends the decimal form of `value`.
void AppendInt64Text(int64_t value, std::string* out);
// Appends the shortest text that reads back as exactly `value` (17
// significant digits at most, e.g. 0.1, 1.5, 1e+100); nan, inf and -inf for
// the non-finite values.
void AppendDoubleText(double value, std::string* out);
// Appends `micros` as FormatTimestamp does ("2026-01-02T03:04:05.000000Z")
// without building a temporary string.
void AppendTimestampText(TimestampMicros micros, std::string* out);

// A dead letter for `record` with its origin and original bytes. `node` is
// left empty: the source that called Decode knows its own name.
DeadLetter MakeDecodeDeadLetter(const RawRecord& record, std::string reason);

// Room for `rows` more rows in every column of `out` and its metadata:
// one allocation at most per buffer instead of doubling (none when the
// buffers came from the pool with room enough, batch.h).
inline void ReserveRows(size_t rows, Batch* out) {
  for (size_t idx = 0; idx < out->num_columns(); ++idx) {
    Column& column = out->column(idx);
    column.Reserve(column.size() + rows);
  }
  out->meta().Reserve(out->meta().size() + rows);
}

// Appends the source metadata of `record` to `batch`.
inline void AppendMeta(const RawRecord& record, Batch* batch) {
  batch->meta().Append(record.topic, record.partition, record.offset,
                       record.key.has_value() ? &*record.key : nullptr, record.timestamp);
}

// `text` cut to at most `max_bytes` bytes with "..." appended when cut, for
// quoting offending values in dead-letter reasons.
std::string Abbreviate(std::string_view text, size_t max_bytes = 40);

// Appends one decoded row: slot i to column i, by the column's type; a slot
// whose has_value() is false appends NULL. Each decoder has its own Slot
// (how it holds strings, whether "missing" differs from null) with fields
// bool_value, int_value (int64 and timestamp), double_value, string_value.
template <typename Slot>
void AppendSlots(const std::vector<Slot>& slots, Batch* out) {
  for (size_t column_idx = 0; column_idx < slots.size(); ++column_idx) {
    const Slot& slot = slots[column_idx];
    Column& column = out->column(column_idx);
    if (!slot.has_value()) {
      column.AppendNull();
      continue;
    }
    switch (column.type()) {
      case TypeId::kBool:
        column.AppendBool(slot.bool_value);
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        column.AppendInt64(slot.int_value);
        break;
      case TypeId::kDouble:
        column.AppendDouble(slot.double_value);
        break;
      case TypeId::kString:
        column.AppendString(slot.string_value);
        break;
    }
  }
}

// Checks that `out` has the decoder's schema before rows are appended.
Status CheckOutputBatch(const Schema& schema, const Batch& out);

}  // namespace eddy::format_internal
