// The eddy binary as a user runs it: validate, broker, and clean shutdown.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

using testing::RunEddy;
using testing::RunShell;

// Starts build/eddy with `args` in the background; returns its pid.
pid_t SpawnEddy(const std::vector<std::string>& args, const std::string& log_path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::FILE* log = std::fopen(log_path.c_str(), "w");
    ::dup2(::fileno(log), STDOUT_FILENO);
    ::dup2(::fileno(log), STDERR_FILENO);
    std::vector<char*> argv;
    std::string binary = EDDY_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    std::_Exit(127);
  }
  return pid;
}

int WaitForExit(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

TEST(Cli, EveryExampleJobValidates) {
  int validated = 0;
  for (const auto& entry : std::filesystem::directory_iterator("jobs")) {
    if (entry.path().extension() != ".yaml") continue;
    const auto result = RunEddy("validate " + entry.path().string());
    EXPECT_EQ(result.exit_code, 0) << entry.path() << "\n" << result.output;
    EXPECT_NE(result.output.find("is valid"), std::string::npos) << result.output;
    ++validated;
  }
  EXPECT_GE(validated, 2);
}

TEST(Cli, ValidatePrintsTheDagAndRejectsAnUnknownKeyWithItsLine) {
  const std::string dir = testing::MakeTempDir("eddy-cli");
  testing::WriteFile(dir + "/good.yaml",
                     "name: tiny\n"
                     "sources:\n"
                     "  - name: ads\n"
                     "    generator: { kind: ysb, count: 5 }\n"
                     "operators:\n"
                     "  - name: clicks\n"
                     "    filter: event_type = 'click'\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    stdout:\n");
  const auto good = RunEddy("validate " + dir + "/good.yaml");
  ASSERT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("source   ads [generator] kind=ysb"), std::string::npos)
      << good.output;
  EXPECT_NE(good.output.find("operator clicks <- ads: filter"), std::string::npos) << good.output;
  EXPECT_NE(good.output.find("sink     out <- clicks [stdout]"), std::string::npos) << good.output;

  testing::WriteFile(dir + "/bad.yaml",
                     "name: tiny\n"
                     "sources:\n"
                     "  - name: ads\n"
                     "    generator: { kind: ysb, count: 5 }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    stdout:\n"
                     "    colour: blue\n");
  const auto bad = RunEddy("validate " + dir + "/bad.yaml");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find(dir + "/bad.yaml:8:"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("colour"), std::string::npos) << bad.output;
}

TEST(Cli, BrokerCommandServesKafkaClientsOnAFixedPort) {
  const std::string dir = testing::MakeTempDir("eddy-broker");
  const int port = 19092 + static_cast<int>(::getpid() % 1000);
  const pid_t pid = SpawnEddy({"broker", "--port", std::to_string(port), "--topic", "greetings:2",
                               "--bootstrap-file", dir + "/bootstrap"},
                              dir + "/broker.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(dir + "/bootstrap") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  const auto produce =
      RunShell("printf 'hello\\nworld\\n' | kcat -b " + bootstrap + " -P -t greetings -p 1");
  EXPECT_EQ(produce.exit_code, 0) << produce.output;
  const auto consume =
      RunShell("kcat -b " + bootstrap + " -C -t greetings -p 1 -o beginning -e -q");
  EXPECT_EQ(consume.exit_code, 0) << consume.output;
  EXPECT_EQ(consume.output, "hello\nworld\n");
  const auto metadata = RunShell("kcat -b " + bootstrap + " -L -t greetings");
  EXPECT_NE(metadata.output.find("2 partitions"), std::string::npos) << metadata.output;
  ::kill(pid, SIGTERM);
  EXPECT_EQ(WaitForExit(pid, std::chrono::seconds(20)), 0)
      << testing::ReadFile(dir + "/broker.log");
}

TEST(Cli, SigtermFinishesTheCurrentBatchAndExitsCleanly) {
  const std::string dir = testing::MakeTempDir("eddy-sigterm");
  testing::WriteFile(dir + "/job.yaml",
                     "name: endless\n"
                     "sources:\n"
                     "  - name: numbers\n"
                     "    generator: { kind: regression, rate: 5000, seed: 3 }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    file: { path: out.jsonl }\n"
                     "    format: json\n"
                     "trigger: { interval: 100ms }\n"
                     "state: { dir: state }\n");
  const pid_t pid = SpawnEddy({"run", dir + "/job.yaml"}, dir + "/run.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(pid, SIGTERM);
  ASSERT_EQ(WaitForExit(pid, std::chrono::seconds(20)), 0) << testing::ReadFile(dir + "/run.log");
  const std::string log = testing::ReadFile(dir + "/run.log");
  EXPECT_NE(log.find("job=endless finished"), std::string::npos) << log;
  // Every line written is a whole record with consecutive ids from 0.
  const std::string out = testing::ReadFile(dir + "/out.jsonl");
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  size_t lines = 0, start = 0, end;
  while ((end = out.find('\n', start)) != std::string::npos) {
    EXPECT_EQ(out.compare(start, 7 + std::to_string(lines).size(),
                          "{\"id\":" + std::to_string(lines) + ","),
              0)
        << out.substr(start, end - start);
    ++lines;
    start = end + 1;
  }
  EXPECT_GT(lines, 100u);
}

}  // namespace
}  // namespace eddy
