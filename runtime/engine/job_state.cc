#include "runtime/engine/job_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>

#include "runtime/engine/progress.h"

namespace eddy {
namespace {

std::string NewRunId() {
  std::random_device random;
  const uint64_t id = (static_cast<uint64_t>(random()) << 32) ^ random();
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(id));
  return text;
}

}  // namespace

Status JobState::Open(const std::string& from_checkpoint) {
  const std::string db_dir = (std::filesystem::path(plan_.state_dir) / "db").string();
  checkpoints_ = std::make_unique<CheckpointStore>(
      (std::filesystem::path(plan_.durable_dir) / "checkpoints").string(), plan_.checkpoint_keep);
  std::error_code ec;
  if (!from_checkpoint.empty()) {
    EDDY_ASSIGN_OR_RETURN(CheckpointInfo checkpoint, CheckpointStore::Read(from_checkpoint));
    EDDY_RETURN_IF_ERROR(OpenFromCheckpoint(checkpoint, db_dir));
  } else if (std::filesystem::exists(std::filesystem::path(db_dir) / "CURRENT", ec)) {
    Status opened = OpenBackend(db_dir);
    if (!opened.ok() && opened.code() == StatusCode::kCorruption) {
      spdlog::warn("job={} live state in {} is unusable ({}); restoring the newest checkpoint",
                   plan_.job.spec.name(), db_dir, opened.ToString());
      backend_.reset();
      EDDY_RETURN_IF_ERROR(OpenNewestCheckpoint(db_dir));
    } else {
      EDDY_RETURN_IF_ERROR(opened);
      EDDY_ASSIGN_OR_RETURN(bool behind, LiveStateBehindCheckpoints());
      EDDY_ASSIGN_OR_RETURN(bool missing, LiveStateMissesDeferredState());
      if (behind || missing) {
        backend_.reset();
        EDDY_RETURN_IF_ERROR(OpenNewestCheckpoint(db_dir));
        if (missing && !restored_from_) {
          return Status::Corruption("job " + plan_.job.spec.name() +
                                    ": the live state misses the models kept in memory since "
                                    "its last checkpoint, and no checkpoint can be restored");
        }
      }
    }
  } else {
    EDDY_RETURN_IF_ERROR(OpenNewestCheckpoint(db_dir));
  }
  if (!backend_) EDDY_RETURN_IF_ERROR(OpenBackend(db_dir));
  EDDY_ASSIGN_OR_RETURN(auto progress, ReadProgress());
  if (progress) {
    EDDY_RETURN_IF_ERROR(CheckCompatible(plan_, *progress));
    resumed_ = std::move(progress);
    spdlog::info("job={} resuming after batch {}", plan_.job.spec.name(), resumed_->batch_id());
  }
  EDDY_RETURN_IF_ERROR(OpenRun());
  for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
    const PlanNode& node = plan_.nodes[idx];
    if (node.stateful != nullptr) {
      EDDY_ASSIGN_OR_RETURN(tables_[idx], backend_->table(node.dag.name));
    }
  }
  return Status::OK();
}

// A shard's live state is local to the instance that last ran it, its
// checkpoints shared: when another instance ran the shard since (a newer
// checkpoint, or one of another run), the local state is stale and the
// newest checkpoint is where to start. A single-process job's checkpoints
// are taken from its live state, which is never behind them.
Result<bool> JobState::LiveStateBehindCheckpoints() {
  if (plan_.durable_dir == plan_.state_dir) return false;
  EDDY_ASSIGN_OR_RETURN(auto newest, checkpoints_->Latest());
  if (!newest) return false;
  EDDY_ASSIGN_OR_RETURN(auto progress, ReadProgress());
  EDDY_ASSIGN_OR_RETURN(auto run, backend_->GetMeta(kRunIdKey));
  const bool behind = !progress || progress->batch_id() < newest->manifest.batch_id() || !run ||
                      *run != newest->manifest.run_id();
  if (behind) {
    spdlog::info("job={} local state ({}) is behind checkpoint {} (batch {}): restoring it",
                 plan_.job.spec.name(),
                 progress ? "batch " + std::to_string(progress->batch_id()) : "empty", newest->path,
                 newest->manifest.batch_id());
  }
  return behind;
}

// Operators that keep state in memory between checkpoints (a learner's
// model, LearnSpec.model_commit) wrote it to the live state at the last
// checkpoint only. A process that crashed after later batches left live
// state whose progress is ahead of that state: the newest checkpoint holds
// all of it as of its batch, and the offsets log the batches after it.
Result<bool> JobState::LiveStateMissesDeferredState() {
  EDDY_ASSIGN_OR_RETURN(auto progress, ReadProgress());
  if (!progress || !progress->has_deferred_state_batch() ||
      progress->deferred_state_batch() >= progress->batch_id()) {
    return false;
  }
  spdlog::info(
      "job={} live state is at batch {} but holds the in-memory models of batch {} only (the "
      "process did not stop cleanly): restoring the newest checkpoint and replaying the logged "
      "batches after it",
      plan_.job.spec.name(), progress->batch_id(), progress->deferred_state_batch());
  return true;
}

// The run id identifies this job's output; it is created with the state
// and restored with it.
Status JobState::OpenRun() {
  EDDY_ASSIGN_OR_RETURN(auto run, backend_->GetMeta(kRunIdKey));
  if (run) {
    run_id_ = *run;
    return Status::OK();
  }
  new_run_ = true;
  run_id_ = NewRunId();
  StateWriteBatch writes;
  writes.PutMeta(kRunIdKey, run_id_);
  return backend_->Commit(std::move(writes), /*sync=*/true);
}

Status JobState::Commit(StateWriteBatch writes, const state::CheckpointManifest& progress) {
  EDDY_RETURN_IF_ERROR(CheckFence(plan_.fence.get()));
  writes.PutMeta(kProgressKey, progress.SerializeAsString());
  return backend_->Commit(std::move(writes));
}

Status JobState::OpenBackend(const std::string& db_dir) {
  StateBackendOptions options;
  options.dir = db_dir;
  options.key_groups = plan_.key_groups;
  options.budget = plan_.state_budget;
  for (const PlanNode& node : plan_.nodes) {
    if (node.stateful != nullptr) options.tables.push_back(node.dag.name);
  }
  EDDY_ASSIGN_OR_RETURN(backend_, StateBackend::Open(options));
  return Status::OK();
}

Result<std::optional<state::CheckpointManifest>> JobState::ReadProgress() const {
  EDDY_ASSIGN_OR_RETURN(auto stored, backend_->GetMeta(kProgressKey));
  if (!stored) return std::optional<state::CheckpointManifest>();
  state::CheckpointManifest progress;
  if (!progress.ParseFromString(*stored)) {
    return Status::Corruption("job state in " + backend_->dir() + ": unreadable progress record");
  }
  return std::optional<state::CheckpointManifest>(std::move(progress));
}

// Restores `checkpoint` as the live state and checks that it holds the
// batch its manifest names.
Status JobState::OpenFromCheckpoint(const CheckpointInfo& checkpoint, const std::string& db_dir) {
  backend_.reset();
  EDDY_RETURN_IF_ERROR(CheckpointStore::RestoreInto(checkpoint, db_dir));
  EDDY_RETURN_IF_ERROR(OpenBackend(db_dir));
  auto progress = ReadProgress();
  Status status = progress.status();
  if (status.ok() && (!*progress || (*progress)->batch_id() != checkpoint.manifest.batch_id())) {
    status = Status::Corruption("its state does not hold batch " +
                                std::to_string(checkpoint.manifest.batch_id()));
  }
  if (!status.ok()) {
    backend_.reset();
    return status;
  }
  spdlog::info("job={} restored state from checkpoint {} (batch {})", plan_.job.spec.name(),
               checkpoint.path, checkpoint.manifest.batch_id());
  restored_from_ = checkpoint;
  return Status::OK();
}

// Tries the complete checkpoints newest first; a damaged one is logged and
// skipped, and so are half-written ones.
Status JobState::OpenNewestCheckpoint(const std::string& db_dir) {
  EDDY_ASSIGN_OR_RETURN(auto checkpoints, checkpoints_->List());
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(plan_.durable_dir) / "checkpoints", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("chk-", 0) != 0 && name.rfind(".tmp-chk-", 0) != 0) continue;
    const bool complete = std::any_of(checkpoints.begin(), checkpoints.end(), [&](const auto& c) {
      return std::filesystem::path(c.path).filename() == entry.path().filename();
    });
    if (!complete) {
      spdlog::warn("job={} ignoring incomplete checkpoint {} (no readable manifest)",
                   plan_.job.spec.name(), entry.path().string());
    }
  }
  for (size_t idx = 0; idx < checkpoints.size(); ++idx) {
    Status opened = OpenFromCheckpoint(checkpoints[idx], db_dir);
    if (opened.ok()) return Status::OK();
    spdlog::warn("job={} checkpoint {} is unusable ({}); falling back to {}", plan_.job.spec.name(),
                 checkpoints[idx].path, opened.ToString(),
                 idx + 1 < checkpoints.size() ? checkpoints[idx + 1].path : "an empty state");
    std::filesystem::remove_all(db_dir, ec);
  }
  return Status::OK();
}

}  // namespace eddy
