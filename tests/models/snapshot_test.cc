// Every model: Snapshot -> serialize -> parse -> Restore predicts
// bit-identically, keeps its version, and continues learning identically
// (same predictions, same next snapshot bytes). ExportJson is valid JSON.
// Damaged snapshots are Corruption, never a crash.

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

struct Case {
  std::string name;
  std::function<Result<std::unique_ptr<Model>>()> make;
  Task task;
  int classes;
  std::vector<std::string> json_keys;
};

// Four features; feature 3 holds category codes 0..3 (nominal for trees).
void MakeStream(Task task, int classes, int rows, uint64_t seed, RowMatrix* x,
                std::vector<double>* y) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  x->resize(rows, 4);
  y->resize(rows);
  for (int row = 0; row < rows; ++row) {
    for (int j = 0; j < 3; ++j) (*x)(row, j) = normal(rng);
    (*x)(row, 3) = static_cast<double>(rng() % 4);
    const double score = 1.5 * (*x)(row, 0) - (*x)(row, 1) + 0.3 * (*x)(row, 3) + 0.2 * normal(rng);
    if (task == Task::kClassification) {
      const int bucket = score < -0.5 ? 0 : (score < 0.8 ? 1 : 2);
      (*y)[row] = std::min(bucket, classes - 1);
    } else if (task == Task::kClustering) {
      (*x)(row, 0) += 6.0 * static_cast<double>(row % 3);
    } else {
      (*y)[row] = 10 + 3 * score;
    }
  }
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  cases.push_back({"linear_squared_adagrad_elasticnet",
                   [] {
                     LinearModelOptions o;
                     o.schedule = LearningRate::kAdaGrad;
                     o.penalty = Penalty::kElasticNet;
                     o.alpha = 0.01;
                     return MakeLinearModel(4, o);
                   },
                   Task::kRegression,
                   0,
                   {"\"weights\"", "\"intercept\""}});
  cases.push_back({"linear_huber_invscaling_l1",
                   [] {
                     LinearModelOptions o;
                     o.loss = LinearLoss::kHuber;
                     o.penalty = Penalty::kL1;
                     o.alpha = 0.001;
                     return MakeLinearModel(4, o);
                   },
                   Task::kRegression,
                   0,
                   {"\"weights\""}});
  cases.push_back({"logistic",
                   [] {
                     LinearModelOptions o;
                     o.loss = LinearLoss::kLogistic;
                     return MakeLinearModel(4, o);
                   },
                   Task::kClassification,
                   2,
                   {"\"weights\""}});
  cases.push_back({"softmax",
                   [] {
                     LinearModelOptions o;
                     o.loss = LinearLoss::kSoftmax;
                     o.num_classes = 3;
                     o.schedule = LearningRate::kConstant;
                     return MakeLinearModel(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"weights\""}});
  cases.push_back({"kmeans",
                   [] {
                     KMeansOptions o;
                     o.k = 3;
                     o.decay_factor = 0.9;
                     return MakeStreamingKMeans(4, o);
                   },
                   Task::kClustering,
                   0,
                   {"\"centers\"", "\"weights\""}});
  cases.push_back({"hoeffding_tree",
                   [] {
                     HoeffdingTreeOptions o;
                     o.num_classes = 3;
                     o.grace_period = 50;
                     o.nominal_features = {3};
                     return MakeHoeffdingTreeClassifier(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"root\"", "\"split\"", "\"class_counts\""}});
  cases.push_back({"hoeffding_tree_gini_bounded",
                   [] {
                     HoeffdingTreeOptions o;
                     o.num_classes = 3;
                     o.grace_period = 50;
                     o.split_criterion = SplitCriterion::kGini;
                     o.leaf_prediction = LeafPrediction::kNaiveBayes;
                     o.max_active_leaves = 1;
                     return MakeHoeffdingTreeClassifier(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"root\"", "\"active\":false"}});
  cases.push_back({"hoeffding_adaptive_tree",
                   [] {
                     HoeffdingTreeOptions o;
                     o.num_classes = 3;
                     o.grace_period = 50;
                     o.nominal_features = {3};
                     return MakeHoeffdingAdaptiveTreeClassifier(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"root\"", "\"error_window\""}});
  cases.push_back({"hoeffding_tree_regressor",
                   [] {
                     HoeffdingTreeRegressorOptions o;
                     o.grace_period = 50;
                     o.nominal_features = {3};
                     return MakeHoeffdingTreeRegressor(4, o);
                   },
                   Task::kRegression,
                   0,
                   {"\"root\"", "\"split\"", "\"linear_weights\""}});
  cases.push_back({"adaptive_random_forest",
                   [] {
                     AdaptiveRandomForestOptions o;
                     o.num_classes = 3;
                     o.n_models = 3;
                     o.max_features = 2;
                     o.tree.nominal_features = {3};
                     return MakeAdaptiveRandomForestClassifier(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"trees\"", "\"drifts\""}});
  cases.push_back({"mlp_classifier",
                   [] {
                     MlpOptions o;
                     o.num_classes = 3;
                     o.hidden = {8, 4};
                     return MakeMlp(4, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"layers\"", "\"steps\""}});
  cases.push_back({"leveraging_bagging",
                   []() -> Result<std::unique_ptr<Model>> {
                     HoeffdingTreeOptions tree;
                     tree.num_classes = 3;
                     tree.grace_period = 50;
                     tree.nominal_features = {3};
                     EDDY_ASSIGN_OR_RETURN(auto base, MakeHoeffdingTreeClassifier(4, tree));
                     LeveragingBaggingOptions o;
                     o.n_models = 3;
                     return MakeLeveragingBaggingClassifier(*base, o);
                   },
                   Task::kClassification,
                   3,
                   {"\"members\"", "\"changes\"", "\"replacements\""}});
  cases.push_back({"mlp_regressor_sgd",
                   [] {
                     MlpOptions o;
                     o.task = Task::kRegression;
                     o.optimizer = Optimizer::kSgd;
                     o.learning_rate = 0.01;
                     o.activation = Activation::kTanh;
                     return MakeMlp(4, o);
                   },
                   Task::kRegression,
                   0,
                   {"\"layers\""}});
  return cases;
}

class SnapshotTest : public ::testing::TestWithParam<Case> {};

std::unique_ptr<Model> RoundTrip(const Model& model) {
  pb::ModelSnapshot snapshot;
  EXPECT_TRUE(model.Snapshot(&snapshot).ok());
  const std::string bytes = snapshot.SerializeAsString();
  pb::ModelSnapshot parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));
  auto restored = Model::Restore(parsed);
  EXPECT_TRUE(restored.ok()) << restored.status().ToString();
  return restored.ok() ? std::move(restored).value() : nullptr;
}

TEST_P(SnapshotTest, RestoredModelIsIdentical) {
  const Case& c = GetParam();
  auto made = c.make();
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  std::unique_ptr<Model> model = std::move(made).value();
  RowMatrix x;
  std::vector<double> y;
  MakeStream(c.task, c.classes, 3000, 99, &x, &y);
  const Eigen::Index half = 1500, batch = 100;
  PredictionColumns out;
  for (Eigen::Index begin = 0; begin < half; begin += batch) {
    ASSERT_TRUE(model
                    ->Prequential(x.middleRows(begin, batch),
                                  std::span<const double>(y.data() + begin, batch), nullptr, &out)
                    .ok());
  }
  std::unique_ptr<Model> restored = RoundTrip(*model);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->version(), model->version());
  EXPECT_EQ(restored->version(), half / batch);
  EXPECT_EQ(restored->kind(), model->kind());
  EXPECT_EQ(restored->ExportJson(), model->ExportJson());

  PredictionColumns a, b;
  ASSERT_TRUE(model->Predict(x, &a).ok());
  ASSERT_TRUE(restored->Predict(x, &b).ok());
  testing::ExpectSamePredictions(a, b);

  // Continue both on the second half: same predictions at every step.
  for (Eigen::Index begin = half; begin < x.rows(); begin += batch) {
    auto rows = x.middleRows(begin, batch);
    std::span<const double> labels(y.data() + begin, batch);
    ASSERT_TRUE(model->Prequential(rows, labels, nullptr, &a).ok());
    ASSERT_TRUE(restored->Prequential(rows, labels, nullptr, &b).ok());
    testing::ExpectSamePredictions(a, b);
  }
  pb::ModelSnapshot final_a, final_b;
  ASSERT_TRUE(model->Snapshot(&final_a).ok());
  ASSERT_TRUE(restored->Snapshot(&final_b).ok());
  EXPECT_EQ(final_a.SerializeAsString(), final_b.SerializeAsString());

  const std::string json = model->ExportJson();
  EXPECT_TRUE(testing::JsonChecker::Valid(json)) << json.substr(0, 500);
  EXPECT_NE(json.find("\"model\""), std::string::npos);
  EXPECT_NE(json.find("\"version\":" + std::to_string(model->version())), std::string::npos);
  for (const std::string& key : c.json_keys) {
    EXPECT_NE(json.find(key), std::string::npos) << key << " in " << json.substr(0, 500);
  }
}

TEST_P(SnapshotTest, DamagedSnapshotsAreCorruption) {
  const Case& c = GetParam();
  std::unique_ptr<Model> model = c.make().value();
  RowMatrix x;
  std::vector<double> y;
  MakeStream(c.task, c.classes, 400, 5, &x, &y);
  ASSERT_TRUE(model->Learn(x, y).ok());
  pb::ModelSnapshot snapshot;
  ASSERT_TRUE(model->Snapshot(&snapshot).ok());
  switch (snapshot.model_case()) {
    case pb::ModelSnapshot::kLinear:
      snapshot.mutable_linear()->mutable_weights()->RemoveLast();
      break;
    case pb::ModelSnapshot::kKmeans:
      snapshot.mutable_kmeans()->mutable_centers()->RemoveLast();
      break;
    case pb::ModelSnapshot::kTreeClassifier:
      snapshot.mutable_tree_classifier()->mutable_nodes(0)->mutable_class_counts()->RemoveLast();
      break;
    case pb::ModelSnapshot::kTreeRegressor:
      snapshot.mutable_tree_regressor()->mutable_nodes(0)->mutable_x_mean()->RemoveLast();
      break;
    case pb::ModelSnapshot::kForest:
      snapshot.mutable_forest()->mutable_members()->RemoveLast();
      break;
    case pb::ModelSnapshot::kMlp:
      snapshot.mutable_mlp()->mutable_weights()->RemoveLast();
      break;
    case pb::ModelSnapshot::kLeveragingBagging:
      snapshot.mutable_leveraging_bagging()->mutable_members()->RemoveLast();
      break;
    case pb::ModelSnapshot::MODEL_NOT_SET:
      FAIL();
  }
  EXPECT_EQ(Model::Restore(snapshot).status().code(), StatusCode::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(AllModels, SnapshotTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(SnapshotTest, KMeansBufferedRowsSurviveARestore) {
  KMeansOptions options;
  options.k = 4;
  auto model = MakeStreamingKMeans(1, options).value();
  RowMatrix x(2, 1);
  x << 1, 5;
  ASSERT_TRUE(model->Learn(x, {}).ok());  // fewer than k rows: buffered
  std::unique_ptr<Model> restored = RoundTrip(*model);
  ASSERT_NE(restored, nullptr);
  x << 9, 13;
  ASSERT_TRUE(model->Learn(x, {}).ok());
  ASSERT_TRUE(restored->Learn(x, {}).ok());
  PredictionColumns a, b;
  ASSERT_TRUE(model->Predict(x, &a).ok());
  ASSERT_TRUE(restored->Predict(x, &b).ok());
  testing::ExpectSamePredictions(a, b);
  EXPECT_EQ(a.score[0], 0.0);  // seeded from all four rows
}

TEST(SnapshotTest, TreeSnapshotWithCycleIsRejected) {
  HoeffdingTreeOptions options;
  options.grace_period = 20;
  auto model = MakeHoeffdingTreeClassifier(4, options).value();
  RowMatrix x;
  std::vector<double> y;
  MakeStream(Task::kClassification, 2, 500, 1, &x, &y);
  ASSERT_TRUE(model->Learn(x, y).ok());
  pb::ModelSnapshot snapshot;
  ASSERT_TRUE(model->Snapshot(&snapshot).ok());
  ASSERT_GT(snapshot.tree_classifier().nodes_size(), 1);
  snapshot.mutable_tree_classifier()->mutable_nodes(0)->set_left(0);  // points at itself
  EXPECT_EQ(Model::Restore(snapshot).status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Model::Restore(pb::ModelSnapshot()).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace eddy::learn
