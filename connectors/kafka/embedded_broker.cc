#include "connectors/kafka/embedded_broker.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "runtime/core/file_util.h"
#include "runtime/core/host_port.h"

namespace eddy {
namespace {

Result<sockaddr_in> ParseIpv4Address(const std::string& host_port) {
  EDDY_ASSIGN_OR_RETURN(HostPort parsed, ParseHostPort(host_port));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(parsed.port));
  if (inet_pton(AF_INET, parsed.host.c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument("bad address " + host_port);
  }
  return addr;
}

// Relays TCP connections from a fixed local port to the mock's first broker.
// Only bootstrap traffic passes here: the metadata the broker returns
// advertises its own address, which clients then use directly.
class Forwarder {
 public:
  static Result<std::unique_ptr<Forwarder>> Start(int port, const std::string& target) {
    EDDY_ASSIGN_OR_RETURN(sockaddr_in target_addr, ParseIpv4Address(target));
    Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
    if (listener.get() < 0) return Status::IOError("socket() failed");
    int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return Status::IOError("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(errno));
    }
    if (::listen(listener.get(), 64) != 0) return Status::IOError("listen() failed");
    auto forwarder = std::unique_ptr<Forwarder>(new Forwarder(std::move(listener), target_addr));
    forwarder->thread_ = std::thread([f = forwarder.get()] { f->Run(); });
    return forwarder;
  }

  ~Forwarder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  Forwarder(Fd listener, sockaddr_in target) : listener_(std::move(listener)), target_(target) {}

  struct Pair {
    Fd client;
    Fd upstream;
  };

  void Run() {
    std::vector<Pair> pairs;
    std::vector<pollfd> fds;
    char buffer[65536];
    while (!stop_) {
      fds.clear();
      fds.push_back({listener_.get(), POLLIN, 0});
      for (const Pair& pair : pairs) {
        fds.push_back({pair.client.get(), POLLIN, 0});
        fds.push_back({pair.upstream.get(), POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        Fd client(::accept(listener_.get(), nullptr, nullptr));
        Fd upstream(::socket(AF_INET, SOCK_STREAM, 0));
        if (client.get() >= 0 && upstream.get() >= 0 &&
            ::connect(upstream.get(), reinterpret_cast<const sockaddr*>(&target_),
                      sizeof(target_)) == 0) {
          pairs.push_back({std::move(client), std::move(upstream)});
        }
      }
      std::set<size_t> closed;
      for (size_t idx = 0; idx + 1 < fds.size(); idx += 2) {
        const size_t pair_idx = idx / 2;
        if (pair_idx >= pairs.size()) break;
        for (int side = 0; side < 2; ++side) {
          const pollfd& pfd = fds[1 + idx + side];
          if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR))) continue;
          const ssize_t n = ::read(pfd.fd, buffer, sizeof(buffer));
          const int peer =
              side == 0 ? pairs[pair_idx].upstream.get() : pairs[pair_idx].client.get();
          if (n <= 0 || !WriteAll(peer, buffer, static_cast<size_t>(n))) closed.insert(pair_idx);
        }
      }
      for (auto it = closed.rbegin(); it != closed.rend(); ++it) {
        pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(*it));
      }
    }
  }

  static bool WriteAll(int fd, const char* data, size_t size) {
    while (size > 0) {
      const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }

  Fd listener_;
  sockaddr_in target_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Logs when a partition's log start moves. The mock keeps ~5 MiB per
// partition and drops the oldest batches past that without a word; input a
// job had not read, or output a test expected, then vanishes. A client polls
// every partition's first offset (one ListOffsets request per broker) each
// interval and says what went, where the operator of the broker sees it.
class RetentionWatch {
 public:
  static std::unique_ptr<RetentionWatch> Start(const std::string& bootstrap) {
    KafkaClientConfig config;
    config.brokers = bootstrap;
    config.properties = {{"log_level", "3"}};
    auto client = CreateConsumer(config, "eddy-broker-retention-watch");
    if (!client.ok()) {
      spdlog::warn("broker: no retention log: {}", client.status().message());
      return nullptr;
    }
    auto watch = std::unique_ptr<RetentionWatch>(new RetentionWatch(std::move(client).value()));
    watch->thread_ = std::thread([w = watch.get()] { w->Run(); });
    return watch;
  }

  ~RetentionWatch() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  static constexpr std::chrono::milliseconds kInterval{1000};
  static constexpr int kRequestTimeoutMs = 2000;

  explicit RetentionWatch(KafkaHandle client) : client_(std::move(client)) {}

  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, kInterval, [this] { return stop_; })) {
      lock.unlock();
      Poll();
      lock.lock();
    }
  }

  void Poll() {
    const rd_kafka_metadata_t* metadata = nullptr;
    if (rd_kafka_metadata(client_.get(), 1, nullptr, &metadata, kRequestTimeoutMs) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(16));
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
      if (topic.err != RD_KAFKA_RESP_ERR_NO_ERROR || topic.topic[0] == '_') continue;
      for (int p = 0; p < topic.partition_cnt; ++p) {
        rd_kafka_topic_partition_list_add(list.get(), topic.topic, topic.partitions[p].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
      }
    }
    rd_kafka_metadata_destroy(metadata);
    if (list->cnt == 0 ||
        rd_kafka_offsets_for_times(client_.get(), list.get(), kRequestTimeoutMs) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    for (int idx = 0; idx < list->cnt; ++idx) {
      const rd_kafka_topic_partition_t& found = list->elems[idx];
      if (found.err != RD_KAFKA_RESP_ERR_NO_ERROR || found.offset < 0) continue;
      const auto key = std::make_pair(std::string(found.topic), found.partition);
      int64_t& known = log_starts_[key];
      if (found.offset <= known) continue;
      if (warned_.insert(key).second) {
        // A partition's first drop in full; later ones in a summary.
        spdlog::warn(
            "broker: {}/{} dropped its oldest records, offsets {}..{} ({} records): the embedded "
            "broker keeps only the newest ~5 MiB of each partition "
            "(docs/kafka.md#the-embedded-broker)",
            found.topic, found.partition, known, found.offset - 1, found.offset - known);
      } else {
        TopicDrops& drops = pending_[key.first];
        if (drops.records == 0) drops.since = now;
        drops.records += found.offset - known;
        drops.partitions.insert(found.partition);
      }
      known = found.offset;
    }
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (now - it->second.since < kSummaryInterval) {
        ++it;
        continue;
      }
      spdlog::info(
          "broker: {} dropped {} more old records from {} partitions in {} s", it->first,
          it->second.records, it->second.partitions.size(),
          std::chrono::duration_cast<std::chrono::seconds>(now - it->second.since).count());
      it = pending_.erase(it);
    }
  }

  // A topic's drops since its last summary line.
  struct TopicDrops {
    int64_t records = 0;
    std::set<int32_t> partitions;
    std::chrono::steady_clock::time_point since;
  };
  static constexpr std::chrono::seconds kSummaryInterval{10};

  KafkaHandle client_;
  std::map<std::pair<std::string, int32_t>, int64_t> log_starts_;  // topic, partition -> first
  std::set<std::pair<std::string, int32_t>> warned_;  // partitions whose first drop was logged
  std::map<std::string, TopicDrops> pending_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

struct EmbeddedBroker::Rep {
  KafkaHandle handle;  // the mock cluster's bookkeeping client
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<RetentionWatch> retention_watch;  // before the cluster goes
  std::string bootstrap;
  int default_partitions = 3;
  std::mutex mutex;
  std::set<std::string> topics;

  ~Rep() {
    retention_watch.reset();
    forwarder.reset();
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  }
};

EmbeddedBroker::EmbeddedBroker(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
EmbeddedBroker::~EmbeddedBroker() = default;

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(
    const EmbeddedBrokerOptions& options) {
  auto rep = std::make_unique<Rep>();
  rep->default_partitions = options.default_partitions > 0 ? options.default_partitions : 3;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(std::string("embedded broker: ") + errstr);
  }
  rep->handle.reset(handle);
  rep->cluster = rd_kafka_mock_cluster_new(handle, options.brokers > 0 ? options.brokers : 1);
  if (rep->cluster == nullptr)
    return Status::Internal("embedded broker: mock cluster failed to start");
  const std::string mock_bootstrap = rd_kafka_mock_cluster_bootstraps(rep->cluster);
  if (options.port > 0) {
    const std::string first = mock_bootstrap.substr(0, mock_bootstrap.find(','));
    EDDY_ASSIGN_OR_RETURN(rep->forwarder, Forwarder::Start(options.port, first));
    rep->bootstrap = "127.0.0.1:" + std::to_string(options.port);
  } else {
    rep->bootstrap = mock_bootstrap;
  }
  rep->retention_watch = RetentionWatch::Start(mock_bootstrap);
  return std::unique_ptr<EmbeddedBroker>(new EmbeddedBroker(std::move(rep)));
}

const std::string& EmbeddedBroker::bootstrap() const { return rep_->bootstrap; }

int EmbeddedBroker::default_partitions() const { return rep_->default_partitions; }

rd_kafka_mock_cluster_s* EmbeddedBroker::cluster() { return rep_->cluster; }

Status EmbeddedBroker::CreateTopic(const std::string& topic, int partitions) {
  std::lock_guard<std::mutex> lock(rep_->mutex);
  if (rep_->topics.count(topic) > 0) return Status::OK();
  const int count = partitions > 0 ? partitions : rep_->default_partitions;
  const rd_kafka_resp_err_t err =
      rd_kafka_mock_topic_create(rep_->cluster, topic.c_str(), count, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return Status::Internal("embedded broker: cannot create topic '" + topic +
                            "': " + rd_kafka_err2str(err));
  }
  rep_->topics.insert(topic);
  return Status::OK();
}

}  // namespace eddy
