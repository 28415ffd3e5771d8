#pragma once
// An in-process Kafka-protocol broker (librdkafka's mock cluster) on
// localhost TCP, for development, demos and tests. Any Kafka client (kcat,
// the Java client) can reach it. It keeps data in memory only.
//
// The mock binds ephemeral ports; when a fixed port is asked for, a small
// TCP forwarder listens there and relays bootstrap connections, and clients
// then follow the advertised broker addresses.
//
// Thread-safety: CreateTopic and the accessors may be called from any thread.
// Lifetime: clients must be destroyed before the broker.

#include <memory>
#include <string>

#include "runtime/core/status.h"

struct rd_kafka_mock_cluster_s;

namespace eddy {

struct EmbeddedBrokerOptions {
  int brokers = 1;
  // 0: no fixed port; bootstrap() is the mock's ephemeral address.
  int port = 0;
  // Partitions of topics created without an explicit count.
  int default_partitions = 3;
};

class EmbeddedBroker {
 public:
  static Result<std::unique_ptr<EmbeddedBroker>> Start(const EmbeddedBrokerOptions& options);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:PORT[,...]": what clients use as bootstrap.servers.
  const std::string& bootstrap() const;
  // Creates `topic` with `partitions` (<= 0: the default). Creating a topic
  // that already exists is OK (its partition count is unchanged).
  Status CreateTopic(const std::string& topic, int partitions = 0);
  int default_partitions() const;
  // For fault injection in tests (rdkafka_mock.h).
  rd_kafka_mock_cluster_s* cluster();

 private:
  struct Rep;
  explicit EmbeddedBroker(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace eddy
