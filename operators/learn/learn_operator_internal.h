#pragma once
// Internals of the learning operators, shared by learn_operator.cc (options,
// the factory, model export) and learn_batch.cc (one batch, step by step).
// Not for use outside operators/learn/.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "operators/core/stateful_operator.h"
#include "operators/models/evaluation.h"
#include "operators/models/features.h"
#include "operators/models/model.h"
#include "runtime/core/batch.h"
#include "runtime/core/status.h"
#include "runtime/expr/expression.h"

namespace eddy::learn_op {

using learn::FeatureEncoder;
using learn::LabelEncoder;
using learn::Model;
using learn::PredictionColumns;
using learn::PrequentialEvaluator;
using learn::RowMatrix;
using learn::Task;

// State layout (learn_state.proto): 'O' in key group 0 -> OperatorState
// (label vocabulary, evaluator); 'M' in key group 0 -> LearnerState of the
// global model; 'K' + encoded key in the key's group -> LearnerState of that
// key's model.
constexpr int kStateFormat = 1;
// Rows per block for models that learn a batch in blocks
// (Model::LearnsInBlocks): 800 KB of matrix at 100 features, in L2.
constexpr size_t kModelBlockRows = 1024;
constexpr KeyGroupId kGlobalGroup{0};
constexpr std::string_view kOperatorStateKey = "O";
constexpr std::string_view kGlobalModelKey = "M";

inline std::string KeyStateKey(std::string_view key) {
  std::string out(1, 'K');
  out.append(key);
  return out;
}

enum class OpKind : uint8_t { kLearn, kPredict, kPrequential };
enum class ModelType : uint8_t {
  kSgdRegressor,
  kSgdClassifier,
  kKMeans,
  kHoeffdingTree,
  kHoeffdingAdaptiveTree,
  kHoeffdingTreeRegressor,
  kAdaptiveRandomForest,
  kMlpClassifier,
  kMlpRegressor,
  kLeveragingBagging,
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
  learn::AdaptiveRandomForestOptions forest;
  learn::MlpOptions mlp;
  learn::LeveragingBaggingOptions bagging;
  // leveraging_bagging: its base model (the options given with a base_
  // prefix); null for the other models.
  std::shared_ptr<const ModelConfig> base;
  learn::FeatureOptions features;
};

// One model with its feature encoding.
struct Learner {
  std::unique_ptr<FeatureEncoder> features;
  std::unique_ptr<Model> model;
};

Result<std::unique_ptr<Model>> NewModel(const ModelConfig& config, const FeatureEncoder& features);
Result<std::unique_ptr<Learner>> RestoreLearner(std::string_view bytes, const std::string& what);
Status SerializeLearner(const Learner& learner, std::string* out);
// The signature as plans show it: a features=(...) list of more than 12
// entries cut to its first three and last one, with the count.
std::string DescribeSignature(const std::string& signature);

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
                   std::string signature, bool defer_model)
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
        signature_(std::move(signature)),
        defer_model_(defer_model) {
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
  std::string Describe() const override { return kind() + " " + DescribeSignature(signature_); }
  // A global model with model_commit: checkpoint.
  bool DefersState() const override { return defer_model_; }
  Status WriteDeferredState(const StateTable& table, StateWriteBatch* writes) override;

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

  // The batch's rows that passed validation, as the models see them.
  struct AcceptedRows {
    std::vector<uint32_t> rows;   // indices into the input batch, in order
    bool all = false;             // every input row was accepted
    Batch features;               // the feature columns of `rows`
    std::optional<Column> label;  // over all input rows (learn, prequential)
    std::vector<Column> keys;     // over all input rows (per-key models)
    // Non-finite features are found by the encoder (ChecksFiniteLate); until
    // then the label's dead letters wait, so that they keep their order.
    bool finite_checked_late = false;
    std::vector<Column> input_features;    // over all input rows, when late
    std::vector<uint32_t> label_rejected;  // input rows, with...
    DeadLetters label_letters;             // ...their dead letters
  };
  // What the models said about the accepted rows, in their order.
  struct ModelResults {
    PredictionColumns predictions;   // predict, prequential
    std::vector<uint8_t> predicted;  // row had a model (predict: the key may have none)
    std::vector<int64_t> versions;   // the model_version column
    int64_t rows_learned = 0;
    int64_t latest_version = 0;
    // With AcceptedRows::finite_checked_late: the positions in the accepted
    // rows whose features the encoder found not finite, ascending.
    bool finite_checked_late = false;
    std::vector<uint32_t> not_finite;
  };

  // Buffers RunModel reuses from one group (model) to the next.
  struct ModelScratch {
    RowMatrix x;
    std::vector<uint8_t> valid;
    std::vector<double> y;
    std::vector<uint8_t> mask;
    PredictionColumns out;
  };

  // The steps of ProcessRows, in order (learn_batch.cc).
  Status ProcessRows(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                     Batch* out, DeadLetters* dead_letters);
  void EvaluateAndValidate(const Batch& input, AcceptedRows* accepted,
                           DeadLetters* dead_letters) const;
  bool ChecksFiniteLate(const std::vector<Column>& features, const Column* label) const;
  void Validate(const Batch& input, const std::vector<Column>& features, const Column* label,
                std::vector<uint8_t>* rejected, DeadLetters* dead_letters,
                AcceptedRows* late) const;
  void WriteLateDeadLetters(const Batch& input, const std::vector<uint32_t>& not_finite,
                            AcceptedRows* accepted, DeadLetters* dead_letters) const;
  void RejectNotFinite(const Batch& input, AcceptedRows* accepted, std::vector<double>* y,
                       std::vector<uint8_t>* labelled, ModelResults* results,
                       DeadLetters* dead_letters) const;
  void FinishEmptyBatch(const StatefulBatchContext& context);
  std::vector<Group> GroupRowsByKey(const AcceptedRows& accepted) const;
  Status LoadModels(const StatefulBatchContext& context, std::vector<Group>* groups);
  Status LoadState(const StatefulBatchContext& context, std::vector<Group>* groups);
  Status NewLearner(std::unique_ptr<Learner>* out) const;
  Status EncodeLabels(AcceptedRows* accepted, std::vector<double>* y,
                      std::vector<uint8_t>* labelled) const;
  Status RunModels(const AcceptedRows& accepted, const std::vector<Group>& groups,
                   const std::vector<double>& y, const std::vector<uint8_t>& labelled,
                   ModelResults* results) const;
  Status RunModel(const Batch& rows, const Group& group, const std::vector<double>& y,
                  const std::vector<uint8_t>& labelled, ModelScratch* scratch,
                  ModelResults* results) const;
  Status RunModelBlock(const Batch& rows, const Group& group, size_t first, size_t count,
                       const std::vector<double>& y, const std::vector<uint8_t>& labelled,
                       ModelScratch* scratch, ModelResults* results) const;
  Status StoreState(const StatefulBatchContext& context, const std::vector<Group>& groups,
                    const std::vector<double>& y, const std::vector<uint8_t>& labelled,
                    const ModelResults& results);
  Status WriteOutput(const Batch& input, const AcceptedRows& accepted, const ModelResults& results,
                     Batch* out) const;
  void AppendPredictions(const ModelResults& results, size_t n, Batch* result,
                         size_t* column) const;
  void AppendClass(int id, Column* prediction) const;
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
  // The global model is written at checkpoints only; dirty: it changed
  // since it was last written.
  bool defer_model_;
  bool model_dirty_ = false;
  Schema feature_schema_;
  Schema label_schema_;
  Schema metrics_schema_;  // prequential only

  mutable std::mutex metrics_mutex_;
  LearnerStatus status_;
  // RunModels' buffers, kept across batches (the driver thread only).
  mutable ModelScratch scratch_;
};

}  // namespace eddy::learn_op
