#pragma once
// JobMonitor: the short in-memory history of one job that the web UI's
// charts and tables read through the API (docs/openapi.yaml: /history,
// /operators, /dead-letters). It is fed from the job's thread once per batch
// with the executor's BatchReport (and with the dead letters the batch
// wrote), keeps the last `MonitorOptions::points` batches, and survives the
// job's restarts, so a chart has data the moment a page opens.
//
// It keeps figures, never data: dead letters keep their reason and origin
// (node, topic, partition, offset), not the record's key or value.
//
// Thread-safety: every method may be called from any thread (one mutex).
// Cost: a few hundred bytes per batch, a copy of the report's vectors.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connectors/core/sink.h"
#include "runtime/engine/batch_report.h"
#include "runtime/server/json_writer.h"

namespace eddy::server {

struct MonitorOptions {
  // Batches kept (charts, model quality): at one batch a second, 10 minutes.
  size_t points = 600;
  // Checkpoints kept in memory (with their duration and state sizes).
  size_t checkpoints = 100;
  // Dead letters kept, newest last.
  size_t dead_letters = 100;
  // Node rates are rows over the batches that finished in this many
  // milliseconds before the newest one.
  int64_t rate_window_ms = 10000;
};

class JobMonitor {
 public:
  explicit JobMonitor(MonitorOptions options = {});

  // After each batch; `unix_ms` is when it finished.
  void RecordBatch(const BatchReport& report, int64_t unix_ms);
  // The dead letters a batch wrote (their reasons and origins).
  void RecordDeadLetters(const DeadLetters& letters, int64_t batch_id, int64_t unix_ms);
  // A run started (the first or a restart): marks the history.
  void RecordRunStart();

  // Records in per second over the rate window; 0 before two batches or
  // when the job is idle.
  double RecordsPerSecond() const;

  // {"points": [...], "checkpoints": [...], "learners": [...]}: the points
  // of batches after `since_batch` (-1: all kept), oldest first.
  void WriteHistory(JsonWriter& json, int64_t since_batch) const;
  // {"nodes": [...]}: per DAG node, the last batch's rows and the rates
  // over the rate window.
  void WriteOperators(JsonWriter& json) const;
  // {"dead_letters": [...], "total": N}, newest first.
  void WriteDeadLetters(JsonWriter& json) const;

 private:
  struct Point {
    int64_t batch_id = 0;
    int64_t unix_ms = 0;
    int64_t records_in = 0;
    int64_t records_out = 0;
    int64_t dead_letters = 0;
    int64_t lag = 0;
    double seconds = 0;
    double fetch_seconds = 0;
    double process_seconds = 0;
    double sink_seconds = 0;
    double checkpoint_seconds = 0;
    // Per source (in `sources_` order): processing time less watermark.
    std::vector<std::optional<double>> watermark_delay_seconds;
    std::vector<NodeStats> nodes;
    bool run_start = false;  // the first batch of a run
  };
  struct Checkpoint {
    int64_t batch_id = 0;
    int64_t unix_ms = 0;
    double seconds = 0;
    uint64_t bytes = 0;
    std::string error;
    std::vector<BatchReport::StateSize> state_sizes;
  };
  struct LearnerPoint {
    int64_t batch_id = 0;
    int64_t unix_ms = 0;
    OperatorStatus status;
  };
  struct Letter {
    int64_t batch_id = 0;
    int64_t unix_ms = 0;
    std::string reason, node, topic;
    int32_t partition = -1;
    int64_t offset = -1;
  };

  // Rows in and out per node over the rate window. REQUIRES: mutex_.
  std::map<std::string, std::pair<double, double>> NodeRatesLocked() const;
  double RecordsPerSecondLocked() const;
  // Index of the point the rate window starts after. REQUIRES: mutex_, two points.
  size_t WindowStartLocked() const;
  size_t SourceIndexLocked(const std::string& source);

  const MonitorOptions options_;
  mutable std::mutex mutex_;
  std::deque<Point> points_;
  std::deque<Checkpoint> checkpoints_;
  std::vector<std::string> sources_;
  // Per learning operator, in the order they first reported.
  std::vector<std::pair<std::string, std::deque<LearnerPoint>>> learners_;
  std::map<std::string, BatchReport::StateSize> state_sizes_;
  std::map<std::string, NodeStats> totals_;  // rows since the monitor began
  std::deque<Letter> letters_;
  int64_t letters_total_ = 0;
  bool run_started_ = false;
};

// A dead-letter sink that tells `monitor` what each batch wrote, then
// passes everything on to `inner`.
std::unique_ptr<DeadLetterSink> MonitorDeadLetters(std::unique_ptr<DeadLetterSink> inner,
                                                   std::shared_ptr<JobMonitor> monitor);

}  // namespace eddy::server
