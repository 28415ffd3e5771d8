#include "runtime/scale/scaled_job.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "connectors/kafka/kafka_admin.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/scale/group_member.h"
#include "runtime/scale/job_stages.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string DefaultInstance() {
  if (const char* host = std::getenv("HOSTNAME"); host != nullptr && *host != '\0') return host;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "eddy";
}

// One shard: partition `partition` of a stage of the job, run on its own
// thread until stopped, restarted from its state after a failure.
struct Shard {
  const JobStage* stage = nullptr;
  int32_t partition = 0;
  std::string name;  // "P" or "OP/P" (InstanceEvent::shard)
  std::shared_ptr<const Fence> fence;
  Clock::time_point assigned_at;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> next_offset{-1};  // of the leading topic; -1: unknown
  std::atomic<int64_t> lag{0};           // records behind after its last batch
  std::mutex mutex;
  std::condition_variable wake;  // a stop interrupts the pause between restarts
  std::thread thread;
};

class ScaledJob final : public ShardListener {
 public:
  ScaledJob(const LoadedJob& job, ScaleSettings settings, std::vector<JobStage> stages,
            const ConnectorContext& context, const ScaledRunOptions& options)
      : job_(job),
        settings_(std::move(settings)),
        stages_(std::move(stages)),
        context_(context),
        options_(options) {}

  ~ScaledJob() override { StopAllShards(); }

  Status Run();

  void Assigned(const TopicPartition& partition, std::shared_ptr<const Fence> fence) override;
  void Revoked(const std::vector<TopicPartition>& partitions, bool lost) override;
  std::optional<int64_t> NextOffset(const TopicPartition& partition) override;
  void Rebalanced() override { Report(InstanceEvent::Kind::kRebalanced, ""); }

 private:
  Status EnsureRepartitionTopics(const KafkaClientConfig& client) const;
  void EnsureStatusTopic(const KafkaClientConfig& client, const std::string& topic) const;
  void RunShard(Shard& shard);
  Status RunShardOnce(Shard& shard, bool* opened);
  ConnectorContext ShardConnectorContext(const Shard& shard) const;
  void StopShard(Shard& shard);
  void StopAllShards();
  void Report(InstanceEvent::Kind kind, const std::string& shard, double seconds = 0,
              int64_t bytes = 0) const {
    if (options_.on_event) options_.on_event({kind, shard, seconds, bytes});
  }
  // Sends this instance's status record (instance_status.h) with `state`.
  InstanceStatus CurrentStatus(const std::string& state);
  void PublishStatus(const std::string& state);
  const JobStage* StageOf(const std::string& topic) const {
    for (const JobStage& stage : stages_) {
      if (stage.leading_topic == topic) return &stage;
    }
    return nullptr;
  }

  const LoadedJob& job_;
  const ScaleSettings settings_;
  const std::vector<JobStage> stages_;
  const ConnectorContext& context_;
  const ScaledRunOptions& options_;
  std::string bootstrap_;

  std::mutex mutex_;  // guards shards_, fatal_ and the restore figures
  std::map<TopicPartition, std::unique_ptr<Shard>> shards_;
  Status fatal_;
  int64_t restores_ = 0;
  double restore_seconds_ = 0;
  int64_t restored_bytes_ = 0;
  std::atomic<int64_t> batches_{0};

  std::unique_ptr<InstanceStatusPublisher> status_publisher_;
  std::atomic<GroupMember*> member_{nullptr};  // set once it started
};

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "";
}

InstanceStatus ScaledJob::CurrentStatus(const std::string& state) {
  InstanceStatus status;
  status.instance = settings_.instance;
  status.host = HostName();
  status.state = state;
  if (const GroupMember* member = member_.load(); member != nullptr) {
    status.generation = member->generation();
    status.assigned_unix_ms = member->assigned_unix_ms();
  }
  status.batches = batches_.load();
  status.api_address = options_.api_address;
  status.metrics_address = options_.metrics_address;
  status.session_timeout_ms = settings_.session_timeout.count();
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [partition, shard] : shards_) {
    // Only what this instance may still write for: a frozen instance that
    // wakes with expired leases claims nothing it may have lost.
    if (!shard->fence->Check().ok()) continue;
    status.partitions[partition.topic].push_back(partition.partition);
    status.lag += shard->lag.load();
  }
  status.restores = restores_;
  status.restore_seconds = restore_seconds_;
  status.restored_bytes = restored_bytes_;
  return status;
}

void ScaledJob::PublishStatus(const std::string& state) {
  if (!status_publisher_) return;
  InstanceStatus status = CurrentStatus(state);
  status_publisher_->Publish(status);
  if (options_.on_status) options_.on_status(status);
}

Status ScaledJob::Run() {
  const spec::KafkaSourceSpec& leading = job_.spec.sources(0).kafka();
  auto bootstrap = context_.resolve_brokers(EffectiveBrokers(leading.brokers(), job_.spec.kafka()),
                                            settings_.leading_topic, leading.partitions());
  if (!bootstrap.ok())
    return job_.ErrorAt("sources[0].kafka.brokers", bootstrap.status().message());
  bootstrap_ = *bootstrap;

  GroupMemberOptions member_options;
  member_options.client.brokers = bootstrap_;
  for (const auto& [key, value] : job_.spec.kafka().properties()) {
    member_options.client.properties.emplace_back(key, value);
  }
  EDDY_RETURN_IF_ERROR(EnsureRepartitionTopics(member_options.client));
  member_options.group = settings_.group;
  member_options.instance = settings_.instance;
  for (const JobStage& stage : stages_) member_options.topics.push_back(stage.leading_topic);
  member_options.session_timeout = settings_.session_timeout;
  member_options.assignment = settings_.assignment;
  member_options.on_heartbeat = [this] {
    PublishStatus(options_.stop->load() ? "stopping" : "running");
  };
  const std::string status_topic = InstanceStatusTopic(job_.spec.name());
  EnsureStatusTopic(member_options.client, status_topic);
  EDDY_ASSIGN_OR_RETURN(status_publisher_,
                        InstanceStatusPublisher::Start(member_options.client, status_topic,
                                                       settings_.session_timeout / 2));
  EDDY_ASSIGN_OR_RETURN(auto member, GroupMember::Start(member_options, this));
  member_ = member.get();
  PublishStatus("running");
  spdlog::info("job={} instance={} joined group={} topics={} shared_dir={}", job_.spec.name(),
               settings_.instance, settings_.group, fmt::join(member_options.topics, ","),
               settings_.shared_dir);
  while (!options_.stop->load()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!fatal_.ok()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  PublishStatus("stopping");
  // Leaving the group stops every shard cleanly (Revoked), with a final
  // checkpoint each, and lets the others take the partitions at once.
  member->Stop();
  StopAllShards();
  member_ = nullptr;
  InstanceStatus stopped = CurrentStatus("stopped");
  if (Status sent = status_publisher_->PublishAndWait(stopped, settings_.session_timeout / 2);
      !sent.ok()) {
    spdlog::warn("job={} instance={}: the stopped status was not written: {}", job_.spec.name(),
                 settings_.instance, sent.message());
  }
  if (options_.on_status) options_.on_status(stopped);
  std::lock_guard<std::mutex> lock(mutex_);
  return fatal_;
}

// Creates the stages' repartition topics with the leading topic's partition
// count, as Kafka Streams creates its internal topics, or checks the ones
// already there: a key group's partition, so every shard's state, is tied
// to that count. Every instance does this at start; the first one creates,
// the others find the topics there.
Status ScaledJob::EnsureRepartitionTopics(const KafkaClientConfig& client) const {
  std::vector<const JobStage*> stages;
  for (const JobStage& stage : stages_) {
    if (!stage.repartition_topics.empty()) stages.push_back(&stage);
  }
  if (stages.empty()) return Status::OK();
  auto partitions = ListedPartitionCount(client, settings_.leading_topic);
  if (!partitions.ok()) {
    return job_.ErrorAt("sources[0].kafka.topics",
                        partitions.status().message() +
                            " (its partition count is that of the job's repartition topics)");
  }
  for (const JobStage* stage : stages) {
    for (const std::string& topic : stage->repartition_topics) {
      // Records are not keyed uniquely (compaction would drop rows); the
      // retention is the cluster's: it must cover how far a stage may lag.
      TopicRequest request{topic, *partitions, -1, {{"cleanup.policy", "delete"}}};
      auto outcome = EnsureTopic(client, request);
      if (!outcome.ok()) {
        return outcome.status().WithContext("job " + job_.spec.name() + ": the stage from '" +
                                            stage->starts_at + "'");
      }
      switch (*outcome) {
        case TopicOutcome::kCreated:
          spdlog::info("job={} created repartition topic {} with {} partitions", job_.spec.name(),
                       topic, *partitions);
          break;
        case TopicOutcome::kExisted:
          break;
        case TopicOutcome::kCannotCreate:
          spdlog::warn(
              "job={} the broker cannot create topics (no CreateTopics API): create repartition "
              "topic {} with {} partitions (as many as {}) before the stage from '{}' can run",
              job_.spec.name(), topic, *partitions, settings_.leading_topic, stage->starts_at);
          break;
      }
    }
  }
  return Status::OK();
}

// Creates the status topic, compacted (one record per instance is all a
// reader needs), when the broker can and it is not there. Any partition
// count serves; without the topic only the listing suffers, so a failure
// is the publisher's warning, not the job's.
void ScaledJob::EnsureStatusTopic(const KafkaClientConfig& client, const std::string& topic) const {
  if (ListedPartitionCount(client, topic).ok()) return;
  auto outcome = EnsureTopic(client, {topic, 1, -1, {{"cleanup.policy", "compact"}}});
  if (outcome.ok() && *outcome == TopicOutcome::kCreated) {
    spdlog::info("job={} created instance status topic {} (compacted)", job_.spec.name(), topic);
  }
}

void ScaledJob::Assigned(const TopicPartition& partition, std::shared_ptr<const Fence> fence) {
  const JobStage* stage = StageOf(partition.topic);
  if (stage == nullptr) return;  // not a topic this job subscribed to
  auto shard = std::make_unique<Shard>();
  shard->stage = stage;
  shard->partition = partition.partition;
  shard->name = (stage->starts_at.empty() ? "" : stage->starts_at + "/") +
                std::to_string(partition.partition);
  shard->fence = std::move(fence);
  shard->assigned_at = Clock::now();
  Shard* raw = shard.get();
  std::unique_ptr<Shard> previous;  // eager rebalances revoke first; be safe
  {
    std::lock_guard<std::mutex> lock(mutex_);
    previous = std::move(shards_[partition]);
    shards_[partition] = std::move(shard);
  }
  if (previous) StopShard(*previous);
  Report(InstanceEvent::Kind::kAssigned, raw->name);
  raw->thread = std::thread([this, raw] { RunShard(*raw); });
}

// Called with the partitions' fences still valid (unless lost): each shard
// finishes its batch, commits and checkpoints before the group moves it.
void ScaledJob::Revoked(const std::vector<TopicPartition>& partitions, bool lost) {
  std::vector<std::unique_ptr<Shard>> stopping;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const TopicPartition& partition : partitions) {
      auto it = shards_.find(partition);
      if (it == shards_.end()) continue;
      stopping.push_back(std::move(it->second));
      shards_.erase(it);
    }
  }
  for (auto& shard : stopping) shard->stop = true;
  for (auto& shard : stopping) {
    StopShard(*shard);
    Report(lost ? InstanceEvent::Kind::kFenced : InstanceEvent::Kind::kRevoked, shard->name);
  }
}

std::optional<int64_t> ScaledJob::NextOffset(const TopicPartition& partition) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = shards_.find(partition);
  if (it == shards_.end() || it->second->next_offset.load() < 0) return std::nullopt;
  return it->second->next_offset.load();
}

void ScaledJob::StopShard(Shard& shard) {
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    shard.stop = true;
  }
  shard.wake.notify_all();
  if (shard.thread.joinable()) shard.thread.join();
}

void ScaledJob::StopAllShards() {
  std::map<TopicPartition, std::unique_ptr<Shard>> shards;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shards.swap(shards_);
  }
  for (auto& [partition, shard] : shards) shard->stop = true;
  for (auto& [partition, shard] : shards) StopShard(*shard);
}

ConnectorContext ScaledJob::ShardConnectorContext(const Shard& shard) const {
  const std::string name = shard.stage->dir + "/" + std::to_string(shard.partition);
  ConnectorContext context = context_;
  context.state_dir = (std::filesystem::path(StateDirectory(job_)) / name).string();
  ShardContext shard_context;
  shard_context.partition = shard.partition;
  shard_context.fence = shard.fence;
  shard_context.durable_dir = (std::filesystem::path(settings_.shared_dir) / name).string();
  // A record not delivered within a lease is failed rather than sent late.
  shard_context.write_timeout = settings_.session_timeout / 2;
  context.shard = std::move(shard_context);
  return context;
}

void ScaledJob::RunShard(Shard& shard) {
  bool opened = false;
  while (!shard.stop.load()) {
    Status status = RunShardOnce(shard, &opened);
    if (shard.stop.load()) break;
    if (status.ok()) break;  // bounded input, all read
    if (!shard.fence->Check().ok()) {
      // The lease lapsed: the group took the partition (Revoked will stop
      // this shard), or the coordinator was out of reach and the lease
      // comes back with the next accepted commit. Wait for either.
      spdlog::warn("job={} shard={} paused: {}", job_.spec.name(), shard.name, status.ToString());
      std::unique_lock<std::mutex> lock(shard.mutex);
      while (!shard.stop.load() && !shard.fence->Check().ok()) {
        shard.wake.wait_for(lock, std::chrono::milliseconds(200));
      }
      continue;
    }
    if (status.code() == StatusCode::kInvalidArgument) {
      // The job itself is wrong (it did not plan): no restart fixes that.
      std::lock_guard<std::mutex> lock(mutex_);
      if (fatal_.ok()) fatal_ = status;
      break;
    }
    spdlog::warn("job={} shard={} failed, restarting from its state in 2s: {}", job_.spec.name(),
                 shard.name, status.ToString());
    std::unique_lock<std::mutex> lock(shard.mutex);
    shard.wake.wait_for(lock, std::chrono::seconds(2), [&] { return shard.stop.load(); });
  }
}

Status ScaledJob::RunShardOnce(Shard& shard, bool* opened) {
  EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(shard.stage->job, ShardConnectorContext(shard)));
  ExecutorOptions executor;
  executor.stop = &shard.stop;
  executor.threads = options_.threads_per_shard;
  executor.on_open = [&](int64_t restored_bytes) {
    if (*opened) return;
    *opened = true;
    const double seconds = SecondsSince(shard.assigned_at);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++restores_;
      restore_seconds_ += seconds;
      restored_bytes_ += restored_bytes;
    }
    spdlog::info("job={} shard={} open after {:.3f}s (state restored{}, sinks recovered)",
                 job_.spec.name(), shard.name, seconds,
                 restored_bytes > 0
                     ? " from a checkpoint of " + std::to_string(restored_bytes) + " bytes"
                     : "");
    Report(InstanceEvent::Kind::kRestored, shard.name, seconds, restored_bytes);
  };
  executor.on_batch = [&](const BatchReport& report) {
    ++batches_;
    shard.lag = report.lag;
    for (const PartitionProgress& progress : report.partitions) {
      if (progress.topic == shard.stage->leading_topic && progress.partition == shard.partition) {
        shard.next_offset = progress.next_offset;
      }
    }
    if (options_.on_batch) options_.on_batch(shard.name, report);
  };
  return RunJob(*plan, executor).status();
}

}  // namespace

bool IsScaledOut(const spec::JobSpec& spec) { return spec.scale().mode() == "kafka"; }

Result<ScaleSettings> CheckScaleSettings(const LoadedJob& job) {
  const spec::JobSpec& spec = job.spec;
  const spec::ScaleSpec& scale = spec.scale();
  if (scale.mode() != "kafka") {
    return job.ErrorAt("scale.mode", "expected single or kafka, got '" + scale.mode() + "'");
  }
  ScaleSettings settings;
  if (scale.shared_dir().empty()) {
    return job.ErrorAt("scale.shared_dir",
                       "a scaled-out job needs storage every instance reaches (a shared volume) "
                       "for its partitions' checkpoints");
  }
  std::filesystem::path shared(scale.shared_dir());
  if (shared.is_relative() && !job.base_dir.empty())
    shared = std::filesystem::path(job.base_dir) / shared;
  settings.shared_dir = (shared / spec.name()).lexically_normal().string();
  settings.group = scale.group().empty() ? "eddy." + spec.name() : scale.group();
  settings.instance = scale.instance().empty() ? DefaultInstance() : scale.instance();
  if (!scale.session_timeout().empty()) {
    auto micros = ParseDurationMicros(scale.session_timeout());
    if (!micros.ok()) return job.ErrorAt("scale.session_timeout", micros.status().message());
    if (*micros < 1'000'000) return job.ErrorAt("scale.session_timeout", "must be at least 1s");
    settings.session_timeout = std::chrono::milliseconds(*micros / 1000);
  }
  if (!scale.assignment().empty()) settings.assignment = scale.assignment();
  if (settings.assignment != "range" && settings.assignment != "roundrobin") {
    return job.ErrorAt("scale.assignment",
                       "expected range or roundrobin, got '" + settings.assignment + "'");
  }
  for (int idx = 0; idx < spec.sources_size(); ++idx) {
    const spec::SourceSpec& source = spec.sources(idx);
    const std::string at = "sources[" + std::to_string(idx) + "]";
    if (source.kind_case() != spec::SourceSpec::kKafka) {
      return job.ErrorAt(at,
                         "a scaled-out job reads only Kafka sources: the group divides "
                         "their partitions, and a file or generator has none to divide");
    }
    if (EffectiveBrokers(source.kafka().brokers(), spec.kafka()) == "embedded") {
      return job.ErrorAt(at + ".kafka.brokers",
                         "the instances of a scaled-out job must share a broker: set "
                         "kafka.brokers (`eddy broker` runs one for development)");
    }
  }
  for (int idx = 0; idx < spec.sinks_size(); ++idx) {
    if (spec.sinks(idx).kind_case() != spec::SinkSpec::kKafka) {
      return job.ErrorAt("sinks[" + std::to_string(idx) + "]",
                         "a scaled-out job writes only to Kafka sinks: instances cannot share "
                         "a file or a terminal");
    }
  }
  if (spec.dead_letter().kind_case() == spec::DeadLetterSpec::kFile) {
    return job.ErrorAt("dead_letter.file",
                       "a scaled-out job's dead letters go to Kafka, or (without a "
                       "dead_letter setting) to a file per partition under scale.shared_dir");
  }
  if (spec.sources_size() == 0 || spec.sources(0).kafka().topics_size() == 0) {
    return job.ErrorAt("sources[0].kafka.topics", "a scaled-out job needs a topic to divide");
  }
  settings.leading_topic = spec.sources(0).kafka().topics(0);
  return settings;
}

KafkaClientConfig InstanceStatusClient(const LoadedJob& job) {
  KafkaClientConfig client;
  if (job.spec.sources_size() > 0) {
    client.brokers = EffectiveBrokers(job.spec.sources(0).kafka().brokers(), job.spec.kafka());
  }
  for (const auto& [key, value] : job.spec.kafka().properties()) {
    client.properties.emplace_back(key, value);
  }
  return client;
}

Status RunScaledJob(const LoadedJob& job, const ConnectorContext& context,
                    const ScaledRunOptions& options) {
  EDDY_ASSIGN_OR_RETURN(ScaleSettings settings, CheckScaleSettings(job));
  EDDY_ASSIGN_OR_RETURN(std::vector<JobStage> stages, SplitIntoStages(job, context));
  for (const JobStage& stage : stages) {
    if (stage.starts_at.empty()) continue;
    spdlog::info("job={} stage from '{}' reads repartition topic{} {}", job.spec.name(),
                 stage.starts_at, stage.repartition_topics.size() > 1 ? "s" : "",
                 fmt::join(stage.repartition_topics, ", "));
  }
  ScaledJob scaled(job, std::move(settings), std::move(stages), context, options);
  return scaled.Run();
}

}  // namespace eddy
