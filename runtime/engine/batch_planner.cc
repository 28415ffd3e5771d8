#include "runtime/engine/batch_planner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <tuple>

namespace eddy {

BatchPlanner::BatchPlanner(const JobPlan& plan, SourcePositions& positions,
                           std::vector<size_t> source_node)
    : plan_(plan), positions_(positions), source_node_(std::move(source_node)) {}

Status BatchPlanner::Open(bool new_run, int64_t last_batch_id) {
  log_ =
      std::make_unique<OffsetsLog>((std::filesystem::path(plan_.durable_dir) / "offsets").string());
  if (new_run) {
    // New state is a new run: a log left by another run does not apply.
    EDDY_RETURN_IF_ERROR(log_->TruncateBefore(std::numeric_limits<int64_t>::max()));
  }
  replay_logged_ = true;
  return LoadLogged(last_batch_id + 1);
}

Status BatchPlanner::LoadLogged(int64_t batch_id) {
  if (!replay_logged_ || logged_) return Status::OK();
  EDDY_ASSIGN_OR_RETURN(logged_, log_->Read(batch_id));
  if (!logged_) {
    replay_logged_ = false;  // the log ends here; later batches are new
    return Status::OK();
  }
  spdlog::info("job={} batch {} is in the offsets log: running it again over the same offsets",
               plan_.job.spec.name(), logged_->batch_id());
  return Status::OK();
}

Result<PlannedTasks> BatchPlanner::Next(int64_t last_batch_id, const std::vector<Offsets>& latest) {
  EDDY_RETURN_IF_ERROR(LoadLogged(last_batch_id + 1));
  PlannedTasks planned;
  if (logged_) {
    EDDY_ASSIGN_OR_RETURN(planned.tasks, TasksFromLog(*logged_));
    planned.from_log = true;
    planned.end_of_input = logged_->end_of_input();
    logged_.reset();
  } else {
    planned.tasks = PlanTasks(latest);
  }
  return planned;
}

std::vector<Task> BatchPlanner::PlanTasks(const std::vector<Offsets>& latest) const {
  std::vector<Task> tasks;
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    for (size_t part = 0; part < latest[source].size(); ++part) {
      const Offset start = positions_.next_offset(source, part);
      const Offset end = std::min(latest[source][part], start + plan_.max_records_per_partition);
      if (end <= start) continue;
      Task task;
      task.source = source;
      task.source_node = source_node_[source];
      task.range = {part, start, end};
      tasks.push_back(std::move(task));
    }
  }
  return tasks;
}

Status BatchPlanner::Log(const std::vector<Task>& tasks, int64_t batch_id,
                         const SinkPositions& sinks, bool end_of_input) {
  state::PlannedBatch planned;
  planned.set_batch_id(batch_id);
  planned.set_end_of_input(end_of_input);
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    state::PlannedSource* planned_source = planned.add_sources();
    planned_source->set_source(plan_.sources[source]->name());
    const auto& partitions = plan_.sources[source]->partitions();
    for (size_t part = 0; part < partitions.size(); ++part) {
      state::PlannedRange* range = planned_source->add_partitions();
      range->set_topic(partitions[part].topic);
      range->set_partition(partitions[part].partition.value);
      range->set_start(positions_.next_offset(source, part).value);
      range->set_end(positions_.next_offset(source, part).value);
      range->set_idle(positions_.idle(source, part));
    }
  }
  for (const Task& task : tasks) {
    planned.mutable_sources(static_cast<int>(task.source))
        ->mutable_partitions(static_cast<int>(task.range.partition_index))
        ->set_end(task.range.end.value);
  }
  *planned.mutable_sinks() = sinks;
  // A shard that lost its partition must not plan for the new owner.
  EDDY_RETURN_IF_ERROR(CheckFence(plan_.fence.get()));
  return plan_.fence != nullptr ? log_->AppendNew(planned) : log_->Append(planned);
}

Result<std::vector<Task>> BatchPlanner::TasksFromLog(const state::PlannedBatch& planned) {
  std::vector<Task> tasks;
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    const auto& partitions = plan_.sources[source]->partitions();
    for (const state::PlannedSource& planned_source : planned.sources()) {
      if (planned_source.source() != plan_.sources[source]->name()) continue;
      for (const state::PlannedRange& range : planned_source.partitions()) {
        for (size_t part = 0; part < partitions.size(); ++part) {
          if (partitions[part].topic != range.topic() ||
              partitions[part].partition.value != range.partition()) {
            continue;
          }
          if (range.start() != positions_.next_offset(source, part).value) {
            return Status::Corruption(
                "planned batch " + std::to_string(planned.batch_id()) + " reads " + range.topic() +
                "/" + std::to_string(range.partition()) + " from offset " +
                std::to_string(range.start()) + ", but the job's state is at " +
                std::to_string(positions_.next_offset(source, part).value));
          }
          positions_.set_idle(source, part, range.idle());
          if (range.end() <= range.start()) continue;
          Task task;
          task.source = source;
          task.source_node = source_node_[source];
          task.range = {part, Offset{range.start()}, Offset{range.end()}};
          tasks.push_back(std::move(task));
        }
      }
    }
  }
  // Task order is plan order: by source, then partition.
  std::sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
    return std::tie(a.source, a.range.partition_index) <
           std::tie(b.source, b.range.partition_index);
  });
  return tasks;
}

}  // namespace eddy
