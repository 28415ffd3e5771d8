#pragma once
// Online learning models: the interface the learn / predict / prequential
// operators drive, its options structs and factories. Concrete models live in
// the .cc files of this folder (linear_model.cc, kmeans.cc,
// hoeffding_tree.cc); see README.md and docs/learning.md.
//
// Contract shared by every model:
//  * Rows are processed IN ORDER. Learn(x, y) applies row i's update before
//    row i+1's (true online learning, not mini-batches), except streaming
//    k-means, whose update is per call (Spark MLlib semantics).
//  * Prequential = for each row: predict, then learn (test-then-train).
//  * version() increases by one per Learn/Prequential call that changed the
//    model, so a prediction can name the model that made it.
//  * Deterministic: any randomness comes from a seeded counter-based RNG that
//    is part of the snapshot; a restored model predicts bit-identically and
//    continues learning identically.
//  * Bad input is a Status, never a crash: wrong widths, labels outside
//    [0, num_classes), non-finite values in a row that would be learned.
//
// Thread-safety: none; a model is owned by one task at a time. Predict is
// const and may run concurrently with other const calls.

#include <Eigen/Core>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {
class ThreadPool;
}  // namespace eddy

namespace eddy::learn {

namespace pb {
class ModelSnapshot;
}  // namespace pb

// Row-major: every learner walks rows in order, so a row is contiguous.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
// What models read: a view of any row-major matrix (or an Eigen::Map of
// caller memory) without copying.
using FeatureMatrix = Eigen::Ref<const RowMatrix>;

enum class ModelKind : uint8_t {
  kLinear,
  kStreamingKMeans,
  kHoeffdingTreeClassifier,
  kHoeffdingAdaptiveTreeClassifier,
  kHoeffdingTreeRegressor,
  kAdaptiveRandomForestClassifier,
  kMlp,
  kLeveragingBaggingClassifier,
};

enum class Task : uint8_t { kRegression, kClassification, kClustering };

// Predict's output, one entry per input row.
struct PredictionColumns {
  // Regression: the prediction. Classification: the class (0..k-1).
  // Clustering: the cluster id.
  Eigen::VectorXd value;
  // Classification: probability of the predicted class. Clustering: the
  // Euclidean distance to the centre. Regression: empty.
  Eigen::VectorXd score;
  // Classification: rows x num_classes probabilities. Otherwise empty.
  RowMatrix probabilities;
};

// What the metrics endpoint shows of a model's shape (bounded: one value
// per model, or per cluster of a fixed k).
struct ModelShape {
  int64_t tree_nodes = 0;  // 0: not a tree
  int64_t tree_depth = 0;  // the deepest leaf; the root alone is depth 0
  // k-means: each centre's weight (decayed point count), by cluster id.
  std::vector<double> cluster_weights;
};

class Model {
 public:
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  virtual ModelKind kind() const = 0;
  virtual Task task() const = 0;
  virtual int num_features() const = 0;
  // Classification: the number of classes; otherwise 0.
  virtual int num_classes() const { return 0; }
  int64_t version() const { return version_; }

  // Learns from the rows of `x` with labels `y` (regression: the target;
  // classification: the class index as a double; clustering: ignored, may be
  // empty). Rows whose `mask` byte is 0 are skipped (unlabelled or rejected
  // upstream). Validates everything before changing anything.
  virtual Status Learn(const FeatureMatrix& x, std::span<const double> y,
                       const std::vector<uint8_t>* mask = nullptr) = 0;
  virtual Status Predict(const FeatureMatrix& x, PredictionColumns* out) const = 0;
  // Test-then-train: `out` gets every row's prediction made before that row
  // was learned. Masked rows are predicted only.
  virtual Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                             const std::vector<uint8_t>* mask, PredictionColumns* out) = 0;

  // A batch in blocks: when LearnsInBlocks(), the Learn (or Prequential)
  // calls between BeginBlocks() and EndBlocks(), over consecutive blocks of
  // one batch's rows, leave the model (and its version: one step) exactly as
  // one call over all of them would. The learning operators feed such
  // models cache-sized blocks rather than one matrix of the whole batch.
  // Linear models learn row by row; k-means, once seeded, gathers the
  // batch's points and moves its centres at EndBlocks().
  virtual bool LearnsInBlocks() const { return false; }
  virtual void BeginBlocks() {}
  virtual void EndBlocks() {}

  virtual Status Snapshot(pb::ModelSnapshot* out) const = 0;
  static Result<std::unique_ptr<Model>> Restore(const pb::ModelSnapshot& snapshot);
  // Human-readable state: weights, centroids, or the tree with its split
  // tests and leaf statistics. Valid JSON.
  virtual std::string ExportJson() const = 0;
  virtual ModelShape Shape() const { return {}; }

  // Workers for models that can learn in parallel (the forest's trees); the
  // result is the same with or without. Not owned; nullptr: none.
  void set_thread_pool(ThreadPool* pool) { pool_ = pool; }

 protected:
  Model() = default;
  int64_t version_ = 0;
  ThreadPool* pool_ = nullptr;
};

// ---------------------------------------------------------------------------
// Linear models trained by SGD (scikit-learn's SGDRegressor/SGDClassifier
// update rules, one row at a time).

enum class LinearLoss : uint8_t {
  kSquared,             // regression, 0.5 (p - y)^2
  kHuber,               // regression, quadratic within epsilon, linear beyond
  kEpsilonInsensitive,  // regression, max(0, |p - y| - epsilon)
  kLogistic,            // binary classification, labels 0/1
  kSoftmax,             // multinomial classification, labels 0..num_classes-1
};
enum class Penalty : uint8_t { kNone, kL2, kL1, kElasticNet };
enum class LearningRate : uint8_t {
  kConstant,        // eta0
  kInverseScaling,  // eta0 / t^power_t, t = 1 for the first row
  kAdaGrad,         // eta0 / sqrt(sum of squared gradients + eps), per weight
};

struct LinearModelOptions {
  LinearLoss loss = LinearLoss::kSquared;
  int num_classes = 2;   // kSoftmax only (kLogistic is always 2)
  double epsilon = 0.1;  // kHuber, kEpsilonInsensitive. Default: 0.1
  Penalty penalty = Penalty::kL2;
  double alpha = 1e-4;     // regularization strength. Default: 1e-4
  double l1_ratio = 0.15;  // kElasticNet's L1 share. Default: 0.15
  LearningRate schedule = LearningRate::kInverseScaling;
  double eta0 = 0.01;     // Default: 0.01
  double power_t = 0.25;  // Default: 0.25
  bool fit_intercept = true;
  double adagrad_epsilon = 1e-8;
};

Result<std::unique_ptr<Model>> MakeLinearModel(int num_features, const LinearModelOptions& options);

// ---------------------------------------------------------------------------
// Streaming k-means (Spark MLlib StreamingKMeans): one update per Learn call.

enum class DecayUnit : uint8_t { kBatches, kPoints };

struct KMeansOptions {
  int k = 2;
  // Weight of the past per time unit: 1 = all history, 0 = last batch only.
  double decay_factor = 1.0;
  DecayUnit time_unit = DecayUnit::kBatches;
  uint64_t seed = 42;  // k-means++ seeding
};
// Half-life in time units -> decay factor exp(ln(0.5) / half_life), as
// MLlib's setHalfLife.
double DecayFactorFromHalfLife(double half_life);

Result<std::unique_ptr<Model>> MakeStreamingKMeans(int num_features, const KMeansOptions& options);

// ---------------------------------------------------------------------------
// Hoeffding trees (VFDT; Domingos & Hulten 2000, as in MOA and river).

enum class SplitCriterion : uint8_t { kInfoGain, kGini };
enum class LeafPrediction : uint8_t { kMajorityClass, kNaiveBayes, kNaiveBayesAdaptive };

struct HoeffdingTreeOptions {
  int num_classes = 2;
  SplitCriterion split_criterion = SplitCriterion::kInfoGain;
  double delta = 1e-7;     // split confidence. Default: 1e-7
  int grace_period = 200;  // rows a leaf sees between split attempts
  double tau = 0.05;       // tie threshold
  LeafPrediction leaf_prediction = LeafPrediction::kNaiveBayesAdaptive;
  // Features holding category ids (FeatureEncoder's ordinal encoding):
  // observed by counts, split by equality. All others are numeric.
  std::vector<int> nominal_features;
  int max_depth = 0;              // 0 = unlimited
  int64_t max_active_leaves = 0;  // memory bound; 0 = unlimited
  int64_t max_bytes = 0;          // memory bound on leaf statistics; 0 = unlimited
  double min_branch_fraction = 0.01;
  int num_split_points = 10;  // Gaussian observer candidates per feature
  // Adaptive tree only.
  double adwin_delta = 0.002;
  int drift_window_threshold = 300;
  // Features each leaf observes, drawn at random (from `seed`) when its
  // observers start; 0 = all. The forest's random subspaces.
  int max_features = 0;
  uint64_t seed = 0;
};

Result<std::unique_ptr<Model>> MakeHoeffdingTreeClassifier(int num_features,
                                                           const HoeffdingTreeOptions& options);
// Hoeffding adaptive tree (HAT-ADWIN; Bifet & Gavalda 2009).
Result<std::unique_ptr<Model>> MakeHoeffdingAdaptiveTreeClassifier(
    int num_features, const HoeffdingTreeOptions& options);

// ---------------------------------------------------------------------------
// Adaptive random forest classifier (Gomes et al. 2017; river's
// ARFClassifier): online bagging of Hoeffding trees over random feature
// subsets, with a warning and a drift detector per tree.

// river's ARF base-tree defaults: grace period 50, delta 0.01, tau 0.05.
inline HoeffdingTreeOptions ForestTreeDefaults() {
  HoeffdingTreeOptions tree;
  tree.grace_period = 50;
  tree.delta = 0.01;
  return tree;
}

struct AdaptiveRandomForestOptions {
  int num_classes = 2;
  int n_models = 10;
  int max_features = 0;  // features per leaf; 0 = round(sqrt(num_features))
  double lambda = 6.0;   // Poisson rate of online bagging
  double warning_delta = 0.01;
  double drift_delta = 0.001;
  bool weighted_vote = true;  // trees' votes weighted by their accuracy
  uint64_t seed = 42;
  HoeffdingTreeOptions tree =
      ForestTreeDefaults();  // num_classes/max_features/seed set by the forest
};

Result<std::unique_ptr<Model>> MakeAdaptiveRandomForestClassifier(
    int num_features, const AdaptiveRandomForestOptions& options);

// ---------------------------------------------------------------------------
// Leveraging bagging (Bifet, Holmes & Pfahringer 2010; river's
// LeveragingBaggingClassifier, MOA's LeveragingBag) over any classifier of
// this library: online bagging with Poisson(w) weights, the members' class
// probabilities averaged, an ADWIN per member over its 0/1 error; when one
// detects an increase, the member with the highest estimated error is
// replaced by a fresh copy of the base model.

struct LeveragingBaggingOptions {
  int n_models = 10;
  double w = 6.0;  // Poisson rate of the bagging weights
  double adwin_delta = 0.002;
  uint64_t seed = 42;
};

// `base`: a fresh classifier (not a leveraging bagging), copied through its
// snapshot into every member and every replacement (river's clone).
Result<std::unique_ptr<Model>> MakeLeveragingBaggingClassifier(
    const Model& base, const LeveragingBaggingOptions& options);

// ---------------------------------------------------------------------------
// Multilayer perceptron (mlp.cc): dense layers, ReLU or tanh, a softmax
// (classification) or linear (regression) output, trained online by SGD or
// Adam on mini-batches of `batch_size` rows cut from each call in order.

enum class Activation : uint8_t { kRelu, kTanh };
enum class Optimizer : uint8_t { kSgd, kAdam };

struct MlpOptions {
  Task task = Task::kClassification;  // or kRegression
  int num_classes = 2;                // classification
  std::vector<int> hidden = {64};     // hidden layer sizes, input side first
  Activation activation = Activation::kRelu;
  Optimizer optimizer = Optimizer::kAdam;
  double learning_rate = 0.001;
  double l2 = 1e-4;
  int batch_size = 32;
  uint64_t seed = 42;  // initial weights
};

Result<std::unique_ptr<Model>> MakeMlp(int num_features, const MlpOptions& options);

enum class RegressionLeaf : uint8_t {
  kMean,      // the leaf's target mean
  kLinear,    // an SGD linear model per leaf over leaf-standardized features
  kAdaptive,  // whichever of the two has the lower running absolute error
};

struct HoeffdingTreeRegressorOptions {
  double delta = 1e-7;
  int grace_period = 200;
  double tau = 0.05;
  RegressionLeaf leaf_model = RegressionLeaf::kAdaptive;
  double leaf_learning_rate = 0.01;
  // Numeric observer: quantization into bins of this width (river's QO).
  double quantization_radius = 0.25;
  std::vector<int> nominal_features;
  int max_depth = 0;
  double min_branch_fraction = 0.01;
};

Result<std::unique_ptr<Model>> MakeHoeffdingTreeRegressor(
    int num_features, const HoeffdingTreeRegressorOptions& options);

}  // namespace eddy::learn
