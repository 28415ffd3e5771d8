#include "operators/core/operator.h"

#include "connectors/format/format.h"

namespace eddy {

Status Operator::SelectRows(const Batch&, std::vector<uint32_t>*, DeadLetters*) const {
  return Status::Internal("operator '" + name() + "' does not select rows");
}

Status Operator::ProcessSelected(size_t input_index, const Batch& input,
                                 std::span<const uint32_t> rows, Batch* out,
                                 DeadLetters* dead_letters) const {
  return Process(input_index, input.Gather(rows), out, dead_letters);
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
  if (encoder.ok() && (*encoder)->Encode(batch.Gather({&index, 1}), &rows).ok() &&
      rows.size() == 1) {
    letter.value = std::string(rows.row(0));
  } else {
    letter.value = batch.RowToString(row);
  }
  return letter;
}

void RejectRow(const Batch& batch, uint32_t row, const std::string& node, std::string reason,
               std::vector<uint8_t>* rejected, DeadLetters* dead_letters) {
  if ((*rejected)[row]) return;
  (*rejected)[row] = 1;
  dead_letters->push_back(RowDeadLetter(batch, row, node, std::move(reason)));
}

void RejectFailedRows(const Batch& batch, const std::vector<RowError>& errors,
                      const std::string& node, std::vector<uint8_t>* rejected,
                      DeadLetters* dead_letters) {
  if (rejected->empty()) rejected->assign(batch.num_rows(), 0);
  for (const RowError& error : errors) {
    RejectRow(batch, error.row, node, error.reason, rejected, dead_letters);
  }
}

}  // namespace eddy
