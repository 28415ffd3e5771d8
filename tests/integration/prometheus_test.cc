// Debian's real Prometheus server, configured from the shipped
// deploy/prometheus/prometheus.yml, scrapes a running `eddy run`; its query
// API must show throughput, lag and batch durations moving as the job runs,
// and the shipped alert rules must load and evaluate.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/integration/kafka_test_util.h"
#include "tests/integration/metrics_test_util.h"

namespace eddy {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::PromQuery;
using testing::PromSample;

// The shipped config with the eddy target pointed at `eddy_port`, a 1 s
// scrape interval and the shipped rules by absolute path.
std::string TestConfig(int eddy_port) {
  YAML::Node config = YAML::LoadFile("deploy/prometheus/prometheus.yml");
  config["global"]["scrape_interval"] = "1s";
  config["global"]["evaluation_interval"] = "1s";
  YAML::Node rules(YAML::NodeType::Sequence);
  for (const auto& file : config["rule_files"]) {
    rules.push_back(
        std::filesystem::absolute("deploy/prometheus/" + file.as<std::string>()).string());
  }
  config["rule_files"] = rules;
  bool found = false;
  for (auto scrape : config["scrape_configs"]) {
    if (scrape["job_name"].as<std::string>() != "eddy") continue;
    found = true;
    YAML::Node targets(YAML::NodeType::Sequence);
    targets.push_back("127.0.0.1:" + std::to_string(eddy_port));
    YAML::Node static_config;
    static_config["targets"] = targets;
    YAML::Node static_configs(YAML::NodeType::Sequence);
    static_configs.push_back(static_config);
    scrape["static_configs"] = static_configs;
  }
  EXPECT_TRUE(found) << "deploy/prometheus/prometheus.yml has no job_name: eddy";
  YAML::Emitter out;
  out << config;
  return out.c_str();
}

double Sum(const std::vector<PromSample>& samples) {
  double sum = 0;
  for (const PromSample& sample : samples) sum += sample.value;
  return sum;
}

TEST(Prometheus, ScrapesThroughputLagAndBatchDurationsWhileAJobRuns) {
  const auto started = std::chrono::steady_clock::now();
  const std::string dir = testing::MakeTempDir("eddy-prometheus");
  // A generator far faster than the job may read (20 records per
  // partition per batch, batches back to back while behind, each syncing
  // the file sink: some 10-20k records/s against 100k/s): lag grows while
  // records flow. Event times start now, so latency is meaningful.
  testing::WriteFile(dir + "/job.yaml",
                     "name: metered\n"
                     "sources:\n"
                     "  - name: ads\n"
                     "    generator: { kind: ysb, rate: 100000, partitions: 2, start_time: " +
                         testing::IsoNow() +
                         " }\n"
                         "operators:\n"
                         "  - name: views\n"
                         "    filter: event_type = 'view'\n"
                         "sinks:\n"
                         "  - name: out\n"
                         "    file: { path: " +
                         dir +
                         "/out.jsonl }\n"
                         "    format: json\n"
                         "state: { dir: " +
                         dir +
                         "/state }\n"
                         "checkpoint: { every_batches: 5 }\n"
                         "trigger:\n"
                         "  interval: 100ms\n"
                         "  max_records_per_partition: 20\n");
  const int eddy_port = testing::FreePort();
  ChildProcess eddy(EDDY_BINARY,
                    {"run", dir + "/job.yaml", "--quiet", "--metrics-address",
                     "127.0.0.1:" + std::to_string(eddy_port)},
                    dir + "/eddy.log");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto body = testing::HttpGet(eddy_port, "/metrics");
        return body && body->find("eddy_batches_total{job=\"metered\"}") != std::string::npos;
      },
      15s))
      << testing::ReadFile(dir + "/eddy.log");

  testing::WriteFile(dir + "/prometheus.yml", TestConfig(eddy_port));
  const int prometheus_port = testing::FreePort();
  ChildProcess prometheus(
      PROMETHEUS_BINARY,
      {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/tsdb",
       "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port), "--log.level=warn"},
      dir + "/prometheus.log");

  // Wait until Prometheus has scraped the target a few times.
  std::string errors;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto samples = PromQuery(prometheus_port, "count_over_time(up{job=\"eddy\"}[1m])");
        return samples && samples->size() == 1 && samples->front().value >= 3;
      },
      25s))
      << testing::ReadFile(dir + "/prometheus.log");
  auto up = PromQuery(prometheus_port, "up{job=\"eddy\"}", &errors);
  ASSERT_TRUE(up && up->size() == 1) << errors;
  EXPECT_EQ(up->front().value, 1);

  // honor_labels keeps Eddy's own job label.
  auto records = PromQuery(prometheus_port, "eddy_source_records_total", &errors);
  ASSERT_TRUE(records) << errors;
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(records->front().labels.at("job"), "metered");
  EXPECT_EQ(records->front().labels.at("source"), "ads");

  auto throughput =
      PromQuery(prometheus_port, "sum(rate(eddy_source_records_total[10s]))", &errors);
  ASSERT_TRUE(throughput && throughput->size() == 1) << errors;
  EXPECT_GT(throughput->front().value, 0);

  auto lag = PromQuery(prometheus_port, "eddy_consumer_lag_records{job=\"metered\"}", &errors);
  ASSERT_TRUE(lag) << errors;
  ASSERT_EQ(lag->size(), 2u);  // one series per generator partition
  for (const PromSample& sample : *lag) {
    EXPECT_EQ(sample.labels.at("source"), "ads");
    EXPECT_EQ(sample.labels.at("topic"), "ads");
  }
  const double lag_before = Sum(*lag);
  auto batches =
      PromQuery(prometheus_port, "eddy_batch_duration_seconds_count{job=\"metered\"}", &errors);
  ASSERT_TRUE(batches && batches->size() == 1) << errors;
  const double batches_before = batches->front().value;
  const double records_before = Sum(*records);

  // The series move: more records, more batches, a backlog.
  std::this_thread::sleep_for(3s);
  records = PromQuery(prometheus_port, "eddy_source_records_total", &errors);
  lag = PromQuery(prometheus_port, "eddy_consumer_lag_records{job=\"metered\"}", &errors);
  batches =
      PromQuery(prometheus_port, "eddy_batch_duration_seconds_count{job=\"metered\"}", &errors);
  ASSERT_TRUE(records && lag && batches) << errors;
  EXPECT_GT(Sum(*records), records_before);
  // The lag series is updated every batch and stays above zero while the
  // generator outruns the job; its exact trend depends on machine load.
  EXPECT_GT(Sum(*lag), 0) << "lag before: " << lag_before;
  EXPECT_GT(Sum(*batches), batches_before);

  auto checkpoints = PromQuery(prometheus_port, "eddy_checkpoints_total{job=\"metered\"}", &errors);
  ASSERT_TRUE(checkpoints && checkpoints->size() == 1) << errors;
  EXPECT_GT(checkpoints->front().value, 0);

  auto p99 = PromQuery(
      prometheus_port,
      "histogram_quantile(0.99, sum by (le) (rate(eddy_batch_duration_seconds_bucket[10s])))",
      &errors);
  ASSERT_TRUE(p99 && p99->size() == 1) << errors;
  EXPECT_GT(p99->front().value, 0);
  EXPECT_LT(p99->front().value, 60);

  // The shipped rules loaded and evaluate without errors.
  auto rules = testing::HttpGet(prometheus_port, "/api/v1/rules");
  ASSERT_TRUE(rules);
  EXPECT_NE(rules->find("EddyConsumerLagGrowing"), std::string::npos) << *rules;
  EXPECT_EQ(rules->find("\"health\":\"err\""), std::string::npos) << *rules;

  EXPECT_EQ(prometheus.Stop(), 0) << testing::ReadFile(dir + "/prometheus.log");
  EXPECT_EQ(eddy.Stop(), 0) << testing::ReadFile(dir + "/eddy.log");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 60s);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eddy
