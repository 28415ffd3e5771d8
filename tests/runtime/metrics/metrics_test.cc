// The metrics Eddy computes from batch reports, read back through the same
// text exposition Prometheus scrapes.

#include "runtime/metrics/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <sstream>

namespace eddy {
namespace {

// Every sample line of an exposition, "name{labels}" -> value, labels as
// printed (sorted by name, then `le` last for histogram buckets).
std::map<std::string, double> Parse(const std::string& exposition) {
  std::map<std::string, double> samples;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double Value(const std::map<std::string, double>& samples, const std::string& series) {
  auto it = samples.find(series);
  if (it == samples.end()) {
    ADD_FAILURE() << "no series " << series;
    return NAN;
  }
  return it->second;
}

NodeStats Node(const std::string& name, DagNode::Kind kind, int64_t in, int64_t out, int64_t bytes,
               int64_t dead = 0) {
  NodeStats stats;
  stats.name = name;
  stats.kind = kind;
  stats.rows_in = in;
  stats.rows_out = out;
  stats.bytes_out = bytes;
  stats.dead_letters = dead;
  return stats;
}

// A source -> operator -> sink job; `n` scales the figures.
BatchReport Report(int64_t batch_id, int64_t n) {
  BatchReport report;
  report.batch_id = batch_id;
  report.records_in = 10 * n;
  report.records_out = 4 * n;
  report.dead_letters = 3;  // 1 decode + 1 process + 1 at the sink
  report.fetch_seconds = 0.02;
  report.process_seconds = 0.003;
  report.sink_seconds = 0.4;
  report.total_seconds = 0.5;
  report.nodes = {Node("events", DagNode::Kind::kSource, 10 * n, 10 * n - 1, 1000 * n, 1),
                  Node("views", DagNode::Kind::kOperator, 10 * n - 1, 4 * n, 400 * n, 1),
                  Node("out", DagNode::Kind::kSink, 4 * n, 4 * n, 300 * n)};
  report.partitions = {{"events", "ad-events", 0, 100 * n, 160 * n},
                       {"events", "ad-events", 1, 100 * n, 100 * n}};
  return report;
}

TEST(ConsumerLag, IsLatestMinusNextAndNeverNegative) {
  EXPECT_EQ(ConsumerLag({"s", "t", 0, 40, 100}), 60);
  EXPECT_EQ(ConsumerLag({"s", "t", 0, 100, 100}), 0);
  // A topic truncated or recreated under a running job: no negative lag.
  EXPECT_EQ(ConsumerLag({"s", "t", 0, 120, 100}), 0);
}

TEST(JobMetrics, LagAndOffsetsPerTopicPartition) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("ads");
  job.RecordBatch(Report(0, 1));
  auto samples = Parse(registry->Scrape());
  const std::string p0 = "{job=\"ads\",partition=\"0\",source=\"events\",topic=\"ad-events\"}";
  const std::string p1 = "{job=\"ads\",partition=\"1\",source=\"events\",topic=\"ad-events\"}";
  EXPECT_EQ(Value(samples, "eddy_consumer_lag_records" + p0), 60);
  EXPECT_EQ(Value(samples, "eddy_consumer_lag_records" + p1), 0);
  EXPECT_EQ(Value(samples, "eddy_source_offset" + p0), 100);
  EXPECT_EQ(Value(samples, "eddy_source_latest_offset" + p0), 160);

  // Gauges follow the latest batch; they do not add up.
  job.RecordBatch(Report(1, 3));
  samples = Parse(registry->Scrape());
  EXPECT_EQ(Value(samples, "eddy_consumer_lag_records" + p0), 180);
  EXPECT_EQ(Value(samples, "eddy_source_offset" + p0), 300);
}

TEST(BucketCounts, UsesPrometheusLessOrEqualRuleAndAnInfBucket) {
  const std::vector<double> bounds = {1, 2, 5};
  // 1 and 5 sit on bounds and count there (le); -3 is clock skew and counts
  // as 0; 7 is above every bound.
  const std::vector<double> counts = BucketCounts({0.5, 1, 1.5, 5, 7, -3}, bounds);
  EXPECT_EQ(counts, (std::vector<double>{3, 1, 1, 1}));
  EXPECT_EQ(BucketCounts({}, bounds), (std::vector<double>{0, 0, 0, 0}));
}

TEST(JobMetrics, LatencyHistogramFromBatchSamples) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("ads");
  BatchReport report = Report(0, 1);
  report.latency_samples = {0.003, 0.2, 7, 400};
  job.RecordBatch(report);
  report.latency_samples = {0.0005};
  job.RecordBatch(report);
  const auto samples = Parse(registry->Scrape());
  auto bucket = [&](const std::string& le) {
    return Value(samples, "eddy_end_to_end_latency_seconds_bucket{job=\"ads\",le=\"" + le + "\"}");
  };
  EXPECT_EQ(bucket("0.001"), 1);
  EXPECT_EQ(bucket("0.0025"), 1);
  EXPECT_EQ(bucket("0.005"), 2);
  EXPECT_EQ(bucket("0.1"), 2);
  EXPECT_EQ(bucket("0.25"), 3);
  EXPECT_EQ(bucket("10"), 4);
  EXPECT_EQ(bucket("300"), 4);
  EXPECT_EQ(bucket("600"), 5);
  EXPECT_EQ(bucket("+Inf"), 5);
  EXPECT_EQ(Value(samples, "eddy_end_to_end_latency_seconds_count{job=\"ads\"}"), 5);
  EXPECT_NEAR(Value(samples, "eddy_end_to_end_latency_seconds_sum{job=\"ads\"}"), 407.2035, 1e-9);
}

TEST(JobMetrics, CountersAccumulateAcrossBatches) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("ads");
  job.RecordBatch(Report(0, 1));
  job.RecordBatch(Report(1, 2));
  const auto samples = Parse(registry->Scrape());
  EXPECT_EQ(Value(samples, "eddy_source_records_total{job=\"ads\",source=\"events\"}"), 30);
  EXPECT_EQ(Value(samples, "eddy_source_bytes_total{job=\"ads\",source=\"events\"}"), 3000);
  EXPECT_EQ(Value(samples, "eddy_operator_records_in_total{job=\"ads\",operator=\"views\"}"), 28);
  EXPECT_EQ(Value(samples, "eddy_operator_records_out_total{job=\"ads\",operator=\"views\"}"), 12);
  EXPECT_EQ(Value(samples, "eddy_sink_records_total{job=\"ads\",sink=\"out\"}"), 12);
  EXPECT_EQ(Value(samples, "eddy_sink_bytes_total{job=\"ads\",sink=\"out\"}"), 900);
  EXPECT_EQ(Value(samples, "eddy_batches_total{job=\"ads\"}"), 2);
  job.SetTriggerInterval(0.25);
  EXPECT_EQ(Value(Parse(registry->Scrape()), "eddy_trigger_interval_seconds{job=\"ads\"}"), 0.25);
  EXPECT_EQ(Value(samples, "eddy_dead_letters_total{job=\"ads\",node=\"events\",stage=\"decode\"}"),
            2);
  EXPECT_EQ(Value(samples, "eddy_dead_letters_total{job=\"ads\",node=\"views\",stage=\"process\"}"),
            2);
  // The batch's dead letters not claimed by a node belong to the sink.
  EXPECT_EQ(Value(samples, "eddy_dead_letters_total{job=\"ads\",node=\"out\",stage=\"sink\"}"), 2);

  EXPECT_EQ(Value(samples, "eddy_batch_records_count{job=\"ads\"}"), 2);
  EXPECT_EQ(Value(samples, "eddy_batch_records_sum{job=\"ads\"}"), 30);
  EXPECT_EQ(Value(samples, "eddy_batch_records_bucket{job=\"ads\",le=\"10\"}"), 1);
  EXPECT_EQ(Value(samples, "eddy_batch_records_bucket{job=\"ads\",le=\"100\"}"), 2);
  EXPECT_EQ(Value(samples, "eddy_batch_duration_seconds_count{job=\"ads\"}"), 2);
  EXPECT_DOUBLE_EQ(Value(samples, "eddy_batch_duration_seconds_sum{job=\"ads\"}"), 1.0);
  EXPECT_DOUBLE_EQ(Value(samples, "eddy_batch_phase_seconds_sum{job=\"ads\",phase=\"sink\"}"), 0.8);
  EXPECT_EQ(
      Value(samples, "eddy_batch_phase_seconds_bucket{job=\"ads\",phase=\"fetch\",le=\"0.025\"}"),
      2);
  EXPECT_EQ(
      Value(samples, "eddy_batch_phase_seconds_bucket{job=\"ads\",phase=\"fetch\",le=\"0.01\"}"),
      0);
  // Checkpoints have not landed: the series exists, empty.
  EXPECT_EQ(Value(samples, "eddy_batch_phase_seconds_count{job=\"ads\",phase=\"checkpoint\"}"), 0);

  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(Value(samples, "eddy_last_batch_timestamp_seconds{job=\"ads\"}"), now, 5);
}

TEST(JobMetrics, JobsAreSeparateSeriesAndForJobReturnsTheSameObject) {
  auto registry = NewMetricsRegistry();
  EXPECT_EQ(&registry->ForJob("a"), &registry->ForJob("a"));
  registry->ForJob("a").RecordBatch(Report(0, 1));
  registry->ForJob("b").RecordBatch(Report(0, 2));
  const auto samples = Parse(registry->Scrape());
  EXPECT_EQ(Value(samples, "eddy_source_records_total{job=\"a\",source=\"events\"}"), 10);
  EXPECT_EQ(Value(samples, "eddy_source_records_total{job=\"b\",source=\"events\"}"), 20);
}

// Labels come from the job's shape only: however many batches (and however
// much data) go by, the set of series stays the same, and no label name
// outside the documented ones appears.
TEST(JobMetrics, LabelSetsAreBounded) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("ads");
  job.RecordBatch(Report(0, 1));
  std::set<std::string> first;
  for (const auto& [series, value] : Parse(registry->Scrape())) {
    if (series.rfind("eddy_process_", 0) != 0) first.insert(series);
  }
  for (int64_t batch = 1; batch < 300; ++batch) {
    BatchReport report = Report(batch, batch + 1);
    for (int sample = 0; sample < 50; ++sample)
      report.latency_samples.push_back(0.001 * sample * batch);
    job.RecordBatch(report);
  }
  std::set<std::string> last;
  for (const auto& [series, value] : Parse(registry->Scrape())) {
    if (series.rfind("eddy_process_", 0) != 0) last.insert(series);
  }
  EXPECT_EQ(first, last);

  const std::set<std::string> allowed = {"job",   "source", "operator",  "sink",  "node",
                                         "stage", "topic",  "partition", "phase", "le"};
  for (const std::string& series : last) {
    const size_t open = series.find('{');
    ASSERT_NE(open, std::string::npos) << series;
    std::string labels = series.substr(open + 1, series.size() - open - 2);
    size_t pos = 0;
    while (pos < labels.size()) {
      const size_t eq = labels.find('=', pos);
      EXPECT_TRUE(allowed.count(labels.substr(pos, eq - pos))) << series;
      const size_t close = labels.find('"', eq + 2);
      pos = close + 2;  // past `",`
    }
  }
}

TEST(JobMetrics, LaterSubsystemsReportThroughPlainValues) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("learn");
  // Checkpoint counters exist from the start (so a first failure shows as
  // an increase); other subsystems export nothing before they report.
  auto before = Parse(registry->Scrape());
  EXPECT_EQ(Value(before, "eddy_checkpoints_total{job=\"learn\"}"), 0);
  EXPECT_EQ(Value(before, "eddy_checkpoint_failures_total{job=\"learn\"}"), 0);
  EXPECT_EQ(registry->Scrape().find("eddy_state_size_bytes"), std::string::npos);
  EXPECT_EQ(registry->Scrape().find("eddy_model_"), std::string::npos);

  job.RecordCheckpoint(true, 0.3, 4096);
  job.RecordCheckpoint(false, 2.0, 999);
  job.RecordCheckpoint(true, 0.7, 8192);
  job.SetWatermark("events", 1.7e9);
  job.AddLateRecords("per-minute", 5);
  job.AddLateRecords("per-minute", 2);
  job.SetStateSize("per-minute", 1 << 20, 1234);
  LearnerMetrics learner;
  learner.rows_learned = 100;
  learner.model_version = 7;
  learner.accuracy = 0.9;
  learner.accuracy_window = 0.8;
  learner.tree_nodes = 15;
  learner.tree_depth = 4;
  learner.cluster_sizes = {10, 20, 30};
  job.RecordLearner("tree", learner);
  learner.rows_learned = 50;
  job.RecordLearner("tree", learner);

  const auto samples = Parse(registry->Scrape());
  EXPECT_EQ(Value(samples, "eddy_checkpoints_total{job=\"learn\"}"), 2);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_failures_total{job=\"learn\"}"), 1);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_size_bytes{job=\"learn\"}"), 8192);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_duration_seconds_count{job=\"learn\"}"), 3);
  EXPECT_DOUBLE_EQ(Value(samples, "eddy_checkpoint_duration_seconds_sum{job=\"learn\"}"), 3.0);
  EXPECT_EQ(Value(samples, "eddy_batch_phase_seconds_count{job=\"learn\",phase=\"checkpoint\"}"),
            3);
  EXPECT_EQ(Value(samples, "eddy_source_watermark_seconds{job=\"learn\",source=\"events\"}"),
            1.7e9);
  EXPECT_EQ(Value(samples, "eddy_late_records_total{job=\"learn\",operator=\"per-minute\"}"), 7);
  EXPECT_EQ(Value(samples, "eddy_state_size_bytes{job=\"learn\",operator=\"per-minute\"}"),
            1 << 20);
  EXPECT_EQ(Value(samples, "eddy_state_estimated_keys{job=\"learn\",operator=\"per-minute\"}"),
            1234);
  EXPECT_EQ(Value(samples, "eddy_model_rows_learned_total{job=\"learn\",operator=\"tree\"}"), 150);
  EXPECT_EQ(Value(samples, "eddy_model_version{job=\"learn\",operator=\"tree\"}"), 7);
  EXPECT_EQ(Value(samples, "eddy_model_accuracy{job=\"learn\",operator=\"tree\",window=\"all\"}"),
            0.9);
  EXPECT_EQ(
      Value(samples, "eddy_model_accuracy{job=\"learn\",operator=\"tree\",window=\"recent\"}"),
      0.8);
  EXPECT_EQ(samples.count("eddy_model_rmse{job=\"learn\",operator=\"tree\",window=\"all\"}"), 0u);
  EXPECT_EQ(Value(samples, "eddy_model_tree_nodes{job=\"learn\",operator=\"tree\"}"), 15);
  EXPECT_EQ(Value(samples, "eddy_model_tree_depth{job=\"learn\",operator=\"tree\"}"), 4);
  EXPECT_EQ(
      Value(samples, "eddy_model_cluster_size{cluster=\"2\",job=\"learn\",operator=\"tree\"}"), 30);
}

TEST(JobMetrics, WatermarksLateRowsAndCheckpointsFromTheBatchReport) {
  auto registry = NewMetricsRegistry();
  JobMetrics& job = registry->ForJob("win");
  BatchReport report = Report(0, 1);
  report.watermarks = {{"events", 1'700'000'000'500'000}, {"other", std::nullopt}};
  report.late_records = 4;
  report.late_by_operator = {{"per-minute", 3}, {"sessions", 1}};
  report.checkpointed = true;
  report.checkpoint_seconds = 0.2;
  report.checkpoint_bytes = 5000;
  job.RecordBatch(report);
  report.watermarks = {{"events", 1'700'000'001'000'000}, {"other", std::nullopt}};
  report.late_records = 0;
  report.late_by_operator = {{"per-minute", 0}, {"sessions", 0}};
  report.lost_by_source = {{"events", 40}, {"other", 0}};
  report.checkpointed = false;
  report.checkpoint_error = "IOError: disk full";
  report.checkpoint_seconds = 0.05;
  job.RecordBatch(report);
  report.checkpoint_error.clear();
  job.RecordBatch(report);  // no checkpoint after this one

  const auto samples = Parse(registry->Scrape());
  EXPECT_DOUBLE_EQ(Value(samples, "eddy_source_watermark_seconds{job=\"win\",source=\"events\"}"),
                   1'700'000'001.0);
  EXPECT_EQ(samples.count("eddy_source_watermark_seconds{job=\"win\",source=\"other\"}"), 0u);
  // Late rows per operator; no job-wide series to double-count in sum().
  EXPECT_EQ(Value(samples, "eddy_late_records_total{job=\"win\",operator=\"per-minute\"}"), 3);
  EXPECT_EQ(Value(samples, "eddy_late_records_total{job=\"win\",operator=\"sessions\"}"), 1);
  EXPECT_EQ(samples.count("eddy_late_records_total{job=\"win\"}"), 0u);
  // Lost input per source, at 0 where none was lost; twice 40 (two batches).
  EXPECT_EQ(Value(samples, "eddy_source_lost_records_total{job=\"win\",source=\"events\"}"), 80);
  EXPECT_EQ(Value(samples, "eddy_source_lost_records_total{job=\"win\",source=\"other\"}"), 0);
  EXPECT_EQ(Value(samples, "eddy_checkpoints_total{job=\"win\"}"), 1);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_failures_total{job=\"win\"}"), 1);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_size_bytes{job=\"win\"}"), 5000);
  EXPECT_EQ(Value(samples, "eddy_checkpoint_duration_seconds_count{job=\"win\"}"), 2);
  EXPECT_DOUBLE_EQ(Value(samples, "eddy_checkpoint_duration_seconds_sum{job=\"win\"}"), 0.25);
  EXPECT_EQ(Value(samples, "eddy_batch_phase_seconds_count{job=\"win\",phase=\"checkpoint\"}"), 2);
}

TEST(Quantile, InterpolatesBetweenNearestRanks) {
  std::vector<double> samples;
  for (int value = 100; value >= 1; --value) samples.push_back(value);
  EXPECT_DOUBLE_EQ(Quantile(samples, 0.5), 50.5);
  EXPECT_DOUBLE_EQ(Quantile(samples, 0.99), 99.01);
  EXPECT_DOUBLE_EQ(Quantile(samples, 0), 1);
  EXPECT_DOUBLE_EQ(Quantile(samples, 1), 100);
  std::vector<double> one = {0.25};
  EXPECT_DOUBLE_EQ(Quantile(one, 0.99), 0.25);
  std::vector<double> none;
  EXPECT_DOUBLE_EQ(Quantile(none, 0.5), 0);
}

TEST(ProcessMetrics, ReadFromProcSelf) {
  auto registry = NewMetricsRegistry();
  // Burn 30 ms of CPU (not of wall time: on a loaded machine those may hold
  // less than the kernel's 10 ms tick) so the counter has something to show.
  volatile double sink = 0;
  const std::clock_t until = std::clock() + CLOCKS_PER_SEC * 3 / 100;
  while (std::clock() < until) sink = sink + std::sqrt(sink + 2);
  const auto samples = Parse(registry->Scrape());
  EXPECT_GT(Value(samples, "eddy_process_cpu_seconds_total"), 0.0);
  EXPECT_GT(Value(samples, "eddy_process_resident_memory_bytes"), 1e6);
  EXPECT_GE(Value(samples, "eddy_process_virtual_memory_bytes"),
            Value(samples, "eddy_process_resident_memory_bytes"));
  EXPECT_GE(Value(samples, "eddy_process_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GE(Value(samples, "eddy_process_max_fds"), Value(samples, "eddy_process_open_fds"));
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = Value(samples, "eddy_process_start_time_seconds");
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 600);
}

TEST(StartMetrics, ParsesTheAddressAndBindsAFreePort) {
  EXPECT_TRUE(MetricsDisabled("off"));
  EXPECT_TRUE(MetricsDisabled(""));
  EXPECT_FALSE(MetricsDisabled("127.0.0.1:9464"));
  for (const char* bad : {"9464", "localhost", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"}) {
    auto metrics = StartMetrics(bad);
    ASSERT_FALSE(metrics.ok()) << bad;
    EXPECT_EQ(metrics.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(metrics.status().message().find("HOST:PORT"), std::string::npos)
        << metrics.status().message();
  }
  auto metrics = StartMetrics("127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status().message();
  EXPECT_GT((*metrics)->port(), 0);
  // The same port again cannot be bound: the error says so.
  auto taken = StartMetrics("127.0.0.1:" + std::to_string((*metrics)->port()));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(taken.status().message(),
            "metrics endpoint 127.0.0.1:" + std::to_string((*metrics)->port()) +
                ": cannot listen: address already in use");
}

}  // namespace
}  // namespace eddy
