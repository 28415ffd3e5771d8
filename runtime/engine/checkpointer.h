#pragma once
// The checkpoint step: after every checkpoint.every_batches batches, or
// checkpoint.interval, a savepoint request and a clean stop, the state is
// copied into an atomic checkpoint (state/checkpoint_store.h) with the
// job's progress as its manifest. A failed checkpoint does not fail the
// job: its live state is intact and the next one may succeed; the failure
// is reported with the batch. After each checkpoint, the offsets log keeps
// only the batches a restore of a kept checkpoint may run again.
//
// Thread-safety: the executor's driver thread only.

#include <functional>
#include <string>

#include "runtime/engine/batch_planner.h"
#include "runtime/engine/batch_report.h"
#include "runtime/engine/clock.h"
#include "runtime/engine/job_plan.h"
#include "runtime/engine/job_state.h"

namespace eddy {

class Checkpointer {
 public:
  using OnCheckpoint = std::function<void(const std::string& path, int64_t batch_id)>;

  Checkpointer(const JobPlan& plan, JobState& state, BatchPlanner& planner, OnCheckpoint on_written)
      : plan_(plan),
        state_(state),
        planner_(planner),
        on_written_(std::move(on_written)),
        last_checkpoint_(Clock::now()) {}

  // The job is open, its last committed batch `last_committed_batch`:
  // removes what an interrupted checkpoint left (.tmp-chk-*), and counts
  // batches and time from the newest checkpoint, not from this process's
  // start, so a job restarted more often than every_batches batches (or
  // checkpoint.interval) still checkpoints. A failure to read the
  // checkpoints is logged: the first Write reports it again.
  void Start(int64_t last_committed_batch);
  // Counts a committed batch.
  void BatchCommitted() { ++batches_since_checkpoint_; }
  // Committed batches since the last checkpoint.
  int64_t batches_since_checkpoint() const { return batches_since_checkpoint_; }
  // Enough batches or time have passed since the last checkpoint.
  bool Due() const;

  // Writes a checkpoint whose manifest is `progress`; the outcome goes into
  // `report` (checkpointed, seconds, bytes, or the error).
  void Write(state::CheckpointManifest progress, BatchReport* report);

 private:
  const JobPlan& plan_;
  JobState& state_;
  BatchPlanner& planner_;
  OnCheckpoint on_written_;
  int64_t batches_since_checkpoint_ = 0;
  Clock::time_point last_checkpoint_;
};

}  // namespace eddy
