#pragma once
// The one place that turns an operator spec into an operator: it knows every
// operator kind, so it sits above all operator libraries (operators/README.md).

#include <memory>
#include <vector>

#include "operators/core/operator.h"
#include "operators/core/stateful_operator.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"
#include "runtime/spec/spec_error.h"

namespace eddy {

// True for the operator kinds MakeStatefulOperator builds (window,
// aggregate, lookup_join, learn, predict, prequential).
bool IsStateful(const spec::OperatorSpec& spec);

// Builds the stateless operator `spec` over inputs with `input_schemas` (in
// the order of spec.inputs after defaults were applied).
Result<std::unique_ptr<Operator>> MakeOperator(const spec::OperatorSpec& spec,
                                               const std::vector<Schema>& input_schemas,
                                               const SpecErrorReporter& error_at);

// Builds the stateful operator `spec`; InvalidArgument via `error_at` for a
// bad spec.
Result<std::unique_ptr<StatefulOperator>> MakeStatefulOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at);

}  // namespace eddy
