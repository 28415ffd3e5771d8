#include "connectors/kafka/kafka_admin.h"

#include <algorithm>
#include <memory>

namespace eddy {
namespace {

struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const {
    rd_kafka_AdminOptions_destroy(options);
  }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};

// True for the answers of a broker that does not implement CreateTopics:
// librdkafka finds no usable version of the API in the broker's ApiVersions
// (librdkafka's mock cluster), or the broker rejects the request outright.
bool Unsupported(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
         err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || err == RD_KAFKA_RESP_ERR_INVALID_REQUEST;
}

// Whether the cluster names a controller among its brokers: CreateTopics
// goes to the controller, and librdkafka waits for one until the request
// times out. librdkafka's mock cluster names broker 0, which it never has
// (its brokers count from 1); a Kafka cluster, ZooKeeper or KRaft, always
// names one of the brokers it lists.
Result<bool> HasController(rd_kafka_t* client, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(client, 0, nullptr, &raw, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("Kafka cluster metadata: ") + rd_kafka_err2str(err));
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  const int32_t controller = rd_kafka_controllerid(client, static_cast<int>(timeout.count()));
  for (int idx = 0; idx < metadata->broker_cnt; ++idx) {
    if (metadata->brokers[idx].id == controller) return true;
  }
  return false;
}

// The partition count of `topic`; NotFound when the cluster has no such
// topic. Asks for every topic's metadata: a request naming the topic may
// make a broker auto-create it with its default partition count (the mock
// cluster does so whatever allow.auto.create.topics says), which would
// turn a missing topic into a wrong one.
Result<int32_t> ListPartitionCount(rd_kafka_t* client, const std::string& topic,
                                   std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(client, 1, nullptr, &raw, static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("Kafka topic '" + topic + "': " + rd_kafka_err2str(err));
  }
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> metadata(raw);
  for (int idx = 0; idx < metadata->topic_cnt; ++idx) {
    const rd_kafka_metadata_topic_t& listed = metadata->topics[idx];
    if (topic == listed.topic && listed.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      return listed.partition_cnt;
    }
  }
  return Status::NotFound("Kafka topic '" + topic + "' does not exist");
}

// The topic is there: it must have the partition count asked for, since the
// partition of every key group, hence every shard's state, is tied to it.
Result<TopicOutcome> CheckExisting(rd_kafka_t* client, const TopicRequest& topic,
                                   std::chrono::milliseconds timeout) {
  EDDY_ASSIGN_OR_RETURN(int32_t count, ListPartitionCount(client, topic.name, timeout));
  if (count != topic.partitions) {
    return Status::InvalidArgument(
        "Kafka topic '" + topic.name + "' exists with " + std::to_string(count) +
        " partitions, but " + std::to_string(topic.partitions) +
        " are needed; delete it and let it be created again (its contents are lost) or "
        "recreate it with " +
        std::to_string(topic.partitions) + " partitions");
  }
  return TopicOutcome::kExisted;
}

// The broker cannot create topics; the topic may still be there, made by
// hand, and then it must have the partition count asked for.
Result<TopicOutcome> CannotCreate(rd_kafka_t* client, const TopicRequest& topic,
                                  std::chrono::milliseconds timeout) {
  auto existing = CheckExisting(client, topic, timeout);
  if (existing.ok() || existing.status().code() != StatusCode::kNotFound) return existing;
  return TopicOutcome::kCannotCreate;
}

}  // namespace

Result<TopicOutcome> EnsureTopic(const KafkaClientConfig& config, const TopicRequest& topic,
                                 std::chrono::milliseconds timeout) {
  if (topic.partitions <= 0) {
    return Status::InvalidArgument("topic '" + topic.name + "': a partition count is required");
  }
  EDDY_ASSIGN_OR_RETURN(KafkaHandle client, CreateAdminClient(config));
  EDDY_ASSIGN_OR_RETURN(bool has_controller, HasController(client.get(), timeout));
  if (!has_controller) return CannotCreate(client.get(), topic, timeout);
  char errstr[512];
  std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter> request(rd_kafka_NewTopic_new(
      topic.name.c_str(), topic.partitions, topic.replication_factor, errstr, sizeof(errstr)));
  if (!request) return Status::InvalidArgument("topic '" + topic.name + "': " + errstr);
  for (const auto& [name, value] : topic.configs) {
    if (rd_kafka_NewTopic_set_config(request.get(), name.c_str(), value.c_str()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Status::InvalidArgument("topic '" + topic.name + "': config '" + name + "'");
    }
  }
  std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter> options(
      rd_kafka_AdminOptions_new(client.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  const int timeout_ms = static_cast<int>(timeout.count());
  if (rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr,
                                                sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, errstr,
                                                  sizeof(errstr)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::InvalidArgument(std::string("CreateTopics options: ") + errstr);
  }
  KafkaQueue queue(rd_kafka_queue_new(client.get()));
  rd_kafka_NewTopic_t* requests[] = {request.get()};
  rd_kafka_CreateTopics(client.get(), requests, 1, options.get(), queue.get());
  // The result comes once the request times out at the latest; a little
  // more lets librdkafka report that itself.
  std::unique_ptr<rd_kafka_event_t, EventDeleter> event(
      rd_kafka_queue_poll(queue.get(), timeout_ms + 1000));
  if (!event) {
    return Status::Unavailable("creating Kafka topic '" + topic.name + "': no answer within " +
                               std::to_string(timeout.count()) + " ms");
  }
  rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
  std::string message = err != RD_KAFKA_RESP_ERR_NO_ERROR
                            ? std::string(rd_kafka_event_error_string(event.get()))
                            : std::string();
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
    size_t count = 0;
    const rd_kafka_topic_result_t** topics =
        result == nullptr ? nullptr : rd_kafka_CreateTopics_result_topics(result, &count);
    if (count != 1) {
      return Status::Internal("creating Kafka topic '" + topic.name +
                              "': " + std::to_string(count) + " results for one topic");
    }
    err = rd_kafka_topic_result_error(topics[0]);
    const char* text = rd_kafka_topic_result_error_string(topics[0]);
    message = text != nullptr ? text : rd_kafka_err2str(err);
  }
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return TopicOutcome::kCreated;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return CheckExisting(client.get(), topic, timeout);
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      return Status::Unavailable("creating Kafka topic '" + topic.name + "': " + message);
    default:
      break;
  }
  if (Unsupported(err)) return CannotCreate(client.get(), topic, timeout);
  return Status::InvalidArgument("creating Kafka topic '" + topic.name + "': " + message);
}

Result<int32_t> ListedPartitionCount(const KafkaClientConfig& config, const std::string& topic,
                                     std::chrono::milliseconds timeout) {
  EDDY_ASSIGN_OR_RETURN(KafkaHandle client, CreateAdminClient(config));
  return ListPartitionCount(client.get(), topic, timeout);
}

}  // namespace eddy
