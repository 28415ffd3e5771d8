#pragma once
// Task: one source partition's share of a batch, as the executor's steps
// pass it along. Planned by the batch planner, read and processed on a
// worker thread (task_runner.h), written to the sinks in task order
// (sink_writer.h), its boundary rows read by the batch-wide stage
// (stateful_stage.h). Engine-internal.

#include <optional>
#include <vector>

#include "connectors/core/source.h"
#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/core/status.h"
#include "runtime/engine/batch_report.h"

namespace eddy {

struct Task {
  size_t source = 0;       // spec index
  size_t source_node = 0;  // plan node index of the source
  PartitionRange range;
  Status status;
  Batch input;
  DeadLetters dead_letters;
  // Per sink (spec index): the rows this task hands to it.
  std::vector<Batch> sink_rows;
  std::vector<bool> has_sink_rows;
  // Per plan node: rows of in-task nodes that once-per-batch nodes read.
  std::vector<Batch> boundary;
  std::vector<bool> has_boundary;
  std::vector<NodeStats> node_stats;  // per plan node
  std::optional<TimestampMicros> max_event_time;
  // Watermarks the range's records forwarded (Source::TakeUpstreamWatermarks).
  std::vector<UpstreamWatermark> upstream_watermarks;
  double read_seconds = 0;
  double process_seconds = 0;
};

}  // namespace eddy
