#include "operators/operator.h"

#include "connectors/format/format.h"
#include "operators/operator_factories.h"

namespace eddy {

Result<std::unique_ptr<Operator>> MakeOperator(const spec::OperatorSpec& spec,
                                               const std::vector<Schema>& input_schemas,
                                               const SpecErrorReporter& error_at) {
  switch (spec.kind_case()) {
    case spec::OperatorSpec::kFilter:
    case spec::OperatorSpec::kSelect:
      if (input_schemas.size() != 1) {
        return error_at("inputs", "takes exactly one input, got " +
                                      std::to_string(input_schemas.size()));
      }
      return spec.kind_case() == spec::OperatorSpec::kFilter
                 ? MakeFilterOperator(spec, input_schemas[0], error_at)
                 : MakeSelectOperator(spec, input_schemas[0], error_at);
    case spec::OperatorSpec::kUnion:
      return MakeUnionOperator(spec, input_schemas, error_at);
    case spec::OperatorSpec::kWindow:
    case spec::OperatorSpec::kAggregate:
    case spec::OperatorSpec::kLookupJoin:
    case spec::OperatorSpec::kLearn:
    case spec::OperatorSpec::kPredict:
    case spec::OperatorSpec::kPrequential:
      return error_at("", "is a stateful operator (built by MakeStatefulOperator)");
    case spec::OperatorSpec::KIND_NOT_SET:
      break;
  }
  return error_at("", "no operator kind set (expected one of: filter, select, union)");
}

DeadLetter RowDeadLetter(const Batch& batch, size_t row, const std::string& node,
                         std::string reason) {
  DeadLetter letter;
  letter.reason = std::move(reason);
  letter.node = node;
  const SourceMeta& meta = batch.meta();
  if (!meta.empty()) {
    letter.topic = std::string(meta.topic.GetString(row));
    letter.partition = static_cast<int32_t>(meta.partition.GetInt64(row));
    letter.offset = meta.offset.GetInt64(row);
    if (!meta.key.IsNull(row)) letter.key = std::string(meta.key.GetString(row));
  }
  // The original bytes are gone after decoding; the row as JSON stands in.
  spec::FormatSpec json;
  json.set_type("json");
  auto encoder = MakeEncoder(json, batch.schema(), "");
  const uint32_t index = static_cast<uint32_t>(row);
  EncodedRows rows;
  if (encoder.ok() && (*encoder)->Encode(batch.Gather({&index, 1}), &rows).ok() && rows.size() == 1) {
    letter.value = std::string(rows.row(0));
  } else {
    letter.value = batch.RowToString(row);
  }
  return letter;
}

}  // namespace eddy
