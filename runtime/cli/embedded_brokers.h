#pragma once
// Internal to runtime/cli: the in-process Kafka broker that `eddy run`,
// `eddy demo` and `eddy sql` start for jobs whose brokers are "embedded".

#include <memory>
#include <mutex>
#include <string>

#include "connectors/connector_factory.h"
#include "connectors/kafka/embedded_broker.h"

namespace eddy {

// Starts the broker the first time a job asks for "embedded" and creates
// the topics jobs name on it; other broker lists pass through.
// Thread-safe: connectors of several jobs may resolve at once.
class EmbeddedBrokers {
 public:
  explicit EmbeddedBrokers(EmbeddedBrokerOptions options = {}) : options_(options) {}

  Result<std::string> Resolve(const std::string& brokers, const std::string& topic, int partitions);
  // A connector context that resolves through this object, which must
  // outlive it.
  ConnectorContext Context();

 private:
  EmbeddedBrokerOptions options_;
  std::mutex mutex_;
  std::unique_ptr<EmbeddedBroker> broker_;
};

}  // namespace eddy
