#pragma once
// A compiled job: the DAG with every node's schema known, operators and
// expressions type-checked, sources and sinks built but not yet connected.
// Built by PlanJob from a LoadedJob; run by the executor; printed by
// `eddy validate`.

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector_factory.h"
#include "operators/operator.h"
#include "runtime/job_dag.h"
#include "runtime/job_spec_loader.h"

namespace eddy {

struct PlanNode {
  DagNode dag;                      // name, kind, spec index, inputs
  std::vector<size_t> input_nodes;  // indices into JobPlan::nodes
  std::vector<size_t> consumers;    // indices into JobPlan::nodes
  // A source's or operator's output schema; a sink's input schema.
  Schema schema;
  const Operator* op = nullptr;  // operators only; owned by JobPlan
};

struct JobPlan {
  LoadedJob job;
  std::vector<PlanNode> nodes;  // topological order
  std::vector<std::unique_ptr<Source>> sources;    // by spec index
  std::vector<std::unique_ptr<Operator>> operators;  // by spec index
  std::vector<std::unique_ptr<Sink>> sinks;        // by spec index
  std::unique_ptr<DeadLetterSink> dead_letter;
  std::string state_dir;
  int64_t trigger_interval_micros = 1000000;
  int64_t max_records_per_partition = 100000;

  // The DAG, one node per line with its schema, for `eddy validate`.
  std::string Describe() const;
};

// Compiles `job`. Every error names the job file, line and key.
Result<std::unique_ptr<JobPlan>> PlanJob(LoadedJob job, ConnectorContext context);

// The job's state directory: state.dir, else ./eddy-state/<name>, resolved
// against the job file's directory when relative.
std::string StateDirectory(const LoadedJob& job);

}  // namespace eddy
