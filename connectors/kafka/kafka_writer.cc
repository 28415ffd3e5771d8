#include "connectors/kafka/kafka_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace eddy {
namespace {

constexpr char kJobHeader[] = "eddy.job";
constexpr char kRunHeader[] = "eddy.run";
constexpr char kSinkHeader[] = "eddy.sink";
constexpr char kBatchHeader[] = "eddy.batch";
constexpr char kSeqHeader[] = "eddy.seq";
constexpr char kTaskHeader[] = "eddy.task";

std::optional<std::string_view> Header(rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (headers == nullptr ||
      rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(value), size);
}

std::optional<int64_t> IntHeader(rd_kafka_headers_t* headers, const char* name) {
  const auto text = Header(headers, name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

void AddHeader(rd_kafka_headers_t* headers, const char* name, std::string_view value) {
  rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
}

// The newest record of `writer` (by the eddy.job and eddy.sink headers) in
// [low, high) of one partition, read backwards in growing windows.
struct Newest {
  bool found = false;
  std::string run;
  LandedPosition position;
};

Result<Newest> FindNewest(rd_kafka_t* consumer, const std::string& topic, int32_t partition,
                          int64_t low, int64_t high, const std::string& job,
                          const std::string& writer) {
  Newest newest;
  int64_t end = high;
  int64_t window = 64;
  while (end > low && !newest.found) {
    const int64_t start = std::max(low, end - window);
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = start;
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer, list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("reading the tail of " + topic + "/" + std::to_string(partition) +
                                 ": " + rd_kafka_err2str(err));
    }
    const auto deadline = std::chrono::steady_clock::now() + kBrokerTimeout;
    int64_t next = start;
    while (next < end) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::Unavailable("reading the tail of " + topic + "/" +
                                   std::to_string(partition) +
                                   ": no answer from the brokers within " +
                                   std::to_string(kBrokerTimeout.count()) + " ms");
      }
      KafkaMessage message(rd_kafka_consumer_poll(consumer, 100));
      if (!message) continue;
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Offsets up to the end may be gone (compaction, transaction
        // markers): what was there has been seen.
        if (message->offset >= end) break;
        continue;
      }
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return Status::Unavailable("reading the tail of " + topic + "/" +
                                   std::to_string(partition) + ": " +
                                   rd_kafka_message_errstr(message.get()));
      }
      next = message->offset + 1;
      if (message->offset >= end) break;
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message.get(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      if (Header(headers, kJobHeader) != std::string_view(job) ||
          Header(headers, kSinkHeader) != std::string_view(writer)) {
        continue;
      }
      const auto batch = IntHeader(headers, kBatchHeader);
      const auto seq = IntHeader(headers, kSeqHeader);
      const auto run = Header(headers, kRunHeader);
      if (!batch || !seq || !run) continue;
      newest.found = true;
      newest.run = std::string(*run);
      newest.position = {*batch, *seq};
    }
    end = start;
    window *= 4;
  }
  rd_kafka_assign(consumer, nullptr);
  return newest;
}

}  // namespace

Result<std::unique_ptr<KafkaWriter>> KafkaWriter::Open(const KafkaClientConfig& client,
                                                       std::string topic, std::string writer,
                                                       Delivery delivery) {
  auto result = std::make_unique<KafkaWriter>(std::move(topic), std::move(writer), delivery);
  result->client_ = client;
  KafkaClientConfig producer_config;
  producer_config.brokers = client.brokers;
  if (delivery == Delivery::kExactlyOnce) {
    // A failed record must not leave a gap that later records fill: the
    // producer stops instead, and recovery starts from what landed.
    producer_config.properties.emplace_back("enable.gapless.guarantee", "true");
  }
  producer_config.properties.insert(producer_config.properties.end(), client.properties.begin(),
                                    client.properties.end());
  EDDY_ASSIGN_OR_RETURN(result->producer_,
                        CreateProducer(producer_config, &KafkaWriter::OnDelivery, result.get()));
  EDDY_ASSIGN_OR_RETURN(result->partition_count_,
                        FetchPartitionCount(result->producer_.get(), result->topic_name_));
  result->topic_.reset(
      rd_kafka_topic_new(result->producer_.get(), result->topic_name_.c_str(), nullptr));
  result->landed_.assign(static_cast<size_t>(result->partition_count_), LandedPosition());
  result->next_seq_.assign(static_cast<size_t>(result->partition_count_), 0);
  return result;
}

KafkaWriter::~KafkaWriter() {
  if (producer_) rd_kafka_flush(producer_.get(), 5000);
}

Status KafkaWriter::Recover(const OutputIdentity& identity) {
  identity_ = identity;
  if (delivery_ != Delivery::kExactlyOnce) return Status::OK();
  EDDY_ASSIGN_OR_RETURN(KafkaHandle consumer,
                        CreateConsumer(client_, "eddy-recovery-" + identity.job));
  for (int32_t partition = 0; partition < partition_count_; ++partition) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(consumer.get(), topic_name_.c_str(), partition, &low,
                                         &high, static_cast<int>(kBrokerTimeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("sink '" + writer_ + "': offsets of " + topic_name_ + "/" +
                                 std::to_string(partition) + ": " + rd_kafka_err2str(err));
    }
    EDDY_ASSIGN_OR_RETURN(Newest newest, FindNewest(consumer.get(), topic_name_, partition, low,
                                                    high, identity.job, writer_));
    // Another run's records (the job started over from empty state) are not
    // this run's: nothing of this run is there yet.
    landed_[static_cast<size_t>(partition)] =
        newest.found && newest.run == identity.run ? newest.position : LandedPosition();
  }
  rd_kafka_consumer_close(consumer.get());
  std::string found;
  for (size_t partition = 0; partition < landed_.size(); ++partition) {
    if (landed_[partition].seq < 0) continue;
    found += (found.empty() ? "" : ", ") + std::to_string(partition) + ": batch " +
             std::to_string(landed_[partition].batch) + " seq " +
             std::to_string(landed_[partition].seq);
  }
  if (!found.empty()) {
    spdlog::info(
        "job={} sink '{}': this run's newest records in {} are at {}; a batch that runs again "
        "skips "
        "what is there",
        identity.job, writer_, topic_name_, found);
  }
  return Status::OK();
}

Status KafkaWriter::Produce(int32_t partition, std::string_view value,
                            std::optional<std::string_view> key, rd_kafka_headers_t* headers,
                            int64_t batch, int32_t task) {
  if (delivery_ == Delivery::kExactlyOnce) {
    if (batch != batch_) {
      batch_ = batch;
      std::fill(next_seq_.begin(), next_seq_.end(), 0);
    }
    const int64_t seq = next_seq_[static_cast<size_t>(partition)]++;
    const LandedPosition& landed = landed_[static_cast<size_t>(partition)];
    if (batch < landed.batch || (batch == landed.batch && seq <= landed.seq)) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      return Status::OK();
    }
    if (headers == nullptr) headers = rd_kafka_headers_new(6);
    char number[24];
    AddHeader(headers, kJobHeader, identity_.job);
    AddHeader(headers, kRunHeader, identity_.run);
    AddHeader(headers, kSinkHeader, writer_);
    auto put_int = [&](const char* name, int64_t n) {
      const auto [end, ec] = std::to_chars(number, number + sizeof(number), n);
      AddHeader(headers, name, std::string_view(number, static_cast<size_t>(end - number)));
    };
    put_int(kBatchHeader, batch);
    put_int(kSeqHeader, seq);
    put_int(kTaskHeader, task);
  }
  return Enqueue(partition, value, key, headers);
}

Status KafkaWriter::Enqueue(int32_t partition, std::string_view value,
                            std::optional<std::string_view> key, rd_kafka_headers_t* headers) {
  if (fence_ != nullptr) {
    if (Status fenced = fence_->Check(); !fenced.ok()) {
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      return Fenced(std::move(fenced));
    }
  }
  while (true) {
    rd_kafka_resp_err_t err;
    if (headers != nullptr) {
      err = rd_kafka_producev(
          producer_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    } else {
      // The plain call avoids producev's vararg parsing on the hot path.
      err = rd_kafka_produce(topic_.get(), partition, RD_KAFKA_MSG_F_COPY,
                             const_cast<char*>(value.data()), value.size(),
                             key ? key->data() : nullptr, key ? key->size() : 0, nullptr) == 0
                ? RD_KAFKA_RESP_ERR_NO_ERROR
                : rd_kafka_last_error();
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the headers now belong to the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 50);
      continue;
    }
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char reason[512];
      rd_kafka_fatal_error(producer_.get(), reason, sizeof(reason));
      return Status::Unavailable("sink '" + writer_ + "': producer failed: " + reason);
    }
    return Status::Internal("sink '" + writer_ + "': produce: " + rd_kafka_err2str(err));
  }
  ++produced_;
  if ((produced_ & 1023) == 0) rd_kafka_poll(producer_.get(), 0);
  return Status::OK();
}

// Drops what is still queued (a fenced writer must not send it when the
// network comes back) and says why.
Status KafkaWriter::Fenced(Status fenced) {
  rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  return fenced.WithContext("sink '" + writer_ + "'");
}

Status KafkaWriter::Flush() {
  while (rd_kafka_outq_len(producer_.get()) > 0) {
    if (fence_ != nullptr) {
      if (Status fenced = fence_->Check(); !fenced.ok()) return Fenced(std::move(fenced));
    }
    const rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), 100);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) continue;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) break;
  }
  std::lock_guard<std::mutex> lock(error_mutex_);
  if (!first_error_.empty()) {
    return Status::Unavailable("sink '" + writer_ + "' topic '" + topic_name_ +
                               "': delivery failed: " + first_error_);
  }
  return Status::OK();
}

void KafkaWriter::OnDelivery(rd_kafka_t* handle, const rd_kafka_message_t* message, void* opaque) {
  auto* writer = static_cast<KafkaWriter*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    writer->delivered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard<std::mutex> lock(writer->error_mutex_);
  if (!writer->first_error_.empty()) return;
  writer->first_error_ = rd_kafka_err2str(message->err);
  if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
    char reason[512];
    rd_kafka_fatal_error(handle, reason, sizeof(reason));
    writer->first_error_ += std::string(": ") + reason;
  }
}

}  // namespace eddy
