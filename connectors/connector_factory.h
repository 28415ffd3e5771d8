#pragma once
// Builds the sources, sinks and dead-letter sink a job spec names, without
// connecting to anything (connections happen in Open), so `eddy validate`
// can build them too.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "connectors/core/sink.h"
#include "connectors/core/source.h"
#include "runtime/core/fence.h"
#include "runtime/spec/job_spec.pb.h"
#include "runtime/spec/spec_error.h"

namespace eddy {

// The connectors of one shard of a scaled-out job (runtime/scale): the
// sources read only partition `partition` of each topic, sinks write under
// their own name plus "#<partition>" (so each shard's exactly-once recovery
// finds its own records), and every write checks `fence`.
struct ShardContext {
  int32_t partition = 0;
  std::shared_ptr<const Fence> fence;
  // Where the shard's checkpoints, offsets log and default dead-letter file
  // live: storage that every instance reaches.
  std::string durable_dir;
  // Kafka writers fail records not delivered within this (0: the default).
  std::chrono::milliseconds write_timeout{0};
};

struct ConnectorContext {
  std::string job_name;
  std::string base_dir;   // relative paths in the job resolve against it
  std::string state_dir;  // the job's state directory
  spec::KafkaDefaults kafka;
  // Maps a brokers setting ("embedded" or a bootstrap list; already
  // defaulted) to the bootstrap list clients use. For the embedded broker it
  // also creates `topic` with `partitions` (0: the broker's default).
  std::function<Result<std::string>(const std::string& brokers, const std::string& topic,
                                    int partitions)>
      resolve_brokers;
  std::optional<ShardContext> shard;
};

// "embedded" when neither the client nor the job sets brokers.
std::string EffectiveBrokers(const std::string& own, const spec::KafkaDefaults& defaults);

Result<std::unique_ptr<Source>> MakeSource(const spec::SourceSpec& spec,
                                           const ConnectorContext& context,
                                           const SpecErrorReporter& error_at);

Result<std::unique_ptr<Sink>> MakeSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                       const ConnectorContext& context,
                                       const SpecErrorReporter& error_at);

// The job's dead-letter sink; without a `dead_letter:` setting, the file
// STATE_DIR/dead-letter.jsonl.
Result<std::unique_ptr<DeadLetterSink>> MakeDeadLetterSink(const spec::DeadLetterSpec& spec,
                                                           const ConnectorContext& context,
                                                           const SpecErrorReporter& error_at);

}  // namespace eddy
