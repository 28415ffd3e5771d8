#pragma once
// A job's committed progress — the last batch, every source partition's next
// offset and largest event time, the watermarks, and the signatures of the
// stateful operators — kept as a CheckpointManifest under one meta key of
// the state backend and committed with each batch's state changes.

#include <string>
#include <string_view>

#include "runtime/engine/job_plan.h"
#include "runtime/engine/source_positions.h"
#include "state/checkpoint.pb.h"

namespace eddy {

inline constexpr std::string_view kProgressKey = "progress";
// The job's run id (state::CheckpointManifest.run_id), created with its state.
inline constexpr std::string_view kRunIdKey = "run_id";

// Where the job's sinks stand (Sink::Position), by sink name.
using SinkPositions = google::protobuf::RepeatedPtrField<state::SinkPosition>;

// What the job's progress record holds after batch `batch_id`.
struct ProgressSnapshot {
  int64_t batch_id = 0;
  const spec::JobSpec* stored_spec = nullptr;  // secrets redacted
  int key_groups = 0;
  std::string run_id;
  const SinkPositions* sinks = nullptr;
  const SourcePositions* positions = nullptr;
  bool input_ended = false;  // the batch was the end of input
  // The last batch whose deferred operator state the record's state holds.
  int64_t deferred_state_batch = 0;
};

// The progress record (also every checkpoint's manifest) of `snapshot`,
// with the signature of each of the plan's stateful operators.
state::CheckpointManifest MakeProgress(const JobPlan& plan, const ProgressSnapshot& snapshot);

// A 64-bit FNV-1a hash (hex) of the job spec's deterministic serialization.
std::string JobHash(const spec::JobSpec& job);

// Refuses state written by a job whose stateful operators meant something
// else: an operator with the same id but another kind or signature (key,
// window, aggregates) would misread it. The message names the operator and
// both definitions.
Status CheckCompatible(const JobPlan& plan, const state::CheckpointManifest& stored);

}  // namespace eddy
