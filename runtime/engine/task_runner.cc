#include "runtime/engine/task_runner.h"

#include <atomic>

#include "runtime/engine/clock.h"

namespace eddy {
namespace {

// Pushes one task's input through the in-task nodes downstream of its
// source, keeping what once-per-batch nodes will read.
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
  std::vector<Batch> outputs(node_count);
  std::vector<bool> has_output(node_count, false);
  outputs[task.source_node] = std::move(task.input);
  has_output[task.source_node] = true;
  task.sink_rows.assign(plan.sinks.size(), Batch());
  task.has_sink_rows.assign(plan.sinks.size(), false);
  task.boundary.assign(node_count, Batch());
  task.has_boundary.assign(node_count, false);
  for (size_t idx = task.source_node + 1; idx < node_count; ++idx) {
    const PlanNode& node = plan.nodes[idx];
    if (node.dag.kind == DagNode::Kind::kSource || !node.in_task) continue;
    bool any_input = false;
    for (size_t input : node.input_nodes) any_input |= has_output[input];
    if (!any_input) continue;
    if (node.dag.kind == DagNode::Kind::kSink) {
      const size_t input = node.input_nodes[0];
      NodeStats& sink_stats = task.node_stats[idx];
      sink_stats.rows_in = sink_stats.rows_out = static_cast<int64_t>(outputs[input].num_rows());
      sink_stats.bytes_out = static_cast<int64_t>(outputs[input].ApproximateBytes());
      task.sink_rows[node.dag.index] = outputs[input];
      task.has_sink_rows[node.dag.index] = true;
      continue;
    }
    Batch out(node.schema);
    NodeStats& stats = task.node_stats[idx];
    const size_t dead_before = task.dead_letters.size();
    for (size_t input_idx = 0; input_idx < node.input_nodes.size(); ++input_idx) {
      const size_t input = node.input_nodes[input_idx];
      if (!has_output[input]) continue;
      stats.rows_in += static_cast<int64_t>(outputs[input].num_rows());
      EDDY_RETURN_IF_ERROR(node.op->Process(input_idx, outputs[input], &out, &task.dead_letters)
                               .WithContext("operator '" + node.dag.name + "'"));
    }
    stats.rows_out = static_cast<int64_t>(out.num_rows());
    stats.bytes_out = static_cast<int64_t>(out.ApproximateBytes());
    stats.dead_letters = static_cast<int64_t>(task.dead_letters.size() - dead_before);
    outputs[idx] = std::move(out);
    has_output[idx] = true;
  }
  // Rows that once-per-batch nodes read from this task.
  for (size_t idx = 0; idx < node_count; ++idx) {
    if (!has_output[idx] || !plan.nodes[idx].in_task) continue;
    for (size_t consumer : plan.nodes[idx].consumers) {
      if (plan.nodes[consumer].in_task) continue;
      task.boundary[idx] = outputs[idx];
      task.has_boundary[idx] = true;
      break;
    }
  }
  return Status::OK();
}

}  // namespace

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
