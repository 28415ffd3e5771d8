#pragma once
// RAII handles and helpers around librdkafka shared by the Kafka source,
// sink and dead-letter sink. These are the same code paths for a real
// cluster and for the embedded broker; only the bootstrap list differs.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {

struct KafkaHandleDeleter {
  void operator()(rd_kafka_t* handle) const;
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaHandleDeleter>;

struct KafkaTopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using KafkaPartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaTopicPartitionListDeleter>;

struct KafkaQueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaQueueDeleter>;

struct KafkaMessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaMessageDeleter>;

// Client settings: bootstrap servers plus librdkafka properties, applied in
// order (engine defaults first, then the job's, so the job's win).
struct KafkaClientConfig {
  std::string brokers;
  std::vector<std::pair<std::string, std::string>> properties;
};

// How long a client waits for a broker before giving up with Unavailable.
inline constexpr std::chrono::milliseconds kBrokerTimeout{10000};

// A consumer handle for explicit assignment (no group subscription; the
// engine owns offsets). `group_id` is used only to commit progress for lag
// tools. Unknown or invalid properties are InvalidArgument naming the key.
Result<KafkaHandle> CreateConsumer(const KafkaClientConfig& config, const std::string& group_id);

// A consumer that joins `group` as a member (the caller subscribes): the
// group's assignor hands it partitions through `rebalance_callback`, called
// with `opaque` from rd_kafka_consumer_poll. Offsets are never committed
// automatically. Used by scaled-out jobs (runtime/scale).
using RebalanceCallback = void (*)(rd_kafka_t*, rd_kafka_resp_err_t,
                                   rd_kafka_topic_partition_list_t*, void* opaque);
Result<KafkaHandle> CreateGroupConsumer(const KafkaClientConfig& config, const std::string& group,
                                        RebalanceCallback rebalance_callback, void* opaque);

// An idempotent producer. `delivery_callback` (may be null) is installed as
// dr_msg_cb with `opaque`.
using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void* opaque);
Result<KafkaHandle> CreateProducer(const KafkaClientConfig& config,
                                   DeliveryCallback delivery_callback, void* opaque);

// A client for metadata and Admin API requests (kafka_admin.h). Its
// metadata requests never ask the broker to auto-create a topic, so asking
// about a missing one does not make it exist with the broker's default
// partition count.
Result<KafkaHandle> CreateAdminClient(const KafkaClientConfig& config);

// Partition count of `topic`, waiting at most `timeout` for the cluster.
// NotFound when the topic does not exist, Unavailable when no broker answers.
Result<int32_t> FetchPartitionCount(rd_kafka_t* handle, const std::string& topic,
                                    std::chrono::milliseconds timeout = kBrokerTimeout);

// Kafka's default partitioner for keyed records (murmur2 as the Java client
// computes it), so Eddy and Java producers agree on where a key goes.
int32_t Murmur2Partition(std::string_view key, int32_t partition_count);
uint32_t Murmur2(std::string_view key);

}  // namespace eddy
