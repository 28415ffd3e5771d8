// Kill -9 at random moments: a windowed job restarted after each kill must
// end with the same window results as an uninterrupted run — no state lost,
// no input skipped, and (exactly-once delivery, docs/exactly-once.md) no
// record written twice: the output topic equals the uninterrupted run's,
// record for record, in each partition's order.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

pid_t Spawn(const std::string& job, const std::string& log) {
  return testing::SpawnEddy({"run", job}, log);
}

int Wait(pid_t pid) { return testing::WaitForExit(pid); }

std::string Job(const std::string& bootstrap, const std::string& topic, const std::string& state) {
  return "name: crash\n"
         "kafka: { brokers: \"" +
         bootstrap +
         "\" }\n"
         "sources:\n"
         "  - name: ads\n"
         "    generator: { kind: ysb, count: 24000, rate: 8000, seed: 11, partitions: 3 }\n"
         "    event_time: { column: event_time, max_out_of_orderness: 100ms }\n"
         "operators:\n"
         "  - name: views\n"
         "    filter: event_type = 'view'\n"
         "  - name: per_type\n"
         "    window:\n"
         "      key: [ad_type]\n"
         "      type: tumbling\n"
         "      size: 200ms\n"
         "      aggregates: [\"count(*) AS views\", \"count_distinct(ad_id) AS ads\"]\n"
         "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " +
         topic +
         " }\n"
         "    format: json\n"
         "trigger: { interval: 50ms }\n"
         "state: { dir: " +
         state +
         " }\n"
         "checkpoint: { every_batches: 3 }\n";
}

TEST(Crash, KilledAtRandomMomentsAndRestartedGivesTheUninterruptedResults) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok());
  ASSERT_TRUE((*broker)->CreateTopic("reference", 2).ok());
  ASSERT_TRUE((*broker)->CreateTopic("crashed", 2).ok());
  const std::string dir = testing::MakeTempDir("eddy-crash");
  const std::string bootstrap = (*broker)->bootstrap();

  testing::WriteFile(dir + "/reference.yaml", Job(bootstrap, "reference", "reference-state"));
  ASSERT_EQ(Wait(Spawn(dir + "/reference.yaml", dir + "/reference.log")), 0)
      << testing::ReadFile(dir + "/reference.log");

  testing::WriteFile(dir + "/crashed.yaml", Job(bootstrap, "crashed", "crashed-state"));
  std::mt19937 random(20261125);
  std::uniform_int_distribution<int> pause_ms(150, 700);
  int kills = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const pid_t pid = Spawn(dir + "/crashed.yaml", dir + "/crashed.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    if (::kill(pid, SIGKILL) == 0) ++kills;
    Wait(pid);
  }
  EXPECT_GE(kills, 3);
  ASSERT_EQ(Wait(Spawn(dir + "/crashed.yaml", dir + "/crashed.log")), 0)
      << testing::ReadFile(dir + "/crashed.log");

  // Restarts resumed from committed state rather than starting over.
  EXPECT_NE(testing::ReadFile(dir + "/crashed.log").find("resuming after batch"),
            std::string::npos);

  const auto reference = testing::ConsumeAll(bootstrap, "reference");
  const auto crashed = testing::ConsumeAll(bootstrap, "crashed");
  ASSERT_GT(reference.size(), 20u);
  std::set<std::string> reference_distinct;
  for (const auto& record : reference) reference_distinct.insert(record.value);
  // The uninterrupted run writes each window once ...
  EXPECT_EQ(reference.size(), reference_distinct.size());
  // ... and the crashed run the same records in the same partitions and order.
  EXPECT_EQ(crashed, reference);

  // Rewound to its oldest checkpoint, the job runs the batches after it
  // again, as the offsets log has them, and writes nothing twice.
  std::vector<std::string> checkpoints;
  for (const auto& entry :
       std::filesystem::directory_iterator(dir + "/crashed-state/checkpoints")) {
    if (entry.path().filename().string().rfind("chk-", 0) == 0)
      checkpoints.push_back(entry.path().string());
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  ASSERT_GE(checkpoints.size(), 2u);
  const std::string rewind_log = dir + "/rewind.log";
  ASSERT_EQ(
      Wait(testing::SpawnEddy(
          {"run", dir + "/crashed.yaml", "--from-checkpoint", checkpoints.front()}, rewind_log)),
      0)
      << testing::ReadFile(rewind_log);
  EXPECT_NE(testing::ReadFile(rewind_log).find("is in the offsets log: running it again"),
            std::string::npos)
      << testing::ReadFile(rewind_log);
  EXPECT_EQ(testing::ConsumeAll(bootstrap, "crashed"), reference);
}

}  // namespace
}  // namespace eddy
