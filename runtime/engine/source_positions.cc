#include "runtime/engine/source_positions.h"

namespace eddy {

void SourcePositions::Init(size_t source, const Offsets& initial, Clock::time_point now) {
  partitions_[source].assign(initial.size(), PartitionState());
  idle_[source].assign(initial.size(), false);
  for (size_t part = 0; part < initial.size(); ++part) {
    partitions_[source][part].next_offset = initial[part];
    partitions_[source][part].last_active = now;
  }
}

void SourcePositions::Restore(size_t source, const state::CheckpointManifest& progress) {
  const std::string& name = plan_.sources[source]->name();
  const auto& partitions = plan_.sources[source]->partitions();
  for (const state::SourcePosition& position : progress.sources()) {
    if (position.source() != name) continue;
    if (position.has_watermark()) watermarks_[source] = position.watermark();
    for (const state::PartitionPosition& stored : position.partitions()) {
      for (size_t part = 0; part < partitions.size(); ++part) {
        if (partitions[part].topic != stored.topic() ||
            partitions[part].partition.value != stored.partition()) {
          continue;
        }
        partitions_[source][part].next_offset = Offset{stored.next_offset()};
        if (stored.has_max_event_time()) {
          partitions_[source][part].max_event_time = stored.max_event_time();
        }
        if (stored.idle()) {
          // Idle as of the restart already: quiet for the whole timeout.
          idle_[source][part] = true;
          partitions_[source][part].last_active -=
              std::chrono::microseconds(plan_.event_time[source].idle_timeout);
        }
      }
    }
  }
}

void SourcePositions::Save(state::CheckpointManifest* progress) const {
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    state::SourcePosition* position = progress->add_sources();
    position->set_source(plan_.sources[source]->name());
    if (watermarks_[source]) position->set_watermark(*watermarks_[source]);
    const auto& partitions = plan_.sources[source]->partitions();
    for (size_t part = 0; part < partitions.size(); ++part) {
      state::PartitionPosition* stored = position->add_partitions();
      stored->set_topic(partitions[part].topic);
      stored->set_partition(partitions[part].partition.value);
      stored->set_next_offset(partitions_[source][part].next_offset.value);
      if (partitions_[source][part].max_event_time) {
        stored->set_max_event_time(*partitions_[source][part].max_event_time);
      }
      stored->set_idle(idle_[source][part]);
    }
  }
}

Offsets SourcePositions::NextOffsets(size_t source) const {
  Offsets next;
  next.reserve(partitions_[source].size());
  for (const PartitionState& state : partitions_[source]) next.push_back(state.next_offset);
  return next;
}

void SourcePositions::DecideIdlePartitions(const std::vector<Task>& tasks, Clock::time_point now) {
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    const int64_t timeout = plan_.event_time[source].idle_timeout;
    for (size_t part = 0; part < partitions_[source].size(); ++part) {
      idle_[source][part] = timeout > 0 && now - partitions_[source][part].last_active >=
                                               std::chrono::microseconds(timeout);
    }
  }
  for (const Task& task : tasks) idle_[task.source][task.range.partition_index] = false;
}

void SourcePositions::AdvanceEventTime(const std::vector<Task>& tasks, Clock::time_point now) {
  for (const Task& task : tasks) {
    PartitionState& partition = partitions_[task.source][task.range.partition_index];
    if (task.range.end > task.range.start) partition.last_active = now;
    if (task.max_event_time &&
        (!partition.max_event_time || *task.max_event_time > *partition.max_event_time)) {
      partition.max_event_time = task.max_event_time;
    }
  }
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    const auto next = ComputeWatermark(source);
    if (next && (!watermarks_[source] || *next > *watermarks_[source])) watermarks_[source] = next;
  }
}

void SourcePositions::AdvanceOffsets(const std::vector<Task>& tasks) {
  for (const Task& task : tasks) {
    partitions_[task.source][task.range.partition_index].next_offset = task.range.end;
  }
}

// A source's watermark: the smallest partition watermark (largest event
// time seen less the out-of-orderness bound), leaving out the partitions
// the batch's plan marked idle; nullopt while a partition that is not idle
// has delivered no event time yet. When all are idle, the largest.
std::optional<TimestampMicros> SourcePositions::ComputeWatermark(size_t source) const {
  const SourceEventTime& time = plan_.event_time[source];
  if (!time.column) return std::nullopt;
  std::optional<TimestampMicros> lowest, highest;
  bool all_idle = true;
  for (size_t part = 0; part < partitions_[source].size(); ++part) {
    const PartitionState& partition = partitions_[source][part];
    std::optional<TimestampMicros> mark;
    if (partition.max_event_time) mark = *partition.max_event_time - time.max_out_of_orderness;
    if (mark && (!highest || *mark > *highest)) highest = mark;
    if (idle_[source][part]) continue;
    all_idle = false;
    if (!mark) return std::nullopt;
    if (!lowest || *mark < *lowest) lowest = mark;
  }
  return all_idle ? highest : lowest;
}

std::optional<TimestampMicros> SourcePositions::NodeWatermark(const PlanNode& node,
                                                              const Watermarks& watermarks) const {
  std::optional<TimestampMicros> result;
  for (size_t source : node.upstream_sources) {
    if (!watermarks[source]) return std::nullopt;
    if (!result || *watermarks[source] < *result) result = watermarks[source];
  }
  return result;
}

}  // namespace eddy
