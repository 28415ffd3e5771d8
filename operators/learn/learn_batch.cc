// One batch through a learning operator (learn, predict, prequential), in
// named steps; ProcessRows runs them in order:
//  1. EvaluateAndValidate: feature, label and key expressions are evaluated a
//     column at a time; rows with an expression error, a NULL or non-finite
//     numeric feature or an invalid label become dead letters (for a
//     global linear model or k-means over numeric features, the encoder
//     finds the non-finite values in step 5 as it copies them, saving a
//     pass over the batch, and RejectNotFinite then writes the same dead
//     letters in the same order);
//  2. GroupRowsByKey: the accepted rows of each model (per-key models: each
//     key's rows, in batch order; else one group);
//  3. LoadModels: the models the batch needs, read with one MultiGet (the
//     global model stays cached between consecutive batches: a restored
//     model is bit-identical to the one that was saved, so the cache changes
//     nothing but the cost); predict takes its learner's models from memory;
//  4. EncodeLabels: the labels of the accepted rows (one vocabulary);
//  5. RunModels: each model sees its rows in order through the library's
//     Learn / Predict / Prequential;
//  6. StoreState: the prequential evaluation, then the changed models and
//     the operator state go into the batch's StateWriteBatch, committed
//     atomically with the batch's offsets, so after a restart the operator
//     continues exactly where the last committed batch left it;
//  7. WriteOutput: the accepted rows, the predictions, the model version.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "operators/learn/learn_operator_internal.h"
#include "operators/learn/learn_state.pb.h"
#include "operators/models/model.pb.h"

namespace eddy::learn_op {

Result<std::unique_ptr<Model>> NewModel(const ModelConfig& config, const FeatureEncoder& features) {
  const int width = features.num_features();
  switch (config.type) {
    case ModelType::kSgdRegressor:
    case ModelType::kSgdClassifier:
      return learn::MakeLinearModel(width, config.linear);
    case ModelType::kKMeans:
      return learn::MakeStreamingKMeans(width, config.kmeans);
    case ModelType::kHoeffdingTree:
    case ModelType::kHoeffdingAdaptiveTree: {
      learn::HoeffdingTreeOptions options = config.tree;
      options.nominal_features = features.nominal_features();
      return config.type == ModelType::kHoeffdingTree
                 ? learn::MakeHoeffdingTreeClassifier(width, options)
                 : learn::MakeHoeffdingAdaptiveTreeClassifier(width, options);
    }
    case ModelType::kHoeffdingTreeRegressor: {
      learn::HoeffdingTreeRegressorOptions options = config.tree_regressor;
      options.nominal_features = features.nominal_features();
      return learn::MakeHoeffdingTreeRegressor(width, options);
    }
    case ModelType::kAdaptiveRandomForest: {
      learn::AdaptiveRandomForestOptions options = config.forest;
      options.tree.nominal_features = features.nominal_features();
      return learn::MakeAdaptiveRandomForestClassifier(width, options);
    }
    case ModelType::kMlpClassifier:
    case ModelType::kMlpRegressor:
      return learn::MakeMlp(width, config.mlp);
    case ModelType::kLeveragingBagging: {
      if (config.base == nullptr) return Status::Internal("leveraging_bagging without a base");
      EDDY_ASSIGN_OR_RETURN(auto base, NewModel(*config.base, features));
      return learn::MakeLeveragingBaggingClassifier(*base, config.bagging);
    }
  }
  return Status::Internal("unknown model type");
}

Result<std::unique_ptr<Learner>> RestoreLearner(std::string_view bytes, const std::string& what) {
  learn::pb::LearnerState state;
  if (!state.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Corruption(what + ": unreadable model state");
  }
  auto learner = std::make_unique<Learner>();
  auto features = FeatureEncoder::Restore(state.features());
  if (!features.ok()) return features.status().WithContext(what);
  learner->features = std::move(features).value();
  auto model = Model::Restore(state.model());
  if (!model.ok()) return model.status().WithContext(what);
  learner->model = std::move(model).value();
  return learner;
}

Status SerializeLearner(const Learner& learner, std::string* out) {
  learn::pb::LearnerState state;
  state.set_format_version(kStateFormat);
  EDDY_RETURN_IF_ERROR(learner.model->Snapshot(state.mutable_model()));
  learner.features->Snapshot(state.mutable_features());
  if (!state.SerializeToString(out)) return Status::Internal("cannot serialize model state");
  return Status::OK();
}

std::string DescribeSignature(const std::string& signature) {
  constexpr size_t kMostShown = 12;
  const size_t open = signature.find("features=(");
  const size_t close = signature.find(") categorical=");
  if (open == std::string::npos || close == std::string::npos || close < open) return signature;
  const size_t first = open + std::strlen("features=(");
  // Items are split at ", " outside parentheses (a feature may be f(a, b)).
  std::vector<std::string> items;
  size_t start = first;
  int depth = 0;
  for (size_t at = first; at < close; ++at) {
    if (signature[at] == '(') ++depth;
    if (signature[at] == ')') --depth;
    if (depth == 0 && signature.compare(at, 2, ", ") == 0) {
      items.push_back(signature.substr(start, at - start));
      start = at + 2;
    }
  }
  items.push_back(signature.substr(start, close - start));
  if (items.size() <= kMostShown) return signature;
  return signature.substr(0, first) + items[0] + ", " + items[1] + ", " + items[2] + ", ..., " +
         items.back() + " (" + std::to_string(items.size()) + " features)" +
         signature.substr(close);
}

// Rows with a NULL or non-finite numeric feature, or a label that is not
// finite or not a class id, are rejected (unless rejected before).
void LearningOperator::Validate(const Batch& input, const std::vector<Column>& features,
                                const Column* label, std::vector<uint8_t>* rejected,
                                DeadLetters* dead_letters, AcceptedRows* late) const {
  auto reject = [&](uint32_t row, std::string reason) {
    RejectRow(input, row, name_, std::move(reason), rejected, dead_letters);
  };
  const size_t rows = input.num_rows();
  for (size_t idx = 0; idx < features.size(); ++idx) {
    const Column& column = features[idx];
    if (column.type() == TypeId::kString) continue;  // NULL category = unknown
    if (column.MayHaveNulls()) {
      for (uint32_t row = 0; row < rows; ++row) {
        if (column.IsNull(row)) reject(row, "feature '" + features_[idx].name + "' is NULL");
      }
    }
    if (column.type() == TypeId::kDouble && late == nullptr) {
      const std::span<const double> values = column.doubles();
      // One branch-free pass finds the rare non-finite value (v - v is 0
      // only for finite v); only then the row-by-row pass that rejects.
      bool finite = true;
      for (const double value : values) finite &= value - value == 0.0;
      if (finite) continue;
      for (uint32_t row = 0; row < rows; ++row) {
        if (!std::isfinite(values[row]) && !column.IsNull(row)) {
          reject(row, "feature '" + features_[idx].name + "' is not finite");
        }
      }
    }
  }
  if (label == nullptr) return;
  const bool classification = core_->config.task == Task::kClassification;
  const int classes = core_->config.num_classes;
  for (uint32_t row = 0; row < rows; ++row) {
    if (label->IsNull(row)) continue;
    double value = 0;
    switch (label->type()) {
      case TypeId::kDouble:
        value = label->GetDouble(row);
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        value = static_cast<double>(label->GetInt64(row));
        break;
      case TypeId::kBool:
        value = label->GetBool(row) ? 1 : 0;
        break;
      case TypeId::kString:
        continue;  // classes by first appearance
    }
    std::string reason;
    if (!std::isfinite(value)) {
      reason = "label is not finite";
    } else if (classification && (value != std::floor(value) || value < 0 || value >= classes)) {
      reason = "label " + label->ValueToString(row) + " is not a class id in [0, " +
               std::to_string(classes) + ") (set option classes)";
    } else {
      continue;
    }
    if (late == nullptr) {
      reject(row, std::move(reason));
    } else if (!(*rejected)[row]) {
      (*rejected)[row] = 1;
      late->label_rejected.push_back(row);
      late->label_letters.push_back(RowDeadLetter(input, row, name_, std::move(reason)));
    }
  }
}

// Whether the batch's non-finite features can be found by the encoder, as
// it copies them, instead of by a pass of their own: a batch of 100
// features is 80 MB, and that pass read it from memory as much as the
// encoder does. A row found late is masked out of learning, which leaves
// the model as if it had not been there only for models that skip masked
// rows entirely (linear models, k-means) with no vocabulary (string
// features or labels) that it could have grown; NULL features, rare, keep
// the early pass. One global model, so the rows stay in batch order.
bool LearningOperator::ChecksFiniteLate(const std::vector<Column>& features,
                                        const Column* label) const {
  if (kind_ == OpKind::kPredict || !keys_.empty()) return false;
  const ModelType type = core_->config.type;
  if (type != ModelType::kSgdRegressor && type != ModelType::kSgdClassifier &&
      type != ModelType::kKMeans) {
    return false;
  }
  if (label != nullptr && label->type() == TypeId::kString) return false;
  for (const Column& column : features) {
    if (column.type() == TypeId::kString || column.MayHaveNulls()) return false;
  }
  return true;
}

// The dead letters of the rows with a non-finite feature (`not_finite`,
// input rows, ascending) and of the rows whose label was rejected, in the
// order and with the reasons Validate would have given: feature by
// feature, then the labels' (a row with both is named for its feature).
void LearningOperator::WriteLateDeadLetters(const Batch& input,
                                            const std::vector<uint32_t>& not_finite,
                                            AcceptedRows* accepted,
                                            DeadLetters* dead_letters) const {
  std::vector<uint32_t> candidates = accepted->label_rejected;
  candidates.insert(candidates.end(), not_finite.begin(), not_finite.end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  std::vector<uint8_t> named(candidates.size(), 0);
  for (size_t idx = 0; idx < features_.size() && !candidates.empty(); ++idx) {
    const Column& column = accepted->input_features[idx];
    if (column.type() != TypeId::kDouble) continue;
    for (size_t at = 0; at < candidates.size(); ++at) {
      if (named[at] || std::isfinite(column.GetDouble(candidates[at]))) continue;
      named[at] = 1;
      dead_letters->push_back(RowDeadLetter(input, candidates[at], name_,
                                            "feature '" + features_[idx].name + "' is not finite"));
    }
  }
  for (size_t letter = 0; letter < accepted->label_rejected.size(); ++letter) {
    const uint32_t row = accepted->label_rejected[letter];
    const auto at = std::lower_bound(candidates.begin(), candidates.end(), row);
    if (named[static_cast<size_t>(at - candidates.begin())]) continue;
    dead_letters->push_back(std::move(accepted->label_letters[letter]));
  }
}

// After RunModels, when the encoder checked the features: the late dead
// letters, and the rows with a non-finite feature out of the accepted rows
// and their results.
void LearningOperator::RejectNotFinite(const Batch& input, AcceptedRows* accepted,
                                       std::vector<double>* y, std::vector<uint8_t>* labelled,
                                       ModelResults* results, DeadLetters* dead_letters) const {
  const std::vector<uint32_t>& positions = results->not_finite;
  std::vector<uint32_t> rows;
  rows.reserve(positions.size());
  for (const uint32_t position : positions) rows.push_back(accepted->rows[position]);
  WriteLateDeadLetters(input, rows, accepted, dead_letters);
  if (positions.empty()) return;
  // Drop `positions` (ascending) from every per-accepted-row array.
  auto keep = [&](auto& values, auto assign) {
    size_t to = 0, next = 0;
    for (size_t from = 0; from < accepted->rows.size(); ++from) {
      if (next < positions.size() && positions[next] == from) {
        ++next;
        continue;
      }
      assign(values, to++, from);
    }
  };
  auto move_within = [](auto& values, size_t to, size_t from) { values[to] = values[from]; };
  const size_t kept = accepted->rows.size() - positions.size();
  PredictionColumns& predictions = results->predictions;
  const bool predicts = kind_ != OpKind::kLearn;
  keep(*y, move_within);
  keep(*labelled, move_within);
  keep(results->versions, move_within);
  keep(results->predicted, move_within);
  if (predicts) {
    keep(predictions.value, move_within);
    if (predictions.score.size() > 0) keep(predictions.score, move_within);
    if (predictions.probabilities.size() > 0) {
      keep(predictions.probabilities, [](auto& values, size_t to, size_t from) {
        values.row(static_cast<Eigen::Index>(to)) = values.row(static_cast<Eigen::Index>(from));
      });
    }
  }
  keep(accepted->rows, move_within);  // last: the others index by position
  y->resize(kept);
  labelled->resize(kept);
  results->versions.resize(kept);
  results->predicted.resize(kept);
  if (predicts) {
    const auto rows = static_cast<Eigen::Index>(kept);
    predictions.value.conservativeResize(rows);
    if (predictions.score.size() > 0) predictions.score.conservativeResize(rows);
    if (predictions.probabilities.size() > 0) {
      predictions.probabilities.conservativeResize(rows, predictions.probabilities.cols());
    }
  }
  accepted->rows.resize(kept);
  accepted->all = false;
}

Status LearningOperator::NewLearner(std::unique_ptr<Learner>* out) const {
  auto learner = std::make_unique<Learner>();
  EDDY_ASSIGN_OR_RETURN(learner->features,
                        FeatureEncoder::Make(feature_schema_, core_->config.features));
  EDDY_ASSIGN_OR_RETURN(learner->model, NewModel(core_->config, *learner->features));
  *out = std::move(learner);
  return Status::OK();
}

// Makes core_'s operator state and global model current for this batch and
// loads the models of `groups` — one MultiGet.
Status LearningOperator::LoadState(const StatefulBatchContext& context,
                                   std::vector<Group>* groups) {
  LearnerCore& core = *core_;
  const bool cached =
      core.batch_id >= 0 && core.batch_id == context.batch_id - 1 && core.labels != nullptr;
  const bool global = keys_.empty();
  std::vector<std::string> state_keys;
  std::vector<StateKey> lookups;
  if (!cached) {
    core.global.reset();
    core.labels.reset();
    core.evaluator.reset();
    lookups.push_back({kGlobalGroup, kOperatorStateKey});
    if (global) lookups.push_back({kGlobalGroup, kGlobalModelKey});
  }
  core.keyed.clear();
  if (!global) {
    state_keys.reserve(groups->size());
    for (const Group& group : *groups) state_keys.push_back(KeyStateKey(group.key));
    for (size_t idx = 0; idx < groups->size(); ++idx) {
      lookups.push_back({KeyGroupForKey((*groups)[idx].key, context.key_groups), state_keys[idx]});
    }
  }
  std::vector<std::optional<std::string>> values;
  if (!lookups.empty()) EDDY_RETURN_IF_ERROR(context.table->MultiGet(lookups, &values));
  size_t next = 0;
  if (!cached) {
    const std::optional<std::string>& op_state = values[next++];
    if (op_state) {
      learn::pb::OperatorState state;
      if (!state.ParseFromString(*op_state)) return Status::Corruption("unreadable operator state");
      if (core.has_label) {
        EDDY_ASSIGN_OR_RETURN(
            core.labels, LabelEncoder::Restore("label", core.config.num_classes, state.labels()));
      }
      if (state.has_evaluator()) {
        EDDY_ASSIGN_OR_RETURN(core.evaluator, PrequentialEvaluator::Restore(state.evaluator()));
      }
    }
    if (core.has_label && core.labels == nullptr) {
      EDDY_ASSIGN_OR_RETURN(
          core.labels,
          LabelEncoder::Make(label_schema_, "label", core.config.task == Task::kClassification,
                             core.config.num_classes));
    }
    if (core.labels == nullptr) {
      // kmeans without a label: an empty encoder keeps the cache test simple.
      Schema schema({{"label", TypeId::kDouble, true}});
      EDDY_ASSIGN_OR_RETURN(core.labels, LabelEncoder::Make(schema, "label", false, 0));
    }
    if (kind_ == OpKind::kPrequential && core.evaluator == nullptr) {
      EDDY_ASSIGN_OR_RETURN(
          core.evaluator,
          PrequentialEvaluator::Make(core.config.task, core.config.num_classes, metrics_window_));
    }
    if (global) {
      const std::optional<std::string>& model = values[next++];
      if (model) {
        EDDY_ASSIGN_OR_RETURN(core.global, RestoreLearner(*model, "model of '" + name_ + "'"));
      }
    }
  }
  if (global) {
    if (core.global == nullptr) EDDY_RETURN_IF_ERROR(NewLearner(&core.global));
    for (Group& group : *groups) group.learner = core.global.get();
    return Status::OK();
  }
  for (Group& group : *groups) {
    const std::optional<std::string>& model = values[next++];
    std::unique_ptr<Learner> learner;
    if (model) {
      EDDY_ASSIGN_OR_RETURN(learner, RestoreLearner(*model, "model of '" + name_ + "'"));
    } else {
      EDDY_RETURN_IF_ERROR(NewLearner(&learner));
    }
    group.learner = learner.get();
    core.keyed.emplace(group.key, std::move(learner));
  }
  return Status::OK();
}

Status LearningOperator::ProcessBatch(const StatefulBatchContext& context,
                                      const std::vector<Batch>& inputs, Batch* out,
                                      Batch* metrics_out, DeadLetters* dead_letters) {
  EDDY_RETURN_IF_ERROR(ProcessRows(context, inputs, out, dead_letters));
  if (kind_ != OpKind::kPrequential || metrics_out == nullptr) return Status::OK();
  // The metrics output: this batch's id and the figures after it.
  const std::vector<std::pair<std::string, double>> figures = Metrics();
  Batch row(metrics_schema_);
  row.column(0).AppendInt64(context.batch_id);
  for (size_t idx = 1; idx < metrics_schema_.size(); ++idx) {
    if (idx - 1 < figures.size() && std::isfinite(figures[idx - 1].second)) {
      row.column(idx).AppendDouble(figures[idx - 1].second);
    } else {
      row.column(idx).AppendNull();  // nothing evaluated yet
    }
  }
  EDDY_RETURN_IF_ERROR(row.SetNumRows(1));
  return metrics_out->Append(row);
}

Status LearningOperator::ProcessRows(const StatefulBatchContext& context,
                                     const std::vector<Batch>& inputs, Batch* out,
                                     DeadLetters* dead_letters) {
  const Batch& input = inputs.at(0);
  if (kind_ == OpKind::kPredict && input.num_rows() > 0 && core_->batch_id != context.batch_id) {
    return Status::Internal("learner '" + core_->name + "' has not processed batch " +
                            std::to_string(context.batch_id));
  }
  AcceptedRows accepted;
  EvaluateAndValidate(input, &accepted, dead_letters);
  if (accepted.rows.empty() && accepted.finite_checked_late) {
    WriteLateDeadLetters(input, {}, &accepted, dead_letters);
  }
  if (accepted.rows.empty()) {
    if (kind_ != OpKind::kPredict) FinishEmptyBatch(context);
    return Status::OK();
  }
  std::vector<Group> groups = GroupRowsByKey(accepted);
  EDDY_RETURN_IF_ERROR(LoadModels(context, &groups));
  for (Group& group : groups) {
    if (group.learner != nullptr) group.learner->model->set_thread_pool(context.thread_pool);
  }
  std::vector<double> y;
  std::vector<uint8_t> labelled;
  EDDY_RETURN_IF_ERROR(EncodeLabels(&accepted, &y, &labelled));
  ModelResults results;
  EDDY_RETURN_IF_ERROR(RunModels(accepted, groups, y, labelled, &results));
  if (accepted.finite_checked_late) {
    RejectNotFinite(input, &accepted, &y, &labelled, &results, dead_letters);
    // Every row masked: the models learned nothing, as if the batch had
    // had no row to learn.
    if (accepted.rows.empty()) {
      FinishEmptyBatch(context);
      return Status::OK();
    }
  }
  if (kind_ != OpKind::kPredict) {
    EDDY_RETURN_IF_ERROR(StoreState(context, groups, y, labelled, results));
  }
  return WriteOutput(input, accepted, results, out);
}

// Step 1: the expressions, a column at a time; the rows that fail one or
// Validate become dead letters (one each, the first reason), the others
// are `accepted`.
void LearningOperator::EvaluateAndValidate(const Batch& input, AcceptedRows* accepted,
                                           DeadLetters* dead_letters) const {
  std::vector<RowError> errors;
  std::vector<Column> feature_columns;
  feature_columns.reserve(features_.size());
  for (const NamedExpression& feature : features_)
    feature_columns.push_back(feature.expression->Evaluate(input, &errors));
  if (label_ && kind_ != OpKind::kPredict) accepted->label = label_->Evaluate(input, &errors);
  for (const NamedExpression& key : keys_)
    accepted->keys.push_back(key.expression->Evaluate(input, &errors));
  std::vector<uint8_t> rejected(input.num_rows(), 0);
  std::sort(errors.begin(), errors.end(),
            [](const RowError& a, const RowError& b) { return a.row < b.row; });
  RejectFailedRows(input, errors, name_, &rejected, dead_letters);
  const Column* label = accepted->label ? &*accepted->label : nullptr;
  accepted->finite_checked_late = ChecksFiniteLate(feature_columns, label);
  if (accepted->finite_checked_late) accepted->input_features = feature_columns;
  Validate(input, feature_columns, label, &rejected, dead_letters,
           accepted->finite_checked_late ? accepted : nullptr);
  accepted->rows.reserve(input.num_rows());
  for (uint32_t row = 0; row < input.num_rows(); ++row) {
    if (!rejected[row]) accepted->rows.push_back(row);
  }
  // The model's view of the accepted rows: the feature columns.
  accepted->all = accepted->rows.size() == input.num_rows();
  for (size_t idx = 0; idx < features_.size(); ++idx) {
    accepted->features.AddColumn(feature_schema_.field(idx),
                                 accepted->all ? std::move(feature_columns[idx])
                                               : feature_columns[idx].Gather(accepted->rows));
  }
}

// learn and prequential with no row to learn: nothing changes, and the cache
// stays valid for the next batch.
void LearningOperator::FinishEmptyBatch(const StatefulBatchContext& context) {
  LearnerCore& core = *core_;
  PublishMetrics(0, status_.model_version, status_.shape);
  if (core.batch_id == context.batch_id - 1) core.batch_id = context.batch_id;
  core.keyed.clear();
}

// Step 2: the accepted rows of each model, groups in order of first
// appearance, rows in batch order.
std::vector<LearningOperator::Group> LearningOperator::GroupRowsByKey(
    const AcceptedRows& accepted) const {
  const uint32_t n = static_cast<uint32_t>(accepted.rows.size());
  std::vector<Group> groups;
  if (keys_.empty()) {
    groups.resize(1);
    groups[0].rows.resize(n);
    for (uint32_t idx = 0; idx < n; ++idx) groups[0].rows[idx] = idx;
    return groups;
  }
  std::unordered_map<std::string, uint32_t> index;
  std::string key;
  for (uint32_t idx = 0; idx < n; ++idx) {
    key.clear();
    EncodeKey(accepted.keys, accepted.rows[idx], &key);
    auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(groups.size()));
    if (inserted) {
      groups.emplace_back();
      groups.back().key = key;
    }
    groups[it->second].rows.push_back(idx);
  }
  return groups;
}

// Step 3: the model of each group. predict uses the models its learner left
// in memory for this batch (none for a key the learner has not seen).
Status LearningOperator::LoadModels(const StatefulBatchContext& context,
                                    std::vector<Group>* groups) {
  if (kind_ != OpKind::kPredict) return LoadState(context, groups);
  for (Group& group : *groups) {
    if (keys_.empty()) {
      group.learner = core_->global.get();
    } else {
      auto it = core_->keyed.find(group.key);
      group.learner = it == core_->keyed.end() ? nullptr : it->second.get();
    }
  }
  return Status::OK();
}

// Step 4: the labels, over all accepted rows in batch order (one
// vocabulary); kmeans learns every row without one.
Status LearningOperator::EncodeLabels(AcceptedRows* accepted, std::vector<double>* y,
                                      std::vector<uint8_t>* labelled) const {
  const size_t n = accepted->rows.size();
  if (!accepted->label) {
    y->assign(n, 0.0);
    labelled->assign(n, core_->config.task == Task::kClustering ? 1 : 0);
    return Status::OK();
  }
  Batch label_batch;
  label_batch.AddColumn(label_schema_.field(0), accepted->all
                                                    ? std::move(*accepted->label)
                                                    : accepted->label->Gather(accepted->rows));
  return core_->labels->Encode(label_batch, /*update=*/true, y, labelled);
}

// Step 5: learn / predict, model by model.
Status LearningOperator::RunModels(const AcceptedRows& accepted, const std::vector<Group>& groups,
                                   const std::vector<double>& y,
                                   const std::vector<uint8_t>& labelled,
                                   ModelResults* results) const {
  const size_t n = accepted.rows.size();
  const int classes = core_->config.task == Task::kClassification ? core_->config.num_classes : 0;
  results->finite_checked_late = accepted.finite_checked_late;
  results->versions.assign(n, 0);
  results->predicted.assign(n, 0);
  if (kind_ != OpKind::kLearn) {
    results->predictions.value.setZero(static_cast<Eigen::Index>(n));
    results->predictions.score.setZero(static_cast<Eigen::Index>(n));
    if (classes > 0)
      results->predictions.probabilities.setZero(static_cast<Eigen::Index>(n), classes);
  }
  // Reused from group to group and batch to batch: a batch of the same
  // shape as the last encodes into the same matrix.
  ModelScratch& scratch = scratch_;
  for (const Group& group : groups) {
    if (group.learner == nullptr) continue;  // predict: the learner has no model for this key
    if (groups.size() == 1) {
      EDDY_RETURN_IF_ERROR(RunModel(accepted.features, group, y, labelled, &scratch, results));
    } else {
      EDDY_RETURN_IF_ERROR(
          RunModel(accepted.features.Gather(group.rows), group, y, labelled, &scratch, results));
    }
  }
  return Status::OK();
}

// One group's rows (`rows`, the group's feature columns) through its model;
// the outputs land at the group's positions in `results`.
Status LearningOperator::RunModel(const Batch& rows, const Group& group,
                                  const std::vector<double>& y,
                                  const std::vector<uint8_t>& labelled, ModelScratch* scratch,
                                  ModelResults* results) const {
  Model& model = *group.learner->model;
  const size_t count = group.rows.size();
  const int64_t version_before = model.version();
  // A model that learns a batch in blocks as in one call gets cache-sized
  // blocks: the encoder's matrix of a whole batch (80 MB for 100k rows of
  // 100 features) would be written to memory, then read back by the model.
  const bool blocks = model.LearnsInBlocks() && count > kModelBlockRows;
  const size_t block = blocks ? kModelBlockRows : count;
  const bool learns = kind_ != OpKind::kPredict;
  if (blocks && learns) model.BeginBlocks();
  Status status;
  for (size_t first = 0; first < count && status.ok(); first += block) {
    status = RunModelBlock(rows, group, first, std::min(block, count - first), y, labelled, scratch,
                           results);
  }
  if (blocks && learns) model.EndBlocks();
  EDDY_RETURN_IF_ERROR(status);
  const int64_t version = kind_ == OpKind::kLearn ? model.version() : version_before;
  results->latest_version = std::max(results->latest_version, model.version());
  for (const uint32_t row : group.rows) results->versions[row] = version;
  return Status::OK();
}

// Rows [first, first + count) of the group through its model.
Status LearningOperator::RunModelBlock(const Batch& rows, const Group& group, size_t first,
                                       size_t count, const std::vector<double>& y,
                                       const std::vector<uint8_t>& labelled, ModelScratch* scratch,
                                       ModelResults* results) const {
  const Task task = core_->config.task;
  Learner& learner = *group.learner;
  RowMatrix& x = scratch->x;
  std::vector<uint8_t>& valid = scratch->valid;
  std::vector<double>& group_y = scratch->y;
  std::vector<uint8_t>& group_mask = scratch->mask;
  PredictionColumns& group_out = scratch->out;
  EDDY_RETURN_IF_ERROR(learner.features->Encode(rows, first, count,
                                                /*update=*/kind_ != OpKind::kPredict, &x, &valid));
  group_y.resize(count);
  group_mask.resize(count);
  for (size_t idx = 0; idx < count; ++idx) {
    const uint32_t row = group.rows[first + idx];
    group_y[idx] = y[row];
    group_mask[idx] = labelled[row] & valid[idx];
    // Only a non-finite value makes a numeric row invalid (no NULLs here).
    if (!valid[idx] && results->finite_checked_late) results->not_finite.push_back(row);
  }
  const std::span<const double> labels =
      task == Task::kClustering ? std::span<const double>() : std::span<const double>(group_y);
  switch (kind_) {
    case OpKind::kLearn:
      EDDY_RETURN_IF_ERROR(learner.model->Learn(x, labels, &group_mask));
      break;
    case OpKind::kPredict:
      EDDY_RETURN_IF_ERROR(learner.model->Predict(x, &group_out));
      break;
    case OpKind::kPrequential:
      EDDY_RETURN_IF_ERROR(learner.model->Prequential(x, labels, &group_mask, &group_out));
      break;
  }
  for (const uint8_t learned : group_mask) results->rows_learned += learned;
  if (kind_ == OpKind::kLearn) return Status::OK();
  const bool classes = task == Task::kClassification && core_->config.num_classes > 0;
  PredictionColumns& predictions = results->predictions;
  for (size_t idx = 0; idx < count; ++idx) {
    const uint32_t row = group.rows[first + idx];
    results->predicted[row] = 1;
    const auto at = static_cast<Eigen::Index>(idx);
    predictions.value[row] = group_out.value[at];
    if (group_out.score.size() > 0) predictions.score[row] = group_out.score[at];
    if (classes) predictions.probabilities.row(row) = group_out.probabilities.row(at);
  }
  return Status::OK();
}

// Step 6 (learn, prequential): the evaluation, then the models of the batch
// and the operator state into the batch's writes.
Status LearningOperator::StoreState(const StatefulBatchContext& context,
                                    const std::vector<Group>& groups, const std::vector<double>& y,
                                    const std::vector<uint8_t>& labelled,
                                    const ModelResults& results) {
  LearnerCore& core = *core_;
  if (kind_ == OpKind::kPrequential) {
    std::vector<uint8_t> evaluated = labelled;
    if (core.config.task == Task::kClustering) {
      for (size_t row = 0; row < evaluated.size(); ++row)
        evaluated[row] = results.predictions.value[row] >= 0;
    }
    EDDY_RETURN_IF_ERROR(core.evaluator->Update(results.predictions, y, &evaluated));
  }
  std::string value;
  for (const Group& group : groups) {
    if (keys_.empty() && defer_model_) {
      // Written at the next checkpoint (WriteDeferredState), not per batch.
      model_dirty_ = true;
      continue;
    }
    value.clear();
    EDDY_RETURN_IF_ERROR(SerializeLearner(*group.learner, &value));
    if (keys_.empty()) {
      context.writes->Put(*context.table, kGlobalGroup, kGlobalModelKey, value);
    } else {
      context.writes->Put(*context.table, KeyGroupForKey(group.key, context.key_groups),
                          KeyStateKey(group.key), value);
    }
  }
  learn::pb::OperatorState state;
  state.set_format_version(kStateFormat);
  core.labels->Snapshot(state.mutable_labels());
  if (core.evaluator) core.evaluator->Snapshot(state.mutable_evaluator());
  context.writes->Put(*context.table, kGlobalGroup, kOperatorStateKey, state.SerializeAsString());
  core.batch_id = context.batch_id;
  PublishMetrics(results.rows_learned, results.latest_version,
                 keys_.empty() && core.global ? core.global->model->Shape() : learn::ModelShape());
  return Status::OK();
}

Status LearningOperator::WriteDeferredState(const StateTable& table, StateWriteBatch* writes) {
  if (!model_dirty_ || core_->global == nullptr) return Status::OK();
  std::string value;
  EDDY_RETURN_IF_ERROR(SerializeLearner(*core_->global, &value));
  writes->Put(table, kGlobalGroup, kGlobalModelKey, value);
  model_dirty_ = false;
  return Status::OK();
}

// Step 7: the accepted rows (without a replaced model_version column), the
// prediction columns (not for learn), then model_version.
Status LearningOperator::WriteOutput(const Batch& input, const AcceptedRows& accepted,
                                     const ModelResults& results, Batch* out) const {
  const size_t n = accepted.rows.size();
  // Every row accepted (the common case): the input's columns are shared,
  // not gathered.
  Batch passed = accepted.all ? input : input.Gather(accepted.rows);
  Batch result(output_schema_);
  size_t column = 0;
  for (size_t idx = 0; idx < passed.num_columns(); ++idx) {
    if (dropped_version_ && idx == *dropped_version_) continue;
    result.column(column++) = std::move(passed.column(idx));
  }
  if (kind_ != OpKind::kLearn) AppendPredictions(results, n, &result, &column);
  Column& version_column = result.column(column++);
  version_column.ResizeFixed(n);
  std::copy(results.versions.begin(), results.versions.end(),
            version_column.mutable_int64s().begin());
  result.meta() = std::move(passed.meta());
  EDDY_RETURN_IF_ERROR(result.SetNumRows(n));
  return out->Append(result);
}

// The prediction columns from `*column` on: regression, the prediction;
// classification, the class (in the label's type) and its probability;
// k-means, the cluster and the distance. NULL where no model predicted.
void LearningOperator::AppendPredictions(const ModelResults& results, size_t n, Batch* result,
                                         size_t* column) const {
  const PredictionColumns& predictions = results.predictions;
  const std::vector<uint8_t>& predicted = results.predicted;
  Column& prediction = result->column((*column)++);
  prediction.Reserve(n);
  switch (core_->config.task) {
    case Task::kRegression:
      for (size_t row = 0; row < n; ++row) {
        if (predicted[row]) {
          prediction.AppendDouble(predictions.value[row]);
        } else {
          prediction.AppendNull();
        }
      }
      break;
    case Task::kClassification: {
      Column& probability = result->column((*column)++);
      for (size_t row = 0; row < n; ++row) {
        if (!predicted[row]) {
          prediction.AppendNull();
          probability.AppendNull();
          continue;
        }
        AppendClass(static_cast<int>(predictions.value[row]), &prediction);
        probability.AppendDouble(predictions.score[row]);
      }
      break;
    }
    case Task::kClustering: {
      Column& distance = result->column((*column)++);
      for (size_t row = 0; row < n; ++row) {
        const double cluster = predictions.value[row];
        if (!predicted[row] || cluster < 0) {  // not seeded yet
          prediction.AppendNull();
          distance.AppendNull();
        } else {
          prediction.AppendInt64(static_cast<int64_t>(cluster));
          distance.AppendDouble(predictions.score[row]);
        }
      }
      break;
    }
  }
}

// Class `id` in the label's type: string labels by their vocabulary.
void LearningOperator::AppendClass(int id, Column* prediction) const {
  switch (core_->label_type) {
    case TypeId::kString: {
      const std::string name = core_->labels->ClassName(id);
      if (name.empty()) {
        prediction->AppendNull();  // a class no labelled row has named yet
      } else {
        prediction->AppendString(name);
      }
      break;
    }
    case TypeId::kDouble:
      prediction->AppendDouble(id);
      break;
    case TypeId::kBool:
      prediction->AppendBool(id != 0);
      break;
    default:
      prediction->AppendInt64(id);
      break;
  }
}

void LearningOperator::PublishMetrics(int64_t rows_learned, int64_t model_version,
                                      learn::ModelShape shape) {
  std::vector<std::pair<std::string, double>> metrics;
  for (const bool window : {false, true}) {
    if (core_->evaluator == nullptr) break;  // learn: no prequential evaluation
    const PrequentialEvaluator& evaluator = *core_->evaluator;
    const std::string prefix = window ? "window_" : "";
    switch (evaluator.task()) {
      case Task::kClassification: {
        const learn::ClassificationReport report = evaluator.Classification(window);
        metrics.emplace_back(prefix + "rows", static_cast<double>(report.count));
        metrics.emplace_back(prefix + "accuracy", report.accuracy);
        metrics.emplace_back(prefix + "log_loss", report.log_loss);
        metrics.emplace_back(prefix + "precision", report.macro_precision);
        metrics.emplace_back(prefix + "recall", report.macro_recall);
        metrics.emplace_back(prefix + "f1", report.macro_f1);
        break;
      }
      case Task::kRegression: {
        const learn::RegressionReport report = evaluator.Regression(window);
        metrics.emplace_back(prefix + "rows", static_cast<double>(report.count));
        metrics.emplace_back(prefix + "rmse", report.rmse);
        metrics.emplace_back(prefix + "mae", report.mae);
        metrics.emplace_back(prefix + "r2", report.r2);
        break;
      }
      case Task::kClustering: {
        const learn::ClusteringReport report = evaluator.Clustering(window);
        metrics.emplace_back(prefix + "rows", static_cast<double>(report.count));
        metrics.emplace_back(prefix + "sse", report.sse);
        metrics.emplace_back(prefix + "mean_squared_distance", report.mean_squared_distance);
        break;
      }
    }
  }
  std::lock_guard<std::mutex> lock(metrics_mutex_);
  status_.rows_learned = rows_learned;
  status_.model_version = model_version;
  status_.shape = std::move(shape);
  status_.quality = std::move(metrics);
}

}  // namespace eddy::learn_op
