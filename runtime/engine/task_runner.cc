#include "runtime/engine/task_runner.h"

#include <atomic>

#include "runtime/engine/clock.h"

namespace eddy {
namespace {

// One in-task node's rows: a batch of its own, or, for a node whose
// operator SelectsRows, a row list over a batch an upstream node holds,
// gathered into a batch of its own the first time a reader needs it dense
// (at most once per node and task).
struct NodeRows {
  bool present = false;
  Batch own;
  // When set, the rows are `*shared` itself (selection null) or rows
  // `*selection` of it: owned by an upstream NodeRows, which outlives us.
  const Batch* shared = nullptr;
  const std::vector<uint32_t>* selection = nullptr;

  bool gathered = false;  // `own` holds the selected rows

  bool selected() const { return selection != nullptr; }
  size_t num_rows() const {
    if (selected()) return selection->size();
    return shared != nullptr ? shared->num_rows() : own.num_rows();
  }
  // The rows as one batch.
  const Batch& Dense() {
    if (shared == nullptr) return own;
    if (!selected()) return *shared;
    if (!gathered) {
      own = shared->Gather(*selection);
      gathered = true;
    }
    return own;
  }
};

// Runs a node whose operator SelectsRows on its one input: keeps the
// input batch shared and the operator's row list, no copy of the rows.
Status SelectNodeRows(const PlanNode& node, NodeRows& input, std::vector<uint32_t>& rows,
                      NodeRows& result, NodeStats& stats, DeadLetters& dead_letters) {
  const Batch& dense = input.Dense();
  EDDY_RETURN_IF_ERROR(node.op->SelectRows(dense, &rows, &dead_letters)
                           .WithContext("operator '" + node.dag.name + "'"));
  stats.rows_in = static_cast<int64_t>(dense.num_rows());
  stats.rows_out = static_cast<int64_t>(rows.size());
  // bytes_out as the input's bytes scaled by the rows kept, so that it is
  // known without gathering: exact for fixed-width columns, an average for
  // strings (Batch::ApproximateBytes of the gathered rows is what dense
  // nodes report).
  stats.bytes_out = dense.num_rows() == 0
                        ? 0
                        : static_cast<int64_t>(static_cast<double>(dense.ApproximateBytes()) *
                                               static_cast<double>(rows.size()) /
                                               static_cast<double>(dense.num_rows()));
  result.shared = &dense;
  // Every row kept: the input itself, as Process shares it.
  result.selection = rows.size() == dense.num_rows() ? nullptr : &rows;
  result.present = true;
  return Status::OK();
}

// Runs any other operator node over each of its inputs with rows; an input
// that is a row list goes to ProcessSelected when the operator reads those.
Status ProcessNodeRows(const PlanNode& node, std::vector<NodeRows>& outputs, NodeRows& result,
                       NodeStats& stats, DeadLetters& dead_letters) {
  Batch out(node.schema);
  for (size_t input_idx = 0; input_idx < node.input_nodes.size(); ++input_idx) {
    NodeRows& input = outputs[node.input_nodes[input_idx]];
    if (!input.present) continue;
    stats.rows_in += static_cast<int64_t>(input.num_rows());
    const Status status = input.selected() && node.op->ReadsSelectedRows()
                              ? node.op->ProcessSelected(input_idx, *input.shared, *input.selection,
                                                         &out, &dead_letters)
                              : node.op->Process(input_idx, input.Dense(), &out, &dead_letters);
    EDDY_RETURN_IF_ERROR(status.WithContext("operator '" + node.dag.name + "'"));
  }
  stats.rows_out = static_cast<int64_t>(out.num_rows());
  stats.bytes_out = static_cast<int64_t>(out.ApproximateBytes());
  result.own = std::move(out);
  result.present = true;
  return Status::OK();
}

}  // namespace

Status ProcessTask(const JobPlan& plan, Task& task) {
  const size_t node_count = plan.nodes.size();
  task.node_stats.assign(node_count, NodeStats());
  {
    NodeStats& source_stats = task.node_stats[task.source_node];
    source_stats.rows_in = task.range.size();
    source_stats.rows_out = static_cast<int64_t>(task.input.num_rows());
    source_stats.bytes_out = static_cast<int64_t>(task.input.ApproximateBytes());
    source_stats.dead_letters = static_cast<int64_t>(task.dead_letters.size());
  }
  // The row lists of selecting nodes, kept by each worker thread from task
  // to task so that steady batches do not allocate them again.
  thread_local std::vector<std::vector<uint32_t>> selections;
  if (selections.size() < node_count) selections.resize(node_count);
  std::vector<NodeRows> outputs(node_count);
  outputs[task.source_node].own = std::move(task.input);
  outputs[task.source_node].present = true;
  task.sink_rows.assign(plan.sinks.size(), Batch());
  task.has_sink_rows.assign(plan.sinks.size(), false);
  task.boundary.assign(node_count, Batch());
  task.has_boundary.assign(node_count, false);
  for (size_t idx = task.source_node + 1; idx < node_count; ++idx) {
    const PlanNode& node = plan.nodes[idx];
    if (node.dag.kind == DagNode::Kind::kSource || !node.in_task) continue;
    bool any_input = false;
    for (size_t input : node.input_nodes) any_input |= outputs[input].present;
    if (!any_input) continue;
    NodeStats& stats = task.node_stats[idx];
    if (node.dag.kind == DagNode::Kind::kSink) {
      // Sinks encode whole batches: they get the rows gathered.
      const Batch& rows = outputs[node.input_nodes[0]].Dense();
      stats.rows_in = stats.rows_out = static_cast<int64_t>(rows.num_rows());
      stats.bytes_out = static_cast<int64_t>(rows.ApproximateBytes());
      task.sink_rows[node.dag.index] = rows;
      task.has_sink_rows[node.dag.index] = true;
      continue;
    }
    const size_t dead_before = task.dead_letters.size();
    if (node.op->SelectsRows() && node.input_nodes.size() == 1) {
      EDDY_RETURN_IF_ERROR(SelectNodeRows(node, outputs[node.input_nodes[0]], selections[idx],
                                          outputs[idx], stats, task.dead_letters));
    } else {
      EDDY_RETURN_IF_ERROR(ProcessNodeRows(node, outputs, outputs[idx], stats, task.dead_letters));
    }
    stats.dead_letters = static_cast<int64_t>(task.dead_letters.size() - dead_before);
  }
  // Rows that once-per-batch nodes read from this task, gathered.
  for (size_t idx = 0; idx < node_count; ++idx) {
    if (!outputs[idx].present || !plan.nodes[idx].in_task) continue;
    for (size_t consumer : plan.nodes[idx].consumers) {
      if (plan.nodes[consumer].in_task) continue;
      task.boundary[idx] = outputs[idx].Dense();
      task.has_boundary[idx] = true;
      break;
    }
  }
  return Status::OK();
}

void RunTask(const JobPlan& plan, Task& task) {
  static const std::atomic<bool> kNeverCancel{false};
  const auto read_start = Clock::now();
  Source& source = *plan.sources[task.source];
  task.input = Batch(source.schema());
  task.status = source.Read(task.range, kNeverCancel, &task.input, &task.dead_letters);
  if (source.upstream_writers() > 0) {
    task.upstream_watermarks = source.TakeUpstreamWatermarks(task.range.partition_index);
  }
  // Decoders do not know which node they serve.
  for (DeadLetter& letter : task.dead_letters) {
    if (letter.node.empty()) letter.node = source.name();
  }
  task.read_seconds = SecondsSince(read_start);
  if (!task.status.ok()) return;
  if (const auto& column = plan.event_time[task.source].column) {
    const Column& times = task.input.column(*column);
    for (size_t row = 0; row < times.size(); ++row) {
      if (times.IsNull(row)) continue;
      if (!task.max_event_time || times.GetInt64(row) > *task.max_event_time) {
        task.max_event_time = times.GetInt64(row);
      }
    }
  }
  const auto process_start = Clock::now();
  task.status = ProcessTask(plan, task);
  task.process_seconds = SecondsSince(process_start);
}

}  // namespace eddy
