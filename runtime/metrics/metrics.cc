#include "runtime/metrics/metrics.h"

#include <netdb.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "runtime/core/host_port.h"

namespace eddy {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

const std::vector<double>& DurationBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5,   1,      2.5,   5,    10,    30,   60};
  return kBuckets;
}

const std::vector<double>& RecordBuckets() {
  static const std::vector<double> kBuckets = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
  return kBuckets;
}

const std::vector<double>& CheckpointBuckets() {
  static const std::vector<double> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                               2.5,  5,    10,  30,   60,  300};
  return kBuckets;
}

// A learning operator's status as the metric families take it: quality
// figures by name ("accuracy", "window_rmse", ...), the tree's shape, the
// clusters' weights.
LearnerMetrics ToLearnerMetrics(const OperatorStatus& status) {
  LearnerMetrics metrics;
  metrics.rows_learned = static_cast<int64_t>(status.Figure("rows_learned").value_or(0));
  if (auto version = status.Figure("model_version"))
    metrics.model_version = static_cast<int64_t>(*version);
  // Quality over no rows yet is not a figure: leave the series alone.
  const double rows = status.Figure("rows").value_or(0);
  const double window_rows = status.Figure("window_rows").value_or(0);
  if (rows > 0) {
    metrics.accuracy = status.Figure("accuracy");
    metrics.rmse = status.Figure("rmse");
  }
  if (window_rows > 0) {
    metrics.accuracy_window = status.Figure("window_accuracy");
    metrics.rmse_window = status.Figure("window_rmse");
  }
  if (auto nodes = status.Figure("tree_nodes")) {
    metrics.tree_nodes = static_cast<int64_t>(*nodes);
    metrics.tree_depth = static_cast<int64_t>(status.Figure("tree_depth").value_or(0));
  }
  for (const auto& [name, values] : status.series) {
    if (name == "cluster_weight") metrics.cluster_sizes = values;
  }
  return metrics;
}

double NowEpochSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Process CPU, memory, open files and start time from /proc/self, under the
// names Prometheus' own process collectors use (with the eddy_ prefix):
// prometheus-cpp 1.0.1 has no process collector. Read at scrape time only.
class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector() : start_time_(ReadStartTime()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families;
    const Stat stat = ReadStat();
    Add(&families, "eddy_process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
        prometheus::MetricType::Counter, stat.cpu_seconds);
    Add(&families, "eddy_process_resident_memory_bytes", "Resident memory size, in bytes.",
        prometheus::MetricType::Gauge, stat.resident_bytes);
    Add(&families, "eddy_process_virtual_memory_bytes", "Virtual memory size, in bytes.",
        prometheus::MetricType::Gauge, stat.virtual_bytes);
    Add(&families, "eddy_process_open_fds", "Open file descriptors.", prometheus::MetricType::Gauge,
        CountOpenFds());
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      Add(&families, "eddy_process_max_fds", "Limit on open file descriptors.",
          prometheus::MetricType::Gauge, static_cast<double>(limit.rlim_cur));
    }
    Add(&families, "eddy_process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        prometheus::MetricType::Gauge, start_time_);
    return families;
  }

 private:
  struct Stat {
    double cpu_seconds = 0;
    double virtual_bytes = 0;
    double resident_bytes = 0;
    double start_ticks = 0;
  };

  static void Add(std::vector<prometheus::MetricFamily>* families, const char* name,
                  const char* help, prometheus::MetricType type, double value) {
    prometheus::MetricFamily family;
    family.name = name;
    family.help = help;
    family.type = type;
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    family.metric.push_back(std::move(metric));
    families->push_back(std::move(family));
  }

  // /proc/self/stat: fields after the command name (which may hold spaces
  // and parentheses, hence the last ')') are numbered from 3 (state);
  // utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)).
  static Stat ReadStat() {
    Stat stat;
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return stat;
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) return stat;
    std::istringstream fields(line.substr(paren + 1));
    std::string field;
    std::array<double, 25> values{};
    for (int idx = 3; idx <= 24 && (fields >> field); ++idx) {
      double value = 0;
      std::from_chars(field.data(), field.data() + field.size(), value);
      values[idx] = value;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    stat.cpu_seconds = (values[14] + values[15]) / ticks;
    stat.start_ticks = values[22];
    stat.virtual_bytes = values[23];
    stat.resident_bytes = values[24] * page;
    return stat;
  }

  // Boot time (/proc/stat btime) plus the process' start in ticks since boot.
  static double ReadStartTime() {
    std::ifstream in("/proc/stat");
    std::string key;
    double boot_time = 0;
    while (in >> key) {
      if (key == "btime") {
        in >> boot_time;
        break;
      }
      in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    if (boot_time == 0) return NowEpochSeconds();
    return boot_time + ReadStat().start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

  static double CountOpenFds() {
    std::error_code error;
    double count = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      ++count;
    }
    // The directory iterator holds one descriptor of its own.
    return count > 0 ? count - 1 : 0;
  }

  const double start_time_;
};

// Every family, registered once per process.
struct Families {
  explicit Families(prometheus::Registry& registry)
      : source_records(Counter("eddy_source_records_total",
                               "Records read from a source (including those dead-lettered "
                               "while decoding).",
                               registry)),
        source_bytes(Counter("eddy_source_bytes_total",
                             "In-memory columnar size of the rows a source decoded, in bytes.",
                             registry)),
        operator_records_in(
            Counter("eddy_operator_records_in_total", "Rows into an operator.", registry)),
        operator_records_out(
            Counter("eddy_operator_records_out_total", "Rows out of an operator.", registry)),
        sink_records(Counter("eddy_sink_records_total", "Rows handed to a sink.", registry)),
        sink_bytes(Counter("eddy_sink_bytes_total",
                           "In-memory columnar size of the rows handed to a sink, in bytes.",
                           registry)),
        batches(Counter("eddy_batches_total", "Completed micro-batches.", registry)),
        dead_letters(Counter("eddy_dead_letters_total",
                             "Records sent to the dead-letter sink, by node and stage "
                             "(decode, process, sink).",
                             registry)),
        batch_duration(Hist("eddy_batch_duration_seconds",
                            "Wall time of a micro-batch, from planning to acknowledged output.",
                            registry)),
        batch_phase(Hist("eddy_batch_phase_seconds",
                         "Time per batch phase (fetch and process are summed over parallel "
                         "tasks; sink and checkpoint are wall time).",
                         registry)),
        batch_records(Hist("eddy_batch_records", "Records read per micro-batch.", registry)),
        latency(Hist("eddy_end_to_end_latency_seconds",
                     "From a record's source timestamp to the sink's acknowledgement of its "
                     "output, sampled per batch.",
                     registry)),
        trigger_interval(GaugeFamily("eddy_trigger_interval_seconds",
                                     "The job's trigger interval: a batch starts at most this "
                                     "often.",
                                     registry)),
        last_batch(GaugeFamily("eddy_last_batch_timestamp_seconds",
                               "When the last batch completed, since the Unix epoch.", registry)),
        consumer_lag(GaugeFamily("eddy_consumer_lag_records",
                                 "Records available in a source partition but not yet "
                                 "processed (latest - next offset).",
                                 registry)),
        source_offset(GaugeFamily("eddy_source_offset",
                                  "Next offset to read in a source partition.", registry)),
        source_latest_offset(GaugeFamily("eddy_source_latest_offset",
                                         "Latest available offset of a source partition (the "
                                         "Kafka high watermark).",
                                         registry)),
        watermark(GaugeFamily("eddy_source_watermark_seconds",
                              "Event-time watermark of a source, since the Unix epoch.", registry)),
        late_records(Counter("eddy_late_records_total",
                             "Records that arrived behind the watermark.", registry)),
        lost_records(Counter("eddy_source_lost_records_total",
                             "Records of a source deleted by retention before the job read "
                             "them, skipped under on_lost_input: skip.",
                             registry)),
        checkpoints(Counter("eddy_checkpoints_total", "Completed checkpoints.", registry)),
        checkpoint_failures(
            Counter("eddy_checkpoint_failures_total", "Failed checkpoints.", registry)),
        checkpoint_duration(
            Hist("eddy_checkpoint_duration_seconds", "Time to write a checkpoint.", registry)),
        checkpoint_size(GaugeFamily("eddy_checkpoint_size_bytes",
                                    "Size of the last completed checkpoint, in bytes.", registry)),
        last_checkpoint(GaugeFamily("eddy_last_checkpoint_timestamp_seconds",
                                    "When the last checkpoint completed, since the Unix epoch.",
                                    registry)),
        state_size(GaugeFamily("eddy_state_size_bytes",
                               "Live size of an operator's RocksDB state, in bytes.", registry)),
        state_keys(GaugeFamily("eddy_state_estimated_keys",
                               "RocksDB's estimate of the keys in an operator's state.", registry)),
        rows_learned(Counter("eddy_model_rows_learned_total",
                             "Rows a learning operator trained on.", registry)),
        model_version(GaugeFamily("eddy_model_version",
                                  "Version of a learning operator's model (bumped per update).",
                                  registry)),
        model_accuracy(GaugeFamily("eddy_model_accuracy",
                                   "Prequential accuracy of a classifier, over the whole stream "
                                   "(window=\"all\") or the evaluation window (window=\"recent\").",
                                   registry)),
        model_rmse(GaugeFamily("eddy_model_rmse",
                               "Prequential RMSE of a regressor, over the whole stream or the "
                               "evaluation window.",
                               registry)),
        tree_nodes(GaugeFamily("eddy_model_tree_nodes", "Nodes in a Hoeffding tree.", registry)),
        tree_depth(GaugeFamily("eddy_model_tree_depth", "Depth of a Hoeffding tree.", registry)),
        cluster_size(GaugeFamily("eddy_model_cluster_size", "Points assigned to a k-means cluster.",
                                 registry)),
        instance_partitions(GaugeFamily("eddy_instance_partitions",
                                        "Partitions this instance of a scaled-out job owns.",
                                        registry)),
        partition_moves(Counter("eddy_instance_partition_moves_total",
                                "Partitions a scaled-out job's instance received "
                                "(change=\"assigned\"), gave back (\"revoked\") or lost while "
                                "away (\"fenced\").",
                                registry)),
        rebalances(Counter("eddy_instance_rebalances_total",
                           "Rebalances of a scaled-out job's group this instance took part "
                           "in (each new assignment it received).",
                           registry)),
        restore_duration(Hist("eddy_instance_restore_seconds",
                              "From a partition's assignment to its shard open (state "
                              "restored, sinks recovered).",
                              registry)),
        restored_bytes(Counter("eddy_instance_restored_bytes_total",
                               "Bytes of the checkpoints a scaled-out job's instance restored "
                               "for the partitions it received.",
                               registry)) {}

  static Family<prometheus::Counter>& Counter(const char* name, const char* help,
                                              prometheus::Registry& registry) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
  }
  static Family<prometheus::Gauge>& GaugeFamily(const char* name, const char* help,
                                                prometheus::Registry& registry) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
  }
  static Family<prometheus::Histogram>& Hist(const char* name, const char* help,
                                             prometheus::Registry& registry) {
    return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
  }

  Family<prometheus::Counter>& source_records;
  Family<prometheus::Counter>& source_bytes;
  Family<prometheus::Counter>& operator_records_in;
  Family<prometheus::Counter>& operator_records_out;
  Family<prometheus::Counter>& sink_records;
  Family<prometheus::Counter>& sink_bytes;
  Family<prometheus::Counter>& batches;
  Family<prometheus::Counter>& dead_letters;
  Family<prometheus::Histogram>& batch_duration;
  Family<prometheus::Histogram>& batch_phase;
  Family<prometheus::Histogram>& batch_records;
  Family<prometheus::Histogram>& latency;
  Family<prometheus::Gauge>& trigger_interval;
  Family<prometheus::Gauge>& last_batch;
  Family<prometheus::Gauge>& consumer_lag;
  Family<prometheus::Gauge>& source_offset;
  Family<prometheus::Gauge>& source_latest_offset;
  Family<prometheus::Gauge>& watermark;
  Family<prometheus::Counter>& late_records;
  Family<prometheus::Counter>& lost_records;
  Family<prometheus::Counter>& checkpoints;
  Family<prometheus::Counter>& checkpoint_failures;
  Family<prometheus::Histogram>& checkpoint_duration;
  Family<prometheus::Gauge>& checkpoint_size;
  Family<prometheus::Gauge>& last_checkpoint;
  Family<prometheus::Gauge>& state_size;
  Family<prometheus::Gauge>& state_keys;
  Family<prometheus::Counter>& rows_learned;
  Family<prometheus::Gauge>& model_version;
  Family<prometheus::Gauge>& model_accuracy;
  Family<prometheus::Gauge>& model_rmse;
  Family<prometheus::Gauge>& tree_nodes;
  Family<prometheus::Gauge>& tree_depth;
  Family<prometheus::Gauge>& cluster_size;
  Family<prometheus::Gauge>& instance_partitions;
  Family<prometheus::Counter>& partition_moves;
  Family<prometheus::Counter>& rebalances;
  Family<prometheus::Histogram>& restore_duration;
  Family<prometheus::Counter>& restored_bytes;
};

enum Phase { kPlan, kFetch, kProcess, kSink, kCheckpoint, kPhaseCount };
constexpr std::array<const char*, kPhaseCount> kPhaseNames = {"plan", "fetch", "process", "sink",
                                                              "checkpoint"};

class JobMetricsImpl : public JobMetrics {
 public:
  JobMetricsImpl(Families& families, std::string job)
      : families_(families),
        job_(std::move(job)),
        batches_(families.batches.Add({{"job", job_}})),
        batch_duration_(families.batch_duration.Add({{"job", job_}}, DurationBuckets())),
        batch_records_(families.batch_records.Add({{"job", job_}}, RecordBuckets())),
        latency_(families.latency.Add({{"job", job_}}, LatencyBuckets())),
        last_batch_(families.last_batch.Add({{"job", job_}})),
        checkpoints_(families.checkpoints.Add({{"job", job_}})),
        checkpoint_failures_(families.checkpoint_failures.Add({{"job", job_}})),
        checkpoint_duration_(
            families.checkpoint_duration.Add({{"job", job_}}, CheckpointBuckets())) {
    // Every phase exists from the start (checkpoint with no samples until
    // checkpoints land), so dashboards show all five.
    for (int phase = 0; phase < kPhaseCount; ++phase) {
      phases_[phase] = &families.batch_phase.Add({{"job", job_}, {"phase", kPhaseNames[phase]}},
                                                 DurationBuckets());
    }
  }

  void RecordBatch(const BatchReport& report) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (nodes_.size() != report.nodes.size()) BindNodes(report);
    int64_t node_dead_letters = 0;
    for (size_t idx = 0; idx < report.nodes.size(); ++idx) {
      const NodeStats& stats = report.nodes[idx];
      NodeSeries& series = nodes_[idx];
      switch (stats.kind) {
        case DagNode::Kind::kSource:
          series.records->Increment(static_cast<double>(stats.rows_in));
          series.bytes->Increment(static_cast<double>(stats.bytes_out));
          break;
        case DagNode::Kind::kOperator:
          series.records->Increment(static_cast<double>(stats.rows_in));
          series.records_out->Increment(static_cast<double>(stats.rows_out));
          break;
        case DagNode::Kind::kSink:
          series.records->Increment(static_cast<double>(stats.rows_in));
          series.bytes->Increment(static_cast<double>(stats.bytes_out));
          break;
      }
      if (stats.dead_letters > 0)
        series.dead_letters->Increment(static_cast<double>(stats.dead_letters));
      node_dead_letters += stats.dead_letters;
    }
    // Sinks reject rows (e.g. a key that does not evaluate) without a
    // per-node count: the rest of the batch's dead letters are theirs.
    if (report.dead_letters > node_dead_letters && sink_dead_letters_ != nullptr) {
      sink_dead_letters_->Increment(static_cast<double>(report.dead_letters - node_dead_letters));
    }

    for (const PartitionProgress& progress : report.partitions) {
      PartitionSeries& series = Partition(progress);
      series.lag->Set(static_cast<double>(ConsumerLag(progress)));
      series.offset->Set(static_cast<double>(progress.next_offset));
      series.latest->Set(static_cast<double>(progress.latest_offset));
    }

    batches_.Increment();
    batch_duration_.Observe(report.total_seconds);
    phases_[kPlan]->Observe(report.plan_seconds);
    phases_[kFetch]->Observe(report.fetch_seconds);
    phases_[kProcess]->Observe(report.process_seconds);
    phases_[kSink]->Observe(report.sink_seconds);
    batch_records_.Observe(static_cast<double>(report.records_in));
    if (!report.latency_samples.empty()) {
      double sum = 0;
      for (double sample : report.latency_samples) sum += std::max(0.0, sample);
      latency_.ObserveMultiple(BucketCounts(report.latency_samples, LatencyBuckets()), sum);
    }
    last_batch_.Set(NowEpochSeconds());

    // Event time and checkpoints, for jobs that have them.
    for (const auto& [source, watermark] : report.watermarks) {
      if (watermark) {
        families_.watermark.Add({{"job", job_}, {"source", source}})
            .Set(static_cast<double>(*watermark) / 1e6);
      }
    }
    for (const auto& [op, late_rows] : report.late_by_operator) {
      families_.late_records.Add({{"job", job_}, {"operator", op}})
          .Increment(static_cast<double>(late_rows));
    }
    for (const auto& [source, lost] : report.lost_by_source) {
      families_.lost_records.Add({{"job", job_}, {"source", source}})
          .Increment(static_cast<double>(lost));
    }
    for (const BatchReport::StateSize& state : report.state_sizes) {
      SetStateSizeLocked(state.op, static_cast<int64_t>(state.bytes),
                         static_cast<int64_t>(state.estimated_keys));
    }
    for (const auto& [op, status] : report.operator_status) {
      // Learners are the operators with a model version.
      if (status.Figure("model_version")) RecordLearnerLocked(op, ToLearnerMetrics(status));
    }
    if (!report.checkpoint_error.empty()) {
      RecordCheckpointLocked(false, report.checkpoint_seconds, 0);
    } else if (report.checkpointed) {
      RecordCheckpointLocked(true, report.checkpoint_seconds,
                             static_cast<int64_t>(report.checkpoint_bytes));
    }
  }

  void SetTriggerInterval(double seconds) override {
    std::lock_guard<std::mutex> lock(mutex_);
    families_.trigger_interval.Add({{"job", job_}}).Set(seconds);
  }

  void SetWatermark(const std::string& source, double epoch_seconds) override {
    std::lock_guard<std::mutex> lock(mutex_);
    families_.watermark.Add({{"job", job_}, {"source", source}}).Set(epoch_seconds);
  }

  void AddLateRecords(const std::string& op, int64_t records) override {
    std::lock_guard<std::mutex> lock(mutex_);
    families_.late_records.Add({{"job", job_}, {"operator", op}})
        .Increment(static_cast<double>(records));
  }

  void RecordInstanceChange(InstanceChange change, int64_t owned_partitions, double restore_seconds,
                            int64_t restored_bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    families_.instance_partitions.Add({{"job", job_}}).Set(static_cast<double>(owned_partitions));
    switch (change) {
      case InstanceChange::kAssigned:
        families_.partition_moves.Add({{"job", job_}, {"change", "assigned"}}).Increment();
        break;
      case InstanceChange::kRevoked:
        families_.partition_moves.Add({{"job", job_}, {"change", "revoked"}}).Increment();
        break;
      case InstanceChange::kFenced:
        families_.partition_moves.Add({{"job", job_}, {"change", "fenced"}}).Increment();
        break;
      case InstanceChange::kRebalanced:
        families_.rebalances.Add({{"job", job_}}).Increment();
        break;
      case InstanceChange::kRestored:
        families_.restore_duration.Add({{"job", job_}}, CheckpointBuckets())
            .Observe(restore_seconds);
        families_.restored_bytes.Add({{"job", job_}})
            .Increment(static_cast<double>(restored_bytes));
        break;
    }
  }

  void RecordCheckpoint(bool ok, double seconds, int64_t bytes) override {
    std::lock_guard<std::mutex> lock(mutex_);
    RecordCheckpointLocked(ok, seconds, bytes);
  }

  void SetStateSize(const std::string& op, int64_t bytes, int64_t estimated_keys) override {
    std::lock_guard<std::mutex> lock(mutex_);
    SetStateSizeLocked(op, bytes, estimated_keys);
  }

  // REQUIRES: mutex_ held.
  void SetStateSizeLocked(const std::string& op, int64_t bytes, int64_t estimated_keys) {
    const Labels labels = {{"job", job_}, {"operator", op}};
    families_.state_size.Add(labels).Set(static_cast<double>(bytes));
    families_.state_keys.Add(labels).Set(static_cast<double>(estimated_keys));
  }

  void RecordLearner(const std::string& op, const LearnerMetrics& metrics) override {
    std::lock_guard<std::mutex> lock(mutex_);
    RecordLearnerLocked(op, metrics);
  }

  // REQUIRES: mutex_ held.
  void RecordLearnerLocked(const std::string& op, const LearnerMetrics& metrics) {
    const Labels labels = {{"job", job_}, {"operator", op}};
    families_.rows_learned.Add(labels).Increment(static_cast<double>(metrics.rows_learned));
    if (metrics.model_version) {
      families_.model_version.Add(labels).Set(static_cast<double>(*metrics.model_version));
    }
    auto set_windowed = [&](Family<Gauge>& family, const std::optional<double>& value,
                            const char* window) {
      if (!value) return;
      Labels windowed = labels;
      windowed["window"] = window;
      family.Add(windowed).Set(*value);
    };
    set_windowed(families_.model_accuracy, metrics.accuracy, "all");
    set_windowed(families_.model_accuracy, metrics.accuracy_window, "recent");
    set_windowed(families_.model_rmse, metrics.rmse, "all");
    set_windowed(families_.model_rmse, metrics.rmse_window, "recent");
    if (metrics.tree_nodes)
      families_.tree_nodes.Add(labels).Set(static_cast<double>(*metrics.tree_nodes));
    if (metrics.tree_depth)
      families_.tree_depth.Add(labels).Set(static_cast<double>(*metrics.tree_depth));
    for (size_t cluster = 0; cluster < metrics.cluster_sizes.size(); ++cluster) {
      Labels clustered = labels;
      clustered["cluster"] = std::to_string(cluster);
      families_.cluster_size.Add(clustered).Set(metrics.cluster_sizes[cluster]);
    }
  }

 private:
  struct NodeSeries {
    Counter* records = nullptr;      // sources: read; operators: in; sinks: written
    Counter* records_out = nullptr;  // operators
    Counter* bytes = nullptr;        // sources and sinks
    Counter* dead_letters = nullptr;
  };

  struct PartitionSeries {
    Gauge* lag = nullptr;
    Gauge* offset = nullptr;
    Gauge* latest = nullptr;
  };

  // Creates the per-node series once, on the first batch (the plan's nodes
  // do not change while a job runs). Dead-letter counters start at 0 so
  // rate() works from the first scrape.
  void BindNodes(const BatchReport& report) {
    nodes_.assign(report.nodes.size(), NodeSeries());
    std::vector<std::string> sinks;
    for (size_t idx = 0; idx < report.nodes.size(); ++idx) {
      const NodeStats& stats = report.nodes[idx];
      NodeSeries& series = nodes_[idx];
      const char* stage = "process";
      switch (stats.kind) {
        case DagNode::Kind::kSource: {
          const Labels labels = {{"job", job_}, {"source", stats.name}};
          series.records = &families_.source_records.Add(labels);
          series.bytes = &families_.source_bytes.Add(labels);
          stage = "decode";
          break;
        }
        case DagNode::Kind::kOperator: {
          const Labels labels = {{"job", job_}, {"operator", stats.name}};
          series.records = &families_.operator_records_in.Add(labels);
          series.records_out = &families_.operator_records_out.Add(labels);
          break;
        }
        case DagNode::Kind::kSink: {
          const Labels labels = {{"job", job_}, {"sink", stats.name}};
          series.records = &families_.sink_records.Add(labels);
          series.bytes = &families_.sink_bytes.Add(labels);
          sinks.push_back(stats.name);
          stage = "sink";
          break;
        }
      }
      // A sink's own rejections are counted below, under stage="sink".
      if (stats.kind != DagNode::Kind::kSink) {
        series.dead_letters =
            &families_.dead_letters.Add({{"job", job_}, {"node", stats.name}, {"stage", stage}});
      }
    }
    // The executor does not say which sink rejected a row: with one sink it
    // is that one, otherwise all sinks share one series.
    const std::string sink_node = sinks.size() == 1 ? sinks[0] : "sinks";
    sink_dead_letters_ =
        &families_.dead_letters.Add({{"job", job_}, {"node", sink_node}, {"stage", "sink"}});
  }

  // REQUIRES: mutex_ held.
  void RecordCheckpointLocked(bool ok, double seconds, int64_t bytes) {
    checkpoint_duration_.Observe(seconds);
    phases_[kCheckpoint]->Observe(seconds);
    if (!ok) {
      checkpoint_failures_.Increment();
      return;
    }
    checkpoints_.Increment();
    const Labels labels = {{"job", job_}};
    families_.checkpoint_size.Add(labels).Set(static_cast<double>(bytes));
    families_.last_checkpoint.Add(labels).Set(NowEpochSeconds());
  }

  PartitionSeries& Partition(const PartitionProgress& progress) {
    auto key = std::make_tuple(progress.source, progress.topic, progress.partition);
    auto it = partitions_.find(key);
    if (it != partitions_.end()) return it->second;
    const Labels labels = {{"job", job_},
                           {"source", progress.source},
                           {"topic", progress.topic},
                           {"partition", std::to_string(progress.partition)}};
    PartitionSeries series;
    series.lag = &families_.consumer_lag.Add(labels);
    series.offset = &families_.source_offset.Add(labels);
    series.latest = &families_.source_latest_offset.Add(labels);
    return partitions_.emplace(std::move(key), series).first->second;
  }

  Families& families_;
  const std::string job_;
  std::mutex mutex_;
  Counter& batches_;
  Histogram& batch_duration_;
  Histogram& batch_records_;
  Histogram& latency_;
  Gauge& last_batch_;
  // Created with the job so failures can be alerted on from the first one.
  Counter& checkpoints_;
  Counter& checkpoint_failures_;
  Histogram& checkpoint_duration_;
  std::array<Histogram*, kPhaseCount> phases_{};
  std::vector<NodeSeries> nodes_;
  Counter* sink_dead_letters_ = nullptr;
  std::map<std::tuple<std::string, std::string, int32_t>, PartitionSeries> partitions_;
};

// Why binding a TCP socket to `address` (a valid HOST:PORT) fails, in the
// kernel's words ("Address already in use"), for the error message.
std::string WhyCannotBind(const std::string& address) {
  auto host_port = ParseHostPort(address);
  if (!host_port.ok()) return host_port.status().message();
  std::string host = host_port->host;
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(host_port->port);
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return std::string("host '") + host + "': " + ::gai_strerror(rc);
  }
  std::string reason = "the HTTP server could not bind it";
  const int fd = ::socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd >= 0) {
    const int one = 1;  // as civetweb binds: a socket in TIME_WAIT is no reason
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0) reason = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  for (char& c : reason) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reason;
}

class MetricsRegistryImpl : public MetricsRegistry {
 public:
  MetricsRegistryImpl()
      : registry_(std::make_shared<prometheus::Registry>()),
        process_(std::make_shared<ProcessCollector>()),
        families_(*registry_) {}

  Status Expose(const std::string& address) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
    } catch (const std::exception&) {
      // civetweb only says "possible problem binding to port": ask the
      // kernel why, so the user reads "address already in use".
      return Status::Unavailable("metrics endpoint " + address +
                                 ": cannot listen: " + WhyCannotBind(address));
    }
    exposer_->RegisterCollectable(registry_);
    exposer_->RegisterCollectable(process_);
    const std::vector<int> ports = exposer_->GetListeningPorts();
    port_ = ports.empty() ? 0 : ports.front();
    return Status::OK();
  }

  JobMetrics& ForJob(const std::string& job) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::unique_ptr<JobMetricsImpl>& metrics = jobs_[job];
    if (!metrics) metrics = std::make_unique<JobMetricsImpl>(families_, job);
    return *metrics;
  }

  std::string Scrape() const override {
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    for (prometheus::MetricFamily& family : process_->Collect())
      families.push_back(std::move(family));
    return prometheus::TextSerializer().Serialize(families);
  }

  int port() const override { return port_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ProcessCollector> process_;
  Families families_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<JobMetricsImpl>> jobs_;
  // Declared last: destroyed first, so no scrape sees a dying registry.
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace

bool MetricsDisabled(const std::string& address) {
  return address.empty() || address == "off" || address == "none";
}

Result<std::unique_ptr<MetricsRegistry>> StartMetrics(const std::string& address) {
  // host:port, [v6]:port; the port must be a number (0 = any free port).
  if (!ParseHostPort(address).ok()) {
    return Status::InvalidArgument("metrics address '" + address +
                                   "': expected HOST:PORT (e.g. 127.0.0.1:9464), or off");
  }
  auto registry = std::make_unique<MetricsRegistryImpl>();
  EDDY_RETURN_IF_ERROR(registry->Expose(address));
  return std::unique_ptr<MetricsRegistry>(std::move(registry));
}

std::unique_ptr<MetricsRegistry> NewMetricsRegistry() {
  return std::make_unique<MetricsRegistryImpl>();
}

int64_t ConsumerLag(const PartitionProgress& progress) {
  return std::max<int64_t>(0, progress.latest_offset - progress.next_offset);
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                               0.25,  0.5,    1,     2.5,  5,     10,   30,
                                               60,    120,    300,   600,  1800,  3600};
  return kBuckets;
}

std::vector<double> BucketCounts(const std::vector<double>& samples,
                                 const std::vector<double>& bounds) {
  std::vector<double> counts(bounds.size() + 1, 0.0);
  for (double sample : samples) {
    const double value = std::max(0.0, sample);
    const size_t bucket =
        static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
    counts[bucket] += 1;
  }
  return counts;
}

double Quantile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(samples.size() - 1);
  const size_t lower = static_cast<size_t>(std::floor(rank));
  const size_t upper = std::min(lower + 1, samples.size() - 1);
  const double fraction = rank - static_cast<double>(lower);
  return samples[lower] + (samples[upper] - samples[lower]) * fraction;
}

}  // namespace eddy
