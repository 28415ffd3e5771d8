#include "runtime/scale/instance_status.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "runtime/core/json_string.h"

namespace eddy {

std::string InstanceStatusTopic(const std::string& job_name) { return job_name + ".instances"; }

int64_t WallClockMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PartitionsToJson(const PartitionsByTopic& partitions) {
  std::string out = "{";
  for (const auto& [topic, numbers] : partitions) {
    if (out.size() > 1) out += ",";
    out += JsonString(topic) + ":[" + fmt::format("{}", fmt::join(numbers, ",")) + "]";
  }
  return out + "}";
}

std::string InstanceStatusToJson(const InstanceStatus& status) {
  std::string out = "{\"instance\":" + JsonString(status.instance) +
                    ",\"host\":" + JsonString(status.host) +
                    ",\"state\":" + JsonString(status.state) +
                    fmt::format(",\"generation\":{},\"assigned_unix_ms\":{}", status.generation,
                                status.assigned_unix_ms) +
                    ",\"partitions\":" + PartitionsToJson(status.partitions);
  out += fmt::format(
      ",\"batches\":{},\"lag\":{},\"restores\":{},\"restore_seconds\":{:.3f},"
      "\"restored_bytes\":{},",
      status.batches, status.lag, status.restores, status.restore_seconds, status.restored_bytes);
  out += "\"api_address\":" + JsonString(status.api_address) +
         ",\"metrics_address\":" + JsonString(status.metrics_address) +
         fmt::format(",\"session_timeout_ms\":{},\"written_unix_ms\":{}}}",
                     status.session_timeout_ms, status.written_unix_ms);
  return out;
}

Result<InstanceStatus> ParseInstanceStatus(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return Status::InvalidArgument("instance status: not a JSON object");
  }
  InstanceStatus status;
  auto text = [&](const char* key, std::string* out, bool required) -> Status {
    std::string_view value;
    if (doc[key].get(value) == simdjson::SUCCESS) {
      *out = std::string(value);
      return Status::OK();
    }
    return required
               ? Status::InvalidArgument(std::string("instance status: no string '") + key + "'")
               : Status::OK();
  };
  auto number = [&](const char* key, int64_t* out) {
    int64_t value = 0;
    if (doc[key].get(value) == simdjson::SUCCESS) *out = value;
  };
  EDDY_RETURN_IF_ERROR(text("instance", &status.instance, true));
  EDDY_RETURN_IF_ERROR(text("state", &status.state, true));
  EDDY_RETURN_IF_ERROR(text("host", &status.host, false));
  EDDY_RETURN_IF_ERROR(text("api_address", &status.api_address, false));
  EDDY_RETURN_IF_ERROR(text("metrics_address", &status.metrics_address, false));
  number("generation", &status.generation);
  number("assigned_unix_ms", &status.assigned_unix_ms);
  number("batches", &status.batches);
  number("lag", &status.lag);
  number("restores", &status.restores);
  number("restored_bytes", &status.restored_bytes);
  number("session_timeout_ms", &status.session_timeout_ms);
  number("written_unix_ms", &status.written_unix_ms);
  double seconds = 0;
  if (doc["restore_seconds"].get(seconds) == simdjson::SUCCESS) status.restore_seconds = seconds;
  simdjson::dom::object partitions;
  if (doc["partitions"].get(partitions) == simdjson::SUCCESS) {
    for (auto field : partitions) {
      simdjson::dom::array numbers;
      if (field.value.get(numbers) != simdjson::SUCCESS) {
        return Status::InvalidArgument("instance status: partitions of '" + std::string(field.key) +
                                       "' are not an array");
      }
      std::vector<int32_t>& out = status.partitions[std::string(field.key)];
      for (simdjson::dom::element number_element : numbers) {
        int64_t partition = 0;
        if (number_element.get(partition) != simdjson::SUCCESS) {
          return Status::InvalidArgument("instance status: a partition of '" +
                                         std::string(field.key) + "' is not a number");
        }
        out.push_back(static_cast<int32_t>(partition));
      }
    }
  }
  return status;
}

Result<std::unique_ptr<InstanceStatusPublisher>> InstanceStatusPublisher::Start(
    const KafkaClientConfig& client, const std::string& topic,
    std::chrono::milliseconds write_timeout) {
  std::unique_ptr<InstanceStatusPublisher> publisher(
      new InstanceStatusPublisher(topic, write_timeout));
  KafkaClientConfig config = client;
  // Small records, one a heartbeat: send at once, and expire rather than
  // arrive late (after the job's own properties, so they win).
  config.properties.emplace_back("linger.ms", "0");
  config.properties.emplace_back("message.timeout.ms", std::to_string(write_timeout.count()));
  EDDY_ASSIGN_OR_RETURN(
      publisher->producer_,
      CreateProducer(config, &InstanceStatusPublisher::OnDelivery, publisher.get()));
  // A short wait: a missing status topic must not hold up the job's start.
  auto partitions = FetchPartitionCount(publisher->producer_.get(), topic, write_timeout);
  if (!partitions.ok()) {
    spdlog::warn(
        "instance status topic {}: {}; `eddy instances` and /api/v1/instances will not see "
        "this instance until it exists (create it with cleanup.policy=compact, "
        "docs/scale-out.md#the-instances-of-a-job)",
        topic, partitions.status().message());
  }
  return publisher;
}

InstanceStatusPublisher::~InstanceStatusPublisher() {
  if (producer_) rd_kafka_flush(producer_.get(), static_cast<int>(write_timeout_.count()));
}

void InstanceStatusPublisher::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message,
                                         void* opaque) {
  auto* self = static_cast<InstanceStatusPublisher*>(opaque);
  if (message->err == self->last_error_) return;
  self->last_error_ = message->err;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("instance status topic {}: a record was not delivered: {}", self->topic_,
                 rd_kafka_err2str(message->err));
  }
}

void InstanceStatusPublisher::Publish(InstanceStatus status) {
  std::lock_guard<std::mutex> lock(mutex_);
  status.written_unix_ms = WallClockMillis();
  const std::string value = InstanceStatusToJson(status);
  const rd_kafka_resp_err_t err =
      rd_kafka_producev(producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()),
                        RD_KAFKA_V_KEY(status.instance.data(), status.instance.size()),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != last_error_) {
    last_error_ = err;
    spdlog::warn("instance status topic {}: cannot send: {}", topic_, rd_kafka_err2str(err));
  }
  rd_kafka_poll(producer_.get(), 0);  // delivery reports
}

Status InstanceStatusPublisher::PublishAndWait(InstanceStatus status,
                                               std::chrono::milliseconds timeout) {
  Publish(std::move(status));
  std::lock_guard<std::mutex> lock(mutex_);
  const rd_kafka_resp_err_t err =
      rd_kafka_flush(producer_.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("instance status topic " + topic_ + ": " + rd_kafka_err2str(err));
  }
  if (last_error_ != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable("instance status topic " + topic_ + ": " +
                               rd_kafka_err2str(last_error_));
  }
  return Status::OK();
}

}  // namespace eddy
