// The eddy binary as a user runs it: validate, broker, clean shutdown, a taken
// metrics port.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
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

// A listening TCP socket on 127.0.0.1:`port` (0: any free port), closed on
// destruction; port() is -1 when it could not be bound.
class PortHolder {
 public:
  explicit PortHolder(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~PortHolder() { ::close(fd_); }
  PortHolder(const PortHolder&) = delete;
  PortHolder& operator=(const PortHolder&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = -1;
};

std::string WriteTinyJob(const std::string& dir) {
  testing::WriteFile(dir + "/job.yaml",
                     "name: tiny\n"
                     "sources:\n"
                     "  - name: numbers\n"
                     "    generator: { kind: regression, count: 7, seed: 3 }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    file: { path: out.jsonl }\n"
                     "    format: json\n"
                     "state: { dir: state }\n");
  return dir + "/job.yaml";
}

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// An explicit --metrics-address that is taken: the job does not start, the
// message says why and which flag to change, and the exit code is 2 (could
// not start; a restart may help), not 1 (bad job file or arguments).
TEST(Cli, RunWithATakenExplicitMetricsAddressSaysSoAndExits2) {
  const std::string dir = testing::MakeTempDir("eddy-metrics-taken");
  const std::string job = WriteTinyJob(dir);
  PortHolder taken(0);
  ASSERT_GT(taken.port(), 0);
  const std::string address = "127.0.0.1:" + std::to_string(taken.port());
  const auto run = RunEddy("run --once --quiet --metrics-address " + address + " " + job);
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("error metrics endpoint " + address +
                            ": cannot listen: address already in use; pass --metrics-address "
                            "HOST:PORT (port 0 picks a free one), or off"),
            std::string::npos)
      << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.jsonl"));
}

// The default address taken (a second Eddy on the host): a warning, and the
// job runs to its end.
TEST(Cli, RunWithTheDefaultMetricsPortTakenWarnsAndRunsTheJob) {
  const std::string dir = testing::MakeTempDir("eddy-metrics-default");
  const std::string job = WriteTinyJob(dir);
  PortHolder taken(9464);  // -1 if someone else holds it: taken either way
  const auto run = RunEddy("run --once --quiet " + job);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("warning metrics disabled reason=\"metrics endpoint 127.0.0.1:9464: "
                            "cannot listen: address already in use\""),
            std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find("job=tiny finished batches=1 in=7 out=7"), std::string::npos)
      << run.output;
  EXPECT_EQ(CountLines(testing::ReadFile(dir + "/out.jsonl")), 7u);
}

// Port 0 picks a free port, and the log line names it.
TEST(Cli, RunWithMetricsPortZeroLogsThePortItPicked) {
  const std::string dir = testing::MakeTempDir("eddy-metrics-zero");
  const std::string job = WriteTinyJob(dir);
  const auto run = RunEddy("run --once --quiet --metrics-address 127.0.0.1:0 " + job);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(run.output, match,
                                std::regex("metrics listening url=http://127\\.0\\.0\\.1:"
                                           "([0-9]+)/metrics")))
      << run.output;
  EXPECT_GT(std::stoi(match[1].str()), 0);
  EXPECT_EQ(CountLines(testing::ReadFile(dir + "/out.jsonl")), 7u);
}

// A window's late rows are counted on the batch line (late=), not in out=.
// Two rows a batch: batch 1 (t=1s, t=25s) leaves the watermark at 25 s and
// fires [0,10); in batch 2, t=3s belongs to the closed [0,10): late.
TEST(Cli, TheBatchLineCountsLateRows) {
  const std::string dir = testing::MakeTempDir("eddy-late");
  testing::WriteFile(dir + "/events.jsonl",
                     "{\"k\":\"a\",\"t\":1000}\n{\"k\":\"a\",\"t\":25000}\n"
                     "{\"k\":\"a\",\"t\":3000}\n{\"k\":\"a\",\"t\":30000}\n");
  testing::WriteFile(dir + "/job.yaml",
                     "name: late\n"
                     "sources:\n"
                     "  - name: events\n"
                     "    file: events.jsonl\n"
                     "    format: json\n"
                     "    schema: [{name: k, type: string}, {name: t, type: timestamp}]\n"
                     "    event_time: { column: t }\n"
                     "operators:\n"
                     "  - name: counts\n"
                     "    window: { key: [k], type: tumbling, size: 10s, "
                     "aggregates: [\"count(*) AS n\"] }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    input: counts\n"
                     "    file: { path: out.jsonl }\n"
                     "    format: json\n"
                     "trigger: { interval: 1ms, max_records_per_partition: 2 }\n"
                     "state: { dir: state }\n");
  const auto run = RunEddy("run --once --metrics-address off " + dir + "/job.yaml");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(
      std::regex_search(run.output, std::regex("job=late batch=1 in=2 out=1 late=0 dead=0 ")))
      << run.output;
  EXPECT_TRUE(
      std::regex_search(run.output, std::regex("job=late batch=2 in=2 out=[0-9]+ late=1 dead=0 ")))
      << run.output;
  // Batch 1 had no watermark to be late against, and the log says so once.
  EXPECT_NE(run.output.find("batch=1 runs without a watermark for source events: none of its "
                            "rows are late"),
            std::string::npos)
      << run.output;
  EXPECT_EQ(run.output.find("batch=2 runs without a watermark"), std::string::npos);
  // The file is bounded: at its end, a last batch fires the window still
  // open, [30,40): three windows in all.
  EXPECT_TRUE(std::regex_search(
      run.output, std::regex("job=late batch=3 end of input: every open window fires")))
      << run.output;
  EXPECT_EQ(CountLines(testing::ReadFile(dir + "/out.jsonl")), 3u);
}

// `eddy checkpoints` and `eddy model export` read a job's state and connect
// to nothing: a job whose Kafka settings name BROKERS works without it. A
// variable they do need (the state directory) still has to be set.
TEST(Cli, OfflineCommandsDoNotNeedTheBrokersVariable) {
  const std::string dir = testing::MakeTempDir("eddy-offline");
  testing::WriteFile(dir + "/job.yaml",
                     "name: offline\n"
                     "kafka: { brokers: \"${BROKERS}\", properties: { sasl.password: "
                     "\"${SASL_PASSWORD}\" } }\n"
                     "sources:\n"
                     "  - name: points\n"
                     "    generator: { kind: regression, count: 40, seed: 7, options: { features: "
                     "\"2\" } }\n"
                     "operators:\n"
                     "  - name: sgd\n"
                     "    prequential: { model: sgd_regressor, features: [x0, x1], label: label }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    file: out.jsonl\n"
                     "    format: json\n"
                     "state: { dir: \"${STATE_DIR:-state}\" }\n");
  const std::string job = dir + "/job.yaml";
  const auto run = RunShell("BROKERS=unused SASL_PASSWORD=x " + std::string(EDDY_BINARY) +
                            " run --once --quiet --metrics-address off " + job);
  ASSERT_EQ(run.exit_code, 0) << run.output;

  const std::string unset =
      "env -u BROKERS -u SASL_PASSWORD -u STATE_DIR " + std::string(EDDY_BINARY) + " ";
  const auto checkpoints = RunShell(unset + "checkpoints " + job);
  EXPECT_EQ(checkpoints.exit_code, 0) << checkpoints.output;
  EXPECT_NE(checkpoints.output.find(dir + "/state/checkpoints/chk-"), std::string::npos)
      << checkpoints.output;
  const auto model = RunShell(unset + "model export " + job + " sgd");
  EXPECT_EQ(model.exit_code, 0) << model.output;
  EXPECT_NE(model.output.find("\"version\":"), std::string::npos) << model.output;

  testing::WriteFile(dir + "/needs-state.yaml",
                     testing::ReadFile(job).replace(
                         testing::ReadFile(job).find("${STATE_DIR:-state}"), 19, "${STATE_DIR}"));
  const auto needs = RunShell(unset + "checkpoints " + dir + "/needs-state.yaml");
  EXPECT_EQ(needs.exit_code, 1) << needs.output;
  EXPECT_EQ(needs.output, dir +
                              "/needs-state.yaml:13:15: state.dir: environment variable "
                              "'STATE_DIR' is not set (write ${STATE_DIR:-default} to give a "
                              "default)\n");
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

// Starts `eddy broker` on a free port with `topics`; its bootstrap, once it
// serves. The broker logs to `log`.
std::string StartBroker(const std::string& dir, const std::vector<std::string>& topics,
                        pid_t* pid) {
  const int port = 19092 + static_cast<int>((::getpid() + 500) % 1000);
  std::vector<std::string> args = {"broker", "--port", std::to_string(port), "--bootstrap-file",
                                   dir + "/bootstrap"};
  for (const std::string& topic : topics) {
    args.push_back("--topic");
    args.push_back(topic);
  }
  *pid = SpawnEddy(args, dir + "/broker.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!std::filesystem::exists(dir + "/bootstrap") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "127.0.0.1:" + std::to_string(port);
}

std::string LostInputJob(const std::string& bootstrap, const std::string& on_lost_input,
                         const std::string& state, const std::string& out = "out.jsonl") {
  return "name: lost\n"
         "sources:\n"
         "  - name: clicks\n"
         "    kafka: { brokers: \"" +
         bootstrap + "\", topics: [lost], on_lost_input: " + on_lost_input +
         " }\n"
         "    format: raw\n"
         "sinks:\n"
         "  - name: out\n"
         "    file: { path: " +
         out +
         " }\n"
         "    format: json\n"
         "state: { dir: " +
         state + " }\n";
}

// Records retention deleted before the job read them (issue: a resumed job
// read from the log start without a word): the job fails naming topic,
// partition, its offset and the log start; with on_lost_input: skip it goes
// on from the log start and says how many it skipped. The broker logs the
// drop, and a first start names a partition that does not start at 0.
TEST(Cli, InputLostToRetentionFailsTheJobUnlessItSkips) {
  const std::string dir = testing::MakeTempDir("eddy-lost");
  pid_t broker = 0;
  const std::string bootstrap = StartBroker(dir, {"lost:1"}, &broker);
  std::vector<testing::TestRecord> first;
  for (int idx = 0; idx < 100; ++idx) first.push_back({0, std::nullopt, "r" + std::to_string(idx)});
  testing::ProduceRecords(bootstrap, "lost", first);
  testing::WriteFile(dir + "/job.yaml", LostInputJob(bootstrap, "fail", "state"));
  const auto read_first = RunEddy("run --once --metrics-address off " + dir + "/job.yaml");
  ASSERT_EQ(read_first.exit_code, 0) << read_first.output;
  EXPECT_EQ(CountLines(testing::ReadFile(dir + "/out.jsonl")), 100u);

  // ~8 MB more: past the test broker's ~5 MiB per partition, so offsets
  // from 100 on are deleted before the job reads them.
  std::vector<testing::TestRecord> more;
  for (int idx = 100; idx < 8100; ++idx) {
    more.push_back({0, std::nullopt, std::to_string(idx) + ":" + std::string(1000, 'x')});
  }
  testing::ProduceRecords(bootstrap, "lost", more);
  ASSERT_TRUE(testing::WaitForLogCount(dir + "/broker.log",
                                       "broker: lost/0 dropped its oldest "
                                       "records, offsets 0..",
                                       1, 10000))
      << testing::ReadFile(dir + "/broker.log");

  const auto failed = RunEddy("run --once --metrics-address off " + dir + "/job.yaml");
  EXPECT_EQ(failed.exit_code, 2) << failed.output;
  EXPECT_NE(failed.output.find("Data loss: source 'clicks': lost/0: the job was to read from "
                               "offset 100, but the partition's log now starts at "),
            std::string::npos)
      << failed.output;
  EXPECT_NE(failed.output.find("Set kafka.on_lost_input: skip"), std::string::npos);
  EXPECT_EQ(CountLines(testing::ReadFile(dir + "/out.jsonl")), 100u) << "nothing written";

  testing::WriteFile(dir + "/job.yaml", LostInputJob(bootstrap, "skip", "state"));
  const auto skipped = RunEddy("run --once --metrics-address off " + dir + "/job.yaml");
  ASSERT_EQ(skipped.exit_code, 0) << skipped.output;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(skipped.output, match,
                                std::regex("lost/0: skipped ([0-9]+) records deleted by retention "
                                           "before they were read, offsets 100\\.\\.([0-9]+)")))
      << skipped.output;
  const int64_t lost = std::stoll(match[1]);
  const int64_t log_start = std::stoll(match[2]) + 1;
  EXPECT_EQ(lost, log_start - 100);
  EXPECT_GT(log_start, 1000);
  EXPECT_LT(log_start, 8100);
  // Everything from the log start on, once.
  const std::string out = testing::ReadFile(dir + "/out.jsonl");
  EXPECT_EQ(static_cast<int64_t>(CountLines(out)), 100 + (8100 - log_start));
  EXPECT_NE(out.find("\"" + std::to_string(log_start) + ":x"), std::string::npos);
  EXPECT_EQ(out.find("\"" + std::to_string(log_start - 1) + ":x"), std::string::npos);

  // A new job on the topic starts at the log start, and says so.
  testing::WriteFile(dir + "/fresh.yaml",
                     LostInputJob(bootstrap, "fail", "fresh-state", "fresh.jsonl"));
  const auto fresh = RunEddy("run --once --metrics-address off " + dir + "/fresh.yaml");
  EXPECT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_NE(fresh.output.find("source=clicks first start: partitions not starting at offset 0: "
                              "lost/0@"),
            std::string::npos)
      << fresh.output;
  ::kill(broker, SIGTERM);
  EXPECT_EQ(WaitForExit(broker, std::chrono::seconds(20)), 0);
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
