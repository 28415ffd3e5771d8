// raw: the record bytes as one string column, unchanged in both directions.

#include "connectors/format/format_internal.h"

namespace eddy::format_internal {
namespace {

class RawDecoder final : public Decoder {
 public:
  explicit RawDecoder(Schema schema) : schema_(std::move(schema)) {}

  const Schema& schema() const override { return schema_; }

  Status Decode(std::span<const RawRecord> records, Batch* out,
                DeadLetters* dead_letters) const override {
    EDDY_RETURN_IF_ERROR(CheckOutputBatch(schema_, *out));
    Column& column = out->column(0);
    column.Reserve(column.size() + records.size());
    size_t bytes = 0;
    for (const RawRecord& record : records) bytes += record.value.size();
    column.ReserveChars(bytes);
    for (const RawRecord& record : records) {
      column.AppendString(record.value);
      AppendMeta(record, out);
    }
    return out->SetNumRows(out->num_rows() + records.size());
  }

 private:
  Schema schema_;
};

// Writes one column per row: string bytes as they are, other types as
// Column::ValueToString renders them; NULL becomes an empty record.
class RawEncoder final : public Encoder {
 public:
  RawEncoder(const Schema& schema, size_t column) : schema_(schema), column_(column) {}

  Status Encode(const Batch& batch, EncodedRows* out) const override {
    if (batch.num_columns() != schema_.size()) {
      return Status::Internal("raw encoder for {" + schema_.ToString() + "} got a batch with {" +
                              batch.schema().ToString() + "}");
    }
    const Column& column = batch.column(column_);
    out->offsets.reserve(out->offsets.size() + batch.num_rows());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      if (!column.IsNull(row)) {
        switch (column.type()) {
          case TypeId::kString:
            out->data.append(column.GetString(row));
            break;
          case TypeId::kInt64:
            AppendInt64Text(column.GetInt64(row), &out->data);
            break;
          case TypeId::kDouble:
            AppendDoubleText(column.GetDouble(row), &out->data);
            break;
          case TypeId::kTimestamp:
            AppendTimestampText(column.GetInt64(row), &out->data);
            break;
          case TypeId::kBool:
            out->data.append(column.GetBool(row) ? "true" : "false");
            break;
        }
      }
      out->offsets.push_back(out->data.size());
    }
    return Status::OK();
  }

  const Column* Passthrough(const Batch& batch) const override {
    if (batch.num_columns() != schema_.size()) return nullptr;
    const Column& column = batch.column(column_);
    return column.type() == TypeId::kString ? &column : nullptr;
  }

 private:
  Schema schema_;
  size_t column_;
};

}  // namespace

Result<Schema> ResolveRawSchema(const ColumnSpecs& columns) {
  if (columns.empty()) return Schema({Field{"value", TypeId::kString, false}});
  EDDY_ASSIGN_OR_RETURN(Schema schema, SchemaFromColumns(columns));
  if (schema.size() != 1 || schema.field(0).type != TypeId::kString) {
    return Status::InvalidArgument(
        "format raw decodes into exactly one string column (default `value`), got {" +
        schema.ToString() + "}");
  }
  return schema;
}

Result<std::unique_ptr<Decoder>> MakeRawDecoder(Schema schema) {
  return std::unique_ptr<Decoder>(std::make_unique<RawDecoder>(std::move(schema)));
}

Result<std::unique_ptr<Encoder>> MakeRawEncoder(const Schema& schema) {
  std::optional<size_t> column = schema.IndexOf("value");
  if (!column.has_value() && schema.size() == 1) column = 0;
  if (!column.has_value()) {
    return Status::InvalidArgument(
        "format raw writes one column: the input needs a column called 'value' or exactly one "
        "column, got {" +
        schema.ToString() + "}");
  }
  return std::unique_ptr<Encoder>(std::make_unique<RawEncoder>(schema, *column));
}

}  // namespace eddy::format_internal
