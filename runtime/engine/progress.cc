#include "runtime/engine/progress.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstdio>

namespace eddy {

std::string JobHash(const spec::JobSpec& job) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    job.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

state::CheckpointManifest MakeProgress(const JobPlan& plan, const ProgressSnapshot& snapshot) {
  state::CheckpointManifest progress;
  progress.set_format_version(1);
  progress.set_batch_id(snapshot.batch_id);
  progress.set_job_name(plan.job.spec.name());
  progress.set_job_hash(JobHash(*snapshot.stored_spec));
  *progress.mutable_job() = *snapshot.stored_spec;
  progress.set_key_groups(snapshot.key_groups);
  progress.set_run_id(snapshot.run_id);
  *progress.mutable_sinks() = *snapshot.sinks;
  snapshot.positions->Save(&progress);
  progress.set_input_ended(snapshot.input_ended);
  progress.set_deferred_state_batch(snapshot.deferred_state_batch);
  for (const PlanNode& node : plan.nodes) {
    if (node.stateful == nullptr) continue;
    state::OperatorSignature* signature = progress.add_operators();
    signature->set_id(node.dag.name);
    signature->set_kind(node.stateful->kind());
    signature->set_signature(node.stateful->Signature());
  }
  return progress;
}

Status CheckCompatible(const JobPlan& plan, const state::CheckpointManifest& stored) {
  for (const state::OperatorSignature& old : stored.operators()) {
    for (const PlanNode& node : plan.nodes) {
      if (node.stateful == nullptr || node.dag.name != old.id()) continue;
      const std::string kind = node.stateful->kind();
      const std::string signature = node.stateful->Signature();
      if (kind == old.kind() && signature == old.signature()) continue;
      return Status::InvalidArgument(
          "cannot resume job '" + plan.job.spec.name() + "': operator '" + old.id() +
          "' changed since its state was written (was: " + old.kind() + " " + old.signature() +
          "; now: " + kind + " " + signature +
          "), so its state would be misread. Keep the old definition, give the changed "
          "operator a new name (its state then starts empty), or start from an empty state "
          "directory (" +
          plan.state_dir + ").");
    }
  }
  return Status::OK();
}

}  // namespace eddy
