#pragma once
// Prometheus metrics for running jobs (docs/metrics.md lists every series).
//
// One MetricsRegistry per process holds every metric family, created once,
// and (optionally) the HTTP endpoint Prometheus scrapes. Each running job
// gets a JobMetrics from it, fed once per batch with the executor's
// BatchReport: the cost is a few dozen atomic updates per batch, never work
// per record. Labels are bounded by the job's shape (job, source, operator,
// sink, topic, partition, phase, stage): no label ever takes a record's key
// or any other data value.
//
// RecordBatch also takes the report's watermarks, late rows and checkpoint
// outcome. Subsystems that land later (per-operator state, learners) report
// through the JobMetrics methods below; their series appear once they are
// first called.
//
// Thread-safety: every method of both classes may be called from any thread.
// A JobMetrics lives as long as the registry that made it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/engine/executor.h"

namespace eddy {

// The default scrape endpoint (docs/metrics.md): loopback only, port 9464
// (the port OpenTelemetry's Prometheus exporter uses by convention).
inline constexpr char kDefaultMetricsAddress[] = "127.0.0.1:9464";

// What a learning operator reports after a batch. Unset fields leave their
// series alone.
struct LearnerMetrics {
  int64_t rows_learned = 0;  // in this batch (added to a counter)
  std::optional<int64_t> model_version;
  // Prequential (test-then-train) quality over the whole stream and over
  // the operator's evaluation window.
  std::optional<double> accuracy;
  std::optional<double> accuracy_window;
  std::optional<double> rmse;
  std::optional<double> rmse_window;
  std::optional<int64_t> tree_nodes;
  std::optional<int64_t> tree_depth;
  // Weight (decayed point count) per cluster, indexed by cluster id (k is fixed by the job file,
  // so the `cluster` label stays bounded).
  std::vector<double> cluster_sizes;
};

// What changed for an instance of a scaled-out job (runtime/scale).
enum class InstanceChange { kAssigned, kRevoked, kFenced, kRestored, kRebalanced };

class JobMetrics {
 public:
  virtual ~JobMetrics() = default;

  // An instance of a scaled-out job received, gave back or lost a
  // partition (it now owns `owned_partitions`), or opened one's shard
  // `restore_seconds` after the assignment, restoring a checkpoint of
  // `restored_bytes` (0: its local state was new enough).
  virtual void RecordInstanceChange(InstanceChange change, int64_t owned_partitions,
                                    double restore_seconds, int64_t restored_bytes) = 0;

  // Everything a batch measured: per-node records and bytes, batch and phase
  // durations, records per batch, end-to-end latency, offsets and lag per
  // partition, dead letters per node, watermarks, late rows, and the
  // checkpoint written after the batch (if any).
  virtual void RecordBatch(const BatchReport& report) = 0;

  // The job's trigger interval, so alerts can say "no batch for N
  // intervals" without knowing each job's settings.
  virtual void SetTriggerInterval(double seconds) = 0;

  // Event-time watermark of a source, in seconds since the epoch.
  virtual void SetWatermark(const std::string& source, double epoch_seconds) = 0;
  // Records an operator received behind the watermark (for subsystems
  // that count per operator; RecordBatch counts the job's total).
  virtual void AddLateRecords(const std::string& op, int64_t records) = 0;
  // One checkpoint attempt; `bytes` is the size written (ignored on failure).
  virtual void RecordCheckpoint(bool ok, double seconds, int64_t bytes) = 0;
  // RocksDB's live size and estimated key count for an operator's state.
  virtual void SetStateSize(const std::string& op, int64_t bytes, int64_t estimated_keys) = 0;
  virtual void RecordLearner(const std::string& op, const LearnerMetrics& metrics) = 0;
};

class MetricsRegistry {
 public:
  virtual ~MetricsRegistry() = default;

  // The same JobMetrics for the same job name.
  virtual JobMetrics& ForJob(const std::string& job) = 0;

  // Every series in Prometheus' text exposition format, as /metrics serves
  // it (including the process metrics).
  virtual std::string Scrape() const = 0;

  // The port the endpoint listens on (useful with port 0), or 0 when there
  // is no endpoint.
  virtual int port() const = 0;
};

// True for the addresses that mean "no endpoint": "", "off", "none".
bool MetricsDisabled(const std::string& address);

// A registry serving /metrics on `address` ("host:port"; port 0 picks a
// free one). InvalidArgument if the address is malformed; Unavailable, with
// the kernel's reason ("address already in use"), if it cannot be bound.
Result<std::unique_ptr<MetricsRegistry>> StartMetrics(const std::string& address);

// A registry with no endpoint (tests, benchmarks, `Scrape()` only).
std::unique_ptr<MetricsRegistry> NewMetricsRegistry();

// --- Computations behind the series, exposed for tests. ---

// Records available but not yet processed: latest - next, never negative.
int64_t ConsumerLag(const PartitionProgress& progress);

// Bucket upper bounds of eddy_end_to_end_latency_seconds.
const std::vector<double>& LatencyBuckets();

// Per-bucket (not cumulative) counts of `samples` for upper bounds `bounds`,
// Prometheus' `le` rule: a sample goes to the first bound >= it; the extra
// last entry counts samples above every bound (+Inf). Negative samples
// (clock skew between producer and Eddy) count as 0.
std::vector<double> BucketCounts(const std::vector<double>& samples,
                                 const std::vector<double>& bounds);

// The q-quantile (0..1) of `samples` by linear interpolation between the
// nearest ranks; 0 for no samples. Reorders `samples`.
double Quantile(std::vector<double>& samples, double q);

}  // namespace eddy
