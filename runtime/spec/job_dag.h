#pragma once
// The job's dataflow graph as the job file describes it, with the default
// inputs filled in. The job spec is never rewritten with defaults (it is
// stored in checkpoints as written); the validator and the engine both call
// ResolveDag so that they agree on what an omitted `inputs:` or `input:`
// means:
//  - an operator without inputs reads the operator listed just before it;
//    the first operator reads the job's only source (an error when there are
//    several sources);
//  - a sink without input reads the last operator, or the only source when
//    there are no operators.

#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

struct DagNode {
  enum class Kind { kSource, kOperator, kSink };

  std::string name;
  Kind kind = Kind::kSource;
  // Position in job.spec.sources(), operators() or sinks(), by kind.
  int index = 0;
  // Upstream node names, explicit or defaulted; empty for sources, exactly
  // one for sinks.
  std::vector<std::string> inputs;
};

// Nodes in a topological order: sources in file order, then operators (file
// order where the inputs allow it), then sinks in file order. Fails (via
// job.ErrorAt, with the most precise path) on duplicate names, missing or
// unknown inputs, inputs that name a sink, an input count the operator kind
// does not take (union: two or more; filter, select: one) and cycles.
// REQUIRES: every node has a name and every operator a kind (as
// ValidateJobStructure checks first).
Result<std::vector<DagNode>> ResolveDag(const LoadedJob& job);

}  // namespace eddy
