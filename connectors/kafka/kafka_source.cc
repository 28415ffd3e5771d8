#include "connectors/kafka/kafka_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "connectors/kafka/record_header.h"

namespace eddy {
namespace {

// A FIFO of messages that keeps its storage: std::deque frees and
// allocates a block every 64 messages as a batch's messages pass through,
// this vector is emptied when read to the end and so allocates nothing
// once it has held a batch's worth.
class MessageQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  const KafkaMessage& front() const { return items_[head_]; }
  KafkaMessage& front() { return items_[head_]; }
  void pop_front() {
    items_[head_].reset();
    if (++head_ == items_.size()) clear();
  }
  void push_back(KafkaMessage message) {
    // Drop the read part when it is most of the vector, so a partition
    // whose reads lag its pulls does not grow without end.
    if (head_ > 0 && head_ >= items_.size() / 2) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    items_.push_back(std::move(message));
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<KafkaMessage> items_;
  size_t head_ = 0;  // items_[0, head_) were read (null)
};

// Messages of one partition pulled from the consumer queue but not yet read.
struct PartitionBuffer {
  MessageQueue messages;    // ascending offsets
  int64_t eof_offset = -1;  // latest end-of-partition offset seen
  int64_t next_offset = 0;  // next offset a Read expects
};

class KafkaSource final : public Source {
 public:
  explicit KafkaSource(KafkaSourceOptions options) : options_(std::move(options)) {}

  ~KafkaSource() override {
    queue_.reset();
    if (consumer_) rd_kafka_consumer_close(consumer_.get());
  }

  const std::string& name() const override { return options_.name; }
  const Schema& schema() const override { return options_.decoder->schema(); }

  Status Open() override {
    EDDY_ASSIGN_OR_RETURN(consumer_, CreateConsumer(options_.client, options_.group_id));
    for (const std::string& topic : options_.topics) {
      auto count = FetchPartitionCount(consumer_.get(), topic);
      if (!count.ok()) {
        return count.status().WithContext("source '" + options_.name + "' at " +
                                          options_.client.brokers);
      }
      // One writer per partition of the topic: the upstream stage's shards.
      if (options_.upstream_watermarks) upstream_writers_ = std::max(upstream_writers_, *count);
      for (int32_t partition = 0; partition < *count; ++partition) {
        if (options_.only_partition && partition != *options_.only_partition) continue;
        partitions_.push_back({topic, PartitionId{partition}});
      }
    }
    buffers_ = std::vector<PartitionBuffer>(partitions_.size());
    scratch_ = std::vector<ReadScratch>(partitions_.size());
    read_watermarks_.assign(partitions_.size(), {});
    queue_.reset(rd_kafka_queue_get_consumer(consumer_.get()));
    if (!queue_) return Status::Internal("Kafka consumer has no consumer queue");
    return Status::OK();
  }

  const std::vector<SourcePartition>& partitions() const override { return partitions_; }

  Result<Offsets> InitialOffsets() override {
    const std::string& start = options_.start.empty() ? std::string("earliest") : options_.start;
    if (start == "earliest") return QueryOffsets(RD_KAFKA_OFFSET_BEGINNING, "start offsets");
    if (start == "latest") return QueryOffsets(RD_KAFKA_OFFSET_END, "end offsets");
    EDDY_ASSIGN_OR_RETURN(int64_t millis, ParseStartTimestamp(start));
    EDDY_ASSIGN_OR_RETURN(Offsets offsets, QueryOffsets(millis, "offsets for time " + start));
    if (std::any_of(offsets.begin(), offsets.end(), [](Offset o) { return o.value < 0; })) {
      // No record at or after the time: start at the end, as Kafka does.
      EDDY_ASSIGN_OR_RETURN(Offsets ends, QueryOffsets(RD_KAFKA_OFFSET_END, "end offsets"));
      for (size_t idx = 0; idx < offsets.size(); ++idx) {
        if (offsets[idx].value < 0) offsets[idx] = ends[idx];
      }
    }
    return offsets;
  }

  Status StartFrom(const Offsets& next_offsets) override {
    if (next_offsets.size() != partitions_.size()) {
      return Status::InvalidArgument("source '" + options_.name +
                                     "': " + std::to_string(next_offsets.size()) + " offsets for " +
                                     std::to_string(partitions_.size()) + " partitions");
    }
    KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (size_t idx = 0; idx < partitions_.size(); ++idx) {
      rd_kafka_topic_partition_list_add(list.get(), partitions_[idx].topic.c_str(),
                                        partitions_[idx].partition.value)
          ->offset = next_offsets[idx].value;
      std::lock_guard<std::mutex> lock(mutex_);
      buffers_[idx].messages.clear();
      buffers_[idx].next_offset = next_offsets[idx].value;
      buffers_[idx].eof_offset = -1;
    }
    const rd_kafka_resp_err_t err = rd_kafka_assign(consumer_.get(), list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Internal("source '" + options_.name + "': assign: " + rd_kafka_err2str(err));
    }
    assigned_ = true;
    return Status::OK();
  }

  Result<Offsets> LatestOffsets() override {
    EDDY_ASSIGN_OR_RETURN(Offsets offsets, QueryOffsets(RD_KAFKA_OFFSET_END, "end offsets"));
    Offsets known = offsets;
    Remember(known);
    return offsets;
  }

  // The high watermarks of the fetch responses, kept by librdkafka per
  // partition; asks the brokers only while some partition has none yet.
  Result<Offsets> KnownOffsets() override {
    Offsets offsets(partitions_.size());
    for (size_t idx = 0; idx < partitions_.size(); ++idx) {
      int64_t low = 0, high = RD_KAFKA_OFFSET_INVALID;
      const rd_kafka_resp_err_t err =
          rd_kafka_get_watermark_offsets(consumer_.get(), partitions_[idx].topic.c_str(),
                                         partitions_[idx].partition.value, &low, &high);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || high < 0) return LatestOffsets();
      offsets[idx] = Offset{high};
    }
    Remember(offsets);
    return offsets;
  }

  Status Read(const PartitionRange& range, const std::atomic<bool>& cancel, Batch* out,
              DeadLetters* dead_letters) override {
    if (!assigned_)
      return Status::Internal("source '" + options_.name + "': Read before StartFrom");
    if (range.end.value <= range.start.value) return Status::OK();
    EDDY_RETURN_IF_ERROR(SeekIfNeeded(range));
    // Kept across batches (only the task of this partition reads it).
    std::vector<KafkaMessage>& taken = scratch_[range.partition_index].taken;
    taken.clear();
    taken.reserve(static_cast<size_t>(range.end.value - range.start.value));
    auto last_progress = std::chrono::steady_clock::now();
    while (true) {
      bool complete = false;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        PartitionBuffer& buffer = buffers_[range.partition_index];
        const size_t before = taken.size();
        while (!buffer.messages.empty() && buffer.messages.front()->offset < range.end.value) {
          if (buffer.messages.front()->offset >= buffer.next_offset) {
            buffer.next_offset = buffer.messages.front()->offset + 1;
            taken.push_back(std::move(buffer.messages.front()));
          }
          buffer.messages.pop_front();
        }
        if (taken.size() != before) last_progress = std::chrono::steady_clock::now();
        // Complete when the last offset of the range arrived, when the
        // partition's end was reached at or past the range's end (the last
        // offsets may be transaction markers, which carry no message), or
        // when the fetch went past the range's end without a record in it
        // (all of it deleted by retention, compacted, or markers).
        complete = buffer.next_offset >= range.end.value ||
                   (buffer.eof_offset >= range.end.value && buffer.messages.empty()) ||
                   (!buffer.messages.empty() && buffer.messages.front()->offset >= range.end.value);
        if (complete) buffer.next_offset = std::max(buffer.next_offset, range.end.value);
      }
      if (complete) break;
      if (cancel.load()) return Status::Cancelled("source '" + options_.name + "' read cancelled");
      if (std::chrono::steady_clock::now() - last_progress > options_.read_timeout) {
        const SourcePartition& part = partitions_[range.partition_index];
        return Status::Unavailable("source '" + options_.name + "': no records from " + part.topic +
                                   "/" + std::to_string(part.partition.value) + " for " +
                                   std::to_string(options_.read_timeout.count()) +
                                   " ms while reading offsets " +
                                   std::to_string(range.start.value) + ".." +
                                   std::to_string(range.end.value) + " (broker unreachable?)");
      }
      PullFromConsumerQueue();
    }
    const Offset first_read = taken.empty() ? range.end : Offset{taken.front()->offset};
    if (first_read > range.start) EDDY_RETURN_IF_ERROR(CheckLostInput(range, first_read));
    Status decoded = DecodeMessages(range, taken, out, dead_letters);
    // The messages go back to librdkafka (the records viewed them); the
    // vectors' room stays.
    taken.clear();
    scratch_[range.partition_index].records.clear();
    return decoded;
  }

  int64_t LostRecords() const override { return lost_records_.load(); }

  int32_t upstream_writers() const override { return upstream_writers_; }

  std::vector<UpstreamWatermark> TakeUpstreamWatermarks(size_t partition_index) override {
    return std::exchange(read_watermarks_[partition_index], {});
  }

  void Acknowledge(const Offsets& next_offsets) override {
    if (!options_.commit_to_group || options_.group_id.empty() || !consumer_) return;
    KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (size_t idx = 0; idx < partitions_.size() && idx < next_offsets.size(); ++idx) {
      rd_kafka_topic_partition_list_add(list.get(), partitions_[idx].topic.c_str(),
                                        partitions_[idx].partition.value)
          ->offset = next_offsets[idx].value;
    }
    // Asynchronous: this commit informs lag tools only; Eddy's own progress
    // lives in its checkpoints.
    rd_kafka_commit(consumer_.get(), list.get(), 1);
  }

 private:
  static Result<int64_t> ParseStartTimestamp(const std::string& start) {
    if (!start.empty() && std::all_of(start.begin(), start.end(), ::isdigit)) {
      // Epoch milliseconds; from_chars, not stoll: too many digits is an
      // error to report, not an exception.
      int64_t millis = 0;
      const auto [end, error] = std::from_chars(start.data(), start.data() + start.size(), millis);
      if (error == std::errc() && end == start.data() + start.size()) return millis;
      return Status::InvalidArgument("start '" + start + "': epoch milliseconds out of range");
    }
    auto micros = ParseTimestamp(start);
    if (!micros) {
      return Status::InvalidArgument("start '" + start +
                                     "': expected earliest, latest, an ISO 8601 timestamp or "
                                     "epoch milliseconds");
    }
    return *micros / 1000;
  }

  // Every partition's offset for `query` (a timestamp in milliseconds, or
  // RD_KAFKA_OFFSET_BEGINNING / _END) in one ListOffsets request per broker:
  // a query per partition waits behind the consumer's fetch each time
  // (up to fetch.wait.max.ms), seconds for a few dozen partitions.
  // A timestamp with no record at or after it gives -1.
  Result<Offsets> QueryOffsets(int64_t query, const std::string& what) {
    KafkaPartitionList list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (const SourcePartition& part : partitions_) {
      rd_kafka_topic_partition_list_add(list.get(), part.topic.c_str(), part.partition.value)
          ->offset = query;
    }
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(consumer_.get(), list.get(),
                                                         static_cast<int>(kBrokerTimeout.count()));
    Offsets offsets(partitions_.size());
    for (size_t idx = 0; idx < partitions_.size() && err == RD_KAFKA_RESP_ERR_NO_ERROR; ++idx) {
      const rd_kafka_topic_partition_t& found = list->elems[idx];
      err = found.err;
      if (query < 0 && found.offset < 0) err = RD_KAFKA_RESP_ERR__BAD_MSG;
      offsets[idx] = Offset{found.offset};
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("source '" + options_.name + "': " + what + ": " +
                                 rd_kafka_err2str(err));
    }
    return offsets;
  }

  // Known end offsets only grow: a cached watermark older than what a
  // query saw must not take a partition back.
  void Remember(Offsets& offsets) {
    known_.resize(offsets.size());
    for (size_t idx = 0; idx < offsets.size(); ++idx) {
      known_[idx] = std::max(known_[idx], offsets[idx]);
      offsets[idx] = known_[idx];
    }
  }

  Status SeekIfNeeded(const PartitionRange& range) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      PartitionBuffer& buffer = buffers_[range.partition_index];
      if (buffer.next_offset == range.start.value) return Status::OK();
      buffer.messages.clear();
      buffer.eof_offset = -1;
      buffer.next_offset = range.start.value;
    }
    const SourcePartition& part = partitions_[range.partition_index];
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), part.topic.c_str(), part.partition.value)
        ->offset = range.start.value;
    rd_kafka_error_t* error = rd_kafka_seek_partitions(consumer_.get(), list.get(),
                                                       static_cast<int>(kBrokerTimeout.count()));
    if (error != nullptr) {
      const std::string message = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      return Status::Unavailable("source '" + options_.name + "': seek " + part.topic + "/" +
                                 std::to_string(part.partition.value) + " to " +
                                 std::to_string(range.start.value) + ": " + message);
    }
    return Status::OK();
  }

  // Moves messages from librdkafka's consumer queue into the per-partition
  // buffers. One task pulls at a time; the others wait for its result.
  void PullFromConsumerQueue() {
    std::unique_lock<std::mutex> pull_lock(pull_mutex_, std::try_to_lock);
    if (!pull_lock.owns_lock()) {
      // Another task is pulling; wait for it rather than spin.
      std::unique_lock<std::mutex> lock(mutex_);
      pulled_.wait_for(lock, std::chrono::milliseconds(50));
      return;
    }
    constexpr size_t kPullSize = 8192;
    rd_kafka_message_t* messages[kPullSize];
    const ssize_t count = rd_kafka_consume_batch_queue(queue_.get(), 100, messages, kPullSize);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (ssize_t i = 0; i < count; ++i) {
        KafkaMessage message(messages[i]);
        if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          if (auto* buffer = FindBuffer(message.get())) {
            buffer->eof_offset = std::max(buffer->eof_offset, message->offset);
          }
          continue;
        }
        if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          spdlog::warn("source '{}': {}", options_.name, rd_kafka_message_errstr(message.get()));
          continue;
        }
        PartitionBuffer* buffer = FindBuffer(message.get());
        if (buffer == nullptr || message->offset < buffer->next_offset) continue;
        buffer->messages.push_back(std::move(message));
      }
    }
    pulled_.notify_all();
  }

  // REQUIRES: mutex_ held. Called per message: the topic handle pointer is
  // stable for the consumer's life, so its name is looked up once.
  PartitionBuffer* FindBuffer(const rd_kafka_message_t* message) {
    if (message->rkt == nullptr) return nullptr;
    auto cached = by_topic_handle_.find(message->rkt);
    if (cached == by_topic_handle_.end()) {
      std::vector<size_t> indexes;
      const std::string topic = rd_kafka_topic_name(message->rkt);
      for (size_t idx = 0; idx < partitions_.size(); ++idx) {
        if (partitions_[idx].topic != topic) continue;
        const auto partition = static_cast<size_t>(partitions_[idx].partition.value);
        if (indexes.size() <= partition) indexes.resize(partition + 1, SIZE_MAX);
        indexes[partition] = idx;
      }
      cached = by_topic_handle_.emplace(message->rkt, std::move(indexes)).first;
    }
    const auto partition = static_cast<size_t>(message->partition);
    if (partition >= cached->second.size() || cached->second[partition] == SIZE_MAX) return nullptr;
    return &buffers_[cached->second[partition]];
  }

  // A range whose first records never came: deleted by retention when the
  // partition's log now starts past them (the fetch was reset to the log
  // start), else offsets that hold no record (transaction markers,
  // compaction), which lose nothing. Asks the broker only on such a gap.
  Status CheckLostInput(const PartitionRange& range, Offset first_read) {
    const SourcePartition& part = partitions_[range.partition_index];
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(consumer_.get(), part.topic.c_str(), part.partition.value,
                                         &low, &high, static_cast<int>(kBrokerTimeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("source '" + options_.name + "': log start of " + part.topic +
                                 "/" + std::to_string(part.partition.value) + ": " +
                                 rd_kafka_err2str(err));
    }
    if (low <= range.start.value) return Status::OK();
    const Offset lost_end = std::min(Offset{low}, first_read);
    const int64_t lost = lost_end - range.start;
    const std::string where = part.topic + "/" + std::to_string(part.partition.value);
    if (!options_.skip_lost_input) {
      return Status::DataLoss(
          "source '" + options_.name + "': " + where + ": the job was to read from offset " +
          std::to_string(range.start.value) + ", but the partition's log now starts at " +
          std::to_string(low) + ": " + std::to_string(lost) +
          " records were deleted by the topic's retention before the job read them. Set "
          "kafka.on_lost_input: skip to continue from the log start (docs/kafka.md#lost-input)");
    }
    lost_records_ += lost;
    spdlog::warn(
        "source '{}': {}: skipped {} records deleted by retention before they were read, offsets "
        "{}..{} (on_lost_input: skip)",
        options_.name, where, lost, range.start.value, lost_end.value - 1);
    return Status::OK();
  }

  Status DecodeMessages(const PartitionRange& range, const std::vector<KafkaMessage>& messages,
                        Batch* out, DeadLetters* dead_letters) {
    const SourcePartition& part = partitions_[range.partition_index];
    std::vector<RawRecord>& records = scratch_[range.partition_index].records;
    records.clear();
    records.reserve(messages.size());
    std::vector<UpstreamWatermark>& watermarks = read_watermarks_[range.partition_index];
    watermarks.clear();
    for (const KafkaMessage& message : messages) {
      if (options_.upstream_watermarks && TakeWatermark(message.get(), &watermarks)) continue;
      RawRecord record;
      record.value = std::string_view(static_cast<const char*>(message->payload), message->len);
      if (message->key != nullptr) {
        record.key = std::string_view(static_cast<const char*>(message->key), message->key_len);
      }
      record.topic = part.topic;
      record.partition = part.partition.value;
      record.offset = message->offset;
      rd_kafka_timestamp_type_t ts_type;
      const int64_t ts = rd_kafka_message_timestamp(message.get(), &ts_type);
      if (ts_type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE && ts >= 0) record.timestamp = ts * 1000;
      records.push_back(record);
    }
    return options_.decoder->Decode(records, out, dead_letters);
  }

  // True when `message` is a watermark record; keeps each writer's newest
  // in `watermarks` (writer order). A writer's watermarks only grow, but a
  // record from a writer this topic cannot have is ignored, not trusted.
  bool TakeWatermark(const rd_kafka_message_t* message,
                     std::vector<UpstreamWatermark>* watermarks) {
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    const auto mark = ReadWatermark(headers);
    if (!mark) return false;
    if (mark->upstream < 0 || mark->upstream >= upstream_writers_) return true;
    auto at = std::lower_bound(
        watermarks->begin(), watermarks->end(), mark->upstream,
        [](const UpstreamWatermark& held, int32_t upstream) { return held.upstream < upstream; });
    if (at == watermarks->end() || at->upstream != mark->upstream) {
      at = watermarks->insert(at, UpstreamWatermark{mark->upstream, mark->watermark, mark->idle});
    }
    at->watermark = std::max(at->watermark, mark->watermark);
    at->idle = mark->idle;
    return true;
  }

  KafkaSourceOptions options_;
  KafkaHandle consumer_;
  KafkaQueue queue_;
  std::vector<SourcePartition> partitions_;
  // Topic handle -> partition number -> index into partitions_.
  std::map<const rd_kafka_topic_t*, std::vector<size_t>> by_topic_handle_;
  bool assigned_ = false;
  Offsets known_;  // the highest end offsets seen, per partition
  std::atomic<int64_t> lost_records_{0};
  int32_t upstream_writers_ = 0;
  // Per partition: the watermark records its last Read found. Only the
  // thread reading a partition touches its entry.
  std::vector<std::vector<UpstreamWatermark>> read_watermarks_;

  std::mutex pull_mutex_;  // one puller at a time
  std::mutex mutex_;       // guards buffers_
  std::condition_variable pulled_;
  std::vector<PartitionBuffer> buffers_;
  // Per partition: what a Read uses and keeps for the next one, so a steady
  // read allocates nothing. Only the thread reading a partition touches it.
  struct ReadScratch {
    std::vector<KafkaMessage> taken;
    std::vector<RawRecord> records;
  };
  std::vector<ReadScratch> scratch_;
};

}  // namespace

Result<std::unique_ptr<Source>> MakeKafkaSource(KafkaSourceOptions options) {
  if (options.topics.empty())
    return Status::InvalidArgument("Kafka source needs at least one topic");
  if (!options.decoder) return Status::InvalidArgument("Kafka source needs a decoder");
  return std::unique_ptr<Source>(std::make_unique<KafkaSource>(std::move(options)));
}

}  // namespace eddy
