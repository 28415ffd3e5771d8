#include "connectors/kafka/kafka_sink.h"

#include <optional>

#include "connectors/kafka/record_header.h"

namespace eddy {
namespace {

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}

  const std::string& name() const override { return options_.name; }

  Status Open() override {
    auto writer = KafkaWriter::Open(options_.client, options_.topic,
                                    options_.writer.empty() ? options_.name : options_.writer,
                                    options_.delivery);
    if (!writer.ok())
      return writer.status().WithContext("sink '" + options_.name + "' at " +
                                         options_.client.brokers);
    writer_ = std::move(writer).value();
    writer_->SetFence(options_.fence);
    return Status::OK();
  }

  bool exactly_once() const override { return options_.delivery == Delivery::kExactlyOnce; }

  Status Recover(const SinkRecovery& recovery) override {
    return writer_->Recover({recovery.job, recovery.run}, {recovery.new_run, recovery.position});
  }

  std::string Position() const override { return writer_ ? writer_->Position() : std::string(); }

  Status Write(const Batch& batch, const WriteContext& context,
               DeadLetters* dead_letters) override {
    const size_t rows = batch.num_rows();
    if (rows == 0) return Status::OK();
    // Raw bytes go out as they are in the batch, without an encoded copy.
    passthrough_ = options_.encoder->Passthrough(batch);
    encoded_.Clear();
    if (passthrough_ == nullptr) EDDY_RETURN_IF_ERROR(options_.encoder->Encode(batch, &encoded_));
    std::vector<RowError> errors;
    Column keys;
    if (options_.key) keys = options_.key->Evaluate(batch, &errors);
    std::vector<Column> header_values;
    for (const NamedExpression& header : options_.headers) {
      header_values.push_back(header.expression->Evaluate(batch, &errors));
    }
    std::vector<uint8_t> failed(errors.empty() ? 0 : rows, 0);
    for (const RowError& error : errors) {
      if (failed[error.row]) continue;
      failed[error.row] = 1;
      dead_letters->push_back(MakeDeadLetter(batch, error.row, error.reason));
    }
    const bool has_meta = !batch.meta().empty();
    const int32_t partition_count = writer_->partition_count();
    const std::vector<uint16_t>* key_groups = context.key_groups;
    for (size_t row = 0; row < rows; ++row) {
      if (!failed.empty() && failed[row]) continue;
      if (key_groups != nullptr && (*key_groups)[row] == kNoKeyGroup) continue;
      std::optional<std::string_view> key;
      if (options_.key && !keys.IsNull(row)) {
        if (keys.type() == TypeId::kString) {
          key = keys.GetString(row);
        } else {
          key_scratch_ = keys.ValueToString(row);
          key = key_scratch_;
        }
      }
      int32_t partition;
      if (key_groups != nullptr) {
        // Partition p owns key groups [p*G/P, (p+1)*G/P): the inverse.
        partition = static_cast<int32_t>(static_cast<int64_t>((*key_groups)[row]) *
                                         partition_count / context.key_group_count);
      } else if (key) {
        partition = Murmur2Partition(*key, partition_count);
      } else if (has_meta) {
        partition = static_cast<int32_t>(batch.meta().partition.GetInt64(row) % partition_count);
      } else {
        partition = static_cast<int32_t>(row % static_cast<size_t>(partition_count));
      }
      rd_kafka_headers_t* headers = nullptr;
      if (!header_values.empty()) {
        // Room for the writer's own two (kafka_writer.h).
        headers = rd_kafka_headers_new(header_values.size() + 2);
        for (size_t idx = 0; idx < header_values.size(); ++idx) {
          if (header_values[idx].IsNull(row)) continue;
          const std::string value = header_values[idx].ValueToString(row);
          rd_kafka_header_add(headers, options_.headers[idx].name.data(),
                              static_cast<ssize_t>(options_.headers[idx].name.size()), value.data(),
                              static_cast<ssize_t>(value.size()));
        }
      }
      EDDY_RETURN_IF_ERROR(writer_->Produce(partition, Value(row), key, headers,
                                            context.batch_id.value, context.task));
    }
    return Status::OK();
  }

  Status Flush() override { return writer_->Flush(); }

  // Watermark records included: they are records of the topic too.
  int64_t records_written() const override { return writer_ ? writer_->delivered() : 0; }

  bool forwards_watermarks() const override { return options_.forward_watermarks_as.has_value(); }

  // One watermark record to every partition: each reader's watermark is
  // the smallest over all writers, so every partition must hear from each.
  // Produced like rows (the batch-wide stage's task), so exactly-once
  // recovery skips those already in the topic.
  Status WriteWatermark(const ForwardedWatermark& mark, BatchId batch) override {
    if (!options_.forward_watermarks_as) return Status::OK();
    char bytes[kMaxWatermarkBytes];
    const size_t size =
        EncodeWatermark({*options_.forward_watermarks_as, mark.watermark, mark.idle}, bytes);
    for (int32_t partition = 0; partition < writer_->partition_count(); ++partition) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
      rd_kafka_header_add(headers, kWatermarkHeader, sizeof(kWatermarkHeader) - 1, bytes,
                          static_cast<ssize_t>(size));
      EDDY_RETURN_IF_ERROR(writer_->Produce(partition, std::string_view(), std::nullopt, headers,
                                            batch.value, /*task=*/-1));
    }
    return Status::OK();
  }

 private:
  DeadLetter MakeDeadLetter(const Batch& batch, size_t row, const std::string& reason) const {
    DeadLetter letter;
    letter.reason = reason;
    letter.node = options_.name;
    if (!batch.meta().empty()) {
      letter.topic = std::string(batch.meta().topic.GetString(row));
      letter.partition = static_cast<int32_t>(batch.meta().partition.GetInt64(row));
      letter.offset = batch.meta().offset.GetInt64(row);
    }
    letter.value = std::string(Value(row));
    return letter;
  }

  // Row `row`'s record bytes, of the batch being written.
  std::string_view Value(size_t row) const {
    if (passthrough_ == nullptr) return encoded_.row(row);
    // An empty record, not a null one (a tombstone), as Encode writes it.
    return passthrough_->IsNull(row) ? std::string_view("", 0) : passthrough_->GetString(row);
  }

  KafkaSinkOptions options_;
  std::unique_ptr<KafkaWriter> writer_;
  EncodedRows encoded_;
  const Column* passthrough_ = nullptr;  // of the batch being written, or null
  std::string key_scratch_;
};

}  // namespace

Result<Delivery> ParseDelivery(const std::string& text) {
  if (text.empty() || text == "exactly_once") return Delivery::kExactlyOnce;
  if (text == "at_least_once") return Delivery::kAtLeastOnce;
  return Status::InvalidArgument("unknown delivery '" + text +
                                 "' (expected exactly_once or at_least_once)");
}

Result<std::unique_ptr<Sink>> MakeKafkaSink(KafkaSinkOptions options) {
  if (options.topic.empty()) return Status::InvalidArgument("Kafka sink needs a topic");
  if (!options.encoder) return Status::InvalidArgument("Kafka sink needs an encoder");
  return std::unique_ptr<Sink>(std::make_unique<KafkaSink>(std::move(options)));
}

}  // namespace eddy
