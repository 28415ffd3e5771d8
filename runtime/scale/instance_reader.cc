#include "runtime/scale/instance_reader.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "runtime/core/json_string.h"

namespace eddy {
namespace {

// Whether `a` is a newer record of its instance than `b`.
bool Newer(const InstanceStatusRecord& a, const InstanceStatusRecord& b) {
  if (a.partition == b.partition) return a.offset > b.offset;
  return a.status.written_unix_ms > b.status.written_unix_ms;
}

void Add(PartitionsByTopic& partitions, const std::string& topic, int32_t partition) {
  std::vector<int32_t>& numbers = partitions[topic];
  numbers.insert(std::upper_bound(numbers.begin(), numbers.end(), partition), partition);
}

// Which of two live claims on one partition the group made later.
bool ClaimsLater(const InstanceView& a, const InstanceView& b) {
  return std::tie(a.status.generation, a.status.assigned_unix_ms, a.status.written_unix_ms) >
         std::tie(b.status.generation, b.status.assigned_unix_ms, b.status.written_unix_ms);
}

}  // namespace

std::vector<InstanceView> ResolveInstances(const std::vector<InstanceStatusRecord>& records,
                                           int64_t now_unix_ms) {
  std::map<std::string, const InstanceStatusRecord*> newest;
  for (const InstanceStatusRecord& record : records) {
    auto [it, inserted] = newest.emplace(record.status.instance, &record);
    if (!inserted && Newer(record, *it->second)) it->second = &record;
  }
  std::vector<InstanceView> views;
  for (const auto& [name, record] : newest) {
    InstanceView view;
    view.status = record->status;
    view.age_ms = std::max<int64_t>(0, now_unix_ms - view.status.written_unix_ms);
    const int64_t session = view.status.session_timeout_ms > 0 ? view.status.session_timeout_ms
                                                               : kDefaultSessionTimeoutMs;
    if (view.status.state == "stopped") {
      view.state = "stopped";
    } else if (view.age_ms > kLostAfterSessions * session) {
      view.state = "lost";
    } else {
      view.state = view.status.state;
    }
    views.push_back(std::move(view));
  }
  // Every live claim of every partition; the latest wins, the others are stale.
  std::map<std::pair<std::string, int32_t>, size_t> owner;
  for (size_t idx = 0; idx < views.size(); ++idx) {
    InstanceView& view = views[idx];
    const bool live = view.state != "stopped" && view.state != "lost";
    for (const auto& [topic, numbers] : view.status.partitions) {
      for (int32_t partition : numbers) {
        if (!live) {
          Add(view.stale, topic, partition);
          continue;
        }
        auto [it, inserted] = owner.emplace(std::make_pair(topic, partition), idx);
        if (!inserted && ClaimsLater(view, views[it->second])) it->second = idx;
      }
    }
  }
  for (size_t idx = 0; idx < views.size(); ++idx) {
    InstanceView& view = views[idx];
    if (view.state == "stopped" || view.state == "lost") continue;
    for (const auto& [topic, numbers] : view.status.partitions) {
      for (int32_t partition : numbers) {
        Add(owner.at({topic, partition}) == idx ? view.owned : view.stale, topic, partition);
      }
    }
  }
  return views;
}

Result<std::vector<InstanceStatusRecord>> ReadInstanceStatusRecords(
    const KafkaClientConfig& client, const std::string& topic, std::chrono::milliseconds timeout) {
  // No group: the reader assigns every partition itself and commits nothing.
  EDDY_ASSIGN_OR_RETURN(KafkaHandle consumer, CreateConsumer(client, "eddy-instances-reader"));
  EDDY_ASSIGN_OR_RETURN(const int32_t partitions,
                        FetchPartitionCount(consumer.get(), topic, timeout));
  KafkaPartitionList assignment(rd_kafka_topic_partition_list_new(partitions));
  int expecting_end = 0;
  for (int32_t partition = 0; partition < partitions; ++partition) {
    int64_t low = 0;
    int64_t high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        consumer.get(), topic.c_str(), partition, &low, &high, static_cast<int>(timeout.count()));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("instance status topic " + topic + ": " + rd_kafka_err2str(err));
    }
    if (high <= low) continue;
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), partition)->offset = low;
    ++expecting_end;
  }
  std::vector<InstanceStatusRecord> records;
  if (expecting_end == 0) return records;
  rd_kafka_assign(consumer.get(), assignment.get());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (expecting_end > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("instance status topic " + topic +
                                 ": not read to its end within " + std::to_string(timeout.count()) +
                                 " ms");
    }
    KafkaMessage message(rd_kafka_consumer_poll(consumer.get(), 100));
    if (!message) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --expecting_end;
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::Unavailable("instance status topic " + topic + ": " +
                                 rd_kafka_message_errstr(message.get()));
    }
    auto status = ParseInstanceStatus(
        std::string_view(static_cast<const char*>(message->payload), message->len));
    if (!status.ok()) {
      spdlog::debug("{} offset {}: skipped: {}", topic, message->offset, status.status().message());
      continue;
    }
    records.push_back({std::move(status).value(), message->partition, message->offset});
  }
  return records;
}

Result<std::vector<InstanceView>> ReadInstances(const KafkaClientConfig& client,
                                                const std::string& topic) {
  EDDY_ASSIGN_OR_RETURN(auto records, ReadInstanceStatusRecords(client, topic));
  return ResolveInstances(records, WallClockMillis());
}

std::string InstancesToJson(const std::string& job, const std::string& topic,
                            const std::vector<InstanceView>& instances) {
  std::string out =
      "{\"job\":" + JsonString(job) + ",\"topic\":" + JsonString(topic) + ",\"instances\":[";
  for (size_t idx = 0; idx < instances.size(); ++idx) {
    const InstanceView& view = instances[idx];
    const InstanceStatus& status = view.status;
    if (idx > 0) out += ",";
    out += "{\"instance\":" + JsonString(status.instance) + ",\"state\":" + JsonString(view.state) +
           ",\"reported_state\":" + JsonString(status.state) +
           ",\"host\":" + JsonString(status.host) +
           ",\"partitions\":" + PartitionsToJson(view.owned) +
           ",\"stale_partitions\":" + PartitionsToJson(view.stale) +
           fmt::format(
               ",\"last_seen_ms_ago\":{},\"generation\":{},\"assigned_unix_ms\":{},"
               "\"batches\":{},\"lag\":{},\"restores\":{},\"restore_seconds\":{:.3f},"
               "\"restored_bytes\":{},\"session_timeout_ms\":{},\"written_unix_ms\":{}",
               view.age_ms, status.generation, status.assigned_unix_ms, status.batches, status.lag,
               status.restores, status.restore_seconds, status.restored_bytes,
               status.session_timeout_ms, status.written_unix_ms) +
           ",\"api_address\":" + JsonString(status.api_address) +
           ",\"metrics_address\":" + JsonString(status.metrics_address) + "}";
  }
  return out + "]}";
}

std::string DescribePartitions(const PartitionsByTopic& partitions) {
  std::vector<std::string> parts;
  for (const auto& [topic, numbers] : partitions) {
    if (numbers.empty()) continue;
    parts.push_back(fmt::format("{}:{}", topic, fmt::join(numbers, ",")));
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " "));
}

}  // namespace eddy
