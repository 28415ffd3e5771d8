#include "connectors/kafka/kafka_sink.h"

#include <atomic>
#include <mutex>

namespace eddy {
namespace {

class KafkaSink final : public Sink {
 public:
  explicit KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}

  ~KafkaSink() override {
    if (producer_) rd_kafka_flush(producer_.get(), 5000);
  }

  const std::string& name() const override { return options_.name; }

  Status Open() override {
    EDDY_ASSIGN_OR_RETURN(producer_, CreateProducer(options_.client, &KafkaSink::OnDelivery, this));
    auto count = FetchPartitionCount(producer_.get(), options_.topic);
    if (!count.ok()) {
      return count.status().WithContext("sink '" + options_.name + "' at " + options_.client.brokers);
    }
    partition_count_ = *count;
    topic_.reset(rd_kafka_topic_new(producer_.get(), options_.topic.c_str(), nullptr));
    return Status::OK();
  }

  Status Write(const Batch& batch, BatchId batch_id, DeadLetters* dead_letters) override {
    const size_t rows = batch.num_rows();
    if (rows == 0) return Status::OK();
    encoded_.Clear();
    EDDY_RETURN_IF_ERROR(options_.encoder->Encode(batch, &encoded_));
    std::vector<RowError> errors;
    Column keys;
    if (options_.key) keys = options_.key->Evaluate(batch, &errors);
    std::vector<Column> header_values;
    for (const NamedExpression& header : options_.headers) {
      header_values.push_back(header.expression->Evaluate(batch, &errors));
    }
    std::vector<uint8_t> failed(rows, 0);
    for (const RowError& error : errors) {
      if (failed[error.row]) continue;
      failed[error.row] = 1;
      dead_letters->push_back(MakeDeadLetter(batch, error.row, error.reason));
    }
    const bool has_meta = !batch.meta().empty();
    for (size_t row = 0; row < rows; ++row) {
      if (failed[row]) continue;
      std::string_view key;
      bool has_key = false;
      if (options_.key && !keys.IsNull(row)) {
        key = keys.type() == TypeId::kString ? keys.GetString(row) : std::string_view{};
        if (keys.type() != TypeId::kString) {
          key_scratch_ = keys.ValueToString(row);
          key = key_scratch_;
        }
        has_key = true;
      }
      int32_t partition;
      if (has_key) {
        partition = Murmur2Partition(key, partition_count_);
      } else if (has_meta) {
        partition = static_cast<int32_t>(batch.meta().partition.GetInt64(row) % partition_count_);
      } else {
        partition = static_cast<int32_t>(row % static_cast<size_t>(partition_count_));
      }
      rd_kafka_headers_t* headers = nullptr;
      if (!header_values.empty()) {
        headers = rd_kafka_headers_new(header_values.size());
        for (size_t idx = 0; idx < header_values.size(); ++idx) {
          if (header_values[idx].IsNull(row)) continue;
          const std::string value = header_values[idx].ValueToString(row);
          rd_kafka_header_add(headers, options_.headers[idx].name.data(),
                              static_cast<ssize_t>(options_.headers[idx].name.size()), value.data(),
                              static_cast<ssize_t>(value.size()));
        }
      }
      EDDY_RETURN_IF_ERROR(Produce(partition, encoded_.row(row), has_key, key, headers));
    }
    (void)batch_id;
    return Status::OK();
  }

  Status Flush() override {
    while (rd_kafka_outq_len(producer_.get()) > 0) {
      const rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), 1000);
      if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) continue;
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) break;
    }
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!first_error_.empty()) {
      return Status::Unavailable("sink '" + options_.name + "' topic '" + options_.topic +
                                 "': delivery failed: " + first_error_);
    }
    return Status::OK();
  }

  int64_t records_written() const override { return delivered_.load(); }

 private:
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
  };

  Status Produce(int32_t partition, std::string_view value, bool has_key, std::string_view key,
                 rd_kafka_headers_t* headers) {
    while (true) {
      rd_kafka_resp_err_t err;
      if (headers != nullptr) {
        err = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
            RD_KAFKA_V_KEY(has_key ? key.data() : nullptr, has_key ? key.size() : 0),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      } else {
        // The plain call avoids producev's vararg parsing on the hot path.
        err = rd_kafka_produce(topic_.get(), partition, RD_KAFKA_MSG_F_COPY,
                               const_cast<char*>(value.data()), value.size(),
                               has_key ? key.data() : nullptr, has_key ? key.size() : 0, nullptr) == 0
                  ? RD_KAFKA_RESP_ERR_NO_ERROR
                  : rd_kafka_last_error();
      }
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the headers now belong to the message
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer_.get(), 50);
        continue;
      }
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      return Status::Internal("sink '" + options_.name + "': produce: " + rd_kafka_err2str(err));
    }
    ++produced_;
    if ((produced_ & 1023) == 0) rd_kafka_poll(producer_.get(), 0);
    return Status::OK();
  }

  DeadLetter MakeDeadLetter(const Batch& batch, size_t row, const std::string& reason) const {
    DeadLetter letter;
    letter.reason = reason;
    letter.node = options_.name;
    if (!batch.meta().empty()) {
      letter.topic = std::string(batch.meta().topic.GetString(row));
      letter.partition = static_cast<int32_t>(batch.meta().partition.GetInt64(row));
      letter.offset = batch.meta().offset.GetInt64(row);
    }
    letter.value = std::string(encoded_.row(row));
    return letter;
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* sink = static_cast<KafkaSink*>(opaque);
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      sink->delivered_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::lock_guard<std::mutex> lock(sink->error_mutex_);
    if (sink->first_error_.empty()) sink->first_error_ = rd_kafka_err2str(message->err);
  }

  KafkaSinkOptions options_;
  KafkaHandle producer_;
  std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic_;
  int32_t partition_count_ = 1;
  EncodedRows encoded_;
  std::string key_scratch_;
  uint64_t produced_ = 0;
  std::atomic<int64_t> delivered_{0};
  std::mutex error_mutex_;
  std::string first_error_;
};

}  // namespace

Result<std::unique_ptr<Sink>> MakeKafkaSink(KafkaSinkOptions options) {
  if (options.topic.empty()) return Status::InvalidArgument("Kafka sink needs a topic");
  if (!options.encoder) return Status::InvalidArgument("Kafka sink needs an encoder");
  return std::unique_ptr<Sink>(std::make_unique<KafkaSink>(std::move(options)));
}

}  // namespace eddy
