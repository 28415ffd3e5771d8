#pragma once
// The batch-wide stage: the nodes that see the whole batch at once —
// stateful operators (windows, keyed aggregates, lookup joins, learners),
// the stateless operators and sinks downstream of them, and the side
// outputs — run once per batch after every task finished, over the tasks'
// rows concatenated in task order, so a replay sees the same rows in the
// same order. Stateful operators write their state changes into the batch's
// StateWriteBatch, which commits with the batch.

#include <map>
#include <vector>

#include "runtime/engine/batch_report.h"
#include "runtime/engine/job_plan.h"
#include "runtime/engine/sink_writer.h"
#include "runtime/engine/source_positions.h"
#include "runtime/engine/task.h"
#include "state/state_backend.h"

namespace eddy {

struct StageContext {
  BatchId batch_id{0};
  // The watermarks the batch runs under (fixed before it), and those once
  // its rows are counted (windows ending before them fire now).
  const Watermarks* watermarks_before = nullptr;
  const Watermarks* watermarks_after = nullptr;
  bool end_of_input = false;                              // the final batch (StatefulBatchContext)
  const std::map<size_t, StateTable*>* tables = nullptr;  // node index -> its table
  int key_groups = 0;
  StateWriteBatch* writes = nullptr;
};

// Runs the batch-wide nodes over `tasks`' boundary rows; sink rows go
// through `sinks`. Adds each node's rows to `stats` (per plan node).
Status RunStatefulStage(const JobPlan& plan, const SourcePositions& positions,
                        const StageContext& context, std::vector<Task>& tasks, SinkWriter& sinks,
                        DeadLetters* dead_letters, BatchReport* report,
                        std::vector<NodeStats>* stats);

}  // namespace eddy
