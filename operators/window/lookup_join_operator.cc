// Lookup join: enriches a stream from a table kept in RocksDB.
//
// Input 0 is the stream, input 1 the table's changelog. Per batch the table
// rows are applied first (in order: the last row per key wins; a row whose
// joined columns are all NULL deletes the key), then every stream row looks
// its key up — one MultiGet per batch.
//
// State layout: 'R' key -> the joined columns of the table row, encoded with
// the key codec.

#include <unordered_map>

#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "operators/core/stateful_operator.h"
#include "operators/window/window_operators.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

std::string RowKey(std::string_view key) {
  std::string out(1, 'R');
  out.append(key);
  return out;
}

class LookupJoinOperator final : public StatefulOperator {
 public:
  LookupJoinOperator(std::string name, Schema stream, std::unique_ptr<Expression> key,
                     size_t table_key_index, std::vector<size_t> table_columns, Schema table,
                     bool left, std::string signature)
      : name_(std::move(name)),
        stream_schema_(std::move(stream)),
        key_(std::move(key)),
        table_key_index_(table_key_index),
        table_columns_(std::move(table_columns)),
        table_schema_(std::move(table)),
        left_(left),
        signature_(std::move(signature)) {
    output_schema_ = stream_schema_;
    for (size_t column : table_columns_) {
      Field field = table_schema_.field(column);
      // A left join's miss is NULL; an inner join emits only matched rows,
      // whose columns are as nullable as the table's.
      field.nullable = field.nullable || left_;
      output_schema_.AddField(field);
    }
  }

  const std::string& name() const override { return name_; }
  std::string kind() const override { return "lookup_join"; }
  bool keeps_input_time() const override { return true; }
  const Schema& output_schema() const override { return output_schema_; }
  std::string Signature() const override { return signature_; }
  std::string Describe() const override { return "lookup_join " + signature_; }

  Status ProcessBatch(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                      Batch* out, Batch*, DeadLetters* dead_letters) override {
    // 1. Table changes, remembered for this batch's lookups.
    std::unordered_map<std::string, std::optional<std::string>> overlay;
    const Batch& table = inputs.at(1);
    std::vector<Column> key_column(1, Column(table_schema_.field(table_key_index_).type));
    std::vector<Column> value_columns;
    for (size_t column : table_columns_) value_columns.push_back(table.column(column));
    std::string key, value;
    for (size_t row = 0; row < table.num_rows(); ++row) {
      key.clear();
      key_column[0] = Column(key_column[0].type());
      key_column[0].AppendFrom(table.column(table_key_index_), row);
      EncodeKey(key_column, 0, &key);
      bool all_null = true;
      for (const Column& column : value_columns) all_null &= column.IsNull(row);
      const KeyGroupId group = KeyGroupForKey(key, context.key_groups);
      if (all_null) {
        context.writes->Delete(*context.table, group, RowKey(key));
        overlay[key] = std::nullopt;
      } else {
        value.clear();
        EncodeKey(value_columns, row, &value);
        context.writes->Put(*context.table, group, RowKey(key), value);
        overlay[key] = value;
      }
    }

    // 2. Stream lookups.
    const Batch& stream = inputs.at(0);
    if (stream.num_rows() == 0) return Status::OK();
    std::vector<RowError> errors;
    std::vector<Column> keys;
    keys.push_back(key_->Evaluate(stream, &errors));
    std::vector<uint8_t> rejected(stream.num_rows(), 0);
    RejectFailedRows(stream, errors, name_, &rejected, dead_letters);
    std::vector<std::string> encoded(stream.num_rows());
    std::vector<std::string> state_keys;
    std::vector<StateKey> lookups;
    std::vector<uint32_t> lookup_rows;
    for (uint32_t row = 0; row < stream.num_rows(); ++row) {
      if (rejected[row] || keys[0].IsNull(row)) continue;
      EncodeKey(keys, row, &encoded[row]);
      if (overlay.count(encoded[row]) == 0) {
        state_keys.push_back(RowKey(encoded[row]));
        lookup_rows.push_back(row);
      }
    }
    for (size_t idx = 0; idx < lookup_rows.size(); ++idx) {
      lookups.push_back(
          {KeyGroupForKey(encoded[lookup_rows[idx]], context.key_groups), state_keys[idx]});
    }
    std::vector<std::optional<std::string>> values;
    EDDY_RETURN_IF_ERROR(context.table->MultiGet(lookups, &values));
    std::vector<const std::optional<std::string>*> found(stream.num_rows(), nullptr);
    for (size_t idx = 0; idx < lookup_rows.size(); ++idx) found[lookup_rows[idx]] = &values[idx];
    for (uint32_t row = 0; row < stream.num_rows(); ++row) {
      if (rejected[row] || keys[0].IsNull(row) || found[row] != nullptr) continue;
      found[row] = &overlay.at(encoded[row]);
    }

    std::vector<uint32_t> kept;
    std::vector<Column> joined;
    for (size_t column : table_columns_) joined.emplace_back(table_schema_.field(column).type);
    for (uint32_t row = 0; row < stream.num_rows(); ++row) {
      if (rejected[row]) continue;
      const bool hit = found[row] != nullptr && found[row]->has_value();
      if (!hit && !left_) continue;
      kept.push_back(row);
      if (hit) {
        std::string_view bytes = **found[row];
        EDDY_RETURN_IF_ERROR(DecodeKey(&bytes, &joined));
      } else {
        for (Column& column : joined) column.AppendNull();
      }
    }
    if (!left_) RejectStaleNulls(stream, &kept, &joined, dead_letters);
    Batch result = stream.Gather(kept);
    Batch relabelled(output_schema_);
    for (size_t idx = 0; idx < result.num_columns(); ++idx)
      relabelled.column(idx) = std::move(result.column(idx));
    for (size_t idx = 0; idx < joined.size(); ++idx) {
      relabelled.column(result.num_columns() + idx) = std::move(joined[idx]);
    }
    relabelled.meta() = std::move(result.meta());
    EDDY_RETURN_IF_ERROR(relabelled.SetNumRows(kept.size()));
    return out->Append(relabelled);
  }

 private:
  // The signature records a table column's type, not its nullability: a
  // row stored while a column was nullable may hold a NULL the table's
  // schema no longer allows. Rather than emit it in a non-null column, the
  // stream row goes to the dead letters, saying why.
  void RejectStaleNulls(const Batch& stream, std::vector<uint32_t>* kept,
                        std::vector<Column>* joined, DeadLetters* dead_letters) const {
    const size_t first = stream_schema_.size();
    bool stale = false;
    for (size_t idx = 0; idx < joined->size() && !stale; ++idx) {
      stale = !output_schema_.field(first + idx).nullable && (*joined)[idx].NullCount() > 0;
    }
    if (!stale) return;
    std::vector<uint8_t> rejected(stream.num_rows(), 0);
    std::vector<uint32_t> positions, rows;
    for (uint32_t pos = 0; pos < kept->size(); ++pos) {
      size_t idx = 0;
      while (idx < joined->size() &&
             (output_schema_.field(first + idx).nullable || !(*joined)[idx].IsNull(pos))) {
        ++idx;
      }
      if (idx == joined->size()) {
        positions.push_back(pos);
        rows.push_back((*kept)[pos]);
        continue;
      }
      RejectRow(stream, (*kept)[pos], name_,
                "the table row for this key has NULL in '" +
                    output_schema_.field(first + idx).name +
                    "', which the table's schema does not allow (the row was stored before "
                    "the column became non-nullable)",
                &rejected, dead_letters);
    }
    for (Column& column : *joined) column = column.Gather(positions);
    *kept = std::move(rows);
  }

  std::string name_;
  Schema stream_schema_;
  std::unique_ptr<Expression> key_;
  size_t table_key_index_;
  std::vector<size_t> table_columns_;
  Schema table_schema_;
  bool left_;
  std::string signature_;
  Schema output_schema_;
};

}  // namespace

Result<std::unique_ptr<StatefulOperator>> MakeLookupJoinOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at) {
  const spec::LookupJoinSpec& join = spec.lookup_join();
  if (inputs.size() != 2) {
    return error_at("inputs", "lookup_join takes two inputs: the stream, then the table, got " +
                                  std::to_string(inputs.size()));
  }
  const Schema& stream = inputs[0].schema;
  const Schema& table = inputs[1].schema;
  if (join.key().empty()) return error_at("lookup_join.key", "is required");
  auto key = CompileExpression(join.key(), stream);
  if (!key.ok()) return error_at("lookup_join.key", key.status().message());
  const auto table_key = table.IndexOf(join.table_key());
  if (!table_key) {
    return error_at(
        "lookup_join.table_key",
        "'" + join.table_key() + "' is not a column of the table {" + table.ToString() + "}");
  }
  if (table.field(*table_key).type != (*key)->type()) {
    return error_at("lookup_join.key", "the key is " + std::string(TypeName((*key)->type())) +
                                           " but the table key '" + join.table_key() + "' is " +
                                           std::string(TypeName(table.field(*table_key).type)));
  }
  std::vector<size_t> columns;
  if (join.columns().empty()) {
    for (size_t idx = 0; idx < table.size(); ++idx) {
      if (idx != *table_key) columns.push_back(idx);
    }
  } else {
    for (int idx = 0; idx < join.columns_size(); ++idx) {
      const auto column = table.IndexOf(join.columns(idx));
      if (!column) {
        return error_at(
            "lookup_join.columns[" + std::to_string(idx) + "]",
            "'" + join.columns(idx) + "' is not a column of the table {" + table.ToString() + "}");
      }
      columns.push_back(*column);
    }
  }
  if (columns.empty()) return error_at("lookup_join.columns", "the join adds no columns");
  for (size_t column : columns) {
    if (stream.IndexOf(table.field(column).name)) {
      return error_at("lookup_join.columns",
                      "column '" + table.field(column).name +
                          "' is in both the stream and the table; rename one with select");
    }
  }
  const std::string& type = join.join_type();
  if (!type.empty() && type != "inner" && type != "left") {
    return error_at("lookup_join.join_type", "expected inner or left, got '" + type + "'");
  }
  std::string signature =
      "key=" + (*key)->ToString() + " table_key=" + join.table_key() + " columns=(";
  for (size_t idx = 0; idx < columns.size(); ++idx) {
    signature += (idx ? ", " : "") + table.field(columns[idx]).name + ":" +
                 std::string(TypeName(table.field(columns[idx]).type));
  }
  signature += ")";
  return std::unique_ptr<StatefulOperator>(std::make_unique<LookupJoinOperator>(
      spec.name(), stream, std::move(key).value(), *table_key, std::move(columns), table,
      type == "left", std::move(signature)));
}

}  // namespace eddy
