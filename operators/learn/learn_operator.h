#pragma once
// The learning operators `learn`, `predict` and `prequential` (issue 5;
// docs/learning.md): stateful DAG operators that drive the models of
// operators/models/ over each batch, in row order, and keep the models (and
// the prequential metrics) in the operator's RocksDB table.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operators/core/stateful_operator.h"
#include "operators/models/model.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"
#include "runtime/spec/spec_error.h"

namespace eddy {

// True for learn, predict and prequential.
bool IsLearningOperator(const spec::OperatorSpec& spec);

// Builds one; InvalidArgument via `error_at` for a bad spec (unknown model,
// unknown or invalid option, a feature or label that does not compile).
Result<std::unique_ptr<StatefulOperator>> MakeLearningOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at);

// The prequential metrics of a learning operator as of its last batch, e.g.
// {"rows", 569}, {"accuracy", 0.95}, {"window_accuracy", 0.97}, ...
// (classification: accuracy, log_loss, precision, recall, f1; regression:
// rmse, mae, r2; k-means: sse, mean_squared_distance; each over the whole
// stream and, prefixed "window_", the sliding window). Empty for other
// operators and for learn/predict. Safe to call while the job runs.
std::vector<std::pair<std::string, double>> LearningMetrics(const StatefulOperator& op);

// `eddy model export`: the model of learning operator `op` as JSON (the
// model's ExportJson with the feature names), read from `table`. `key` is the
// per-key model's key, its values comma-separated when the operator has
// several key expressions; empty for a global model. NotFound when the
// model has not been stored yet.
Result<std::string> ExportLearningModel(const StatefulOperator& op, const StateTable& table,
                                        int key_groups, const std::string& key);

}  // namespace eddy
