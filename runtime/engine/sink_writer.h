#pragma once
// The write step of a batch: rows go to the job's sinks in a fixed order —
// each task's outputs in task order, then the batch-wide stage's — and the
// batch's dead letters to the dead-letter sink; Flush then waits for every
// acknowledgement. The writer also keeps the batch's samples for the
// progress log and the source timestamps behind the latency figures, and
// knows where the sinks stand (their positions, recorded with each batch)
// and how they recover at start (docs/exactly-once.md).
//
// Thread-safety: the executor's driver thread only.

#include <string>
#include <vector>

#include "connectors/core/sink.h"
#include "runtime/engine/batch_planner.h"
#include "runtime/engine/batch_report.h"
#include "runtime/engine/job_plan.h"

namespace eddy {

// The dead-letter sink's name in sink positions and eddy.sink headers.
inline constexpr char kDeadLetterSinkName[] = "dead_letter";

class SinkWriter {
 public:
  SinkWriter(JobPlan& plan, size_t samples_per_batch)
      : plan_(plan), samples_per_batch_(samples_per_batch) {}

  // Recovers every sink from `start`, the sink positions recorded before the
  // first batch to run (empty: the state has none), and logs which sinks
  // are at-least-once. `new_run`: the state was created now.
  Status Recover(const std::string& run_id, bool new_run, const SinkPositions* start);

  // Where every sink stands now (after a Flush).
  SinkPositions Positions() const;

  // Starts a batch: no samples or timestamps yet.
  void BeginBatch();
  // Writes `rows` to sink `sink` (spec index), sampling them into `report`.
  Status Write(size_t sink, const Batch& rows, const WriteContext& context,
               DeadLetters* dead_letters, BatchReport* report);
  // Writes the batch's dead letters, flushes every sink and waits for the
  // acknowledgements; then counts what the sinks wrote into
  // report->records_out (rows an exactly-once sink skipped because an
  // earlier run of the batch delivered them do not count, nor rows it sent
  // to the dead letters), and turns the sampled timestamps into latencies.
  Status Finish(const DeadLetters& dead_letters, BatchId batch_id, BatchReport* report);

 private:
  int64_t RecordsWritten() const;
  // The key group of every row of `rows` for sink `sink`'s partition_by
  // into key_groups_; a row whose key fails becomes a dead letter.
  void ComputeKeyGroups(size_t sink, const Batch& rows, DeadLetters* dead_letters);

  JobPlan& plan_;
  const size_t samples_per_batch_;
  std::vector<uint16_t> key_groups_;  // reused across writes
  std::vector<int64_t> sampled_timestamps_;
  int64_t written_before_batch_ = 0;  // RecordsWritten() at BeginBatch
};

}  // namespace eddy
