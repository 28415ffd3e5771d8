#pragma once
// Factories of the stateless operators, used by MakeOperator.

#include "operators/core/operator.h"

namespace eddy {

Result<std::unique_ptr<Operator>> MakeFilterOperator(const spec::OperatorSpec& spec,
                                                     const Schema& input_schema,
                                                     const SpecErrorReporter& error_at);
Result<std::unique_ptr<Operator>> MakeSelectOperator(const spec::OperatorSpec& spec,
                                                     const Schema& input_schema,
                                                     const SpecErrorReporter& error_at);
Result<std::unique_ptr<Operator>> MakeUnionOperator(const spec::OperatorSpec& spec,
                                                    const std::vector<Schema>& input_schemas,
                                                    const SpecErrorReporter& error_at);

}  // namespace eddy
