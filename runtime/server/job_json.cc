#include "runtime/server/job_json.h"

#include <filesystem>

#include "state/checkpoint_store.h"

namespace eddy::server {

const char* DagKindName(DagNode::Kind kind) {
  switch (kind) {
    case DagNode::Kind::kSource:
      return "source";
    case DagNode::Kind::kOperator:
      return "operator";
    case DagNode::Kind::kSink:
      return "sink";
  }
  return "operator";
}

void WriteDag(JsonWriter& json, const std::string& id, const JobPlan& plan) {
  json.BeginObject().Key("id").String(id).Key("nodes").BeginArray();
  for (const PlanNode& node : plan.nodes) {
    json.BeginObject()
        .Key("name")
        .String(node.dag.name)
        .Key("kind")
        .String(DagKindName(node.dag.kind))
        .Key("inputs")
        .BeginArray();
    for (const std::string& input : node.dag.inputs) json.String(input);
    json.EndArray()
        .Key("schema")
        .String(node.schema.ToString())
        .Key("stateful")
        .Bool(node.stateful != nullptr)
        .Key("side_output_of");
    if (node.late_of) {
      json.String(plan.nodes[*node.late_of].dag.name);
    } else {
      json.Null();
    }
    json.EndObject();
  }
  json.EndArray().Key("text").String(plan.Describe()).EndObject();
}

Status WriteCheckpoints(JsonWriter& json, const std::string& id,
                        const std::string& checkpoints_dir) {
  CheckpointStore store(checkpoints_dir, 0);
  EDDY_ASSIGN_OR_RETURN(auto listed, store.List());
  json.BeginObject().Key("id").String(id).Key("checkpoints").BeginArray();
  for (const CheckpointInfo& info : listed) {
    json.BeginObject()
        .Key("name")
        .String(std::filesystem::path(info.path).filename().string())
        .Key("batch_id")
        .Int(info.manifest.batch_id())
        .Key("created_unix_ms")
        .Int(info.manifest.created_unix_ms())
        .Key("size_bytes")
        .Int(static_cast<int64_t>(info.manifest.size_bytes()))
        .EndObject();
  }
  json.EndArray().EndObject();
  return Status::OK();
}

}  // namespace eddy::server
