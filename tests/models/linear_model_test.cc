// SGD linear models: hand-computed single steps for every loss, schedule and
// penalty; quality on real data sets; robustness of Huber / epsilon-
// insensitive to outliers; L1 sparsity; version counter and input checks.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "operators/models/evaluation.h"
#include "operators/models/features.h"
#include "operators/models/model.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

using testing::DataPath;
using testing::Dataset;
using testing::ReadCsv;
using testing::RunPrequential;
using testing::Shuffle;

std::unique_ptr<Model> Make(int features, const LinearModelOptions& options) {
  auto model = MakeLinearModel(features, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

double PredictOne(const Model& model, std::initializer_list<double> values) {
  RowMatrix x(1, static_cast<Eigen::Index>(values.size()));
  Eigen::Index column = 0;
  for (double value : values) x(0, column++) = value;
  PredictionColumns out;
  EXPECT_TRUE(model.Predict(x, &out).ok());
  return out.value[0];
}

// Learned weight j of a single-output regression model, read through
// predictions: exact when the weight is 0 (b + 0 - b == 0).
std::vector<double> Weights(const Model& model) {
  const int d = model.num_features();
  RowMatrix x = RowMatrix::Zero(d + 1, d);
  for (int j = 0; j < d; ++j) x(j + 1, j) = 1.0;
  PredictionColumns out;
  EXPECT_TRUE(model.Predict(x, &out).ok());
  std::vector<double> weights(d);
  for (int j = 0; j < d; ++j) weights[j] = out.value[j + 1] - out.value[0];
  return weights;
}

LinearModelOptions Plain(LinearLoss loss, double eta0) {
  LinearModelOptions options;
  options.loss = loss;
  options.penalty = Penalty::kNone;
  options.schedule = LearningRate::kConstant;
  options.eta0 = eta0;
  return options;
}

Status LearnRows(Model* model, const RowMatrix& x, std::vector<double> y) {
  return model->Learn(x, y);
}

TEST(LinearModelTest, SquaredLossConstantRateTwoSteps) {
  auto model = Make(2, Plain(LinearLoss::kSquared, 0.1));
  RowMatrix x(2, 2);
  x << 1, 2, 2, 0;
  ASSERT_TRUE(LearnRows(model.get(), x, {3, 1}).ok());
  // Row 1: p = 0, g = -3: w = (0.3, 0.6), b = 0.3.
  // Row 2: p = 0.6 + 0.3 = 0.9, g = -0.1: w = (0.32, 0.6), b = 0.31.
  const double w0 = 0.3 - 0.1 * (0.3 * 2 + 0 + 0.3 - 1) * 2;
  const double b = 0.3 - 0.1 * (0.3 * 2 + 0.3 - 1);
  EXPECT_NEAR(w0, 0.32, 1e-15);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {0, 0}), b);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {1, 0}), 0.32 + 0.31);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {0, 1}), 0.6 + 0.31);
  EXPECT_EQ(model->version(), 1);
}

TEST(LinearModelTest, InverseScalingUsesEtaOverTPowerT) {
  LinearModelOptions options = Plain(LinearLoss::kSquared, 0.1);
  options.schedule = LearningRate::kInverseScaling;
  options.power_t = 0.5;
  options.fit_intercept = false;
  auto model = Make(1, options);
  RowMatrix x(2, 1);
  x << 1, 1;
  ASSERT_TRUE(LearnRows(model.get(), x, {1, 1}).ok());
  // t=1: eta 0.1, w = 0.1. t=2: eta 0.1/sqrt(2), g = 0.1 - 1 = -0.9.
  const double expected = 0.1 + 0.1 / std::sqrt(2.0) * 0.9;
  EXPECT_NEAR(PredictOne(*model, {1}), expected, 1e-15);
  EXPECT_EQ(PredictOne(*model, {0}), 0.0);  // no intercept
}

TEST(LinearModelTest, HuberAndEpsilonInsensitiveGradients) {
  RowMatrix x(1, 1);
  x << 1;
  // Residual p - y = -3. Huber(epsilon 1): g = -1. Eps-insensitive(0.5): g = -1.
  auto huber_options = Plain(LinearLoss::kHuber, 0.1);
  huber_options.epsilon = 1.0;
  auto huber = Make(1, huber_options);
  ASSERT_TRUE(LearnRows(huber.get(), x, {3}).ok());
  EXPECT_DOUBLE_EQ(PredictOne(*huber, {1}), 0.2);  // w = 0.1, b = 0.1
  // Within epsilon Huber is squared: residual 0.2 - 0.5 = -0.3.
  ASSERT_TRUE(LearnRows(huber.get(), x, {0.5}).ok());
  EXPECT_DOUBLE_EQ(PredictOne(*huber, {0}), 0.1 + 0.1 * 0.3);

  auto eps_options = Plain(LinearLoss::kEpsilonInsensitive, 0.1);
  eps_options.epsilon = 0.5;
  auto eps = Make(1, eps_options);
  ASSERT_TRUE(LearnRows(eps.get(), x, {3}).ok());
  EXPECT_DOUBLE_EQ(PredictOne(*eps, {1}), 0.2);
  // Residual 0.2 - 0.5 = -0.3 is inside epsilon: no update, version still +1.
  ASSERT_TRUE(LearnRows(eps.get(), x, {0.5}).ok());
  EXPECT_DOUBLE_EQ(PredictOne(*eps, {1}), 0.2);
}

TEST(LinearModelTest, AdaGradStep) {
  LinearModelOptions options = Plain(LinearLoss::kSquared, 0.5);
  options.schedule = LearningRate::kAdaGrad;
  auto model = Make(2, options);
  RowMatrix x(1, 2);
  x << 2, -1;
  ASSERT_TRUE(LearnRows(model.get(), x, {4}).ok());
  // g = -4; gradients (-8, 4), intercept -4. w_j -= 0.5 g_j / sqrt(g_j^2 + 1e-8).
  const double w0 = 0.5 * 8 / std::sqrt(64 + 1e-8);
  const double w1 = -0.5 * 4 / std::sqrt(16 + 1e-8);
  const double b = 0.5 * 4 / std::sqrt(16 + 1e-8);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {0, 0}), b);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {1, 0}), w0 + b);
  EXPECT_DOUBLE_EQ(PredictOne(*model, {0, 1}), w1 + b);
}

TEST(LinearModelTest, L2DecaysAndL1SoftThresholds) {
  LinearModelOptions options = Plain(LinearLoss::kSquared, 0.1);
  options.fit_intercept = false;
  options.penalty = Penalty::kL2;
  options.alpha = 0.5;
  auto l2 = Make(1, options);
  RowMatrix x(2, 1);
  x << 1, 1;
  ASSERT_TRUE(LearnRows(l2.get(), x, {1, 1}).ok());
  // Row 1: w = 0.1. Row 2: w = (1 - 0.05) * 0.1 - 0.1 * (0.1 - 1) = 0.185.
  EXPECT_DOUBLE_EQ(PredictOne(*l2, {1}), 0.95 * 0.1 + 0.1 * 0.9);

  options.penalty = Penalty::kL1;
  options.alpha = 0.5;
  auto l1 = Make(1, options);
  ASSERT_TRUE(LearnRows(l1.get(), x, {1, 1}).ok());
  // Row 1: w = 0.1 then soft-threshold by 0.05: 0.05. Row 2: g = -0.95:
  // w = 0.05 + 0.095 = 0.145, threshold: 0.095.
  EXPECT_NEAR(PredictOne(*l1, {1}), 0.095, 1e-15);
}

TEST(LinearModelTest, LogisticAndSoftmaxFirstStep) {
  auto logistic = Make(1, Plain(LinearLoss::kLogistic, 1.0));
  RowMatrix x(1, 1);
  x << 2;
  ASSERT_TRUE(LearnRows(logistic.get(), x, {1}).ok());
  // g = sigmoid(0) - 1 = -0.5: w = 1, b = 0.5. Score at x=1: 1.5.
  RowMatrix probe(1, 1);
  probe << 1;
  PredictionColumns out;
  ASSERT_TRUE(logistic->Predict(probe, &out).ok());
  const double p1 = 1 / (1 + std::exp(-1.5));
  EXPECT_EQ(out.value[0], 1.0);
  EXPECT_DOUBLE_EQ(out.probabilities(0, 1), p1);
  EXPECT_DOUBLE_EQ(out.probabilities(0, 0), 1 - p1);
  EXPECT_DOUBLE_EQ(out.score[0], p1);

  LinearModelOptions options = Plain(LinearLoss::kSoftmax, 1.0);
  options.num_classes = 3;
  auto softmax = Make(1, options);
  x << 1;
  ASSERT_TRUE(LearnRows(softmax.get(), x, {2}).ok());
  // g = (1/3, 1/3, -2/3): W = (-1/3, -1/3, 2/3), b the same. Scores at x=1:
  // (-2/3, -2/3, 4/3).
  ASSERT_TRUE(softmax->Predict(probe, &out).ok());
  const double e_low = std::exp(-2.0 / 3 - 4.0 / 3), total = 2 * e_low + 1;
  EXPECT_EQ(out.value[0], 2.0);
  EXPECT_NEAR(out.probabilities(0, 2), 1 / total, 1e-15);
  EXPECT_NEAR(out.probabilities(0, 0), e_low / total, 1e-15);
  EXPECT_NEAR(out.probabilities.row(0).sum(), 1.0, 1e-15);
}

TEST(LinearModelTest, RecoversWeightsOfNoiseFreeLinearData) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0, 1);
  const int rows = 20000;
  RowMatrix x(rows, 3);
  std::vector<double> y(rows);
  for (int row = 0; row < rows; ++row) {
    for (int j = 0; j < 3; ++j) x(row, j) = normal(rng);
    y[row] = 2 * x(row, 0) - 3 * x(row, 1) + 0.5 * x(row, 2) + 1;
  }
  auto model = Make(3, Plain(LinearLoss::kSquared, 0.01));
  ASSERT_TRUE(model->Learn(x, y).ok());
  const std::vector<double> weights = Weights(*model);
  EXPECT_NEAR(weights[0], 2, 1e-3);
  EXPECT_NEAR(weights[1], -3, 1e-3);
  EXPECT_NEAR(weights[2], 0.5, 1e-3);
  EXPECT_NEAR(PredictOne(*model, {0, 0, 0}), 1, 1e-3);
}

TEST(LinearModelTest, RobustLossesResistOutliers) {
  // y = 2x + 1 with every tenth target raised by 50: squared loss drags the
  // line up (its intercept moves toward +5), Huber and epsilon-insensitive
  // stay near the clean line.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> uniform(-1, 1);
  const int rows = 40000;
  RowMatrix x(rows, 1);
  std::vector<double> y(rows);
  for (int row = 0; row < rows; ++row) {
    x(row, 0) = uniform(rng);
    y[row] = 2 * x(row, 0) + 1 + (row % 10 == 0 ? 50 : 0);
  }
  auto fit = [&](LinearLoss loss) {
    LinearModelOptions options = Plain(loss, 0.001);
    options.epsilon = 0.1;
    auto model = Make(1, options);
    EXPECT_TRUE(model->Learn(x, y).ok());
    return PredictOne(*model, {0});
  };
  const double squared = fit(LinearLoss::kSquared);
  const double huber = fit(LinearLoss::kHuber);
  const double eps = fit(LinearLoss::kEpsilonInsensitive);
  EXPECT_GT(squared, 4.0);  // mean of the targets: 1 + 5
  EXPECT_LT(std::abs(huber - 1), 1.0);
  EXPECT_LT(std::abs(eps - 1), 0.5);
  EXPECT_LT(std::abs(huber - 1), std::abs(squared - 1));
  EXPECT_LT(std::abs(eps - 1), std::abs(squared - 1));
}

TEST(LinearModelTest, L1DrivesIrrelevantWeightsToExactlyZero) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal(0, 1);
  const int rows = 20000;
  RowMatrix x(rows, 5);
  std::vector<double> y(rows);
  for (int row = 0; row < rows; ++row) {
    for (int j = 0; j < 5; ++j) x(row, j) = normal(rng);
    y[row] = 3 * x(row, 0) - 2 * x(row, 1);  // features 2..4 are irrelevant
  }
  LinearModelOptions options = Plain(LinearLoss::kSquared, 0.01);
  options.penalty = Penalty::kL1;
  options.alpha = 0.01;
  auto model = Make(5, options);
  ASSERT_TRUE(model->Learn(x, y).ok());
  const std::vector<double> weights = Weights(*model);
  EXPECT_NEAR(weights[0], 3, 0.05);
  EXPECT_NEAR(weights[1], -2, 0.05);
  for (int j = 2; j < 5; ++j) EXPECT_EQ(weights[j], 0.0) << "feature " << j;

  // Without L1 the irrelevant weights are small but not exactly zero
  // (they carry the noise of the early steps).
  auto plain = Make(5, Plain(LinearLoss::kSquared, 0.01));
  Eigen::Index noisy_rows = 50;
  ASSERT_TRUE(
      plain->Learn(x.topRows(noisy_rows), std::span<const double>(y.data(), noisy_rows)).ok());
  int nonzero = 0;
  for (double w : Weights(*plain)) nonzero += w != 0.0;
  EXPECT_EQ(nonzero, 5);
}

TEST(LinearModelTest, ElasticNetSplitsAlpha) {
  LinearModelOptions options = Plain(LinearLoss::kSquared, 0.1);
  options.fit_intercept = false;
  options.penalty = Penalty::kElasticNet;
  options.alpha = 1.0;
  options.l1_ratio = 0.25;
  auto model = Make(1, options);
  RowMatrix x(2, 1);
  x << 1, 1;
  ASSERT_TRUE(LearnRows(model.get(), x, {1, 1}).ok());
  // l1 = 0.25, l2 = 0.75. Row 1: w = 0.1 -> threshold 0.025: 0.075.
  // Row 2: w = (1 - 0.075) * 0.075 + 0.1 * (1 - 0.075) = 0.161875 - 0.025.
  const double w1 = 0.075;
  const double w2 = (1 - 0.075) * w1 + 0.1 * (1 - w1) - 0.025;
  EXPECT_NEAR(PredictOne(*model, {1}), w2, 1e-15);
}

TEST(LinearModelTest, PrequentialPredictsBeforeLearning) {
  auto model = Make(1, Plain(LinearLoss::kSquared, 0.1));
  RowMatrix x(3, 1);
  x << 1, 1, 1;
  std::vector<double> y = {1, 1, 1};
  std::vector<uint8_t> mask = {1, 0, 1};
  PredictionColumns out;
  ASSERT_TRUE(model->Prequential(x, y, &mask, &out).ok());
  EXPECT_EQ(out.value[0], 0.0);  // nothing learned yet
  // Row 0 learned: w = b = 0.1, prediction 0.2; row 1 is masked (not learned).
  EXPECT_DOUBLE_EQ(out.value[1], 0.2);
  EXPECT_DOUBLE_EQ(out.value[2], 0.2);
  EXPECT_EQ(model->version(), 1);
}

TEST(LinearModelTest, VersionCountsCallsThatChangedTheModel) {
  auto model = Make(1, Plain(LinearLoss::kSquared, 0.1));
  RowMatrix x(2, 1);
  x << 1, 2;
  std::vector<double> y = {1, 2};
  std::vector<uint8_t> none = {0, 0};
  ASSERT_TRUE(model->Learn(x, y, &none).ok());
  EXPECT_EQ(model->version(), 0);
  ASSERT_TRUE(model->Learn(x, y).ok());
  ASSERT_TRUE(model->Learn(x, y).ok());
  EXPECT_EQ(model->version(), 2);
}

TEST(LinearModelTest, RejectsBadInputWithoutChanging) {
  LinearModelOptions options = Plain(LinearLoss::kSoftmax, 0.1);
  options.num_classes = 3;
  auto model = Make(2, options);
  RowMatrix x(2, 2);
  x << 1, 2, 3, 4;
  std::vector<double> bad_label = {0, 3};
  Status status = model->Learn(x, bad_label);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("row 1"), std::string::npos) << status.message();
  EXPECT_EQ(model->version(), 0);
  std::vector<double> fractional = {0, 1.5};
  EXPECT_FALSE(model->Learn(x, fractional).ok());
  x(0, 1) = std::nan("");
  std::vector<double> good = {0, 1};
  EXPECT_FALSE(model->Learn(x, good).ok());
  std::vector<uint8_t> skip_nan = {0, 1};
  EXPECT_TRUE(model->Learn(x, good, &skip_nan).ok());  // the NaN row is masked out
  RowMatrix wrong_width(1, 3);
  wrong_width.setZero();
  PredictionColumns out;
  EXPECT_FALSE(model->Predict(wrong_width, &out).ok());
  std::vector<double> short_labels = {0};
  EXPECT_FALSE(model->Learn(RowMatrix::Zero(2, 2), short_labels).ok());
  EXPECT_FALSE(MakeLinearModel(0, LinearModelOptions{}).ok());
  LinearModelOptions bad = options;
  bad.l1_ratio = 2;
  EXPECT_FALSE(MakeLinearModel(2, bad).ok());
}

// ---- real data sets ----------------------------------------------------------

FeatureOptions StandardizedColumns(const Dataset& data) {
  FeatureOptions options;
  options.columns = data.feature_names;
  options.standardize = true;
  return options;
}

std::unique_ptr<FeatureEncoder> Encoder(const Dataset& data) {
  auto encoder =
      FeatureEncoder::Make(testing::ToBatch(data, 0, 0).schema(), StandardizedColumns(data));
  EXPECT_TRUE(encoder.ok());
  return std::move(encoder).value();
}

TEST(LinearModelQualityTest, LogisticOnBreastCancer) {
  Dataset data = ReadCsv(DataPath("breast_cancer.csv"));
  ASSERT_EQ(data.rows(), 569);
  Shuffle(&data, 1);
  LinearModelOptions options;
  options.loss = LinearLoss::kLogistic;
  options.schedule = LearningRate::kConstant;
  options.eta0 = 0.1;
  auto model = Make(30, options);
  auto evaluator = PrequentialEvaluator::Make(Task::kClassification, 2).value();
  auto encoder = Encoder(data);
  RunPrequential(data, model.get(), evaluator.get(), 50, encoder.get());
  const ClassificationReport report = evaluator->Classification(false);
  EXPECT_EQ(report.count, 569);
  EXPECT_GT(report.accuracy, 0.93);
  std::printf("breast_cancer logistic prequential accuracy %.4f, log loss %.4f\n", report.accuracy,
              report.log_loss);
}

// Prequential accuracy over the whole shuffled stream and over its last
// `window` rows (after the first rows have warmed the model and the
// standardization up; every prediction is still made before its row is
// learned).
std::pair<double, double> SoftmaxAccuracy(const char* file, int classes, int features,
                                          int64_t window) {
  Dataset data = ReadCsv(DataPath(file));
  Shuffle(&data, 3);
  LinearModelOptions options;
  options.loss = LinearLoss::kSoftmax;
  options.num_classes = classes;
  options.schedule = LearningRate::kConstant;
  options.eta0 = 0.3;
  auto model = Make(features, options);
  auto evaluator = PrequentialEvaluator::Make(Task::kClassification, classes, window).value();
  auto encoder = Encoder(data);
  RunPrequential(data, model.get(), evaluator.get(), 16, encoder.get());
  const double whole = evaluator->Classification(false).accuracy;
  const double last = evaluator->Classification(true).accuracy;
  std::printf("%s softmax prequential accuracy %.4f, last %lld rows %.4f\n", file, whole,
              static_cast<long long>(window), last);
  return {whole, last};
}

TEST(LinearModelQualityTest, SoftmaxOnIrisAndWine) {
  // Iris has 150 rows: the first ~30 are the warm-up (standardization starts
  // at the third row), so the bar is on the last 100.
  auto [iris_whole, iris_last] = SoftmaxAccuracy("iris.csv", 3, 4, 100);
  EXPECT_GT(iris_whole, 0.8);
  EXPECT_GT(iris_last, 0.85);
  auto [wine_whole, wine_last] = SoftmaxAccuracy("wine.csv", 3, 13, 100);
  EXPECT_GT(wine_whole, 0.85);
  EXPECT_GT(wine_last, 0.9);
}

TEST(LinearModelQualityTest, RegressionOnDiabetesBeatsTheMean) {
  Dataset data = ReadCsv(DataPath("diabetes.csv"));
  ASSERT_EQ(data.rows(), 442);
  Shuffle(&data, 2);
  LinearModelOptions options;
  options.loss = LinearLoss::kSquared;
  options.schedule = LearningRate::kConstant;
  options.eta0 = 0.01;
  auto model = Make(10, options);
  // The last 200 rows: by then the intercept has climbed from 0 to the
  // target mean (~152); the first rows' errors say nothing about the model.
  auto evaluator = PrequentialEvaluator::Make(Task::kRegression, 0, 200).value();
  auto encoder = Encoder(data);
  RunPrequential(data, model.get(), evaluator.get(), 20, encoder.get());
  const RegressionReport whole = evaluator->Regression(false);
  const RegressionReport window = evaluator->Regression(true);
  std::printf("diabetes SGD prequential R2 %.4f RMSE %.2f; last 200 rows: R2 %.4f RMSE %.2f\n",
              whole.r2, whole.rmse, window.r2, window.rmse);
  EXPECT_GT(window.r2, 0.3);
}

}  // namespace
}  // namespace eddy::learn
