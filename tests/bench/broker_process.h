#pragma once
// The embedded broker (`eddy broker`) in a process of its own, for the
// benchmarks: a client measured against it does not share its process (or
// its allocator and threads) with the broker, as shared/KAFKA-NOTES.md asks
// of a baseline.

#include <sys/types.h>

#include <string>
#include <vector>

namespace eddy::bench {

class BrokerProcess {
 public:
  // Starts build/eddy broker with `topics` ("name:partitions" each) and
  // waits for its bootstrap address; dies when it writes none. `dir` holds
  // its bootstrap file and broker.log.
  BrokerProcess(const std::string& dir, const std::vector<std::string>& topics);
  // SIGTERM, and waits for it to exit.
  ~BrokerProcess();
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

 private:
  pid_t pid_ = -1;
  std::string bootstrap_;
};

}  // namespace eddy::bench
