#pragma once
// JobState: the job's RocksDB state as the executor opens, reads and commits
// it. Opening picks where the state comes from — a --from-checkpoint
// directory, else the live database (which holds every committed batch),
// else the newest usable checkpoint (damaged and half-written ones are
// logged and skipped) — checks that the stored state fits the job's
// stateful operators, and reads the committed progress and the run id (new
// state starts a new run). Committing writes a batch's state changes and
// the progress they correspond to in one RocksDB write.
//
// Thread-safety: the executor's driver thread only; the tables are read by
// the batch-wide stage on that thread.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "runtime/engine/job_plan.h"
#include "state/checkpoint.pb.h"
#include "state/checkpoint_store.h"
#include "state/state_backend.h"

namespace eddy {

class JobState {
 public:
  explicit JobState(const JobPlan& plan) : plan_(plan) {}

  // Opens the state (see above); `from_checkpoint` is a chk-... directory
  // to start from, or empty.
  Status Open(const std::string& from_checkpoint);

  StateBackend& backend() { return *backend_; }
  CheckpointStore& checkpoints() { return *checkpoints_; }
  int key_groups() const { return backend_->key_groups(); }
  // The progress committed before this run started, if any.
  const std::optional<state::CheckpointManifest>& resumed() const { return resumed_; }
  // The checkpoint the state was restored from at Open (its size in
  // bytes), or nullopt when it came from the live database or is new.
  const std::optional<CheckpointInfo>& restored_from() const { return restored_from_; }
  // The last batch committed before this run started (0: none).
  int64_t last_committed_batch() const { return resumed_ ? resumed_->batch_id() : 0; }
  const std::string& run_id() const { return run_id_; }
  // The state was created now: logged batches of another run do not apply.
  bool new_run() const { return new_run_; }
  // Per stateful plan node (node index): its table.
  const std::map<size_t, StateTable*>& tables() const { return tables_; }

  // Commits a batch's state changes together with `progress` (the
  // positions and sinks after the batch).
  Status Commit(StateWriteBatch writes, const state::CheckpointManifest& progress);

 private:
  Status OpenBackend(const std::string& db_dir);
  Status OpenFromCheckpoint(const CheckpointInfo& checkpoint, const std::string& db_dir);
  Status OpenNewestCheckpoint(const std::string& db_dir);
  Result<std::optional<state::CheckpointManifest>> ReadProgress() const;
  Status OpenRun();
  Result<bool> LiveStateBehindCheckpoints();
  Result<bool> LiveStateMissesDeferredState();

  const JobPlan& plan_;
  std::unique_ptr<StateBackend> backend_;
  std::unique_ptr<CheckpointStore> checkpoints_;
  std::optional<state::CheckpointManifest> resumed_;
  std::optional<CheckpointInfo> restored_from_;
  std::string run_id_;
  bool new_run_ = false;
  std::map<size_t, StateTable*> tables_;
};

}  // namespace eddy
