#pragma once
// JSON bodies that both `eddy serve` (server.cc) and `eddy run --ui`
// (local_ui.cc) answer: a job's DAG and its checkpoints on disk
// (docs/openapi.yaml: /dag, /checkpoints).

#include <string>

#include "runtime/core/status.h"
#include "runtime/engine/job_plan.h"
#include "runtime/server/json_writer.h"

namespace eddy::server {

// "source", "operator" or "sink".
const char* DagKindName(DagNode::Kind kind);

// {"id", "nodes": [{name, kind, inputs, schema, stateful, side_output_of}],
// "text"}; side_output_of names the operator whose side output (W.late,
// P.metrics) the node is, or is null.
void WriteDag(JsonWriter& json, const std::string& id, const JobPlan& plan);

// {"id", "checkpoints": [{name, batch_id, created_unix_ms, size_bytes}]},
// newest first, from `checkpoints_dir` (STATE_DIR/checkpoints).
Status WriteCheckpoints(JsonWriter& json, const std::string& id,
                        const std::string& checkpoints_dir);

}  // namespace eddy::server
