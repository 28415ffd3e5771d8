#pragma once
// Kafka sink: encodes rows with the sink's format and produces them with an
// idempotent producer, choosing partitions deterministically: a record with
// a key goes where Kafka's murmur2 partitioner sends it; a keyless record
// keeps its source partition (modulo the topic's count), or is spread by its
// row position when it has none. Flush waits for every acknowledgement.
// Exactly-once delivery is KafkaWriter's (kafka_writer.h).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/core/sink.h"
#include "connectors/format/format.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_writer.h"
#include "runtime/expr/expression.h"

namespace eddy {

struct KafkaSinkOptions {
  std::string name;
  std::string topic;
  KafkaClientConfig client;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Expression> key;  // null: keyless records
  std::vector<NamedExpression> headers;
  Delivery delivery = Delivery::kExactlyOnce;
  // The writer's name in the eddy.sink header (what exactly-once recovery
  // looks for): `name`, unless set — a shard's sink adds "#<partition>".
  std::string writer;
  std::shared_ptr<const Fence> fence;  // null: no fence
  // Set: the sink forwards its input's watermark (Sink::WriteWatermark) as
  // this writer, one of the topic's readers' upstream writers: the shard's
  // partition in a stage of a scaled-out job.
  std::optional<int32_t> forward_watermarks_as;
};

// "exactly_once" (also the default, "") or "at_least_once".
Result<Delivery> ParseDelivery(const std::string& text);

Result<std::unique_ptr<Sink>> MakeKafkaSink(KafkaSinkOptions options);

}  // namespace eddy
