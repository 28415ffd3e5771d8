// `eddy model export JOB OPERATOR [--key K]`: prints a learning operator's
// model as JSON, read from the job's state.
//
// The live RocksDB database is read when the job is not running. A running
// job holds the database's lock; then the newest checkpoint is copied
// (hard links) into a scratch directory and read there, so the export shows
// the model as of that checkpoint and never touches the job's files.

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "operators/learn/learn_operator.h"
#include "runtime/cli/commands.h"
#include "runtime/cli/offline_job.h"
#include "runtime/engine/job_plan.h"
#include "runtime/spec/offline_env.h"
#include "state/checkpoint_store.h"

namespace eddy {
namespace {

Result<std::string> ExportFrom(const std::string& db_dir, const JobPlan& plan, const PlanNode& node,
                               const std::string& key) {
  StateBackendOptions options;
  options.dir = db_dir;
  options.key_groups = plan.key_groups;
  options.tables = {node.dag.name};
  EDDY_ASSIGN_OR_RETURN(auto backend, StateBackend::Open(options));
  EDDY_ASSIGN_OR_RETURN(StateTable * table, backend->table(node.dag.name));
  return ExportLearningModel(*node.stateful, *table, backend->key_groups(), key);
}

Result<std::string> ExportModel(const std::string& job_file, const std::string& op,
                                const std::string& key) {
  // The plan (schemas, operators, state settings) is needed; the
  // connections are not: nothing is read from Kafka.
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadJobOffline(job_file, [](std::string_view path) {
                          return !IsConnectionSetting(path);
                        }));
  EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(std::move(job), BrokersAsWritten()));
  const PlanNode* found = nullptr;
  for (const PlanNode& node : plan->nodes) {
    if (node.dag.name == op && node.stateful != nullptr && !node.late_of) found = &node;
  }
  if (found == nullptr) {
    std::string learners;
    for (const PlanNode& node : plan->nodes) {
      if (node.stateful == nullptr || node.late_of) continue;
      const std::string kind = node.stateful->kind();
      if (kind == "learn" || kind == "prequential")
        learners += (learners.empty() ? "" : ", ") + node.dag.name;
    }
    return Status::NotFound("job " + plan->job.spec.name() + " has no learning operator '" + op +
                            "' (learners: " + (learners.empty() ? "none" : learners) + ")");
  }
  const std::filesystem::path db = std::filesystem::path(plan->state_dir) / "db";
  std::error_code ec;
  if (std::filesystem::exists(db / "CURRENT", ec)) {
    auto exported = ExportFrom(db.string(), *plan, *found, key);
    // Anything but the lock of a running job is the answer.
    if (exported.ok() || exported.status().message().find("lock") == std::string::npos)
      return exported;
  }
  CheckpointStore store((std::filesystem::path(plan->state_dir) / "checkpoints").string(), 0);
  EDDY_ASSIGN_OR_RETURN(auto latest, store.Latest());
  if (!latest)
    return Status::NotFound("job " + plan->job.spec.name() + " has no state in " + plan->state_dir);
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("eddy-model-export-" + std::to_string(::getpid()));
  std::filesystem::remove_all(scratch, ec);
  Status restored = CheckpointStore::RestoreInto(*latest, scratch.string());
  Result<std::string> exported = restored.ok() ? ExportFrom(scratch.string(), *plan, *found, key)
                                               : Result<std::string>(restored);
  std::filesystem::remove_all(scratch, ec);
  return exported;
}

}  // namespace

int ModelExportCommand(const std::string& job_file, const std::string& op, const std::string& key) {
  auto json = ExportModel(job_file, op, key);
  if (!json.ok()) {
    std::fprintf(stderr, "%s\n", json.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", json->c_str());
  return 0;
}

}  // namespace eddy
