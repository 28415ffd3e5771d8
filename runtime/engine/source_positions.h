#pragma once
// SourcePositions: where every source partition stands — its next offset,
// the largest event time it delivered, when it last had records, whether it
// sits out of the watermark in the current batch — and each source's
// watermark. The executor's driver thread owns it; it is committed with
// every batch as part of the job's progress (progress.h) and restored from
// it.
//
// Event time (docs/windows.md): a partition's watermark is its largest
// event time less the source's out-of-orderness bound; a source's is the
// smallest over its partitions that are not idle; a node's the smallest
// over the sources upstream of it. Watermarks never go back.
//
// A source whose records carry the watermarks of writers upstream
// (Source::upstream_writers: a repartition topic of a scaled-out job)
// takes a partition's event time from them instead: the smallest of its
// writers' watermarks, leaving out the writers that said they are idle
// (the largest when all are), none until every writer has spoken — as a
// Flink operator takes the smallest watermark over its input channels.

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/engine/clock.h"
#include "runtime/engine/job_plan.h"
#include "runtime/engine/task.h"
#include "state/checkpoint.pb.h"

namespace eddy {

using Watermarks = std::vector<std::optional<TimestampMicros>>;  // per source

class SourcePositions {
 public:
  explicit SourcePositions(const JobPlan& plan)
      : plan_(plan),
        partitions_(plan.sources.size()),
        idle_(plan.sources.size()),
        watermarks_(plan.sources.size()) {}

  // Starts source `source` at `initial` (its InitialOffsets), all
  // partitions active as of `now`.
  void Init(size_t source, const Offsets& initial, Clock::time_point now);
  // Overrides source `source`'s offsets, event times and watermark with
  // what `progress` recorded for it.
  void Restore(size_t source, const state::CheckpointManifest& progress);
  // Records every source's positions and watermark into `progress`.
  void Save(state::CheckpointManifest* progress) const;

  Offset next_offset(size_t source, size_t partition) const {
    return partitions_[source][partition].next_offset;
  }
  Offsets NextOffsets(size_t source) const;
  bool idle(size_t source, size_t partition) const { return idle_[source][partition]; }
  void set_idle(size_t source, size_t partition, bool idle) { idle_[source][partition] = idle; }
  const Watermarks& watermarks() const { return watermarks_; }

  // Marks the partitions that sit out of their source's watermark in the
  // next batch: no records in it (`tasks`), and none for the idle timeout.
  void DecideIdlePartitions(const std::vector<Task>& tasks, Clock::time_point now);
  // Counts the batch's rows into the partitions' event times and advances
  // the watermarks; the batch itself ran under the watermarks before.
  void AdvanceEventTime(const std::vector<Task>& tasks, Clock::time_point now);
  // True when a partition with an idle timeout that is not idle yet has
  // had no records for it by `now`: a batch without records would mark it
  // idle (one a job that forwards watermarks runs, to tell its readers).
  bool WouldTurnIdle(Clock::time_point now) const;
  // Moves each task's partition past its range, once the batch committed.
  void AdvanceOffsets(const std::vector<Task>& tasks);

  // The watermark of `node` under `watermarks`: the smallest of its
  // upstream sources'; nullopt while one of them has none.
  std::optional<TimestampMicros> NodeWatermark(const PlanNode& node,
                                               const Watermarks& watermarks) const;

 private:
  struct UpstreamMark {
    bool seen = false;
    TimestampMicros watermark = 0;
    bool idle = false;
  };
  struct PartitionState {
    Offset next_offset;
    // Forwarded watermarks: the partition's watermark, not its rows' time.
    std::optional<TimestampMicros> max_event_time;
    Clock::time_point last_active;
    std::vector<UpstreamMark> upstream;  // per upstream writer; empty when none
  };

  std::optional<TimestampMicros> ComputeWatermark(size_t source) const;
  // Takes a task's forwarded watermarks into its partition's event time.
  void AdvanceForwarded(const Task& task, PartitionState* partition) const;

  const JobPlan& plan_;
  std::vector<std::vector<PartitionState>> partitions_;  // per source, per partition
  std::vector<std::vector<bool>> idle_;                  // per source, per partition
  Watermarks watermarks_;                                // per source
};

}  // namespace eddy
