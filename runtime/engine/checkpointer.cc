#include "runtime/engine/checkpointer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace eddy {

void Checkpointer::Start(int64_t last_committed_batch) {
  const auto now = Clock::now();
  last_checkpoint_ = now;
  batches_since_checkpoint_ = last_committed_batch;
  Status cleaned = state_.checkpoints().RemoveLeftovers();
  if (!cleaned.ok()) spdlog::warn("job={} {}", plan_.job.spec.name(), cleaned.ToString());
  auto newest = state_.checkpoints().Latest();
  if (!newest.ok()) {
    spdlog::warn("job={} {}", plan_.job.spec.name(), newest.status().ToString());
    return;
  }
  if (!*newest) return;  // none yet: every committed batch counts
  const state::CheckpointManifest& manifest = (*newest)->manifest;
  // Restored from an older checkpoint, the newest may be ahead: nothing to count.
  batches_since_checkpoint_ = std::max<int64_t>(0, last_committed_batch - manifest.batch_id());
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  last_checkpoint_ =
      now - std::chrono::milliseconds(std::max<int64_t>(0, now_ms - manifest.created_unix_ms()));
}

bool Checkpointer::Due() const {
  const bool interval_due = plan_.checkpoint_interval_micros > 0 &&
                            Clock::now() - last_checkpoint_ >=
                                std::chrono::microseconds(plan_.checkpoint_interval_micros);
  return batches_since_checkpoint_ >= plan_.checkpoint_every_batches || interval_due;
}

void Checkpointer::Write(state::CheckpointManifest progress, BatchReport* report) {
  const auto started = Clock::now();
  const int64_t batch_id = progress.batch_id();
  progress.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  // A fenced shard publishes nothing: the new owner's checkpoints win.
  Status fenced = CheckFence(plan_.fence.get());
  Result<CheckpointInfo> written =
      fenced.ok() ? state_.checkpoints().Write(state_.backend(), std::move(progress))
                  : Result<CheckpointInfo>(std::move(fenced));
  report->checkpoint_seconds = SecondsSince(started);
  if (!written.ok()) {
    report->checkpoint_error = written.status().ToString();
    spdlog::warn("job={} checkpoint after batch {} failed: {}", plan_.job.spec.name(), batch_id,
                 report->checkpoint_error);
    return;
  }
  report->checkpointed = true;
  report->checkpoint_bytes = written->manifest.size_bytes();
  batches_since_checkpoint_ = 0;
  last_checkpoint_ = Clock::now();
  if (on_written_) on_written_(written->path, written->manifest.batch_id());
  // The log keeps the batches after the oldest checkpoint kept: those a
  // restore may run again.
  auto kept = state_.checkpoints().List();
  if (kept.ok() && !kept->empty()) {
    Status truncated = planner_.TruncateBefore(kept->back().manifest.batch_id() + 1);
    if (!truncated.ok()) spdlog::warn("job={} {}", plan_.job.spec.name(), truncated.ToString());
  }
}

}  // namespace eddy
