#pragma once
// The read step and the in-task stages of a batch: a task reads exactly its
// range from its source, notes the largest event time it saw, and pushes
// the rows through the in-task nodes downstream of its source (stateless
// operators, and the sinks fed by them), keeping the rows that the
// batch-wide stage will read. Runs on a worker thread; tasks share nothing
// mutable, so any interleaving gives the same outputs.

#include "runtime/engine/job_plan.h"
#include "runtime/engine/task.h"

namespace eddy {

// Reads and processes `task`; the outcome is in task.status.
void RunTask(const JobPlan& plan, Task& task);

}  // namespace eddy
