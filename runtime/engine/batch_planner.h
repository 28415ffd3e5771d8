#pragma once
// The first two steps of a batch: plan it, and log it.
//
// Planning fixes each source partition's offset range for the batch: from
// its next offset up to what is available, capped by
// trigger.max_records_per_partition. Logging makes the plan durable in the
// offsets log (state/offsets_log.h) before the batch runs. A batch that is
// already in the log — one a crash interrupted, or one after a restored
// checkpoint — is not planned again: it runs as logged, with the idle
// decisions it was logged with, so its outputs are the same records and
// exactly-once sinks can skip what already landed (docs/exactly-once.md).
//
// Thread-safety: the executor's driver thread only.

#include <memory>
#include <optional>
#include <vector>

#include "runtime/engine/job_plan.h"
#include "runtime/engine/progress.h"
#include "runtime/engine/source_positions.h"
#include "runtime/engine/task.h"
#include "state/checkpoint.pb.h"
#include "state/offsets_log.h"

namespace eddy {

// A batch's tasks in plan order (by source, then partition).
struct PlannedTasks {
  std::vector<Task> tasks;
  bool from_log = false;      // runs again as the offsets log recorded it
  bool end_of_input = false;  // the final batch (PlannedBatch.end_of_input)
};

class BatchPlanner {
 public:
  // `source_node`: each source's plan node index, by source spec index.
  BatchPlanner(const JobPlan& plan, SourcePositions& positions, std::vector<size_t> source_node);

  // Opens the offsets log beside the state. A new run (state created now)
  // clears what another run left; otherwise the batches logged after
  // `last_batch_id` (the last committed) will run again first.
  Status Open(bool new_run, int64_t last_batch_id);

  // The logged plan of the next batch, if the log holds one: where the
  // sinks stood before it is what their recovery starts from.
  const state::PlannedBatch* logged() const { return logged_ ? &*logged_ : nullptr; }

  // The next batch's tasks: the logged batch after `last_batch_id` while
  // the log has one (its idle decisions restored into the positions), else
  // new ranges up to `latest` (per source, per partition). Empty when
  // nothing is available.
  Result<PlannedTasks> Next(int64_t last_batch_id, const std::vector<Offsets>& latest);

  // Durably records new batch `batch_id`: every partition's range and idle
  // decision, and where the sinks stand before it.
  // `end_of_input`: the final batch (no tasks).
  Status Log(const std::vector<Task>& tasks, int64_t batch_id, const SinkPositions& sinks,
             bool end_of_input = false);

  // Drops the log's batches before `batch_id` (no kept checkpoint can
  // replay them).
  Status TruncateBefore(int64_t batch_id) { return log_->TruncateBefore(batch_id); }

 private:
  Status LoadLogged(int64_t batch_id);
  Result<std::vector<Task>> TasksFromLog(const state::PlannedBatch& planned);
  std::vector<Task> PlanTasks(const std::vector<Offsets>& latest) const;

  const JobPlan& plan_;
  SourcePositions& positions_;
  const std::vector<size_t> source_node_;
  std::unique_ptr<OffsetsLog> log_;
  // The logged batch to run next, if any; replay_logged_ while the log may
  // hold more after it.
  std::optional<state::PlannedBatch> logged_;
  bool replay_logged_ = false;
};

}  // namespace eddy
