#include "connectors/kafka/kafka_writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "connectors/kafka/record_header.h"

namespace eddy {
namespace {

constexpr size_t kKeptPayloadBytes = 64 * PayloadArena::kBlockBytes;

// One partition's share of the tail scan: read backwards from the high
// watermark in growing windows [start, end), never below `floor`, until a
// window holds a record of this writer.
struct TailWindow {
  int32_t partition = 0;
  int64_t floor = 0;
  int64_t start = 0;
  int64_t end = 0;
  int64_t size = 64;
  bool complete = false;  // the current window was read
  bool done = false;      // found, or nothing left to read
  std::optional<RecordPosition> newest;
};

std::string TailError(const std::string& topic, const std::string& what) {
  return "reading the tails of " + topic + ": " + what;
}

// Reads the current window of every partition that has one in
// `by_partition` (indexed by partition; null: not in this round; `in_round`
// are not null) with one assignment of `consumer` to all of them, so the
// brokers serve every partition in the same fetches.
Status ReadWindows(rd_kafka_t* consumer, rd_kafka_queue_t* queue, const std::string& topic,
                   uint64_t fingerprint, const std::vector<TailWindow*>& by_partition,
                   size_t in_round) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(in_round)));
  for (TailWindow* window : by_partition) {
    if (window == nullptr) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), window->partition)->offset =
        window->start;
  }
  if (const rd_kafka_resp_err_t err = rd_kafka_assign(consumer, list.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(TailError(topic, rd_kafka_err2str(err)));
  }
  const auto deadline = std::chrono::steady_clock::now() + kBrokerTimeout;
  size_t incomplete = in_round;
  constexpr size_t kPollSize = 1024;
  rd_kafka_message_t* messages[kPollSize];
  while (incomplete > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable(TailError(
          topic,
          "no answer from the brokers within " + std::to_string(kBrokerTimeout.count()) + " ms"));
    }
    const ssize_t count = rd_kafka_consume_batch_queue(queue, 100, messages, kPollSize);
    Status status;
    for (ssize_t idx = 0; idx < count; ++idx) {
      KafkaMessage message(messages[idx]);
      const auto partition = static_cast<size_t>(message->partition);
      TailWindow* window = message->rkt != nullptr && partition < by_partition.size()
                               ? by_partition[partition]
                               : nullptr;
      if (!status.ok() || window == nullptr || window->complete) continue;
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // Offsets up to the end may be gone (compaction, transaction
        // markers): what was there has been seen.
        if (message->offset >= window->end) window->complete = true;
      } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status = Status::Unavailable(TailError(topic, rd_kafka_message_errstr(message.get())));
        continue;
      } else if (message->offset >= window->end) {
        window->complete = true;
      } else if (message->offset >= window->start) {
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(message.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const auto origin = ReadOrigin(headers);
          if (origin && origin->writer == fingerprint) window->newest = origin->position;
        }
        if (message->offset + 1 >= window->end) window->complete = true;
      }
      if (window->complete) --incomplete;
    }
    EDDY_RETURN_IF_ERROR(status);
  }
  return Status::OK();
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
  if (delivery == Delivery::kExactlyOnce) {
    result->next_offset_ =
        std::make_unique<std::atomic<int64_t>[]>(static_cast<size_t>(result->partition_count_));
  }
  return result;
}

KafkaWriter::~KafkaWriter() {
  if (producer_) rd_kafka_flush(producer_.get(), 5000);
}

Status KafkaWriter::Recover(const OutputIdentity& identity, const RecoveryStart& start) {
  identity_ = identity;
  landed_.assign(static_cast<size_t>(partition_count_), LandedPosition());
  fingerprint_ = WriterFingerprint(identity.job, identity.run, writer_);
  if (delivery_ != Delivery::kExactlyOnce) return Status::OK();
  std::vector<int64_t> low, high;
  EDDY_RETURN_IF_ERROR(QueryWatermarks(&low, &high));
  for (int32_t partition = 0; partition < partition_count_; ++partition) {
    next_offset_[static_cast<size_t>(partition)].store(high[static_cast<size_t>(partition)]);
  }
  // A new run's records cannot be there yet.
  if (start.new_run) return Status::OK();
  // The batches that run again wrote at or after where the writer stood
  // before the first of them.
  const std::vector<int64_t> recorded = DecodeOffsets(start.position);
  std::vector<int64_t> floor = low;
  for (size_t partition = 0; partition < floor.size() && partition < recorded.size(); ++partition) {
    floor[partition] = std::max(floor[partition], std::min(recorded[partition], high[partition]));
  }
  EDDY_RETURN_IF_ERROR(ScanTails(floor, high));
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
        "skips what is there",
        identity.job, writer_, topic_name_, found);
  }
  return Status::OK();
}

// One ListOffsets request per broker for all partitions (a query per
// partition would wait behind every other).
Status KafkaWriter::QueryWatermarks(std::vector<int64_t>* low, std::vector<int64_t>* high) {
  for (auto [out, logical] :
       {std::pair{low, RD_KAFKA_OFFSET_BEGINNING}, std::pair{high, RD_KAFKA_OFFSET_END}}) {
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(partition_count_));
    for (int32_t partition = 0; partition < partition_count_; ++partition) {
      rd_kafka_topic_partition_list_add(list.get(), topic_name_.c_str(), partition)->offset =
          logical;
    }
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(producer_.get(), list.get(),
                                                         static_cast<int>(kBrokerTimeout.count()));
    out->assign(static_cast<size_t>(partition_count_), 0);
    for (int idx = 0; idx < list->cnt && err == RD_KAFKA_RESP_ERR_NO_ERROR; ++idx) {
      const rd_kafka_topic_partition_t& part = list->elems[idx];
      err = part.err != RD_KAFKA_RESP_ERR_NO_ERROR ? part.err
            : part.offset < 0                      ? RD_KAFKA_RESP_ERR__BAD_MSG
                                                   : RD_KAFKA_RESP_ERR_NO_ERROR;
      (*out)[static_cast<size_t>(part.partition)] = part.offset;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("sink '" + writer_ + "': offsets of " + topic_name_ + ": " +
                                 rd_kafka_err2str(err));
    }
  }
  return Status::OK();
}

// Every partition's windows are read at once, by one consumer assigned to
// all of them: a restart costs a few fetches, not a scan per partition.
Status KafkaWriter::ScanTails(const std::vector<int64_t>& floor, const std::vector<int64_t>& high) {
  std::vector<TailWindow> windows(static_cast<size_t>(partition_count_));
  size_t remaining = 0;
  for (size_t partition = 0; partition < windows.size(); ++partition) {
    TailWindow& window = windows[partition];
    window.partition = static_cast<int32_t>(partition);
    window.floor = floor[partition];
    window.end = high[partition];
    window.done = window.end <= window.floor;
    if (!window.done) ++remaining;
  }
  if (remaining == 0) return Status::OK();
  EDDY_ASSIGN_OR_RETURN(KafkaHandle consumer,
                        CreateConsumer(client_, "eddy-recovery-" + identity_.job));
  KafkaQueue queue(rd_kafka_queue_get_consumer(consumer.get()));
  Status status;
  while (remaining > 0 && status.ok()) {
    std::vector<TailWindow*> by_partition(windows.size(), nullptr);
    for (TailWindow& window : windows) {
      if (window.done) continue;
      window.start = std::max(window.floor, window.end - window.size);
      window.complete = false;
      by_partition[static_cast<size_t>(window.partition)] = &window;
    }
    status = ReadWindows(consumer.get(), queue.get(), topic_name_, fingerprint_, by_partition,
                         remaining);
    for (TailWindow* window : by_partition) {
      if (window == nullptr || !status.ok()) continue;
      if (window->newest) {
        landed_[static_cast<size_t>(window->partition)] = {window->newest->batch,
                                                           window->newest->seq};
      }
      window->end = window->start;
      window->size *= 4;
      window->done = window->newest.has_value() || window->end <= window->floor;
      if (window->done) --remaining;
    }
  }
  rd_kafka_assign(consumer.get(), nullptr);
  queue.reset();
  rd_kafka_consumer_close(consumer.get());
  return status.WithContext("sink '" + writer_ + "'");
}

std::string KafkaWriter::Position() const {
  if (delivery_ != Delivery::kExactlyOnce || !next_offset_) return {};
  std::vector<int64_t> offsets(static_cast<size_t>(partition_count_));
  for (size_t partition = 0; partition < offsets.size(); ++partition) {
    offsets[partition] = next_offset_[partition].load(std::memory_order_relaxed);
  }
  return EncodeOffsets(offsets);
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
    if (headers == nullptr) headers = rd_kafka_headers_new(1);
    char origin[kMaxOriginBytes];
    const size_t size = EncodeOrigin({fingerprint_, {batch, seq, task}}, origin);
    rd_kafka_header_add(headers, kOriginHeader, sizeof(kOriginHeader) - 1, origin,
                        static_cast<ssize_t>(size));
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
  // librdkafka takes the payload from the arena as it is (no F_COPY); the
  // record's delivery report releases it.
  PayloadArena::Block* block = nullptr;
  const std::string_view payload = payloads_.Copy(value, &block);
  while (true) {
    rd_kafka_resp_err_t err;
    if (headers != nullptr) {
      err =
          rd_kafka_producev(producer_.get(), RD_KAFKA_V_RKT(topic_.get()),
                            RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_MSGFLAGS(0),
                            RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                            RD_KAFKA_V_KEY((key ? key->data() : nullptr), (key ? key->size() : 0)),
                            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(block), RD_KAFKA_V_END);
    } else {
      // The plain call avoids producev's vararg parsing on the hot path.
      err = rd_kafka_produce(topic_.get(), partition, 0, const_cast<char*>(payload.data()),
                             payload.size(), key ? key->data() : nullptr, key ? key->size() : 0,
                             block) == 0
                ? RD_KAFKA_RESP_ERR_NO_ERROR
                : rd_kafka_last_error();
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;  // the headers now belong to the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer_.get(), 50);
      continue;
    }
    PayloadArena::Release(block);
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
  // Every record was delivered: keep enough blocks for the next batch's
  // records in flight, not a big batch's all.
  if (rd_kafka_outq_len(producer_.get()) == 0) payloads_.Trim(kKeptPayloadBytes);
  std::lock_guard<std::mutex> lock(error_mutex_);
  if (!first_error_.empty()) {
    return Status::Unavailable("sink '" + writer_ + "' topic '" + topic_name_ +
                               "': delivery failed: " + first_error_);
  }
  return Status::OK();
}

void KafkaWriter::OnDelivery(rd_kafka_t* handle, const rd_kafka_message_t* message, void* opaque) {
  auto* writer = static_cast<KafkaWriter*>(opaque);
  if (message->_private != nullptr) {
    PayloadArena::Release(static_cast<PayloadArena::Block*>(message->_private));
  }
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    writer->delivered_.fetch_add(1, std::memory_order_relaxed);
    if (writer->next_offset_ && message->partition >= 0 &&
        message->partition < writer->partition_count_ && message->offset >= 0) {
      std::atomic<int64_t>& next = writer->next_offset_[static_cast<size_t>(message->partition)];
      int64_t seen = next.load(std::memory_order_relaxed);
      while (seen < message->offset + 1 &&
             !next.compare_exchange_weak(seen, message->offset + 1, std::memory_order_relaxed)) {
      }
    }
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
