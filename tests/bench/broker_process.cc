#include "tests/bench/broker_process.h"

#include <signal.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/bench/bench_util.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy::bench {

BrokerProcess::BrokerProcess(const std::string& dir, const std::vector<std::string>& topics) {
  std::vector<std::string> args = {"broker", "--port", "0", "--bootstrap-file", dir + "/bootstrap"};
  for (const std::string& topic : topics) {
    args.push_back("--topic");
    args.push_back(topic);
  }
  // A broker before this one in `dir` left its address: read only this one's.
  std::filesystem::remove(dir + "/bootstrap");
  pid_ = testing::SpawnEddy(args, dir + "/broker.log");
  Adopt(pid_);
  for (int i = 0; i < 100 && bootstrap_.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    bootstrap_ = testing::ReadFile(dir + "/bootstrap");
    while (!bootstrap_.empty() && std::isspace(static_cast<unsigned char>(bootstrap_.back()))) {
      bootstrap_.pop_back();
    }
  }
  if (bootstrap_.empty()) Die("eddy broker wrote no bootstrap file");
}

BrokerProcess::~BrokerProcess() {
  kill(pid_, SIGTERM);
  testing::WaitForExit(pid_);
  Disown(pid_);
}

}  // namespace eddy::bench
