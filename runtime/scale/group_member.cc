#include "runtime/scale/group_member.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<TopicPartition> PartitionsOf(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> partitions;
  for (int idx = 0; list != nullptr && idx < list->cnt; ++idx) {
    partitions.push_back({list->elems[idx].topic, list->elems[idx].partition});
  }
  std::sort(partitions.begin(), partitions.end());
  return partitions;
}

// "[0,1,2] of clicks, [3] of clicks.per_user.repartition"
std::string Describe(const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<int32_t>> by_topic;
  for (const TopicPartition& partition : partitions) {
    by_topic[partition.topic].push_back(partition.partition);
  }
  std::vector<std::string> parts;
  for (const auto& [topic, numbers] : by_topic) {
    parts.push_back(fmt::format("[{}] of {}", fmt::join(numbers, ","), topic));
  }
  return parts.empty() ? "[]" : fmt::format("{}", fmt::join(parts, ", "));
}

// The group generation this consumer is a member of. librdkafka has no
// getter for it; its serialised group metadata (the form transactional
// producers pass around) begins with the magic "CGMDv2:" and the generation
// as a native int32. Any other layout reads as unknown (-1), and readers of
// the status topic then fall back to the assignment time.
int64_t GroupGeneration(rd_kafka_t* consumer) {
  rd_kafka_consumer_group_metadata_t* metadata = rd_kafka_consumer_group_metadata(consumer);
  if (metadata == nullptr) return -1;
  void* buffer = nullptr;
  size_t size = 0;
  int64_t generation = -1;
  rd_kafka_error_t* error = rd_kafka_consumer_group_metadata_write(metadata, &buffer, &size);
  constexpr char kMagic[] = "CGMDv2:";
  constexpr size_t kMagicSize = sizeof(kMagic) - 1;
  if (error == nullptr && size >= kMagicSize + sizeof(int32_t) &&
      std::memcmp(buffer, kMagic, kMagicSize) == 0) {
    int32_t value = 0;
    std::memcpy(&value, static_cast<const char*>(buffer) + kMagicSize, sizeof(value));
    generation = value;
  }
  if (error != nullptr) rd_kafka_error_destroy(error);
  if (buffer != nullptr) rd_kafka_mem_free(consumer, buffer);
  rd_kafka_consumer_group_metadata_destroy(metadata);
  return generation;
}

}  // namespace

Result<std::unique_ptr<GroupMember>> GroupMember::Start(GroupMemberOptions options,
                                                        ShardListener* listener) {
  if (options.assignment != "range" && options.assignment != "roundrobin") {
    return Status::InvalidArgument("scale.assignment: expected range or roundrobin, got '" +
                                   options.assignment + "'");
  }
  std::unique_ptr<GroupMember> member(new GroupMember(std::move(options), listener));
  EDDY_RETURN_IF_ERROR(member->Connect());
  member->poller_ = std::thread([raw = member.get()] { raw->PollLoop(); });
  return member;
}

GroupMember::~GroupMember() { Stop(); }

Status GroupMember::Connect() {
  KafkaClientConfig client = options_.client;
  const int64_t session_ms = options_.session_timeout.count();
  client.properties.insert(
      client.properties.begin(),
      {{"session.timeout.ms", std::to_string(session_ms)},
       // Several heartbeats per session, so one lost heartbeat is no eviction.
       {"heartbeat.interval.ms", std::to_string(std::max<int64_t>(100, session_ms / 5))},
       {"partition.assignment.strategy", options_.assignment}});
  if (!options_.instance.empty()) {
    client.properties.emplace_back("group.instance.id", options_.instance);
  }
  EDDY_ASSIGN_OR_RETURN(consumer_,
                        CreateGroupConsumer(client, options_.group, &RebalanceCallback, this));
  KafkaPartitionList topics(
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const std::string& topic : options_.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_.get(), topics.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("group " + options_.group + ": subscribe to " +
                               fmt::format("{}", fmt::join(options_.topics, ",")) + ": " +
                               rd_kafka_err2str(err));
  }
  return Status::OK();
}

void GroupMember::Stop() {
  if (stopping_.exchange(true)) {
    if (poller_.joinable()) poller_.join();
    return;
  }
  if (poller_.joinable()) poller_.join();
}

std::vector<TopicPartition> GroupMember::owned() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<TopicPartition> partitions;
  for (const OwnedPartition& owned : owned_) partitions.push_back(owned.partition);
  return partitions;
}

void GroupMember::PollLoop() {
  while (!stopping_.load()) {
    // Serves the rebalance callback; the paused partitions yield no records,
    // only errors worth a log line.
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_.get(), 100);
    if (message != nullptr) {
      if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::debug("group={} consumer: {}", options_.group, rd_kafka_message_errstr(message));
      }
      rd_kafka_message_destroy(message);
    }
    if (Clock::now() >= next_renewal_) {
      Renew();
      next_renewal_ = Clock::now() + options_.session_timeout / 6;
      if (options_.on_heartbeat) options_.on_heartbeat();
    }
  }
  // Leaving the group revokes the partitions through the callback: the
  // shards stop and checkpoint, and the group rebalances at once instead of
  // waiting out the session.
  rd_kafka_consumer_close(consumer_.get());
}

void GroupMember::RebalanceCallback(rd_kafka_t*, rd_kafka_resp_err_t err,
                                    rd_kafka_topic_partition_list_t* partitions, void* opaque) {
  static_cast<GroupMember*>(opaque)->OnRebalance(err, partitions);
}

void GroupMember::OnRebalance(rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* partitions) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    Assign(partitions);
  } else {
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      spdlog::warn("group={} rebalance error: {}", options_.group, rd_kafka_err2str(err));
    }
    Revoke(partitions);
  }
}

void GroupMember::Assign(rd_kafka_topic_partition_list_t* partitions) {
  rd_kafka_assign(consumer_.get(), partitions);
  // Nothing is read through the group: the shards read their partitions
  // themselves, at the offsets in their state.
  rd_kafka_pause_partitions(consumer_.get(), partitions);
  ++rebalances_;
  generation_ = GroupGeneration(consumer_.get());
  assigned_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto now = Clock::now();

  // What to commit for a shard that has not reported progress yet: what
  // the group has, else the start of the partition.
  KafkaPartitionList committed(rd_kafka_topic_partition_list_copy(partitions));
  rd_kafka_committed(consumer_.get(), committed.get(), 5000);

  std::vector<OwnedPartition> assigned;
  for (int idx = 0; idx < partitions->cnt; ++idx) {
    OwnedPartition owned;
    owned.partition = {partitions->elems[idx].topic, partitions->elems[idx].partition};
    owned.fence = std::make_shared<Fence>();
    // The assignment itself confirms the membership: a lease from now.
    owned.fence->ExtendUntil(now + lease());
    owned.fallback_offset = committed->elems[idx].offset;
    if (owned.fallback_offset < 0) {
      int64_t low = 0;
      int64_t high = 0;
      if (rd_kafka_query_watermark_offsets(consumer_.get(), owned.partition.topic.c_str(),
                                           owned.partition.partition, &low, &high,
                                           5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        owned.fallback_offset = low;
      } else {
        owned.fallback_offset = 0;
      }
    }
    assigned.push_back(owned);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    owned_ = assigned;
  }
  next_renewal_ = now;
  spdlog::info("group={} instance={} assigned partitions {}", options_.group, options_.instance,
               Describe(PartitionsOf(partitions)));
  for (const OwnedPartition& owned : assigned) listener_->Assigned(owned.partition, owned.fence);
  listener_->Rebalanced();
  if (options_.on_heartbeat) options_.on_heartbeat();
}

void GroupMember::Revoke(rd_kafka_topic_partition_list_t* partitions) {
  const bool lost = rd_kafka_assignment_lost(consumer_.get()) != 0;
  std::vector<OwnedPartition> revoked;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    revoked.swap(owned_);
  }
  const std::vector<TopicPartition> numbers = PartitionsOf(partitions);
  spdlog::info("group={} instance={} {} partitions {}", options_.group, options_.instance,
               lost ? "lost" : "gives up", Describe(numbers));
  if (lost) {
    for (OwnedPartition& owned : revoked) {
      owned.fence->Revoke("partition " + owned.partition.ToString() +
                          " was given to another instance while this one was away");
    }
  }
  listener_->Revoked(numbers, lost);
  for (OwnedPartition& owned : revoked) {
    owned.fence->Revoke("partition " + owned.partition.ToString() + " was revoked");
  }
  rd_kafka_assign(consumer_.get(), nullptr);
  if (options_.on_heartbeat) options_.on_heartbeat();
}

void GroupMember::Renew() {
  std::vector<OwnedPartition> owned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    owned = owned_;
  }
  if (owned.empty()) return;
  KafkaPartitionList offsets(rd_kafka_topic_partition_list_new(static_cast<int>(owned.size())));
  for (const OwnedPartition& partition : owned) {
    rd_kafka_topic_partition_list_add(offsets.get(), partition.partition.topic.c_str(),
                                      partition.partition.partition)
        ->offset = listener_->NextOffset(partition.partition).value_or(partition.fallback_offset);
  }
  const auto sent = Clock::now();
  // Synchronous, and checked by the coordinator against this member's
  // generation: success proves the group still counts these partitions as
  // this instance's.
  const rd_kafka_resp_err_t err = rd_kafka_commit(consumer_.get(), offsets.get(), 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::debug("group={} lease renewal refused: {}", options_.group, rd_kafka_err2str(err));
    return;
  }
  for (size_t idx = 0; idx < owned.size(); ++idx) {
    if (offsets->elems[idx].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    owned[idx].fence->ExtendUntil(sent + lease());
  }
}

}  // namespace eddy
