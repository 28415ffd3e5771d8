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

// RunTask's second step: pushes task.input, already read, through the
// in-task nodes into task.sink_rows and task.boundary, with node stats and
// dead letters. Separate so tests can hand a task rows of their own.
//
// A node whose operator SelectsRows (a filter) yields its input shared and
// a row list, not a copy; a consumer that ReadsSelectedRows (a select)
// reads those rows from the shared input, copying only the columns it
// needs, and any other reader (an operator, a sink, the batch-wide stage)
// gets the rows gathered, once per node (operators/core/operator.h).
Status ProcessTask(const JobPlan& plan, Task& task);

}  // namespace eddy
