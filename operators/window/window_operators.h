#pragma once
// Factories of the keyed, event-time operators: windows, keyed running
// aggregates and lookup joins. Called by MakeStatefulOperator.

#include <memory>
#include <vector>

#include "operators/core/stateful_operator.h"

namespace eddy {

Result<std::unique_ptr<StatefulOperator>> MakeWindowOperator(const spec::OperatorSpec& spec,
                                                             const StatefulInput& input,
                                                             const SpecErrorReporter& error_at);
Result<std::unique_ptr<StatefulOperator>> MakeKeyedAggregateOperator(
    const spec::OperatorSpec& spec, const StatefulInput& input, const SpecErrorReporter& error_at);
Result<std::unique_ptr<StatefulOperator>> MakeLookupJoinOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at);

}  // namespace eddy
