#include "operators/operator_factory.h"

#include "operators/image/image_features.h"
#include "operators/learn/learn_operator.h"
#include "operators/stateless/stateless_operators.h"
#include "operators/window/window_operators.h"

namespace eddy {

bool IsStateful(const spec::OperatorSpec& spec) {
  return spec.has_window() || spec.has_aggregate() || spec.has_lookup_join() ||
         IsLearningOperator(spec);
}

Result<std::unique_ptr<Operator>> MakeOperator(const spec::OperatorSpec& spec,
                                               const std::vector<Schema>& input_schemas,
                                               const SpecErrorReporter& error_at) {
  switch (spec.kind_case()) {
    case spec::OperatorSpec::kFilter:
    case spec::OperatorSpec::kSelect:
    case spec::OperatorSpec::kImageFeatures:
      if (input_schemas.size() != 1) {
        return error_at("inputs",
                        "takes exactly one input, got " + std::to_string(input_schemas.size()));
      }
      if (spec.has_image_features()) {
        return MakeImageFeaturesOperator(spec, input_schemas[0], error_at);
      }
      return spec.kind_case() == spec::OperatorSpec::kFilter
                 ? MakeFilterOperator(spec, input_schemas[0], error_at)
                 : MakeSelectOperator(spec, input_schemas[0], error_at);
    case spec::OperatorSpec::kUnion:
      return MakeUnionOperator(spec, input_schemas, error_at);
    case spec::OperatorSpec::kWindow:
    case spec::OperatorSpec::kAggregate:
    case spec::OperatorSpec::kLookupJoin:
    case spec::OperatorSpec::kLearn:
    case spec::OperatorSpec::kPredict:
    case spec::OperatorSpec::kPrequential:
      return error_at("", "is a stateful operator (built by MakeStatefulOperator)");
    case spec::OperatorSpec::KIND_NOT_SET:
      break;
  }
  return error_at("",
                  "no operator kind set (expected one of: filter, select, union, image_features)");
}

Result<std::unique_ptr<StatefulOperator>> MakeStatefulOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at) {
  if (spec.has_lookup_join()) return MakeLookupJoinOperator(spec, inputs, error_at);
  if (inputs.size() != 1) {
    return error_at("inputs", "takes exactly one input, got " + std::to_string(inputs.size()) +
                                  " (put a union before it)");
  }
  if (spec.has_window()) return MakeWindowOperator(spec, inputs[0], error_at);
  if (spec.has_aggregate()) return MakeKeyedAggregateOperator(spec, inputs[0], error_at);
  if (IsLearningOperator(spec)) return MakeLearningOperator(spec, inputs, error_at);
  return error_at("", "not a stateful operator");
}

}  // namespace eddy
