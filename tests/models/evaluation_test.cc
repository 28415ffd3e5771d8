// PrequentialEvaluator: metrics exact on hand-made predictions, the sliding
// window, masks, snapshots.

#include "operators/models/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "operators/models/model.pb.h"

namespace eddy::learn {
namespace {

PredictionColumns Classified(std::vector<double> predicted, RowMatrix probabilities) {
  PredictionColumns out;
  out.value =
      Eigen::Map<Eigen::VectorXd>(predicted.data(), static_cast<Eigen::Index>(predicted.size()));
  out.probabilities = std::move(probabilities);
  out.score.resize(out.value.size());
  return out;
}

class ClassificationMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    evaluator_ = PrequentialEvaluator::Make(Task::kClassification, 3, 4).value();
    RowMatrix probs(6, 3);
    probs << 0.8, 0.1, 0.1, 0.3, 0.6, 0.1, 0.2, 0.7, 0.1, 0.1, 0.5, 0.4, 0.0, 0.2, 0.8, 0.5, 0.1,
        0.4;
    ASSERT_TRUE(evaluator_->Update(Classified({0, 1, 1, 1, 2, 0}, probs), truth_).ok());
  }
  std::vector<double> truth_ = {0, 0, 1, 1, 2, 2};
  std::unique_ptr<PrequentialEvaluator> evaluator_;
};

TEST_F(ClassificationMetricsTest, WholeStream) {
  const ClassificationReport r = evaluator_->Classification(false);
  EXPECT_EQ(r.count, 6);
  EXPECT_EQ(r.confusion, (std::vector<int64_t>{1, 1, 0, 0, 2, 0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(r.accuracy, 4.0 / 6);
  EXPECT_DOUBLE_EQ(r.precision[0], 0.5);
  EXPECT_DOUBLE_EQ(r.precision[1], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.precision[2], 1.0);
  EXPECT_DOUBLE_EQ(r.recall[0], 0.5);
  EXPECT_DOUBLE_EQ(r.recall[1], 1.0);
  EXPECT_DOUBLE_EQ(r.recall[2], 0.5);
  EXPECT_DOUBLE_EQ(r.f1[0], 0.5);
  EXPECT_DOUBLE_EQ(r.f1[1], 0.8);
  EXPECT_DOUBLE_EQ(r.f1[2], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.macro_f1, (0.5 + 0.8 + 2.0 / 3) / 3);
  EXPECT_DOUBLE_EQ(r.macro_precision, (0.5 + 2.0 / 3 + 1.0) / 3);
  const double log_loss = -(std::log(0.8) + std::log(0.3) + std::log(0.7) + std::log(0.5) +
                            std::log(0.8) + std::log(0.4)) /
                          6;
  EXPECT_NEAR(r.log_loss, log_loss, 1e-15);
}

TEST_F(ClassificationMetricsTest, WindowKeepsTheLastRows) {
  const ClassificationReport r = evaluator_->Classification(true);
  EXPECT_EQ(r.count, 4);  // rows 2..5: truth 1 1 2 2, predicted 1 1 2 0
  EXPECT_EQ(r.confusion, (std::vector<int64_t>{0, 0, 0, 0, 2, 0, 1, 0, 1}));
  EXPECT_DOUBLE_EQ(r.accuracy, 0.75);
  // Class 0 only predicted (never true): precision 0, counted in the macro.
  EXPECT_DOUBLE_EQ(r.macro_recall, (0 + 1 + 0.5) / 3);
  EXPECT_NEAR(r.log_loss, -(std::log(0.7) + std::log(0.5) + std::log(0.8) + std::log(0.4)) / 4,
              1e-15);
}

TEST_F(ClassificationMetricsTest, ProbabilityZeroIsClipped) {
  RowMatrix probs(1, 3);
  probs << 1, 0, 0;
  std::vector<double> truth = {2};
  ASSERT_TRUE(evaluator_->Update(Classified({0}, probs), truth).ok());
  EXPECT_NEAR(evaluator_->Classification(true).log_loss,
              -(std::log(0.5) + std::log(0.8) + std::log(0.4) + std::log(1e-15)) / 4, 1e-12);
}

TEST_F(ClassificationMetricsTest, SnapshotRestoresWindowAndTotals) {
  pb::EvaluatorSnapshot snapshot;
  evaluator_->Snapshot(&snapshot);
  auto restored = PrequentialEvaluator::Restore(snapshot).value();
  RowMatrix probs(1, 3);
  probs << 0.1, 0.1, 0.8;
  std::vector<double> truth = {2};
  ASSERT_TRUE(evaluator_->Update(Classified({2}, probs), truth).ok());
  ASSERT_TRUE(restored->Update(Classified({2}, probs), truth).ok());
  for (bool window : {false, true}) {
    const ClassificationReport a = evaluator_->Classification(window);
    const ClassificationReport b = restored->Classification(window);
    EXPECT_EQ(a.confusion, b.confusion);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.log_loss, b.log_loss);
  }
  EXPECT_EQ(evaluator_->Classification(true).confusion,
            (std::vector<int64_t>{0, 0, 0, 0, 1, 0, 1, 0, 2}));
}

TEST_F(ClassificationMetricsTest, RejectsBadClassesAndSizes) {
  RowMatrix probs(1, 3);
  probs << 1, 0, 0;
  std::vector<double> truth = {3};
  EXPECT_FALSE(evaluator_->Update(Classified({0}, probs), truth).ok());
  std::vector<double> two = {0, 1};
  EXPECT_FALSE(evaluator_->Update(Classified({0}, probs), two).ok());
  EXPECT_EQ(evaluator_->Classification(false).count, 6);
}

TEST(RegressionMetricsTest, RmseMaeR2AndWindow) {
  auto evaluator = PrequentialEvaluator::Make(Task::kRegression, 0, 2).value();
  PredictionColumns out;
  out.value = Eigen::Vector4d(1, 3, 2, 4);
  std::vector<double> truth = {1, 2, 3, 4};
  ASSERT_TRUE(evaluator->Update(out, truth).ok());
  const RegressionReport whole = evaluator->Regression(false);
  EXPECT_EQ(whole.count, 4);
  EXPECT_DOUBLE_EQ(whole.rmse, std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(whole.mae, 0.5);
  EXPECT_DOUBLE_EQ(whole.r2, 1 - 2.0 / 5.0);
  const RegressionReport window = evaluator->Regression(true);  // truth 3 4, predicted 2 4
  EXPECT_EQ(window.count, 2);
  EXPECT_DOUBLE_EQ(window.rmse, std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(window.r2, 1 - 1.0 / 0.5);
}

TEST(RegressionMetricsTest, MaskedRowsAreNotScored) {
  auto evaluator = PrequentialEvaluator::Make(Task::kRegression, 0).value();
  PredictionColumns out;
  out.value = Eigen::Vector3d(5, 100, 7);
  std::vector<double> truth = {5, 0, 7};
  std::vector<uint8_t> mask = {1, 0, 1};
  ASSERT_TRUE(evaluator->Update(out, truth, &mask).ok());
  const RegressionReport r = evaluator->Regression(false);
  EXPECT_EQ(r.count, 2);
  EXPECT_EQ(r.rmse, 0.0);
  EXPECT_EQ(r.r2, 1.0);
}

TEST(ClusteringMetricsTest, SseOverStreamAndWindow) {
  auto evaluator = PrequentialEvaluator::Make(Task::kClustering, 0, 2).value();
  PredictionColumns out;
  out.value = Eigen::Vector4d(0, 1, 0, -1);  // -1: not yet seeded, skipped
  out.score = Eigen::Vector4d(1, 2, 3, std::nan(""));
  ASSERT_TRUE(evaluator->Update(out, {}).ok());
  EXPECT_EQ(evaluator->Clustering(false).sse, 14.0);
  EXPECT_EQ(evaluator->Clustering(false).count, 3);
  EXPECT_EQ(evaluator->Clustering(true).sse, 13.0);
  EXPECT_DOUBLE_EQ(evaluator->Clustering(true).mean_squared_distance, 6.5);
}

TEST(EvaluatorTest, RejectsBadOptions) {
  EXPECT_FALSE(PrequentialEvaluator::Make(Task::kClassification, 1).ok());
  EXPECT_FALSE(PrequentialEvaluator::Make(Task::kRegression, 0, 0).ok());
}

}  // namespace
}  // namespace eddy::learn
