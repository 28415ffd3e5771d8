#pragma once
// Dead-letter sinks.
//
// Kafka: each dead letter becomes a record whose value is the original bytes
// (or the row as JSON when it failed after decoding) and whose key is the
// original key, with headers eddy.error.reason, eddy.error.node,
// eddy.error.topic, eddy.error.partition and eddy.error.offset — the shape
// Kafka Connect users know from its errors.deadletterqueue.* headers.
//
// File: one JSON object per line with the fields reason, node, topic,
// partition, offset, key and value (a file sink, exactly-once like it).
//
// Both deliver exactly once by default (connectors/core/sink.h).

#include <memory>
#include <string>

#include "connectors/core/sink.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_writer.h"  // Delivery

namespace eddy {

// The writer behind a Kafka dead-letter sink: its name in the eddy.sink
// header, and the fence of a scaled-out job's shard (null: none).
struct KafkaWriterName {
  std::string writer = "dead_letter";
  std::shared_ptr<const Fence> fence;
};

Result<std::unique_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(const KafkaClientConfig& client,
                                                                const std::string& topic,
                                                                Delivery delivery,
                                                                KafkaWriterName name = {});
Result<std::unique_ptr<DeadLetterSink>> MakeFileDeadLetterSink(const std::string& path);

// The dead letters as rows (reason, node, topic, partition, offset, key,
// value), as the file sink writes them.
Batch DeadLettersToBatch(const DeadLetters& dead_letters);

}  // namespace eddy
