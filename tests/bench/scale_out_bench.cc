// Scale-out (docs/scale-out.md): the same keyed job as 1 and as 2
// instances, and recovery after kill -9 of one of two instances by state
// size. Everything runs as separate processes: the broker (`eddy broker`,
// its own process, as shared/KAFKA-NOTES.md advises for baselines), the
// instances (`eddy run`), and this program, which fills the input, kills,
// and watches the group's committed offsets and the instances' logs.
//
//   build/tests/bench/scale_out_bench [--events 600000] [--keys 10000,100000,1000000]
//       [--skip-throughput] [--skip-recovery] [--session-timeout 6s]
//
// Part 1, throughput. The job: Kafka source (12 partitions, JSON, keyed by
// user) -> keyed aggregate count(*), sum(amount) per user (100k users) ->
// a filter that drops the running totals (the state work is measured, not
// the output). The instances start first and the group settles; then the
// input is written as fast as the producer can and the clock runs until
// the group's committed offsets reach the end of every partition. Baseline
// in the same run: the raw librdkafka consume -> produce loop over the
// same input (bench::RawLoop), and the time the fill itself took.
//
// Part 2, recovery. K distinct users (one record each) in 24 partitions,
// two instances; once everything is processed, kill -9 one of them. The
// figures: detection (the kill until the survivor is assigned the lost
// partitions: the session timeout plus the group's rebalance, broker
// bound), restore (assignment until each moved shard is open: checkpoint
// restored, sinks recovered) and replay (until its first batch — the
// batches logged since its last checkpoint run again — or its open when it
// had none to replay), and the total.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/broker_process.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

// The instances' scale.session_timeout (--session-timeout): detection
// takes about this long, and the test broker's rebalance after a member
// timed out waits about this long less a second for the others to rejoin.
std::string& SessionTimeout() {
  static std::string timeout = "6s";
  return timeout;
}

using bench::Adopt;
using bench::BrokerProcess;
using bench::Die;
using bench::Disown;
using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SystemClock::now().time_since_epoch())
      .count();
}

// "2026-12-03T13:23:49.567Z ..." -> epoch milliseconds of the log line.
std::optional<int64_t> LineMillis(const std::string& line) {
  std::tm tm{};
  int millis = 0;
  if (line.size() < 24 ||
      std::sscanf(line.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis) != 7) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + millis;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Writes `events` JSON records {id, user, amount} keyed by user (id % users)
// to `topic`, in large producer batches, from this process.
double Fill(const std::string& bootstrap, const std::string& dir, const std::string& topic,
            int partitions, int64_t events, int64_t users) {
  const std::string yaml = "name: fill-" + topic +
                           "\n"
                           "sources:\n"
                           "  - name: gen\n"
                           "    generator: { kind: regression, count: " +
                           std::to_string(events) +
                           ", seed: 5, partitions: " + std::to_string(partitions) +
                           ", options: { features: 1 } }\n"
                           "operators:\n"
                           "  - name: keyed\n"
                           "    select: [\"id\", \"'u' || cast(id % " +
                           std::to_string(users) +
                           " AS string) AS user\", \"x0 AS amount\"]\n"
                           "sinks:\n"
                           "  - name: out\n"
                           "    kafka:\n"
                           "      topic: " +
                           topic +
                           "\n"
                           "      key: user\n"
                           "      delivery: at_least_once\n"
                           "      properties: { linger.ms: \"200\", batch.size: \"4000000\", "
                           "batch.num.messages: \"100000\" }\n"
                           "    format: json\n"
                           "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
                           "state: { dir: " +
                           bench::FreshDir(dir + "/fill-" + topic) + " }\n";
  int64_t records_in = 0;
  return bench::RunJobText(yaml, bootstrap, &records_in);
}

std::string InstanceJob(const std::string& name, const std::string& bootstrap,
                        const std::string& dir, const std::string& topic,
                        const std::string& instance) {
  return "name: " + name + "\nkafka: { brokers: \"" + bootstrap +
         "\" }\n"
         "sources:\n"
         "  - name: clicks\n"
         "    kafka: { topics: [" +
         topic +
         "], partitioned_by: [user] }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: id, type: int64 }\n"
         "      - { name: user, type: string }\n"
         "      - { name: amount, type: double }\n"
         "operators:\n"
         "  - name: totals\n"
         "    aggregate:\n"
         "      key: [user]\n"
         "      aggregates: [\"count(*) AS n\", \"sum(amount) AS total\"]\n"
         "  - name: dropped\n"
         "    filter: n < 0\n"
         "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " +
         name +
         "-out }\n"
         "    format: json\n"
         "trigger: { interval: 50ms, max_records_per_partition: 20000 }\n"
         "state: { dir: " +
         dir + "/" + name + "-state-" + instance +
         " }\n"
         "checkpoint: { every_batches: 5, keep: 2 }\n"
         "scale:\n"
         "  mode: kafka\n"
         "  instance: " +
         instance + "\n  shared_dir: " + dir + "/" + name +
         "-shared\n"
         "  session_timeout: " +
         SessionTimeout() + "\n";
}

// The group's committed offsets summed over `partitions` of `topic`.
int64_t CommittedTotal(const std::string& bootstrap, const std::string& group,
                       const std::string& topic, int partitions) {
  KafkaClientConfig config{bootstrap, {}};
  auto consumer = CreateConsumer(config, group);
  if (!consumer.ok()) Die("no consumer for " + group);
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  if (rd_kafka_committed(consumer->get(), list.get(), 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) total += std::max<int64_t>(0, list->elems[p].offset);
  return total;
}

void AwaitCommitted(const std::string& bootstrap, const std::string& group,
                    const std::string& topic, int partitions, int64_t total) {
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  while (CommittedTotal(bootstrap, group, topic, partitions) < total) {
    if (Clock::now() > deadline) Die("group " + group + " never reached " + std::to_string(total));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Waits until the instances' logs have assigned all `partitions` between
// them and nothing was reassigned for 3 s.
void AwaitSettledGroup(const std::vector<std::string>& logs, int partitions) {
  const auto deadline = Clock::now() + std::chrono::minutes(2);
  std::string last;
  auto stable_since = Clock::now();
  while (Clock::now() < deadline) {
    std::set<int> owned;
    std::string state;
    for (const std::string& log : logs) {
      const std::string text = testing::ReadFile(log);
      const size_t at = text.rfind("assigned partitions [");
      if (at == std::string::npos) continue;
      const size_t end = text.find(']', at);
      const std::string list = text.substr(at + 21, end - at - 21);
      state += list + ";";
      std::istringstream in(list);
      for (std::string item; std::getline(in, item, ',');) owned.insert(std::atoi(item.c_str()));
    }
    if (state != last) {
      last = state;
      stable_since = Clock::now();
    }
    if (static_cast<int>(owned.size()) == partitions &&
        Clock::now() - stable_since > std::chrono::seconds(3)) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Die("the group never settled");
}

struct Instances {
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
  ~Instances() {
    for (pid_t pid : pids) {
      if (pid <= 0) continue;
      kill(pid, SIGTERM);
      testing::WaitForExit(pid);
      Disown(pid);
    }
  }
};

Instances StartInstances(const std::string& name, const std::string& bootstrap,
                         const std::string& dir, const std::string& topic, int count) {
  Instances instances;
  for (int idx = 0; idx < count; ++idx) {
    const std::string instance = std::string(1, static_cast<char>('a' + idx));
    const std::string job = dir + "/" + name + "-" + instance + ".yaml";
    testing::WriteFile(job, InstanceJob(name, bootstrap, dir, topic, instance));
    const std::string log = dir + "/" + name + "-" + instance + ".log";
    instances.logs.push_back(log);
    instances.pids.push_back(
        testing::SpawnEddy({"run", job, "--metrics-address", "off", "--threads", "2"}, log));
    Adopt(instances.pids.back());
  }
  return instances;
}

void Throughput(const std::string& dir, int64_t events) {
  constexpr int kPartitions = 12;
  constexpr int64_t kUsers = 100000;
  std::vector<std::string> topics;
  for (const char* topic :
       {"tput-1", "tput-2", "raw-in", "raw-out", "scale-1-out", "scale-2-out"}) {
    topics.push_back(std::string(topic) + ":" + std::to_string(kPartitions));
  }
  BrokerProcess broker(dir, topics);
  std::printf("== throughput: %lld events, %d partitions, %lld users, broker pid separate ==\n",
              static_cast<long long>(events), kPartitions, static_cast<long long>(kUsers));

  const double fill_raw = Fill(broker.bootstrap(), dir, "raw-in", kPartitions, events, kUsers);
  const double raw =
      bench::RawLoop(broker.bootstrap(), "raw-in", kPartitions, "raw-out", kPartitions, events);
  std::printf("raw consume->produce loop: %.2fs (%.0f records/s); its fill took %.2fs\n", raw,
              events / raw, fill_raw);

  std::vector<double> rates;
  for (int count : {1, 2}) {
    const std::string name = "scale-" + std::to_string(count);
    const std::string topic = "tput-" + std::to_string(count);
    Instances instances = StartInstances(name, broker.bootstrap(), dir, topic, count);
    AwaitSettledGroup(instances.logs, kPartitions);
    const auto start = Clock::now();
    const double fill = Fill(broker.bootstrap(), dir, topic, kPartitions, events, kUsers);
    AwaitCommitted(broker.bootstrap(), "eddy." + name, topic, kPartitions, events);
    const double seconds = Seconds(Clock::now() - start);
    rates.push_back(events / seconds);
    std::printf(
        "%d instance%s: %.2fs from the first record written to all committed "
        "(%.0f records/s; the fill alone took %.2fs)\n",
        count, count == 1 ? "" : "s", seconds, events / seconds, fill);
  }
  std::printf(
      "2 instances / 1 instance: %.2fx; 1 instance / raw loop: %.2fx "
      "(this machine has %u hardware threads for the broker, the instances and the "
      "producer)\n\n",
      rates[1] / rates[0], rates[0] / (events / raw), std::thread::hardware_concurrency());
}

struct Recovered {
  double detection = 0;  // kill -> the survivor is assigned the lost partitions
  double restore = 0;    // assignment -> the slowest moved shard open
  double total = 0;      // kill -> the slowest moved shard's first batch (or open)
  int moved = 0;
};

Recovered RecoverOnce(const std::string& dir, int64_t keys) {
  constexpr int kPartitions = 24;
  const std::string name = "recovery-" + std::to_string(keys);
  const std::string topic = name;
  BrokerProcess broker(dir, {topic + ":" + std::to_string(kPartitions),
                             name + "-out:" + std::to_string(kPartitions)});
  Instances instances = StartInstances(name, broker.bootstrap(), dir, topic, 2);
  AwaitSettledGroup(instances.logs, kPartitions);
  Fill(broker.bootstrap(), dir, topic, kPartitions, keys, keys);
  AwaitCommitted(broker.bootstrap(), "eddy." + name, topic, kPartitions, keys);
  std::this_thread::sleep_for(std::chrono::seconds(2));

  // Which partitions the victim (a) owns now.
  const std::string victim_log = testing::ReadFile(instances.logs[0]);
  const size_t at = victim_log.rfind("assigned partitions [");
  std::set<int> moved;
  std::istringstream list(victim_log.substr(at + 21, victim_log.find(']', at) - at - 21));
  for (std::string item; std::getline(list, item, ',');) moved.insert(std::atoi(item.c_str()));

  const size_t survivor_seen = testing::ReadFile(instances.logs[1]).size();
  const int64_t killed_at = NowMillis();
  kill(instances.pids[0], SIGKILL);
  testing::WaitForExit(instances.pids[0]);
  Disown(instances.pids[0]);
  instances.pids[0] = -1;

  // Follow the survivor's log from the kill on.
  Recovered result;
  result.moved = static_cast<int>(moved.size());
  const auto deadline = Clock::now() + std::chrono::minutes(3);
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string text = testing::ReadFile(instances.logs[1]).substr(survivor_seen);
    std::optional<int64_t> assigned;
    std::map<int, int64_t> opened;
    std::map<int, int64_t> first_batch;
    for (const std::string& line : Lines(text)) {
      const auto millis = LineMillis(line);
      if (!millis) continue;
      if (line.find("assigned partitions [") != std::string::npos &&
          line.find(",") != std::string::npos) {
        assigned = *millis;
        opened.clear();
        first_batch.clear();
      }
      const size_t shard_at = line.find("shard=");
      if (shard_at == std::string::npos || !assigned) continue;
      const int shard = std::atoi(line.c_str() + shard_at + 6);
      if (!moved.count(shard)) continue;
      if (line.find(" open after ") != std::string::npos) opened.emplace(shard, *millis);
      if (line.find(" batch=") != std::string::npos) first_batch.emplace(shard, *millis);
    }
    if (!assigned || opened.size() < moved.size()) continue;
    int64_t last_open = 0;
    int64_t last_ready = 0;
    for (int shard : moved) {
      last_open = std::max(last_open, opened[shard]);
      last_ready =
          std::max(last_ready, first_batch.count(shard) ? first_batch[shard] : opened[shard]);
    }
    // A shard with nothing logged since its checkpoint has no batch to
    // replay (and no new input): give the others 5 s to log their first.
    if (first_batch.size() < moved.size() && NowMillis() - last_open < 5000) continue;
    result.detection = (*assigned - killed_at) / 1000.0;
    result.restore = (last_open - *assigned) / 1000.0;
    result.total = (last_ready - killed_at) / 1000.0;
    return result;
  }
  Die("the survivor never opened the moved shards of " + name);
}

void Recovery(const std::string& dir, const std::vector<int64_t>& key_counts) {
  std::printf("== recovery after kill -9 of 1 of 2 instances (24 partitions, session %s) ==\n",
              SessionTimeout().c_str());
  std::printf("%-9s %6s %12s %10s %10s\n", "keys", "moved", "detection s", "restore s", "total s");
  for (int64_t keys : key_counts) {
    const Recovered r = RecoverOnce(dir, keys);
    std::printf("%-9lld %6d %12.2f %10.2f %10.2f\n", static_cast<long long>(keys), r.moved,
                r.detection, r.restore, r.total);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  int64_t events = 600000;
  std::vector<int64_t> keys = {10000, 100000, 1000000};
  bool throughput = true;
  bool recovery = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
      events = std::atoll(argv[++i]);
    } else if (std::strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
      keys = eddy::bench::ParseList(argv[++i]);
    } else if (std::strcmp(argv[i], "--skip-throughput") == 0) {
      throughput = false;
    } else if (std::strcmp(argv[i], "--session-timeout") == 0 && i + 1 < argc) {
      eddy::SessionTimeout() = argv[++i];
    } else if (std::strcmp(argv[i], "--skip-recovery") == 0) {
      recovery = false;
    } else {
      eddy::bench::Die(std::string("unknown argument ") + argv[i]);
    }
  }
  const std::string dir = eddy::testing::MakeTempDir("eddy-scale-bench");
  if (throughput) eddy::Throughput(dir, events);
  if (recovery) eddy::Recovery(dir, keys);
  return 0;
}
