#include "connectors/kafka/kafka_client.h"

#include <algorithm>
#include <cstring>

namespace eddy {

void KafkaHandleDeleter::operator()(rd_kafka_t* handle) const {
  if (handle == nullptr) return;
  rd_kafka_destroy(handle);
}

namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

Status SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return Status::InvalidArgument("Kafka property '" + key + "': " + errstr);
  }
  return Status::OK();
}

Result<KafkaConf> BuildConf(const KafkaClientConfig& config,
                            const std::vector<std::pair<std::string, std::string>>& defaults) {
  KafkaConf conf(rd_kafka_conf_new());
  for (const auto& [key, value] : defaults)
    EDDY_RETURN_IF_ERROR(SetProperty(conf.get(), key, value));
  EDDY_RETURN_IF_ERROR(SetProperty(conf.get(), "bootstrap.servers", config.brokers));
  for (const auto& [key, value] : config.properties) {
    EDDY_RETURN_IF_ERROR(SetProperty(conf.get(), key, value));
  }
  return conf;
}

Result<KafkaHandle> NewHandle(rd_kafka_type_t type, KafkaConf conf) {
  char errstr[512];
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (handle == nullptr) return Status::InvalidArgument(std::string("Kafka client: ") + errstr);
  conf.release();  // rd_kafka_new took ownership
  return KafkaHandle(handle);
}

}  // namespace

Result<KafkaHandle> CreateConsumer(const KafkaClientConfig& config, const std::string& group_id) {
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"group.id", group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // EOF events tell a reader that a range ending at the high watermark is
      // complete even when its last offsets are transaction markers.
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      // The default queue thresholds stall a backlog drain for a second at a
      // time (shared/KAFKA-NOTES.md); prefetch generously instead.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "262144"},
      {"fetch.wait.max.ms", "100"},
      {"socket.connection.setup.timeout.ms", "10000"},
      {"log_level", "3"},
  };
  EDDY_ASSIGN_OR_RETURN(KafkaConf conf, BuildConf(config, defaults));
  return NewHandle(RD_KAFKA_CONSUMER, std::move(conf));
}

Result<KafkaHandle> CreateGroupConsumer(const KafkaClientConfig& config, const std::string& group,
                                        RebalanceCallback rebalance_callback, void* opaque) {
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"group.id", group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"socket.connection.setup.timeout.ms", "10000"},
      {"log_level", "3"},
  };
  EDDY_ASSIGN_OR_RETURN(KafkaConf conf, BuildConf(config, defaults));
  rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance_callback);
  rd_kafka_conf_set_opaque(conf.get(), opaque);
  EDDY_ASSIGN_OR_RETURN(KafkaHandle handle, NewHandle(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(handle.get());
  return handle;
}

Result<KafkaHandle> CreateAdminClient(const KafkaClientConfig& config) {
  // A consumer-type handle: allow.auto.create.topics is a consumer
  // property, and it never subscribes, so it joins no group.
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"allow.auto.create.topics", "false"},
      {"socket.connection.setup.timeout.ms", "10000"},
      {"log_level", "3"},
  };
  EDDY_ASSIGN_OR_RETURN(KafkaConf conf, BuildConf(config, defaults));
  return NewHandle(RD_KAFKA_CONSUMER, std::move(conf));
}

Result<KafkaHandle> CreateProducer(const KafkaClientConfig& config,
                                   DeliveryCallback delivery_callback, void* opaque) {
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "1000000"},
      {"queue.buffering.max.kbytes", "1048576"},
      {"message.timeout.ms", "30000"},
      {"socket.connection.setup.timeout.ms", "10000"},
      {"log_level", "3"},
  };
  EDDY_ASSIGN_OR_RETURN(KafkaConf conf, BuildConf(config, defaults));
  if (delivery_callback != nullptr) rd_kafka_conf_set_dr_msg_cb(conf.get(), delivery_callback);
  rd_kafka_conf_set_opaque(conf.get(), opaque);
  return NewHandle(RD_KAFKA_PRODUCER, std::move(conf));
}

Result<int32_t> FetchPartitionCount(rd_kafka_t* handle, const std::string& topic,
                                    std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(handle, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  // A fresh client may answer LEADER_NOT_AVAILABLE or UNKNOWN_TOPIC while the
  // cluster is still settling; retry within the deadline.
  while (true) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    err = rd_kafka_metadata(handle, 0, topic_handle, &metadata,
                            static_cast<int>(std::max<int64_t>(remaining.count(), 100)));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const rd_kafka_metadata_topic_t& info = metadata->topics[0];
      if (info.err == RD_KAFKA_RESP_ERR_NO_ERROR && info.partition_cnt > 0) {
        const int32_t count = info.partition_cnt;
        rd_kafka_metadata_destroy(metadata);
        rd_kafka_topic_destroy(topic_handle);
        return count;
      }
      err = info.err;
      rd_kafka_metadata_destroy(metadata);
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    rd_kafka_poll(handle, 200);
  }
  rd_kafka_topic_destroy(topic_handle);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    return Status::NotFound("Kafka topic '" + topic + "' does not exist");
  }
  return Status::Unavailable("Kafka topic '" + topic + "': no answer from the brokers within " +
                             std::to_string(timeout.count()) + " ms (" + rd_kafka_err2str(err) +
                             ")");
}

uint32_t Murmur2(std::string_view key) {
  // Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t blocks = length / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, data + i * 4, 4);  // little-endian, as Java reads it
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const unsigned char* tail = data + blocks * 4;
  switch (length & 3) {
    case 3:
      h ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= tail[0];
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

int32_t Murmur2Partition(std::string_view key, int32_t partition_count) {
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partition_count));
}

}  // namespace eddy
