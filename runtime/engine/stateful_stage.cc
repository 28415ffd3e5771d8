#include "runtime/engine/stateful_stage.h"

namespace eddy {

Status RunStatefulStage(const JobPlan& plan, const SourcePositions& positions,
                        const StageContext& context, std::vector<Task>& tasks, SinkWriter& sinks,
                        DeadLetters* dead_letters, BatchReport* report,
                        std::vector<NodeStats>* stats_out) {
  const size_t node_count = plan.nodes.size();
  std::vector<NodeStats>& stage_stats = *stats_out;
  stage_stats.assign(node_count, NodeStats());
  std::vector<Batch> outputs(node_count);
  auto input_rows = [&](size_t input) -> Result<Batch> {
    if (!plan.nodes[input].in_task) return outputs[input];
    Batch all(plan.nodes[input].schema);
    for (Task& task : tasks) {
      if (task.has_boundary.empty() || !task.has_boundary[input]) continue;
      EDDY_RETURN_IF_ERROR(all.Append(task.boundary[input]));
    }
    return all;
  };
  for (size_t idx = 0; idx < node_count; ++idx) {
    const PlanNode& node = plan.nodes[idx];
    if (node.in_task || node.late_of) continue;
    NodeStats& stats = stage_stats[idx];
    if (node.dag.kind == DagNode::Kind::kSink) {
      EDDY_ASSIGN_OR_RETURN(Batch rows, input_rows(node.input_nodes[0]));
      stats.rows_in = stats.rows_out = static_cast<int64_t>(rows.num_rows());
      if (rows.num_rows() > 0) {
        EDDY_RETURN_IF_ERROR(
            sinks.Write(node.dag.index, rows, context.batch_id, dead_letters, report));
      }
      continue;
    }
    std::vector<Batch> inputs;
    for (size_t input : node.input_nodes) {
      EDDY_ASSIGN_OR_RETURN(Batch rows, input_rows(input));
      stats.rows_in += static_cast<int64_t>(rows.num_rows());
      inputs.push_back(std::move(rows));
    }
    Batch out(node.schema);
    const size_t dead_before = dead_letters->size();
    const auto started = Clock::now();
    if (node.stateful != nullptr) {
      StatefulBatchContext batch;
      batch.batch_id = context.batch_id.value;
      batch.watermark = positions.NodeWatermark(node, *context.watermarks_before);
      batch.next_watermark = positions.NodeWatermark(node, *context.watermarks_after);
      batch.end_of_input = context.end_of_input;
      batch.table = context.tables->at(idx);
      batch.writes = context.writes;
      batch.key_groups = context.key_groups;
      Batch late;
      const PlanNode* late_node = idx + 1 < node_count && plan.nodes[idx + 1].late_of == idx
                                      ? &plan.nodes[idx + 1]
                                      : nullptr;
      if (late_node != nullptr) late = Batch(late_node->schema);
      EDDY_RETURN_IF_ERROR(node.stateful->ProcessBatch(batch, inputs, &out, &late, dead_letters)
                               .WithContext("operator '" + node.dag.name + "'"));
      if (late_node != nullptr) {
        if (node.stateful->side_output_name() == "late") {
          const auto late_rows = static_cast<int64_t>(late.num_rows());
          report->late_records += late_rows;
          report->late_by_operator.emplace_back(node.dag.name, late_rows);
        }
        stage_stats[idx + 1].rows_in = stage_stats[idx + 1].rows_out =
            static_cast<int64_t>(late.num_rows());
        outputs[idx + 1] = std::move(late);
      }
    } else {
      for (size_t input = 0; input < inputs.size(); ++input) {
        EDDY_RETURN_IF_ERROR(node.op->Process(input, inputs[input], &out, dead_letters)
                                 .WithContext("operator '" + node.dag.name + "'"));
      }
    }
    stats.seconds = SecondsSince(started);
    stats.rows_out = static_cast<int64_t>(out.num_rows());
    stats.bytes_out = static_cast<int64_t>(out.ApproximateBytes());
    stats.dead_letters = static_cast<int64_t>(dead_letters->size() - dead_before);
    outputs[idx] = std::move(out);
  }
  return Status::OK();
}

}  // namespace eddy
