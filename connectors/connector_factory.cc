#include "connectors/connector_factory.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "connectors/dead_letter_sink.h"
#include "connectors/file/file_sink.h"
#include "connectors/file/file_source.h"
#include "connectors/file/stdout_sink.h"
#include "connectors/format/format.h"
#include "connectors/generator/generator_source.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

KafkaClientConfig ClientConfig(const std::string& bootstrap, const spec::KafkaDefaults& defaults,
                               const google::protobuf::Map<std::string, std::string>& own) {
  KafkaClientConfig config;
  config.brokers = bootstrap;
  // Sorted so that clients are configured identically on every run.
  std::map<std::string, std::string> merged(defaults.properties().begin(),
                                            defaults.properties().end());
  for (const auto& [key, value] : own) merged[key] = value;
  config.properties.assign(merged.begin(), merged.end());
  return config;
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute() || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// A shard's writers name themselves after their shard, so that each
// shard's exactly-once recovery finds its own records in a shared topic.
std::string ShardWriterName(const std::string& sink, const ShardContext& shard) {
  return sink + "#" + std::to_string(shard.partition);
}

// Records a shard could not deliver within its lease fail rather than
// linger: a frozen instance's queue expires before it could reach the
// broker after the partition moved (docs/scale-out.md, fencing).
void AddShardProducerSettings(const ShardContext& shard, KafkaClientConfig* client) {
  if (shard.write_timeout.count() > 0) {
    client->properties.emplace_back("message.timeout.ms",
                                    std::to_string(shard.write_timeout.count()));
  }
}

}  // namespace

std::string EffectiveBrokers(const std::string& own, const spec::KafkaDefaults& defaults) {
  if (!own.empty()) return own;
  if (!defaults.brokers().empty()) return defaults.brokers();
  return "embedded";
}

Result<std::unique_ptr<Source>> MakeSource(const spec::SourceSpec& spec,
                                           const ConnectorContext& context,
                                           const SpecErrorReporter& error_at) {
  switch (spec.kind_case()) {
    case spec::SourceSpec::kKafka: {
      const spec::KafkaSourceSpec& kafka = spec.kafka();
      auto decoder = MakeDecoder(spec.format(), spec.schema(), context.base_dir);
      if (!decoder.ok()) return error_at("format", decoder.status().message());
      std::string bootstrap;
      for (const std::string& topic : kafka.topics()) {
        auto resolved = context.resolve_brokers(EffectiveBrokers(kafka.brokers(), context.kafka),
                                                topic, kafka.partitions());
        if (!resolved.ok()) return error_at("kafka.brokers", resolved.status().message());
        bootstrap = *resolved;
      }
      KafkaSourceOptions options;
      options.name = spec.name();
      options.topics.assign(kafka.topics().begin(), kafka.topics().end());
      options.start = kafka.start();
      options.client = ClientConfig(bootstrap, context.kafka, kafka.properties());
      options.group_id = kafka.group_id().empty() ? "eddy-" + context.job_name : kafka.group_id();
      if (context.shard) {
        // The shard reads its partition; its group member commits.
        options.only_partition = context.shard->partition;
        options.commit_to_group = false;
      }
      options.decoder = std::move(decoder).value();
      options.upstream_watermarks = kafka.upstream_watermarks();
      if (kafka.on_lost_input() == "skip") {
        options.skip_lost_input = true;
      } else if (!kafka.on_lost_input().empty() && kafka.on_lost_input() != "fail") {
        return error_at("kafka.on_lost_input",
                        "expected fail or skip, got '" + kafka.on_lost_input() + "'");
      }
      if (!options.start.empty() && options.start != "earliest" && options.start != "latest" &&
          !std::all_of(options.start.begin(), options.start.end(), ::isdigit) &&
          !ParseTimestamp(options.start)) {
        return error_at("kafka.start",
                        "expected earliest, latest, an ISO 8601 timestamp or epoch "
                        "milliseconds, got '" +
                            options.start + "'");
      }
      return MakeKafkaSource(std::move(options));
    }
    case spec::SourceSpec::kFile: {
      auto source = MakeFileSource(spec, context.base_dir);
      if (!source.ok()) return error_at("file", source.status().message());
      return source;
    }
    case spec::SourceSpec::kGenerator: {
      auto source = MakeGeneratorSource(spec);
      if (!source.ok()) return error_at("generator", source.status().message());
      return source;
    }
    case spec::SourceSpec::KIND_NOT_SET:
      break;
  }
  return error_at("", "no source kind set (expected one of: kafka, file, generator)");
}

Result<std::unique_ptr<Sink>> MakeSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                       const ConnectorContext& context,
                                       const SpecErrorReporter& error_at) {
  switch (spec.kind_case()) {
    case spec::SinkSpec::kKafka: {
      const spec::KafkaSinkSpec& kafka = spec.kafka();
      KafkaSinkOptions options;
      options.name = spec.name();
      options.topic = kafka.topic();
      auto encoder = MakeEncoder(spec.format(), input_schema, context.base_dir);
      if (!encoder.ok()) return error_at("format", encoder.status().message());
      options.encoder = std::move(encoder).value();
      if (!kafka.key().empty()) {
        auto key = CompileExpression(kafka.key(), input_schema);
        if (!key.ok()) return error_at("kafka.key", key.status().message());
        options.key = std::move(key).value();
      }
      // Sorted by name so that records carry headers in a stable order.
      std::map<std::string, std::string> headers(kafka.headers().begin(), kafka.headers().end());
      for (const auto& [name, text] : headers) {
        auto header = CompileExpression(text, input_schema);
        if (!header.ok()) return error_at("kafka.headers." + name, header.status().message());
        options.headers.push_back({name, std::move(header).value()});
      }
      auto bootstrap = context.resolve_brokers(EffectiveBrokers(kafka.brokers(), context.kafka),
                                               kafka.topic(), kafka.partitions());
      if (!bootstrap.ok()) return error_at("kafka.brokers", bootstrap.status().message());
      options.client = ClientConfig(*bootstrap, context.kafka, kafka.properties());
      auto delivery = ParseDelivery(kafka.delivery());
      if (!delivery.ok()) return error_at("kafka.delivery", delivery.status().message());
      options.delivery = *delivery;
      if (context.shard) {
        options.writer = ShardWriterName(spec.name(), *context.shard);
        options.fence = context.shard->fence;
        AddShardProducerSettings(*context.shard, &options.client);
        if (kafka.forward_watermarks()) options.forward_watermarks_as = context.shard->partition;
      }
      return MakeKafkaSink(std::move(options));
    }
    case spec::SinkSpec::kFile: {
      auto sink = MakeFileSink(spec, input_schema, context.base_dir);
      if (!sink.ok()) return error_at("file", sink.status().message());
      return sink;
    }
    case spec::SinkSpec::kStdout: {
      auto sink = MakeStdoutSink(spec, input_schema);
      if (!sink.ok()) return error_at("stdout", sink.status().message());
      return sink;
    }
    case spec::SinkSpec::KIND_NOT_SET:
      break;
  }
  return error_at("", "no sink kind set (expected one of: kafka, file, stdout)");
}

Result<std::unique_ptr<DeadLetterSink>> MakeDeadLetterSink(const spec::DeadLetterSpec& spec,
                                                           const ConnectorContext& context,
                                                           const SpecErrorReporter& error_at) {
  switch (spec.kind_case()) {
    case spec::DeadLetterSpec::kKafka: {
      const spec::DeadLetterKafkaSpec& kafka = spec.kafka();
      if (kafka.topic().empty()) return error_at("kafka.topic", "a dead-letter topic is required");
      auto bootstrap = context.resolve_brokers(EffectiveBrokers(kafka.brokers(), context.kafka),
                                               kafka.topic(), kafka.partitions());
      if (!bootstrap.ok()) return error_at("kafka.brokers", bootstrap.status().message());
      auto delivery = ParseDelivery(kafka.delivery());
      if (!delivery.ok()) return error_at("kafka.delivery", delivery.status().message());
      KafkaClientConfig client = ClientConfig(*bootstrap, context.kafka, kafka.properties());
      KafkaWriterName name;
      if (context.shard) {
        name.writer = ShardWriterName(name.writer, *context.shard);
        name.fence = context.shard->fence;
        AddShardProducerSettings(*context.shard, &client);
      }
      return MakeKafkaDeadLetterSink(client, kafka.topic(), *delivery, std::move(name));
    }
    case spec::DeadLetterSpec::kFile:
      if (spec.file().path().empty()) return error_at("file.path", "a path is required");
      return MakeFileDeadLetterSink(ResolvePath(context.base_dir, spec.file().path()));
    case spec::DeadLetterSpec::KIND_NOT_SET:
      break;
  }
  return MakeFileDeadLetterSink(
      (std::filesystem::path(context.state_dir) / "dead-letter.jsonl").string());
}

}  // namespace eddy
