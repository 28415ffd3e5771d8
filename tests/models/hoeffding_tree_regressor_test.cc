// Hoeffding tree regressor: variance-reduction splits on a step function,
// linear leaves against mean leaves, quality on diabetes, nominal splits.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "operators/models/evaluation.h"
#include "operators/models/model.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

using testing::DataPath;
using testing::Dataset;
using testing::ReadCsv;
using testing::RunPrequential;
using testing::Shuffle;

std::unique_ptr<Model> Make(int features, const HoeffdingTreeRegressorOptions& options) {
  auto model = MakeHoeffdingTreeRegressor(features, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

RegressionReport Stream(const Dataset& data, Model* model, int64_t window, Eigen::Index batch,
                        bool use_window) {
  auto evaluator = PrequentialEvaluator::Make(Task::kRegression, 0, window).value();
  RunPrequential(data, model, evaluator.get(), batch);
  return evaluator->Regression(use_window);
}

TEST(HoeffdingTreeRegressorTest, SplitsAStepFunction) {
  // y = 10 for x0 > 0.5, else 0, plus N(0, 0.1) noise; x1 is noise.
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> noise(0, 0.1);
  Dataset data;
  data.x.resize(3000, 2);
  data.y.resize(3000);
  for (int row = 0; row < 3000; ++row) {
    data.x(row, 0) = uniform(rng);
    data.x(row, 1) = uniform(rng);
    data.y[row] = (data.x(row, 0) > 0.5 ? 10 : 0) + noise(rng);
  }
  HoeffdingTreeRegressorOptions options;
  options.leaf_model = RegressionLeaf::kMean;
  options.quantization_radius = 0.01;
  auto model = Make(2, options);
  const RegressionReport last = Stream(data, model.get(), 1000, 100, true);
  std::printf("step function: last 1000 rows RMSE %.4f\n", last.rmse);
  // Noise is 0.1; the threshold is the midpoint of two bins' x means, so a
  // sliver of width ~1e-3 around 0.5 is routed to the wrong side (error 10)
  // and too thin to split off (min_branch_fraction): RMSE ~0.3, vs 5 for
  // the mean.
  EXPECT_LT(last.rmse, 0.5);
  const std::string json = model->ExportJson();
  EXPECT_TRUE(testing::JsonChecker::Valid(json));
  const size_t at = json.find("\"split\":{\"feature\":0,\"op\":\"<=\",\"value\":");
  ASSERT_NE(at, std::string::npos) << json;
  const double threshold = std::stod(json.substr(json.find("\"value\":", at) + 8));
  EXPECT_NEAR(threshold, 0.5, 0.01);
}

TEST(HoeffdingTreeRegressorTest, LinearLeavesFitASlope) {
  // y = 3 x0 + 1 + N(0, 0.05), no split allowed: the mean leaf's error is
  // the target's spread (sd ~ 0.87), the linear leaf's close to the noise.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(0, 1);
  std::normal_distribution<double> noise(0, 0.05);
  Dataset data;
  data.x.resize(5000, 1);
  data.y.resize(5000);
  for (int row = 0; row < 5000; ++row) {
    data.x(row, 0) = uniform(rng);
    data.y[row] = 3 * data.x(row, 0) + 1 + noise(rng);
  }
  HoeffdingTreeRegressorOptions options;
  options.grace_period = 1000000;
  options.leaf_model = RegressionLeaf::kMean;
  auto mean = Make(1, options);
  options.leaf_model = RegressionLeaf::kLinear;
  auto linear = Make(1, options);
  options.leaf_model = RegressionLeaf::kAdaptive;
  auto adaptive = Make(1, options);
  const double mean_rmse = Stream(data, mean.get(), 1000, 250, true).rmse;
  const double linear_rmse = Stream(data, linear.get(), 1000, 250, true).rmse;
  const double adaptive_rmse = Stream(data, adaptive.get(), 1000, 250, true).rmse;
  std::printf("slope: RMSE mean leaf %.4f, linear %.4f, adaptive %.4f\n", mean_rmse, linear_rmse,
              adaptive_rmse);
  EXPECT_NEAR(mean_rmse, 3 / std::sqrt(12.0), 0.05);
  EXPECT_LT(linear_rmse, 0.1);
  EXPECT_EQ(adaptive_rmse, linear_rmse);  // the adaptive leaf picked the linear model
}

TEST(HoeffdingTreeRegressorTest, NominalSplit) {
  std::mt19937_64 rng(4);
  Dataset data;
  data.x.resize(2000, 1);
  data.y.resize(2000);
  for (int row = 0; row < 2000; ++row) {
    data.x(row, 0) = static_cast<double>(rng() % 4);
    data.y[row] = data.x(row, 0) == 3 ? 5 : 1;
  }
  HoeffdingTreeRegressorOptions options;
  options.nominal_features = {0};
  options.leaf_model = RegressionLeaf::kMean;
  auto model = Make(1, options);
  EXPECT_LT(Stream(data, model.get(), 500, 100, true).rmse, 1e-9);
  EXPECT_NE(model->ExportJson().find("\"feature\":0,\"op\":\"==\",\"value\":3"), std::string::npos);
}

TEST(HoeffdingTreeRegressorQualityTest, DiabetesBeatsTheMean) {
  Dataset data = ReadCsv(DataPath("diabetes.csv"));
  Shuffle(&data, 2);
  HoeffdingTreeRegressorOptions options;  // adaptive leaves, grace period 200
  auto model = Make(10, options);
  auto evaluator = PrequentialEvaluator::Make(Task::kRegression, 0, 200).value();
  RunPrequential(data, model.get(), evaluator.get(), 20);
  const RegressionReport whole = evaluator->Regression(false);
  const RegressionReport last = evaluator->Regression(true);
  std::printf("diabetes Hoeffding tree regressor: R2 %.4f (last 200 rows %.4f), RMSE %.2f\n",
              whole.r2, last.r2, whole.rmse);
  // The prequential running mean is the baseline: R2 ~ 0 by construction.
  EXPECT_GT(whole.r2, 0.2);
  EXPECT_GT(last.r2, 0.3);
}

}  // namespace
}  // namespace eddy::learn
