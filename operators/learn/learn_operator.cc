// The learning operators: learn, predict, prequential (docs/learning.md).
//
// This file: the options, the factory (spec -> operator) and `eddy model
// export`. One batch, step by step: learn_batch.cc; the shared types:
// learn_operator_internal.h.
//
// predict uses the model of the learn operator named in `from`, which must be
// its input: the learner runs first in every batch and leaves the models it
// used in memory (LearnerCore), so predict needs no state of its own.

#include "operators/learn/learn_operator.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "operators/core/key_codec.h"
#include "operators/learn/learn_operator_internal.h"
#include "operators/models/model.pb.h"
#include "runtime/core/json_string.h"
#include "runtime/expr/ast.h"
#include "runtime/expr/expression.h"

namespace eddy::learn_op {
namespace {

constexpr std::pair<std::string_view, ModelType> kModelNames[] = {
    {"sgd_regressor", ModelType::kSgdRegressor},
    {"sgd_classifier", ModelType::kSgdClassifier},
    {"kmeans", ModelType::kKMeans},
    {"hoeffding_tree", ModelType::kHoeffdingTree},
    {"hoeffding_adaptive_tree", ModelType::kHoeffdingAdaptiveTree},
    {"hoeffding_tree_regressor", ModelType::kHoeffdingTreeRegressor},
    {"adaptive_random_forest", ModelType::kAdaptiveRandomForest},
    {"mlp_classifier", ModelType::kMlpClassifier},
    {"mlp_regressor", ModelType::kMlpRegressor},
    {"leveraging_bagging", ModelType::kLeveragingBagging},
};

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

  // A comma-separated list of integers in [min, max], e.g. "64,32".
  Status IntegerList(std::string_view name, std::vector<int>* out, int min, int max) {
    const std::string* text = Find(name);
    if (text == nullptr) return Status::OK();
    std::vector<int> values;
    size_t start = 0;
    while (start <= text->size()) {
      const size_t comma = std::min(text->find(',', start), text->size());
      int value = 0;
      const auto [end, ec] = std::from_chars(text->data() + start, text->data() + comma, value);
      if (ec != std::errc() || end != text->data() + comma || value < min || value > max) {
        return Error(name, "expected integers between " + std::to_string(min) + " and " +
                               std::to_string(max) + " separated by commas, got '" + *text + "'");
      }
      values.push_back(value);
      start = comma + 1;
    }
    *out = std::move(values);
    return Status::OK();
  }

  bool Has(std::string_view name) const { return options_.count(Full(name)) > 0; }

  // Options read from now on are named `prefix` + name (an ensemble's base
  // model options: base_grace_period).
  void set_prefix(std::string prefix) { prefix_ = std::move(prefix); }

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
  void Known(std::string_view name) { known_.insert(Full(name)); }

  Status Error(std::string_view name, std::string_view message) const {
    const std::string full = Full(name);
    return error_at_(path_ + "." + full, "option " + full + ": " + std::string(message));
  }

 private:
  std::string Full(std::string_view name) const { return prefix_ + std::string(name); }
  const std::string* Find(std::string_view name) {
    const std::string full = Full(name);
    known_.insert(full);
    auto it = options_.find(full);
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
  std::string prefix_;
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

Status ReadModelOptions(OptionReader& reader, ModelConfig* config);

// leveraging_bagging: its own options, `base` and the base model's options
// with a base_ prefix (base_grace_period, base_hidden...).
Status ReadBaggingOptions(OptionReader& reader, ModelConfig* config) {
  learn::LeveragingBaggingOptions& options = config->bagging;
  EDDY_RETURN_IF_ERROR(reader.Integer("models", &options.n_models, 1, 1000));
  EDDY_RETURN_IF_ERROR(reader.Double("w", &options.w, 0, 100, /*min_open=*/true));
  EDDY_RETURN_IF_ERROR(reader.Double("adwin_delta", &options.adwin_delta, 0, 0.5, true));
  EDDY_RETURN_IF_ERROR(reader.Integer("seed", &options.seed, 0, INT64_MAX));
  auto base = std::make_shared<ModelConfig>();
  base->type = ModelType::kHoeffdingTree;
  EDDY_RETURN_IF_ERROR(
      reader.Choice<ModelType>("base", &base->type,
                               {{"hoeffding_tree", ModelType::kHoeffdingTree},
                                {"hoeffding_adaptive_tree", ModelType::kHoeffdingAdaptiveTree},
                                {"sgd_classifier", ModelType::kSgdClassifier},
                                {"mlp_classifier", ModelType::kMlpClassifier}}));
  for (const auto& [name, type] : kModelNames) {
    if (type == base->type) base->type_name = name;
  }
  base->task = Task::kClassification;
  base->num_classes = config->num_classes;
  reader.set_prefix("base_");
  const Status read = ReadModelOptions(reader, base.get());
  reader.set_prefix("");
  EDDY_RETURN_IF_ERROR(read);
  config->base = std::move(base);
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
    case ModelType::kAdaptiveRandomForest: {
      learn::AdaptiveRandomForestOptions& options = config->forest;
      options.num_classes = config->num_classes;
      EDDY_RETURN_IF_ERROR(ReadTreeOptions(reader, false, &options.tree));
      EDDY_RETURN_IF_ERROR(reader.Integer("trees", &options.n_models, 1, 1000));
      EDDY_RETURN_IF_ERROR(reader.Integer("max_features", &options.max_features, 0, 1 << 20));
      EDDY_RETURN_IF_ERROR(reader.Double("lambda", &options.lambda, 0, 100, /*min_open=*/true));
      EDDY_RETURN_IF_ERROR(
          reader.Double("warning_delta", &options.warning_delta, 0, 1, /*min_open=*/true));
      EDDY_RETURN_IF_ERROR(
          reader.Double("drift_delta", &options.drift_delta, 0, 1, /*min_open=*/true));
      EDDY_RETURN_IF_ERROR(reader.Bool("weighted_vote", &options.weighted_vote));
      EDDY_RETURN_IF_ERROR(reader.Integer("seed", &options.seed, 0, INT64_MAX));
      return Status::OK();
    }
    case ModelType::kMlpClassifier:
    case ModelType::kMlpRegressor: {
      learn::MlpOptions& options = config->mlp;
      options.task = config->task;
      options.num_classes = config->num_classes;
      EDDY_RETURN_IF_ERROR(reader.IntegerList("hidden", &options.hidden, 1, 100000));
      EDDY_RETURN_IF_ERROR(reader.Choice<learn::Activation>(
          "activation", &options.activation,
          {{"relu", learn::Activation::kRelu}, {"tanh", learn::Activation::kTanh}}));
      EDDY_RETURN_IF_ERROR(reader.Choice<learn::Optimizer>(
          "optimizer", &options.optimizer,
          {{"sgd", learn::Optimizer::kSgd}, {"adam", learn::Optimizer::kAdam}}));
      EDDY_RETURN_IF_ERROR(reader.Double("learning_rate", &options.learning_rate, 0, INFINITY,
                                         /*min_open=*/true));
      EDDY_RETURN_IF_ERROR(reader.Double("l2", &options.l2, 0, INFINITY));
      EDDY_RETURN_IF_ERROR(reader.Integer("batch_size", &options.batch_size, 1, 1 << 20));
      EDDY_RETURN_IF_ERROR(reader.Integer("seed", &options.seed, 0, INT64_MAX));
      return Status::OK();
    }
    case ModelType::kLeveragingBagging:
      return ReadBaggingOptions(reader, config);
  }
  return Status::OK();
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

// A feature that is a column-name pattern: only name characters, `*` and
// `?`, with a `?` or a `*` at either end (hog_*, *_mean, x?), and not `*`
// alone. A `*` between names stays multiplication: x*2 is an expression.
bool IsColumnPattern(std::string_view text) {
  if (text.empty() || text == "*") return false;
  for (char c : text) {
    if (c != '*' && c != '?' && !std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return text.find('?') != std::string_view::npos || text.front() == '*' || text.back() == '*';
}

// Glob match: `*` is any run of characters, `?` one character.
bool MatchesPattern(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Compiles "expr" / "expr AS name" items; with `patterns`, an item such as
// hog_* stands for every input column it matches, in schema order.
Result<std::vector<NamedExpression>> CompileNamed(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const Schema& schema,
    const std::string& field, const SpecErrorReporter& error_at, bool patterns = false) {
  std::vector<NamedExpression> out;
  std::set<std::string> names;
  auto add = [&](const std::string& path, const std::string& text) -> Status {
    auto compiled = CompileSelectItem(text, schema);
    if (!compiled.ok()) return error_at(path, compiled.status().message());
    if (compiled->size() != 1) return error_at(path, "name one expression, not *");
    if (!names.insert(compiled->front().name).second) {
      return error_at(path, "'" + compiled->front().name + "' is listed twice; name one with AS");
    }
    out.push_back(std::move(compiled->front()));
    return Status::OK();
  };
  for (int idx = 0; idx < texts.size(); ++idx) {
    const std::string path = field + "[" + std::to_string(idx) + "]";
    if (!patterns || !IsColumnPattern(texts[idx])) {
      EDDY_RETURN_IF_ERROR(add(path, texts[idx]));
      continue;
    }
    size_t matched = 0;
    for (const Field& column : schema.fields()) {
      if (!MatchesPattern(texts[idx], column.name)) continue;
      EDDY_RETURN_IF_ERROR(add(path, expr::QuoteIdentifier(column.name)));
      ++matched;
    }
    if (matched == 0) {
      // The input may be wide (an image's features): its first columns say enough.
      std::string columns;
      for (size_t column = 0; column < schema.size() && column < 20; ++column) {
        columns += (column ? ", " : "") + schema.field(column).name;
      }
      if (schema.size() > 20) columns += ", ... (" + std::to_string(schema.size()) + " columns)";
      return error_at(path, "the pattern '" + texts[idx] +
                                "' matches no input column (input: " + columns + ")");
    }
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
      !learn_spec.options().empty() || !learn_spec.model_commit().empty()) {
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
  EDDY_ASSIGN_OR_RETURN(features,
                        CompileNamed(texts, input.schema, "predict.from", error_at, true));
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
      "from=" + from, /*defer_model=*/false));
}

// The learn and prequential operators (predict: MakePredictOperator).
Result<std::unique_ptr<StatefulOperator>> MakeOperator(const spec::OperatorSpec& spec,
                                                       const std::vector<StatefulInput>& inputs,
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
    case ModelType::kMlpRegressor:
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
  EDDY_ASSIGN_OR_RETURN(auto features, CompileNamed(learn_spec.features(), schema,
                                                    field + ".features", error_at, true));
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

  const std::string& commit = learn_spec.model_commit();
  if (!commit.empty() && commit != "checkpoint" && commit != "batch") {
    return error_at(field + ".model_commit", "expected checkpoint or batch, got '" + commit + "'");
  }
  // Per-key models are small and many: they commit with each batch.
  const bool defer_model = keys.empty() && commit != "batch";

  return std::unique_ptr<StatefulOperator>(std::make_unique<LearningOperator>(
      spec.name(), kind, std::move(core), std::move(features), std::move(label), std::move(keys),
      schema, std::move(output), dropped, window, std::move(signature), defer_model));
}

}  // namespace

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

}  // namespace eddy::learn_op

namespace eddy {

bool IsLearningOperator(const spec::OperatorSpec& spec) {
  return spec.has_learn() || spec.has_predict() || spec.has_prequential();
}

Result<std::unique_ptr<StatefulOperator>> MakeLearningOperator(
    const spec::OperatorSpec& spec, const std::vector<StatefulInput>& inputs,
    const SpecErrorReporter& error_at) {
  return learn_op::MakeOperator(spec, inputs, error_at);
}

std::vector<std::pair<std::string, double>> LearningMetrics(const StatefulOperator& op) {
  const auto* learning = dynamic_cast<const learn_op::LearningOperator*>(&op);
  return learning == nullptr ? std::vector<std::pair<std::string, double>>() : learning->Metrics();
}

Result<std::string> ExportLearningModel(const StatefulOperator& op, const StateTable& table,
                                        int key_groups, const std::string& key) {
  const auto* learning = dynamic_cast<const learn_op::LearningOperator*>(&op);
  if (learning == nullptr)
    return Status::InvalidArgument("'" + op.name() + "' is not a learning operator");
  return learning->Export(table, key_groups, key);
}

}  // namespace eddy
