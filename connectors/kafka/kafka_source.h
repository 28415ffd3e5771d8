#pragma once
// Kafka source: reads exact offset ranges of every partition of its topics.
//
// The engine assigns partitions itself (no consumer-group rebalancing) and
// owns the offsets; the group id only receives commits so that lag tools see
// the job's progress. librdkafka prefetches in its own threads, so fetching
// the next batch overlaps processing the current one.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "connectors/core/source.h"
#include "connectors/format/format.h"
#include "connectors/kafka/kafka_client.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

struct KafkaSourceOptions {
  std::string name;  // the source's node name
  std::vector<std::string> topics;
  std::string start = "earliest";  // earliest | latest | ISO timestamp | epoch millis
  KafkaClientConfig client;
  std::string group_id;
  // False for a shard of a scaled-out job: its group member commits.
  bool commit_to_group = true;
  // Set: read only this partition number of each topic (one shard of a
  // scaled-out job); a topic without it contributes no partition.
  std::optional<int32_t> only_partition;
  std::unique_ptr<Decoder> decoder;
  // Records of a range that retention deleted before the job read them:
  // false fails the Read (DataLoss), true skips them, logged and counted
  // (Source::LostRecords).
  bool skip_lost_input = false;
  // The topic is a repartition topic whose writers, one per partition of
  // it, forward watermarks in watermark records (record_header.h): those
  // records are taken as watermarks, not rows (Source::upstream_writers).
  bool upstream_watermarks = false;
  // A Read that sees no progress for this long fails with Unavailable.
  std::chrono::milliseconds read_timeout{30000};
};

Result<std::unique_ptr<Source>> MakeKafkaSource(KafkaSourceOptions options);

}  // namespace eddy
