// Streaming k-means: MLlib's update rule and decay computed by hand, the
// half-life in batches and points, dying-cluster splitting, k-means++
// seeding, recovery of well-separated synthetic clusters.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "operators/models/evaluation.h"
#include "operators/models/model.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

std::unique_ptr<Model> Make(int features, const KMeansOptions& options) {
  auto model = MakeStreamingKMeans(features, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

RowMatrix Points(std::initializer_list<double> values) {
  RowMatrix x(static_cast<Eigen::Index>(values.size()), 1);
  Eigen::Index row = 0;
  for (double value : values) x(row++, 0) = value;
  return x;
}

PredictionColumns Predict(const Model& model, const RowMatrix& x) {
  PredictionColumns out;
  EXPECT_TRUE(model.Predict(x, &out).ok());
  return out;
}

TEST(KMeansTest, HalfLifeIsMllibsFormula) {
  EXPECT_EQ(DecayFactorFromHalfLife(2), std::exp(std::log(0.5) / 2));
  EXPECT_DOUBLE_EQ(std::pow(DecayFactorFromHalfLife(5), 5), 0.5);
}

// Batch 1 seeds centres 0 and 10 (weight 1 each after the first update).
// Batch 2 = {1, 2} with discount 0.5: the centre at 0 gets n' = 0.5 + 2,
// lambda = 2 / 2.5 and c = (1 - lambda) * 0 + (lambda / 2) * 3 = 1.2; the
// centre at 10 keeps its place with weight 0.5.
// Batch 3 = {12} with discount 0.5: the far centre has n' = 0.25 + 1,
// lambda = 0.8, c = 0.2 * 10 + 0.8 * 12 = 11.6.
void ExpectHandComputedUpdates(Model* model) {
  ASSERT_TRUE(model->Learn(Points({0, 10}), {}).ok());
  ASSERT_TRUE(model->Learn(Points({1, 2}), {}).ok());
  const double lambda = 2 / (0.5 + 2);
  const double near = (1 - lambda) * 0 + (lambda / 2) * 3;
  PredictionColumns out = Predict(*model, Points({0, 20}));
  EXPECT_EQ(out.score[0], near);
  EXPECT_EQ(out.score[1], 10.0);
  ASSERT_TRUE(model->Learn(Points({12}), {}).ok());
  const double lambda_far = 1 / (0.25 + 1);
  const double far = (1 - lambda_far) * 10 + (lambda_far / 1) * 12;
  out = Predict(*model, Points({0, 20}));
  EXPECT_EQ(out.score[0], near);
  EXPECT_EQ(out.score[1], 20 - far);
  EXPECT_NEAR(far, 11.6, 1e-12);
  EXPECT_NE(out.value[0], out.value[1]);
  EXPECT_EQ(model->version(), 3);
}

TEST(KMeansTest, DecayPerBatchMatchesHandComputation) {
  KMeansOptions options;
  options.k = 2;
  options.decay_factor = 0.5;
  auto model = Make(1, options);
  ExpectHandComputedUpdates(model.get());
  // Weights after batch 3: near (0.5 + 2) * 0.5, far (0.5 * 0.5 + 1).
  EXPECT_EQ(model->Shape().cluster_weights, (std::vector<double>{1.25, 1.25}));
  EXPECT_EQ(model->Shape().tree_nodes, 0);
}

TEST(KMeansTest, HalfLifeInPointsDiscountsPerPoint) {
  // Half-life of 2 points: a = 2^-1/2, so batch 2 (two points) discounts by
  // a^2 = 0.5 as above -- but batch 3 (one point) only by a ~ 0.707.
  KMeansOptions options;
  options.k = 2;
  options.decay_factor = DecayFactorFromHalfLife(2);
  options.time_unit = DecayUnit::kPoints;
  auto model = Make(1, options);
  ASSERT_TRUE(model->Learn(Points({0, 10}), {}).ok());
  ASSERT_TRUE(model->Learn(Points({1, 2}), {}).ok());
  const double a = options.decay_factor;
  const double discount2 = std::pow(a, 2.0);
  const double lambda = 2 / std::max(1 * discount2 + 2, 1e-16);
  const double near = (1 - lambda) * 0 + (lambda / 2) * 3;
  PredictionColumns out = Predict(*model, Points({0}));
  EXPECT_EQ(out.score[0], near);
  ASSERT_TRUE(model->Learn(Points({12}), {}).ok());
  const double far_weight = 1 * discount2 * a;
  const double lambda_far = 1 / (far_weight + 1);
  const double far = (1 - lambda_far) * 10 + lambda_far * 12;
  out = Predict(*model, Points({20}));
  EXPECT_EQ(out.score[0], 20 - far);
}

TEST(KMeansTest, DyingClusterIsSplitFromTheLargest) {
  KMeansOptions options;
  options.k = 2;
  options.decay_factor = 0.0;  // forget everything but the current batch
  auto model = Make(1, options);
  ASSERT_TRUE(model->Learn(Points({0, 10}), {}).ok());
  ASSERT_TRUE(model->Learn(Points({1, 3}), {}).ok());
  // The centre at 10 got no points: weight 0 < 1e-8 * 2. MLlib splits the
  // largest (now at 2) into 2 + 2e-14 and 2 - 2e-14 (the dying one).
  const double p = 1e-14 * std::max(2.0, 1.0);
  PredictionColumns out = Predict(*model, Points({10, -10}));
  EXPECT_EQ(out.score[0], 10 - (2 + p));
  EXPECT_EQ(out.score[1], 10 + (2 - p));
  EXPECT_NE(out.value[0], out.value[1]);
}

TEST(KMeansTest, SeedingWaitsForKRows) {
  KMeansOptions options;
  options.k = 3;
  auto model = Make(1, options);
  ASSERT_TRUE(model->Learn(Points({1, 2}), {}).ok());
  EXPECT_EQ(model->version(), 0);
  PredictionColumns out = Predict(*model, Points({1}));
  EXPECT_EQ(out.value[0], -1);
  EXPECT_TRUE(std::isnan(out.score[0]));
  ASSERT_TRUE(model->Learn(Points({3}), {}).ok());
  EXPECT_EQ(model->version(), 1);
  // Seeded from the three buffered rows, each its own cluster.
  out = Predict(*model, Points({1, 2, 3}));
  EXPECT_EQ(out.score, Eigen::Vector3d::Zero());
  EXPECT_NE(out.value[0], out.value[1]);
  EXPECT_NE(out.value[1], out.value[2]);
  EXPECT_NE(out.value[0], out.value[2]);
}

TEST(KMeansTest, FindsThreeWellSeparatedClusters) {
  const double centers[3][2] = {{0, 0}, {10, 10}, {-10, 10}};
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 1);
  KMeansOptions options;
  options.k = 3;
  options.seed = 17;
  auto model = Make(2, options);
  auto evaluator = PrequentialEvaluator::Make(Task::kClustering, 0, 300).value();
  PredictionColumns out;
  for (int batch = 0; batch < 30; ++batch) {
    RowMatrix x(100, 2);
    for (int row = 0; row < 100; ++row) {
      const int cluster = static_cast<int>(rng() % 3);
      x(row, 0) = centers[cluster][0] + noise(rng);
      x(row, 1) = centers[cluster][1] + noise(rng);
    }
    ASSERT_TRUE(model->Prequential(x, {}, nullptr, &out).ok());
    ASSERT_TRUE(evaluator->Update(out, {}).ok());
  }
  RowMatrix truth(3, 2);
  truth << 0, 0, 10, 10, -10, 10;
  out = Predict(*model, truth);
  for (int c = 0; c < 3; ++c) EXPECT_LT(out.score[c], 0.1) << "centre " << c;
  EXPECT_NE(out.value[0], out.value[1]);
  EXPECT_NE(out.value[1], out.value[2]);
  EXPECT_NE(out.value[0], out.value[2]);
  // Per-point squared distance ~ 2 sigma^2 = 2 once the centres are found.
  const ClusteringReport window = evaluator->Clustering(true);
  EXPECT_NEAR(window.mean_squared_distance, 2.0, 0.3);
  // The first batch is predicted before seeding (cluster -1), so not scored.
  EXPECT_EQ(evaluator->Clustering(false).count, 2900);
}

TEST(KMeansTest, RejectsBadOptionsAndInput) {
  KMeansOptions options;
  options.k = 0;
  EXPECT_FALSE(MakeStreamingKMeans(2, options).ok());
  options.k = 2;
  options.decay_factor = 1.5;
  EXPECT_FALSE(MakeStreamingKMeans(2, options).ok());
  options.decay_factor = 1;
  auto model = Make(2, options);
  RowMatrix x(2, 2);
  x << 1, std::nan(""), 2, 3;
  EXPECT_FALSE(model->Learn(x, {}).ok());
  EXPECT_FALSE(model->Learn(Points({1, 2}), {}).ok());  // one feature, not two
}

}  // namespace
}  // namespace eddy::learn
