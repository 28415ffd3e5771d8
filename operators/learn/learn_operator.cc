// The learning operators: learn, predict, prequential (docs/learning.md).
//
// Per batch, over all of the operator's rows in batch order:
//  1. feature, label and key expressions are evaluated a column at a time;
//     rows with an expression error, a NULL or non-finite numeric feature or
//     an invalid label become dead letters;
//  2. the models the batch needs are read with one MultiGet (the global
//     model stays cached between consecutive batches: a restored model is
//     bit-identical to the one that was saved, so the cache changes nothing
//     but the cost);
//  3. each model sees its rows in order (per-key models: each key's rows, in
//     batch order) through the library's Learn / Predict / Prequential;
//  4. the changed models go back into the batch's StateWriteBatch, committed
//     atomically with the batch's offsets, so after a restart the operator
//     continues exactly where the last committed batch left it.
//
// State layout (learn_state.proto): 'O' in key group 0 -> OperatorState
// (label vocabulary, evaluator); 'M' in key group 0 -> LearnerState of the
// global model; 'K' + encoded key in the key's group -> LearnerState of that
// key's model.
//
// predict uses the model of the learn operator named in `from`, which must be
// its input: the learner runs first in every batch and leaves the models it
// used in memory (LearnerCore), so predict needs no state of its own.

#include "operators/learn/learn_operator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "operators/learn/learn_state.pb.h"
#include "operators/models/evaluation.h"
#include "operators/models/features.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "runtime/core/json_string.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

using learn::FeatureEncoder;
using learn::LabelEncoder;
using learn::Model;
using learn::PredictionColumns;
using learn::PrequentialEvaluator;
using learn::RowMatrix;
using learn::Task;

constexpr int kStateFormat = 1;
constexpr KeyGroupId kGlobalGroup{0};
constexpr std::string_view kOperatorStateKey = "O";
constexpr std::string_view kGlobalModelKey = "M";

enum class OpKind : uint8_t { kLearn, kPredict, kPrequential };
enum class ModelType : uint8_t {
  kSgdRegressor,
  kSgdClassifier,
  kKMeans,
  kHoeffdingTree,
  kHoeffdingAdaptiveTree,
  kHoeffdingTreeRegressor,
};

constexpr std::pair<std::string_view, ModelType> kModelNames[] = {
    {"sgd_regressor", ModelType::kSgdRegressor},
    {"sgd_classifier", ModelType::kSgdClassifier},
    {"kmeans", ModelType::kKMeans},
    {"hoeffding_tree", ModelType::kHoeffdingTree},
    {"hoeffding_adaptive_tree", ModelType::kHoeffdingAdaptiveTree},
    {"hoeffding_tree_regressor", ModelType::kHoeffdingTreeRegressor},
};

std::string KeyStateKey(std::string_view key) {
  std::string out(1, 'K');
  out.append(key);
  return out;
}

// ---------------------------------------------------------------------------
// Options: map<string, string> -> the library's options structs, with errors
// naming the option.

class OptionReader {
 public:
  OptionReader(const google::protobuf::Map<std::string, std::string>& options, std::string path,
               const SpecErrorReporter& error_at)
      : options_(options), path_(std::move(path)), error_at_(error_at) {}

  Status Double(std::string_view name, double* out, double min, double max, bool min_open = false) {
    const std::string* text = Find(name);
    if (text == nullptr) return Status::OK();
    double value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || !std::isfinite(value)) {
      return Error(name, "expected a number, got '" + *text + "'");
    }
    if (value < min || value > max || (min_open && value == min)) {
      return Error(name, "must be " + std::string(min_open ? "> " : ">= ") + Format(min) +
                             (std::isinf(max) ? "" : " and <= " + Format(max)) + ", got " + *text);
    }
    *out = value;
    return Status::OK();
  }

  template <typename Int>
  Status Integer(std::string_view name, Int* out, int64_t min, int64_t max) {
    const std::string* text = Find(name);
    if (text == nullptr) return Status::OK();
    int64_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return Error(name, "expected an integer, got '" + *text + "'");
    }
    if (value < min || value > max) {
      return Error(name, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                             ", got " + *text);
    }
    *out = static_cast<Int>(value);
    return Status::OK();
  }

  Status Bool(std::string_view name, bool* out) {
    const std::string* text = Find(name);
    if (text == nullptr) return Status::OK();
    if (*text == "true") {
      *out = true;
    } else if (*text == "false") {
      *out = false;
    } else {
      return Error(name, "expected true or false, got '" + *text + "'");
    }
    return Status::OK();
  }

  template <typename Enum>
  Status Choice(std::string_view name, Enum* out,
                std::initializer_list<std::pair<std::string_view, Enum>> choices) {
    const std::string* text = Find(name);
    if (text == nullptr) return Status::OK();
    std::string expected;
    for (const auto& [choice, value] : choices) {
      if (*text == choice) {
        *out = value;
        return Status::OK();
      }
      expected += (expected.empty() ? "" : " | ") + std::string(choice);
    }
    return Error(name, "expected " + expected + ", got '" + *text + "'");
  }

  bool Has(std::string_view name) const { return options_.count(std::string(name)) > 0; }

  // Every option given must have been read.
  Status CheckAllKnown(std::string_view model) {
    std::vector<std::string> unknown;
    for (const auto& [name, value] : options_) {
      if (known_.count(name) == 0) unknown.push_back(name);
    }
    if (unknown.empty()) return Status::OK();
    std::sort(unknown.begin(), unknown.end());
    std::string expected;
    for (const std::string& name : known_) expected += (expected.empty() ? "" : ", ") + name;
    return Error(unknown.front(), "unknown option '" + unknown.front() + "' for model " +
                                      std::string(model) + " (expected one of: " + expected + ")");
  }

  // Declares an option as known without reading it (handled elsewhere).
  void Known(std::string_view name) { known_.insert(std::string(name)); }

  Status Error(std::string_view name, std::string_view message) const {
    return error_at_(path_ + "." + std::string(name),
                     "option " + std::string(name) + ": " + std::string(message));
  }

 private:
  const std::string* Find(std::string_view name) {
    known_.insert(std::string(name));
    auto it = options_.find(std::string(name));
    return it == options_.end() ? nullptr : &it->second;
  }
  static std::string Format(double value) {
    std::string text = std::to_string(value);
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text;
  }

  const google::protobuf::Map<std::string, std::string>& options_;
  std::string path_;
  const SpecErrorReporter& error_at_;
  std::set<std::string> known_;
};

// Everything that decides how a model is built.
struct ModelConfig {
  ModelType type = ModelType::kSgdRegressor;
  std::string type_name;
  Task task = Task::kRegression;
  int num_classes = 0;  // classification only
  learn::LinearModelOptions linear;
  learn::KMeansOptions kmeans;
  learn::HoeffdingTreeOptions tree;
  learn::HoeffdingTreeRegressorOptions tree_regressor;
  learn::FeatureOptions features;
};

Status ReadLinearOptions(OptionReader& reader, bool classification,
                         learn::LinearModelOptions* options) {
  using learn::LearningRate;
  using learn::LinearLoss;
  using learn::Penalty;
  if (!classification) {
    EDDY_RETURN_IF_ERROR(
        reader.Choice<LinearLoss>("loss", &options->loss,
                                  {{"squared", LinearLoss::kSquared},
                                   {"huber", LinearLoss::kHuber},
                                   {"epsilon_insensitive", LinearLoss::kEpsilonInsensitive}}));
    EDDY_RETURN_IF_ERROR(reader.Double("epsilon", &options->epsilon, 0, INFINITY));
  }
  EDDY_RETURN_IF_ERROR(reader.Choice<Penalty>("penalty", &options->penalty,
                                              {{"none", Penalty::kNone},
                                               {"l2", Penalty::kL2},
                                               {"l1", Penalty::kL1},
                                               {"elasticnet", Penalty::kElasticNet}}));
  EDDY_RETURN_IF_ERROR(reader.Double("alpha", &options->alpha, 0, INFINITY));
  EDDY_RETURN_IF_ERROR(reader.Double("l1_ratio", &options->l1_ratio, 0, 1));
  EDDY_RETURN_IF_ERROR(reader.Choice<LearningRate>("learning_rate", &options->schedule,
                                                   {{"constant", LearningRate::kConstant},
                                                    {"invscaling", LearningRate::kInverseScaling},
                                                    {"adagrad", LearningRate::kAdaGrad}}));
  EDDY_RETURN_IF_ERROR(reader.Double("eta0", &options->eta0, 0, INFINITY, /*min_open=*/true));
  EDDY_RETURN_IF_ERROR(reader.Double("power_t", &options->power_t, 0, INFINITY));
  EDDY_RETURN_IF_ERROR(reader.Bool("fit_intercept", &options->fit_intercept));
  return Status::OK();
}

Status ReadTreeOptions(OptionReader& reader, bool adaptive, learn::HoeffdingTreeOptions* options) {
  using learn::LeafPrediction;
  using learn::SplitCriterion;
  EDDY_RETURN_IF_ERROR(reader.Choice<SplitCriterion>(
      "split_criterion", &options->split_criterion,
      {{"info_gain", SplitCriterion::kInfoGain}, {"gini", SplitCriterion::kGini}}));
  EDDY_RETURN_IF_ERROR(reader.Double("delta", &options->delta, 0, 1, /*min_open=*/true));
  EDDY_RETURN_IF_ERROR(reader.Integer("grace_period", &options->grace_period, 1, 1 << 30));
  EDDY_RETURN_IF_ERROR(reader.Double("tau", &options->tau, 0, INFINITY));
  EDDY_RETURN_IF_ERROR(reader.Choice<LeafPrediction>(
      "leaf_prediction", &options->leaf_prediction,
      {{"majority_class", LeafPrediction::kMajorityClass},
       {"naive_bayes", LeafPrediction::kNaiveBayes},
       {"adaptive_naive_bayes", LeafPrediction::kNaiveBayesAdaptive}}));
  EDDY_RETURN_IF_ERROR(reader.Integer("max_depth", &options->max_depth, 0, 1 << 20));
  EDDY_RETURN_IF_ERROR(
      reader.Integer("max_active_leaves", &options->max_active_leaves, 0, INT64_MAX));
  EDDY_RETURN_IF_ERROR(reader.Integer("max_bytes", &options->max_bytes, 0, INT64_MAX));
  EDDY_RETURN_IF_ERROR(reader.Double("min_branch_fraction", &options->min_branch_fraction, 0, 0.5));
  EDDY_RETURN_IF_ERROR(reader.Integer("num_split_points", &options->num_split_points, 1, 10000));
  if (adaptive) {
    EDDY_RETURN_IF_ERROR(
        reader.Double("adwin_delta", &options->adwin_delta, 0, 1, /*min_open=*/true));
    EDDY_RETURN_IF_ERROR(
        reader.Integer("drift_window_threshold", &options->drift_window_threshold, 1, 1 << 30));
  }
  return Status::OK();
}

Status ReadModelOptions(OptionReader& reader, ModelConfig* config) {
  switch (config->type) {
    case ModelType::kSgdRegressor:
      return ReadLinearOptions(reader, false, &config->linear);
    case ModelType::kSgdClassifier:
      EDDY_RETURN_IF_ERROR(ReadLinearOptions(reader, true, &config->linear));
      config->linear.loss =
          config->num_classes > 2 ? learn::LinearLoss::kSoftmax : learn::LinearLoss::kLogistic;
      config->linear.num_classes = config->num_classes;
      return Status::OK();
    case ModelType::kKMeans: {
      learn::KMeansOptions& options = config->kmeans;
      EDDY_RETURN_IF_ERROR(reader.Integer("k", &options.k, 1, 100000));
      EDDY_RETURN_IF_ERROR(reader.Double("decay_factor", &options.decay_factor, 0, 1));
      if (reader.Has("half_life")) {
        if (reader.Has("decay_factor"))
          return reader.Error("half_life", "give decay_factor or half_life, not both");
        double half_life = 0;
        EDDY_RETURN_IF_ERROR(
            reader.Double("half_life", &half_life, 0, INFINITY, /*min_open=*/true));
        options.decay_factor = learn::DecayFactorFromHalfLife(half_life);
      }
      reader.Known("half_life");
      EDDY_RETURN_IF_ERROR(reader.Choice<learn::DecayUnit>(
          "time_unit", &options.time_unit,
          {{"batches", learn::DecayUnit::kBatches}, {"points", learn::DecayUnit::kPoints}}));
      EDDY_RETURN_IF_ERROR(reader.Integer("seed", &options.seed, 0, INT64_MAX));
      return Status::OK();
    }
    case ModelType::kHoeffdingTree:
    case ModelType::kHoeffdingAdaptiveTree:
      config->tree.num_classes = config->num_classes;
      return ReadTreeOptions(reader, config->type == ModelType::kHoeffdingAdaptiveTree,
                             &config->tree);
    case ModelType::kHoeffdingTreeRegressor: {
      learn::HoeffdingTreeRegressorOptions& options = config->tree_regressor;
      EDDY_RETURN_IF_ERROR(reader.Double("delta", &options.delta, 0, 1, /*min_open=*/true));
      EDDY_RETURN_IF_ERROR(reader.Integer("grace_period", &options.grace_period, 1, 1 << 30));
      EDDY_RETURN_IF_ERROR(reader.Double("tau", &options.tau, 0, INFINITY));
      EDDY_RETURN_IF_ERROR(
          reader.Choice<learn::RegressionLeaf>("leaf_model", &options.leaf_model,
                                               {{"mean", learn::RegressionLeaf::kMean},
                                                {"linear", learn::RegressionLeaf::kLinear},
                                                {"adaptive", learn::RegressionLeaf::kAdaptive}}));
      EDDY_RETURN_IF_ERROR(
          reader.Double("leaf_learning_rate", &options.leaf_learning_rate, 0, INFINITY, true));
      EDDY_RETURN_IF_ERROR(
          reader.Double("quantization_radius", &options.quantization_radius, 0, INFINITY, true));
      EDDY_RETURN_IF_ERROR(reader.Integer("max_depth", &options.max_depth, 0, 1 << 20));
      EDDY_RETURN_IF_ERROR(
          reader.Double("min_branch_fraction", &options.min_branch_fraction, 0, 0.5));
      return Status::OK();
    }
  }
  return Status::OK();
}

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
  }
  return Status::Internal("unknown model type");
}

// One model with its feature encoding.
struct Learner {
  std::unique_ptr<FeatureEncoder> features;
  std::unique_ptr<Model> model;
};

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

// The model side of a learner operator, shared with the predict operators
// that name it in `from`. Holds the models of the last batch processed.
struct LearnerCore {
  std::string name;  // the learn operator
  ModelConfig config;
  Schema input_schema;  // the learner's input
  Schema output_schema;
  std::vector<std::string> feature_texts;
  std::vector<std::string> key_texts;
  std::vector<TypeId> key_types;
  std::string label_text;
  TypeId label_type = TypeId::kDouble;
  bool has_label = false;

  // Cache, valid for the batch `batch_id` (and, for the global model and
  // the operator state, as the start of batch batch_id + 1).
  int64_t batch_id = -1;
  std::unique_ptr<Learner> global;
  std::unordered_map<std::string, std::unique_ptr<Learner>> keyed;  // this batch's keys
  std::unique_ptr<LabelEncoder> labels;
  std::unique_ptr<PrequentialEvaluator> evaluator;
};

// ---------------------------------------------------------------------------

// What a learn or prequential operator did in its last batch.
struct LearnerStatus {
  int64_t rows_learned = 0;   // labelled rows learned in the last batch
  int64_t model_version = 0;  // the model's (per-key models: the highest of the batch's)
  learn::ModelShape shape;    // the global model's; empty for per-key models
  std::vector<std::pair<std::string, double>> quality;  // LearningMetrics()
};

class LearningOperator final : public StatefulOperator {
 public:
  LearningOperator(std::string name, OpKind kind, std::shared_ptr<LearnerCore> core,
                   std::vector<NamedExpression> features, std::unique_ptr<Expression> label,
                   std::vector<NamedExpression> keys, Schema input_schema, Schema output_schema,
                   std::optional<size_t> dropped_version, int64_t metrics_window,
                   std::string signature)
      : name_(std::move(name)),
        kind_(kind),
        core_(std::move(core)),
        features_(std::move(features)),
        label_(std::move(label)),
        keys_(std::move(keys)),
        input_schema_(std::move(input_schema)),
        output_schema_(std::move(output_schema)),
        dropped_version_(dropped_version),
        metrics_window_(metrics_window),
        signature_(std::move(signature)) {
    for (const NamedExpression& feature : features_) {
      feature_schema_.AddField({feature.name, feature.expression->type(), true});
    }
    if (label_) label_schema_.AddField({"label", label_->type(), true});
    if (kind_ == OpKind::kPrequential) {
      metrics_schema_.AddField({"batch_id", TypeId::kInt64, false});
      for (const std::string& name : QualityNames(core_->config.task)) {
        metrics_schema_.AddField({name, TypeId::kDouble, true});
      }
    }
  }

  // The prequential figures PublishMetrics computes, in its order: the
  // whole stream's, then the window's ("window_" prefix).
  static std::vector<std::string> QualityNames(Task task) {
    std::vector<std::string> names;
    for (const std::string prefix : {"", "window_"}) {
      names.push_back(prefix + "rows");
      switch (task) {
        case Task::kClassification:
          for (const char* name : {"accuracy", "log_loss", "precision", "recall", "f1"})
            names.push_back(prefix + name);
          break;
        case Task::kRegression:
          for (const char* name : {"rmse", "mae", "r2"}) names.push_back(prefix + name);
          break;
        case Task::kClustering:
          for (const char* name : {"sse", "mean_squared_distance"}) names.push_back(prefix + name);
          break;
      }
    }
    return names;
  }

  const std::string& name() const override { return name_; }
  std::string kind() const override {
    return kind_ == OpKind::kLearn     ? "learn"
           : kind_ == OpKind::kPredict ? "predict"
                                       : "prequential";
  }
  const Schema& output_schema() const override { return output_schema_; }
  // prequential: "<name>.metrics", one row of quality figures per batch.
  const Schema* late_schema() const override {
    return kind_ == OpKind::kPrequential ? &metrics_schema_ : nullptr;
  }
  std::string side_output_name() const override { return "metrics"; }
  bool keeps_input_time() const override { return true; }
  std::string Signature() const override { return signature_; }
  std::string Describe() const override { return kind() + " " + signature_; }

  Status ProcessBatch(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                      Batch* out, Batch* metrics_out, DeadLetters* dead_letters) override;

  std::vector<std::pair<std::string, double>> Metrics() const {
    std::lock_guard<std::mutex> lock(metrics_mutex_);
    return status_.quality;
  }
  // True for learn (the operators a predict may take its model from).
  bool learns() const { return kind_ == OpKind::kLearn; }
  const std::shared_ptr<LearnerCore>& core() const { return core_; }

  // learn and prequential: rows learned in the last batch, the model's
  // version (per-key models: the highest of the batch's), the global model's
  // shape and the prequential quality.
  std::optional<OperatorStatus> LastBatchStatus() const override {
    if (kind_ == OpKind::kPredict) return std::nullopt;
    std::lock_guard<std::mutex> lock(metrics_mutex_);
    OperatorStatus status;
    status.figures.emplace_back("rows_learned", static_cast<double>(status_.rows_learned));
    status.figures.emplace_back("model_version", static_cast<double>(status_.model_version));
    if (status_.shape.tree_nodes > 0) {
      status.figures.emplace_back("tree_nodes", static_cast<double>(status_.shape.tree_nodes));
      status.figures.emplace_back("tree_depth", static_cast<double>(status_.shape.tree_depth));
    }
    if (!status_.shape.cluster_weights.empty()) {
      status.series.emplace_back("cluster_weight", status_.shape.cluster_weights);
    }
    status.figures.insert(status.figures.end(), status_.quality.begin(), status_.quality.end());
    return status;
  }

  Result<std::string> Export(const StateTable& table, int key_groups,
                             const std::string& key_text) const;

 private:
  // Rows of one model, as indices into the batch's accepted rows.
  struct Group {
    std::string key;  // encoded key; empty for the global model
    std::vector<uint32_t> rows;
    Learner* learner = nullptr;
  };

  Status Validate(const Batch& input, const std::vector<Column>& features, const Column* label,
                  std::vector<uint8_t>* rejected, DeadLetters* dead_letters) const;
  Status ProcessRows(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                     Batch* out, DeadLetters* dead_letters);
  Status LoadState(const StatefulBatchContext& context, std::vector<Group>* groups);
  Status NewLearner(std::unique_ptr<Learner>* out) const;
  void PublishMetrics(int64_t rows_learned, int64_t model_version, learn::ModelShape shape);

  std::string name_;
  OpKind kind_;
  std::shared_ptr<LearnerCore> core_;
  std::vector<NamedExpression> features_;
  std::unique_ptr<Expression> label_;
  std::vector<NamedExpression> keys_;
  Schema input_schema_;
  Schema output_schema_;
  std::optional<size_t> dropped_version_;  // an input model_version column replaced by ours
  int64_t metrics_window_;
  std::string signature_;
  Schema feature_schema_;
  Schema label_schema_;
  Schema metrics_schema_;  // prequential only

  mutable std::mutex metrics_mutex_;
  LearnerStatus status_;
};

Status LearningOperator::Validate(const Batch& input, const std::vector<Column>& features,
                                  const Column* label, std::vector<uint8_t>* rejected,
                                  DeadLetters* dead_letters) const {
  auto reject = [&](uint32_t row, std::string reason) {
    if ((*rejected)[row]) return;
    (*rejected)[row] = 1;
    dead_letters->push_back(RowDeadLetter(input, row, name_, std::move(reason)));
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
    if (column.type() == TypeId::kDouble) {
      const std::span<const double> values = column.doubles();
      for (uint32_t row = 0; row < rows; ++row) {
        if (!std::isfinite(values[row]) && !column.IsNull(row)) {
          reject(row, "feature '" + features_[idx].name + "' is not finite");
        }
      }
    }
  }
  if (label == nullptr) return Status::OK();
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
    if (!std::isfinite(value)) {
      reject(row, "label is not finite");
    } else if (classification && (value != std::floor(value) || value < 0 || value >= classes)) {
      reject(row, "label " + label->ValueToString(row) + " is not a class id in [0, " +
                      std::to_string(classes) + ") (set option classes)");
    }
  }
  return Status::OK();
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
  LearnerCore& core = *core_;
  const Task task = core.config.task;
  if (kind_ == OpKind::kPredict && input.num_rows() > 0 && core.batch_id != context.batch_id) {
    return Status::Internal("learner '" + core.name + "' has not processed batch " +
                            std::to_string(context.batch_id));
  }

  // 1. Expressions and validation.
  std::vector<RowError> errors;
  std::vector<Column> feature_columns;
  feature_columns.reserve(features_.size());
  for (const NamedExpression& feature : features_)
    feature_columns.push_back(feature.expression->Evaluate(input, &errors));
  std::optional<Column> label_column;
  if (label_ && kind_ != OpKind::kPredict) label_column = label_->Evaluate(input, &errors);
  std::vector<Column> key_columns;
  for (const NamedExpression& key : keys_)
    key_columns.push_back(key.expression->Evaluate(input, &errors));
  std::vector<uint8_t> rejected(input.num_rows(), 0);
  std::sort(errors.begin(), errors.end(),
            [](const RowError& a, const RowError& b) { return a.row < b.row; });
  for (const RowError& error : errors) {
    if (rejected[error.row]) continue;
    rejected[error.row] = 1;
    dead_letters->push_back(RowDeadLetter(input, error.row, name_, error.reason));
  }
  EDDY_RETURN_IF_ERROR(Validate(input, feature_columns, label_column ? &*label_column : nullptr,
                                &rejected, dead_letters));
  std::vector<uint32_t> accepted;
  accepted.reserve(input.num_rows());
  for (uint32_t row = 0; row < input.num_rows(); ++row) {
    if (!rejected[row]) accepted.push_back(row);
  }
  const size_t n = accepted.size();
  if (kind_ != OpKind::kPredict && n == 0) {
    // Nothing changes; the cache stays valid for the next batch.
    PublishMetrics(0, status_.model_version, status_.shape);
    if (core.batch_id == context.batch_id - 1) core.batch_id = context.batch_id;
    core.keyed.clear();
    return Status::OK();
  }
  if (n == 0) return Status::OK();

  // The model's view of the accepted rows: features, then the label.
  Batch model_input;
  const bool all = n == input.num_rows();
  for (size_t idx = 0; idx < features_.size(); ++idx) {
    model_input.AddColumn(feature_schema_.field(idx), all ? std::move(feature_columns[idx])
                                                          : feature_columns[idx].Gather(accepted));
  }

  // 2. Groups of rows per model, in order of first appearance.
  std::vector<Group> groups;
  if (keys_.empty()) {
    groups.resize(1);
    groups[0].rows.resize(n);
    for (uint32_t idx = 0; idx < n; ++idx) groups[0].rows[idx] = idx;
  } else {
    std::unordered_map<std::string, uint32_t> index;
    std::string key;
    for (uint32_t idx = 0; idx < n; ++idx) {
      key.clear();
      EncodeKey(key_columns, accepted[idx], &key);
      auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(groups.size()));
      if (inserted) {
        groups.emplace_back();
        groups.back().key = key;
      }
      groups[it->second].rows.push_back(idx);
    }
  }

  // 3. Models.
  if (kind_ == OpKind::kPredict) {
    for (Group& group : groups) {
      if (keys_.empty()) {
        group.learner = core.global.get();
      } else {
        auto it = core.keyed.find(group.key);
        group.learner = it == core.keyed.end() ? nullptr : it->second.get();
      }
    }
  } else {
    EDDY_RETURN_IF_ERROR(LoadState(context, &groups));
  }

  // 4. Labels, over all accepted rows in batch order (one vocabulary).
  std::vector<double> y;
  std::vector<uint8_t> labelled;
  if (label_column) {
    Batch label_batch;
    label_batch.AddColumn(label_schema_.field(0),
                          all ? std::move(*label_column) : label_column->Gather(accepted));
    EDDY_RETURN_IF_ERROR(core.labels->Encode(label_batch, /*update=*/true, &y, &labelled));
  } else {
    y.assign(n, 0.0);
    labelled.assign(n, task == Task::kClustering ? 1 : 0);
  }

  // 5. Learn / predict, model by model.
  const bool predicts = kind_ != OpKind::kLearn;
  const int classes = task == Task::kClassification ? core.config.num_classes : 0;
  PredictionColumns predictions;
  std::vector<int64_t> versions(n, 0);
  std::vector<uint8_t> predicted(n, 0);
  if (predicts) {
    predictions.value.setZero(static_cast<Eigen::Index>(n));
    predictions.score.setZero(static_cast<Eigen::Index>(n));
    if (classes > 0) predictions.probabilities.setZero(static_cast<Eigen::Index>(n), classes);
  }
  RowMatrix x;
  std::vector<uint8_t> valid;
  std::vector<double> group_y;
  std::vector<uint8_t> group_mask;
  PredictionColumns group_out;
  int64_t rows_learned = 0;
  int64_t latest_version = 0;
  for (Group& group : groups) {
    if (group.learner == nullptr) continue;  // predict: the learner has no model for this key
    Learner& learner = *group.learner;
    const bool whole = groups.size() == 1;
    Batch subset;
    if (!whole) subset = model_input.Gather(group.rows);
    const Batch& rows = whole ? model_input : subset;
    EDDY_RETURN_IF_ERROR(
        learner.features->Encode(rows, /*update=*/kind_ != OpKind::kPredict, &x, &valid));
    group_y.resize(group.rows.size());
    group_mask.resize(group.rows.size());
    for (size_t idx = 0; idx < group.rows.size(); ++idx) {
      group_y[idx] = y[group.rows[idx]];
      group_mask[idx] = labelled[group.rows[idx]] & valid[idx];
    }
    const std::span<const double> labels =
        task == Task::kClustering ? std::span<const double>() : std::span<const double>(group_y);
    const int64_t version_before = learner.model->version();
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
    const int64_t version = kind_ == OpKind::kLearn ? learner.model->version() : version_before;
    latest_version = std::max(latest_version, learner.model->version());
    for (const uint8_t learned : group_mask) rows_learned += learned;
    for (size_t idx = 0; idx < group.rows.size(); ++idx) {
      const uint32_t row = group.rows[idx];
      versions[row] = version;
      if (!predicts) continue;
      predicted[row] = 1;
      predictions.value[row] = group_out.value[static_cast<Eigen::Index>(idx)];
      if (group_out.score.size() > 0)
        predictions.score[row] = group_out.score[static_cast<Eigen::Index>(idx)];
      if (classes > 0)
        predictions.probabilities.row(row) =
            group_out.probabilities.row(static_cast<Eigen::Index>(idx));
    }
  }

  // 6. Evaluation and state.
  if (kind_ != OpKind::kPredict) {
    if (kind_ == OpKind::kPrequential) {
      std::vector<uint8_t> evaluated = labelled;
      if (task == Task::kClustering) {
        for (size_t row = 0; row < n; ++row) evaluated[row] = predictions.value[row] >= 0;
      }
      EDDY_RETURN_IF_ERROR(core.evaluator->Update(predictions, y, &evaluated));
    }
    std::string value;
    for (const Group& group : groups) {
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
    PublishMetrics(
        rows_learned, latest_version,
        keys_.empty() && core.global ? core.global->model->Shape() : learn::ModelShape());
  }

  // 7. Output: the accepted rows, the predictions, the model version.
  Batch passed = input.Gather(accepted);
  Batch result(output_schema_);
  size_t column = 0;
  for (size_t idx = 0; idx < passed.num_columns(); ++idx) {
    if (dropped_version_ && idx == *dropped_version_) continue;
    result.column(column++) = std::move(passed.column(idx));
  }
  if (predicts) {
    Column& prediction = result.column(column++);
    prediction.Reserve(n);
    switch (task) {
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
        Column& probability = result.column(column++);
        for (size_t row = 0; row < n; ++row) {
          if (!predicted[row]) {
            prediction.AppendNull();
            probability.AppendNull();
            continue;
          }
          const int id = static_cast<int>(predictions.value[row]);
          switch (core.label_type) {
            case TypeId::kString: {
              const std::string name = core.labels->ClassName(id);
              if (name.empty()) {
                prediction.AppendNull();  // a class no labelled row has named yet
              } else {
                prediction.AppendString(name);
              }
              break;
            }
            case TypeId::kDouble:
              prediction.AppendDouble(id);
              break;
            case TypeId::kBool:
              prediction.AppendBool(id != 0);
              break;
            default:
              prediction.AppendInt64(id);
              break;
          }
          probability.AppendDouble(predictions.score[row]);
        }
        break;
      }
      case Task::kClustering: {
        Column& distance = result.column(column++);
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
  Column& version_column = result.column(column++);
  for (size_t row = 0; row < n; ++row) version_column.AppendInt64(versions[row]);
  result.meta() = std::move(passed.meta());
  EDDY_RETURN_IF_ERROR(result.SetNumRows(n));
  return out->Append(result);
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

Result<std::string> LearningOperator::Export(const StateTable& table, int key_groups,
                                             const std::string& key_text) const {
  const LearnerCore& core = *core_;
  if (kind_ == OpKind::kPredict) {
    return Status::InvalidArgument("'" + name_ + "' predicts with the model of '" + core.name +
                                   "': export that");
  }
  std::string state_key(kGlobalModelKey);
  KeyGroupId group = kGlobalGroup;
  if (!keys_.empty()) {
    if (key_text.empty()) {
      return Status::InvalidArgument("'" + name_ +
                                     "' keeps one model per key: give the key with --key");
    }
    std::vector<std::string> parts;
    size_t start = 0;
    while (parts.size() + 1 < keys_.size()) {
      const size_t comma = key_text.find(',', start);
      if (comma == std::string::npos) break;
      parts.push_back(key_text.substr(start, comma - start));
      start = comma + 1;
    }
    parts.push_back(key_text.substr(start));
    if (parts.size() != keys_.size()) {
      return Status::InvalidArgument("the key of '" + name_ + "' has " +
                                     std::to_string(keys_.size()) +
                                     " values (comma-separated), got '" + key_text + "'");
    }
    std::vector<Column> columns;
    for (size_t idx = 0; idx < keys_.size(); ++idx) {
      const std::string& part = parts[idx];
      Column column(keys_[idx].expression->type());
      bool ok = true;
      switch (column.type()) {
        case TypeId::kString:
          column.AppendString(part);
          break;
        case TypeId::kBool:
          ok = part == "true" || part == "false";
          column.AppendBool(part == "true");
          break;
        case TypeId::kInt64:
        case TypeId::kTimestamp: {
          int64_t value = 0;
          const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
          ok = ec == std::errc() && end == part.data() + part.size();
          column.AppendInt64(value);
          break;
        }
        case TypeId::kDouble: {
          double value = 0;
          const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
          ok = ec == std::errc() && end == part.data() + part.size();
          column.AppendDouble(value);
          break;
        }
      }
      if (!ok) {
        return Status::InvalidArgument("key value '" + part + "' is not a " +
                                       std::string(TypeName(column.type())) + " (key " +
                                       keys_[idx].name + ")");
      }
      columns.push_back(std::move(column));
    }
    std::string encoded;
    EncodeKey(columns, 0, &encoded);
    state_key = KeyStateKey(encoded);
    group = KeyGroupForKey(encoded, key_groups);
  } else if (!key_text.empty()) {
    return Status::InvalidArgument("'" + name_ + "' has one model for all rows; drop --key");
  }
  const StateKey lookup{group, state_key};
  std::vector<std::optional<std::string>> values;
  EDDY_RETURN_IF_ERROR(table.MultiGet(std::span<const StateKey>(&lookup, 1), &values));
  if (!values[0]) {
    return Status::NotFound("no model stored for '" + name_ + "'" +
                            (key_text.empty() ? std::string() : " key '" + key_text + "'") +
                            " yet");
  }
  EDDY_ASSIGN_OR_RETURN(auto learner, RestoreLearner(*values[0], "model of '" + name_ + "'"));
  std::string json = "{\"operator\":" + JsonString(name_) + ",\"kind\":" + JsonString(kind()) +
                     ",\"model\":" + JsonString(core.config.type_name);
  if (!keys_.empty()) json += ",\"key\":" + JsonString(key_text);
  json += ",\"version\":" + std::to_string(learner->model->version()) + ",\"features\":[";
  const std::vector<std::string> names = learner->features->feature_names();
  for (size_t idx = 0; idx < names.size(); ++idx) json += (idx ? "," : "") + JsonString(names[idx]);
  json += "],\"state\":" + learner->model->ExportJson() + "}";
  return json;
}

const spec::LearnSpec& LearnSpecOf(const spec::OperatorSpec& spec, OpKind* kind,
                                   std::string* field) {
  if (spec.has_learn()) {
    *kind = OpKind::kLearn;
    *field = "learn";
    return spec.learn();
  }
  if (spec.has_predict()) {
    *kind = OpKind::kPredict;
    *field = "predict";
    return spec.predict();
  }
  *kind = OpKind::kPrequential;
  *field = "prequential";
  return spec.prequential();
}

// Output columns after the input's: the prediction columns (not for learn),
// then model_version. An input model_version column (a learner upstream) is
// replaced; other clashes are errors.
Result<Schema> OutputSchema(const Schema& input, OpKind kind, Task task, TypeId label_type,
                            std::optional<size_t>* dropped_version,
                            const SpecErrorReporter& error_at) {
  Schema out;
  *dropped_version = input.IndexOf("model_version");
  for (size_t idx = 0; idx < input.size(); ++idx) {
    if (*dropped_version && idx == **dropped_version) continue;
    out.AddField(input.field(idx));
  }
  std::vector<Field> added;
  if (kind != OpKind::kLearn) {
    switch (task) {
      case Task::kRegression:
        added.push_back({"prediction", TypeId::kDouble, true});
        break;
      case Task::kClassification:
        added.push_back({"prediction", label_type, true});
        added.push_back({"probability", TypeId::kDouble, true});
        break;
      case Task::kClustering:
        added.push_back({"cluster", TypeId::kInt64, true});
        added.push_back({"distance", TypeId::kDouble, true});
        break;
    }
  }
  added.push_back({"model_version", TypeId::kInt64, false});
  for (const Field& field : added) {
    if (out.IndexOf(field.name)) {
      return error_at("", "the input already has a column '" + field.name +
                              "', which this operator adds; rename it with a select first");
    }
    out.AddField(field);
  }
  return out;
}

Result<std::vector<NamedExpression>> CompileNamed(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const Schema& schema,
    const std::string& field, const SpecErrorReporter& error_at) {
  std::vector<NamedExpression> out;
  std::set<std::string> names;
  for (int idx = 0; idx < texts.size(); ++idx) {
    const std::string path = field + "[" + std::to_string(idx) + "]";
    auto compiled = CompileSelectItem(texts[idx], schema);
    if (!compiled.ok()) return error_at(path, compiled.status().message());
    if (compiled->size() != 1) return error_at(path, "name one expression, not *");
    if (!names.insert(compiled->front().name).second) {
      return error_at(path, "'" + compiled->front().name + "' is listed twice; name one with AS");
    }
    out.push_back(std::move(compiled->front()));
  }
  return out;
}

Result<std::unique_ptr<StatefulOperator>> MakePredictOperator(const spec::OperatorSpec& spec,
                                                              const spec::LearnSpec& learn_spec,
                                                              const StatefulInput& input,
                                                              const SpecErrorReporter& error_at) {
  const std::string& from = learn_spec.from();
  if (from.empty())
    return error_at("predict.from", "is required: the learn operator whose model predicts");
  if (!learn_spec.model().empty() || learn_spec.features_size() > 0 ||
      !learn_spec.label().empty() || !learn_spec.categorical().empty() ||
      learn_spec.categories() != 0 || learn_spec.standardize() || learn_spec.per_key_size() > 0 ||
      !learn_spec.options().empty()) {
    return error_at("predict", "takes its model, features, label and options from '" + from +
                                   "'; set only `from`");
  }
  if (spec.inputs_size() != 1 || spec.inputs(0) != from) {
    return error_at("inputs", "predict must take its learner '" + from +
                                  "' as its only input (inputs: [" + from +
                                  "]), so the learner has taken in each batch first");
  }
  const auto* learner = dynamic_cast<const LearningOperator*>(input.producer);
  std::shared_ptr<LearnerCore> core =
      learner != nullptr && learner->learns() ? learner->core() : nullptr;
  if (core == nullptr || core->output_schema != input.schema) {
    return error_at("predict.from", "'" + from + "' is not a learn operator");
  }
  std::vector<NamedExpression> features, keys;
  google::protobuf::RepeatedPtrField<std::string> texts(core->feature_texts.begin(),
                                                        core->feature_texts.end());
  EDDY_ASSIGN_OR_RETURN(features, CompileNamed(texts, input.schema, "predict.from", error_at));
  google::protobuf::RepeatedPtrField<std::string> key_texts(core->key_texts.begin(),
                                                            core->key_texts.end());
  EDDY_ASSIGN_OR_RETURN(keys, CompileNamed(key_texts, input.schema, "predict.from", error_at));
  std::optional<size_t> dropped;
  EDDY_ASSIGN_OR_RETURN(Schema output,
                        OutputSchema(input.schema, OpKind::kPredict, core->config.task,
                                     core->label_type, &dropped, error_at));
  return std::unique_ptr<StatefulOperator>(std::make_unique<LearningOperator>(
      spec.name(), OpKind::kPredict, core, std::move(features), nullptr, std::move(keys),
      input.schema, std::move(output), dropped, PrequentialEvaluator::kDefaultWindow,
      "from=" + from));
}

}  // namespace

bool IsLearningOperator(const spec::OperatorSpec& spec) {
  return spec.has_learn() || spec.has_predict() || spec.has_prequential();
}

Result<std::unique_ptr<StatefulOperator>> MakeLearningOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at) {
  if (!IsLearningOperator(spec)) return error_at("", "not a learning operator");
  if (inputs.size() != 1) {
    return error_at("inputs", "takes exactly one input, got " + std::to_string(inputs.size()) +
                                  " (put a union before it)");
  }
  OpKind kind;
  std::string field;
  const spec::LearnSpec& learn_spec = LearnSpecOf(spec, &kind, &field);
  const Schema& schema = inputs[0].schema;
  if (kind == OpKind::kPredict) return MakePredictOperator(spec, learn_spec, inputs[0], error_at);
  if (!learn_spec.from().empty()) return error_at(field + ".from", "only predict takes `from`");

  auto core = std::make_shared<LearnerCore>();
  core->name = spec.name();
  core->input_schema = schema;
  ModelConfig& config = core->config;
  std::string expected;
  bool found = false;
  for (const auto& [name, type] : kModelNames) {
    expected += (expected.empty() ? "" : " | ") + std::string(name);
    if (learn_spec.model() == name) {
      config.type = type;
      found = true;
    }
  }
  if (!found) {
    return error_at(field + ".model",
                    learn_spec.model().empty()
                        ? "is required: " + expected
                        : "unknown model '" + learn_spec.model() + "' (expected " + expected + ")");
  }
  config.type_name = learn_spec.model();
  switch (config.type) {
    case ModelType::kSgdRegressor:
    case ModelType::kHoeffdingTreeRegressor:
      config.task = Task::kRegression;
      break;
    case ModelType::kKMeans:
      config.task = Task::kClustering;
      break;
    default:
      config.task = Task::kClassification;
      break;
  }

  // Features.
  if (learn_spec.features_size() == 0)
    return error_at(field + ".features", "needs at least one feature");
  EDDY_ASSIGN_OR_RETURN(auto features,
                        CompileNamed(learn_spec.features(), schema, field + ".features", error_at));
  for (const NamedExpression& feature : features) config.features.columns.push_back(feature.name);
  const std::string& categorical = learn_spec.categorical();
  if (categorical.empty() || categorical == "one_hot") {
    config.features.categorical = learn::CategoricalEncoding::kOneHot;
  } else if (categorical == "hashing") {
    config.features.categorical = learn::CategoricalEncoding::kHashing;
  } else if (categorical == "ordinal") {
    config.features.categorical = learn::CategoricalEncoding::kOrdinal;
  } else {
    return error_at(field + ".categorical",
                    "expected one_hot, hashing or ordinal, got '" + categorical + "'");
  }
  if (learn_spec.categories() < 0 || learn_spec.categories() > 1000000) {
    return error_at(field + ".categories", "must be between 1 and 1000000");
  }
  if (learn_spec.categories() > 0) {
    config.features.max_categories = learn_spec.categories();
    config.features.hash_dimension = learn_spec.categories();
  }
  config.features.standardize = learn_spec.standardize();
  core->feature_texts.assign(learn_spec.features().begin(), learn_spec.features().end());

  // Options (classes first: the models' options depend on it).
  OptionReader reader(learn_spec.options(), field + ".options", error_at);
  if (config.task == Task::kClassification) {
    config.num_classes = 2;
    EDDY_RETURN_IF_ERROR(reader.Integer("classes", &config.num_classes, 2, 100000));
  }
  EDDY_RETURN_IF_ERROR(ReadModelOptions(reader, &config));
  EDDY_RETURN_IF_ERROR(reader.CheckAllKnown(config.type_name));

  // Label.
  std::unique_ptr<Expression> label;
  if (!learn_spec.label().empty()) {
    auto compiled = CompileExpression(learn_spec.label(), schema);
    if (!compiled.ok()) return error_at(field + ".label", compiled.status().message());
    label = std::move(compiled).value();
    const TypeId type = label->type();
    if (config.task == Task::kRegression && type == TypeId::kString) {
      return error_at(field + ".label", "a regression label must be numeric, it is a string");
    }
    if (config.task == Task::kClustering) {
      return error_at(field + ".label", "kmeans learns without labels; drop `label`");
    }
    core->has_label = true;
    core->label_type = type;
    core->label_text = learn_spec.label();
  } else if (config.task != Task::kClustering) {
    return error_at(field + ".label", "is required for model " + config.type_name);
  }

  // Per-key models.
  EDDY_ASSIGN_OR_RETURN(auto keys,
                        CompileNamed(learn_spec.per_key(), schema, field + ".per_key", error_at));
  core->key_texts.assign(learn_spec.per_key().begin(), learn_spec.per_key().end());
  for (const NamedExpression& key : keys) core->key_types.push_back(key.expression->type());

  int64_t window = PrequentialEvaluator::kDefaultWindow;
  if (learn_spec.metrics_window() < 0)
    return error_at(field + ".metrics_window", "must be positive");
  if (learn_spec.metrics_window() > 0) {
    if (kind != OpKind::kPrequential)
      return error_at(field + ".metrics_window", "applies to prequential only");
    window = learn_spec.metrics_window();
  }

  std::optional<size_t> dropped;
  EDDY_ASSIGN_OR_RETURN(
      Schema output, OutputSchema(schema, kind, config.task, core->label_type, &dropped, error_at));
  core->output_schema = output;

  // What the stored state means: a change here makes old state unusable.
  std::string signature = "model=" + config.type_name + " features=(";
  for (size_t idx = 0; idx < features.size(); ++idx) {
    signature += (idx ? ", " : "") + features[idx].expression->ToString() + " AS " +
                 features[idx].name + ":" + std::string(TypeName(features[idx].expression->type()));
  }
  signature += ") categorical=" + std::string(categorical.empty() ? "one_hot" : categorical) + "/" +
               std::to_string(config.features.max_categories) +
               " standardize=" + (config.features.standardize ? "true" : "false");
  if (label)
    signature += " label=" + label->ToString() + ":" + std::string(TypeName(label->type()));
  if (!keys.empty()) {
    signature += " per_key=(";
    for (size_t idx = 0; idx < keys.size(); ++idx)
      signature += (idx ? ", " : "") + keys[idx].expression->ToString();
    signature += ")";
  }
  std::map<std::string, std::string> sorted(learn_spec.options().begin(),
                                            learn_spec.options().end());
  if (!sorted.empty()) {
    signature += " options=(";
    bool first = true;
    for (const auto& [name, value] : sorted) {
      signature += (first ? "" : ", ") + name + "=" + value;
      first = false;
    }
    signature += ")";
  }
  if (kind == OpKind::kPrequential) signature += " metrics_window=" + std::to_string(window);

  return std::unique_ptr<StatefulOperator>(std::make_unique<LearningOperator>(
      spec.name(), kind, std::move(core), std::move(features), std::move(label), std::move(keys),
      schema, std::move(output), dropped, window, std::move(signature)));
}

std::vector<std::pair<std::string, double>> LearningMetrics(const StatefulOperator& op) {
  const auto* learning = dynamic_cast<const LearningOperator*>(&op);
  return learning == nullptr ? std::vector<std::pair<std::string, double>>() : learning->Metrics();
}

Result<std::string> ExportLearningModel(const StatefulOperator& op, const StateTable& table,
                                        int key_groups, const std::string& key) {
  const auto* learning = dynamic_cast<const LearningOperator*>(&op);
  if (learning == nullptr)
    return Status::InvalidArgument("'" + op.name() + "' is not a learning operator");
  return learning->Export(table, key_groups, key);
}

}  // namespace eddy
