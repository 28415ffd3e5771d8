#include "connectors/kafka/dead_letter_sink.h"

#include <cstdio>
#include <filesystem>
#include <mutex>

#include "connectors/format/format.h"

namespace eddy {
namespace {

Schema DeadLetterSchema() {
  return Schema({{"reason", TypeId::kString, false},
                 {"node", TypeId::kString, false},
                 {"topic", TypeId::kString, true},
                 {"partition", TypeId::kInt64, true},
                 {"offset", TypeId::kInt64, true},
                 {"key", TypeId::kString, true},
                 {"value", TypeId::kString, false}});
}

class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  KafkaDeadLetterSink(KafkaClientConfig client, std::string topic)
      : client_(std::move(client)), topic_(std::move(topic)) {}

  ~KafkaDeadLetterSink() override {
    if (producer_) rd_kafka_flush(producer_.get(), 5000);
  }

  Status Open() override {
    EDDY_ASSIGN_OR_RETURN(producer_, CreateProducer(client_, &OnDelivery, this));
    auto count = FetchPartitionCount(producer_.get(), topic_);
    if (!count.ok()) return count.status().WithContext("dead-letter topic");
    return Status::OK();
  }

  Status Write(const DeadLetters& dead_letters) override {
    for (const DeadLetter& letter : dead_letters) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(5);
      AddHeader(headers, "eddy.error.reason", letter.reason);
      AddHeader(headers, "eddy.error.node", letter.node);
      if (!letter.topic.empty()) AddHeader(headers, "eddy.error.topic", letter.topic);
      if (letter.partition >= 0) {
        AddHeader(headers, "eddy.error.partition", std::to_string(letter.partition));
      }
      if (letter.offset >= 0) AddHeader(headers, "eddy.error.offset", std::to_string(letter.offset));
      // Records of one source partition stay together and in order.
      const int32_t partition = RD_KAFKA_PARTITION_UA;
      const std::string_view key =
          letter.key ? std::string_view(*letter.key) : std::string_view(letter.topic);
      while (true) {
        const rd_kafka_resp_err_t err = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_VALUE(const_cast<char*>(letter.value.data()), letter.value.size()),
            RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(producer_.get(), 50);
          continue;
        }
        rd_kafka_headers_destroy(headers);
        return Status::Internal("dead-letter topic '" + topic_ + "': " + rd_kafka_err2str(err));
      }
    }
    return Status::OK();
  }

  Status Flush() override {
    while (rd_kafka_outq_len(producer_.get()) > 0) {
      if (rd_kafka_flush(producer_.get(), 1000) != RD_KAFKA_RESP_ERR__TIMED_OUT) break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (!first_error_.empty()) {
      return Status::Unavailable("dead-letter topic '" + topic_ + "': " + first_error_);
    }
    return Status::OK();
  }

  std::string Describe() const override { return "Kafka topic " + topic_; }

 private:
  static void AddHeader(rd_kafka_headers_t* headers, const char* name, const std::string& value) {
    rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    auto* sink = static_cast<KafkaDeadLetterSink*>(opaque);
    std::lock_guard<std::mutex> lock(sink->mutex_);
    if (sink->first_error_.empty()) sink->first_error_ = rd_kafka_err2str(message->err);
  }

  KafkaClientConfig client_;
  std::string topic_;
  KafkaHandle producer_;
  std::mutex mutex_;
  std::string first_error_;
};

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

class FileDeadLetterSink final : public DeadLetterSink {
 public:
  explicit FileDeadLetterSink(std::string path) : path_(std::move(path)) {}

  Status Open() override {
    std::error_code ec;
    const auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    file_.reset(std::fopen(path_.c_str(), "ab"));
    if (!file_) return Status::IOError("dead-letter file '" + path_ + "': cannot open for append");
    spec::FormatSpec json;
    json.set_type("json");
    EDDY_ASSIGN_OR_RETURN(encoder_, MakeEncoder(json, DeadLetterSchema(), ""));
    return Status::OK();
  }

  Status Write(const DeadLetters& dead_letters) override {
    if (dead_letters.empty()) return Status::OK();
    EncodedRows rows;
    EDDY_RETURN_IF_ERROR(encoder_->Encode(DeadLettersToBatch(dead_letters), &rows));
    for (size_t row = 0; row < rows.size(); ++row) {
      const std::string_view line = rows.row(row);
      if (std::fwrite(line.data(), 1, line.size(), file_.get()) != line.size() ||
          std::fputc('\n', file_.get()) == EOF) {
        return Status::IOError("dead-letter file '" + path_ + "': write failed");
      }
    }
    return Status::OK();
  }

  Status Flush() override {
    if (std::fflush(file_.get()) != 0) return Status::IOError("dead-letter file '" + path_ + "': flush failed");
    return Status::OK();
  }

  std::string Describe() const override { return "file " + path_; }

 private:
  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<Encoder> encoder_;
};

}  // namespace

Batch DeadLettersToBatch(const DeadLetters& dead_letters) {
  Batch batch(DeadLetterSchema());
  for (const DeadLetter& letter : dead_letters) {
    batch.column(0).AppendString(letter.reason);
    batch.column(1).AppendString(letter.node);
    if (letter.topic.empty()) {
      batch.column(2).AppendNull();
    } else {
      batch.column(2).AppendString(letter.topic);
    }
    if (letter.partition >= 0) {
      batch.column(3).AppendInt64(letter.partition);
    } else {
      batch.column(3).AppendNull();
    }
    if (letter.offset >= 0) {
      batch.column(4).AppendInt64(letter.offset);
    } else {
      batch.column(4).AppendNull();
    }
    if (letter.key) {
      batch.column(5).AppendString(*letter.key);
    } else {
      batch.column(5).AppendNull();
    }
    batch.column(6).AppendString(letter.value);
  }
  batch.SetNumRows(dead_letters.size()).IgnoreError();
  return batch;
}

Result<std::unique_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(const KafkaClientConfig& client,
                                                                const std::string& topic) {
  return std::unique_ptr<DeadLetterSink>(std::make_unique<KafkaDeadLetterSink>(client, topic));
}

Result<std::unique_ptr<DeadLetterSink>> MakeFileDeadLetterSink(const std::string& path) {
  return std::unique_ptr<DeadLetterSink>(std::make_unique<FileDeadLetterSink>(path));
}

}  // namespace eddy
