#include "runtime/engine/source_positions.h"

#include <algorithm>

namespace eddy {

void SourcePositions::Init(size_t source, const Offsets& initial, Clock::time_point now) {
  partitions_[source].assign(initial.size(), PartitionState());
  idle_[source].assign(initial.size(), false);
  const auto writers = static_cast<size_t>(std::max(plan_.sources[source]->upstream_writers(), 0));
  for (size_t part = 0; part < initial.size(); ++part) {
    partitions_[source][part].next_offset = initial[part];
    partitions_[source][part].last_active = now;
    partitions_[source][part].upstream.assign(writers, UpstreamMark());
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
        for (const state::UpstreamWatermarkPosition& mark : stored.upstream()) {
          auto& upstream = partitions_[source][part].upstream;
          if (mark.upstream() < 0 || static_cast<size_t>(mark.upstream()) >= upstream.size()) {
            continue;
          }
          upstream[static_cast<size_t>(mark.upstream())] = {true, mark.watermark(), mark.idle()};
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
      const auto& upstream = partitions_[source][part].upstream;
      for (size_t writer = 0; writer < upstream.size(); ++writer) {
        if (!upstream[writer].seen) continue;
        state::UpstreamWatermarkPosition* mark = stored->add_upstream();
        mark->set_upstream(static_cast<int32_t>(writer));
        mark->set_watermark(upstream[writer].watermark);
        mark->set_idle(upstream[writer].idle);
      }
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
    if (!partition.upstream.empty()) {
      AdvanceForwarded(task, &partition);
      continue;
    }
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

void SourcePositions::AdvanceForwarded(const Task& task, PartitionState* partition) const {
  for (const UpstreamWatermark& mark : task.upstream_watermarks) {
    UpstreamMark& held = partition->upstream[static_cast<size_t>(mark.upstream)];
    held.watermark = held.seen ? std::max(held.watermark, mark.watermark) : mark.watermark;
    held.seen = true;
    held.idle = mark.idle;
  }
  std::optional<TimestampMicros> lowest, highest;
  for (const UpstreamMark& held : partition->upstream) {
    if (!held.seen) return;  // a writer that has not spoken holds it back
    if (!highest || held.watermark > *highest) highest = held.watermark;
    if (!held.idle && (!lowest || held.watermark < *lowest)) lowest = held.watermark;
  }
  const std::optional<TimestampMicros> mark = lowest ? lowest : highest;
  if (mark && (!partition->max_event_time || *mark > *partition->max_event_time)) {
    partition->max_event_time = mark;
  }
}

bool SourcePositions::WouldTurnIdle(Clock::time_point now) const {
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    const int64_t timeout = plan_.event_time[source].idle_timeout;
    if (timeout <= 0) continue;
    for (size_t part = 0; part < partitions_[source].size(); ++part) {
      if (!idle_[source][part] &&
          now - partitions_[source][part].last_active >= std::chrono::microseconds(timeout)) {
        return true;
      }
    }
  }
  return false;
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
    // A forwarded watermark is one already: its writer took off the bound.
    const int64_t bound = partition.upstream.empty() ? time.max_out_of_orderness : 0;
    std::optional<TimestampMicros> mark;
    if (partition.max_event_time) mark = *partition.max_event_time - bound;
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
