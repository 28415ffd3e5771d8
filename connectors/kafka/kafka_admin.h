#pragma once
// Topics Eddy creates for itself: the repartition topics of a scaled-out
// job (docs/scale-out.md#repartitioning), created at start through the
// Kafka Admin API as Kafka Streams creates its internal topics.
//
// Thread-safety: EnsureTopic opens a client of its own per call; call it
// from any thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/status.h"

namespace eddy {

struct TopicRequest {
  std::string name;
  int32_t partitions = 0;  // required, > 0
  // -1: the cluster's default.replication.factor.
  int32_t replication_factor = -1;
  // Topic configs ("cleanup.policy", "retention.ms", ...), in order.
  std::vector<std::pair<std::string, std::string>> configs;
};

enum class TopicOutcome {
  kCreated,  // the broker created it
  kExisted,  // it was there already, with the partition count asked for
  // The broker does not implement CreateTopics (librdkafka's mock cluster,
  // some proxies) and the topic is not there: someone must create it.
  kCannotCreate,
};

// Creates `topic`, or checks the one already there: an existing topic (or
// one created concurrently by another instance: TOPIC_ALREADY_EXISTS) must
// have exactly `topic.partitions` partitions, else InvalidArgument
// naming both counts. Unavailable when no broker answers within `timeout`;
// other refusals (authorization, invalid config) are InvalidArgument with
// the broker's message.
Result<TopicOutcome> EnsureTopic(const KafkaClientConfig& config, const TopicRequest& topic,
                                 std::chrono::milliseconds timeout = kBrokerTimeout);

// The partition count of `topic`, NotFound when the cluster lists no such
// topic. Unlike FetchPartitionCount it never makes a broker auto-create
// the topic with its default partition count.
Result<int32_t> ListedPartitionCount(const KafkaClientConfig& config, const std::string& topic,
                                     std::chrono::milliseconds timeout = kBrokerTimeout);

}  // namespace eddy
