#include "connectors/dead_letter_sink.h"

#include <cstdio>
#include <filesystem>

#include "connectors/file/file_sink.h"
#include "connectors/format/format.h"
#include "connectors/kafka/kafka_writer.h"

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
  KafkaDeadLetterSink(KafkaClientConfig client, std::string topic, Delivery delivery,
                      KafkaWriterName name)
      : client_(std::move(client)),
        topic_(std::move(topic)),
        delivery_(delivery),
        name_(std::move(name)) {}

  Status Open() override {
    auto writer = KafkaWriter::Open(client_, topic_, name_.writer, delivery_);
    if (!writer.ok()) return writer.status().WithContext("dead-letter topic");
    writer_ = std::move(writer).value();
    writer_->SetFence(name_.fence);
    return Status::OK();
  }

  bool exactly_once() const override { return delivery_ == Delivery::kExactlyOnce; }

  Status Recover(const SinkRecovery& recovery) override {
    return writer_->Recover({recovery.job, recovery.run}, {recovery.new_run, recovery.position});
  }

  std::string Position() const override { return writer_ ? writer_->Position() : std::string(); }

  Status Write(const DeadLetters& dead_letters, BatchId batch_id) override {
    for (const DeadLetter& letter : dead_letters) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(11);
      AddHeader(headers, "eddy.error.reason", letter.reason);
      AddHeader(headers, "eddy.error.node", letter.node);
      if (!letter.topic.empty()) AddHeader(headers, "eddy.error.topic", letter.topic);
      if (letter.partition >= 0) {
        AddHeader(headers, "eddy.error.partition", std::to_string(letter.partition));
      }
      if (letter.offset >= 0)
        AddHeader(headers, "eddy.error.offset", std::to_string(letter.offset));
      // Keyed by the record's key or else its source topic, so the letters of
      // one source stay together and in order; the partition is murmur2's,
      // never a random one, so a batch that runs again writes the same way.
      const std::string_view key =
          letter.key ? std::string_view(*letter.key) : std::string_view(letter.topic);
      const int32_t partition = key.empty() ? 0 : Murmur2Partition(key, writer_->partition_count());
      EDDY_RETURN_IF_ERROR(
          writer_->Produce(partition, letter.value, key, headers, batch_id.value, -1));
    }
    return Status::OK();
  }

  Status Flush() override { return writer_->Flush(); }

  std::string Describe() const override { return "Kafka topic " + topic_; }

 private:
  static void AddHeader(rd_kafka_headers_t* headers, const char* name, const std::string& value) {
    rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
  }

  KafkaClientConfig client_;
  std::string topic_;
  Delivery delivery_;
  KafkaWriterName name_;
  std::unique_ptr<KafkaWriter> writer_;
};

// A file sink of the dead letters as JSON rows.
class FileDeadLetterSink final : public DeadLetterSink {
 public:
  explicit FileDeadLetterSink(std::string path) : path_(std::move(path)) {}

  Status Open() override {
    spec::SinkSpec spec;
    spec.set_name("dead_letter");
    spec.mutable_file()->set_path(path_);
    spec.mutable_format()->set_type("json");
    EDDY_ASSIGN_OR_RETURN(file_, MakeFileSink(spec, DeadLetterSchema(), ""));
    return file_->Open();
  }

  Status Write(const DeadLetters& dead_letters, BatchId batch_id) override {
    if (dead_letters.empty()) return Status::OK();
    DeadLetters unwritable;  // a dead-letter row always encodes as JSON
    return file_->Write(DeadLettersToBatch(dead_letters), batch_id, &unwritable);
  }

  Status Flush() override { return file_->Flush(); }
  std::string Describe() const override { return "file " + path_; }
  bool exactly_once() const override { return file_->exactly_once(); }
  Status Recover(const SinkRecovery& recovery) override { return file_->Recover(recovery); }
  std::string Position() const override { return file_->Position(); }

 private:
  std::string path_;
  std::unique_ptr<Sink> file_;
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
                                                                const std::string& topic,
                                                                Delivery delivery,
                                                                KafkaWriterName name) {
  return std::unique_ptr<DeadLetterSink>(
      std::make_unique<KafkaDeadLetterSink>(client, topic, delivery, std::move(name)));
}

Result<std::unique_ptr<DeadLetterSink>> MakeFileDeadLetterSink(const std::string& path) {
  return std::unique_ptr<DeadLetterSink>(std::make_unique<FileDeadLetterSink>(path));
}

}  // namespace eddy
