// The online multilayer perceptron (operators/models/mlp.cc): XOR and a
// linear target learnt to bounded errors, digits 8x8 to a bounded
// prequential accuracy, test-then-train per mini-batch, and snapshot ->
// restore -> identical predictions and learning.

#include <gtest/gtest.h>

#include <random>

#include "operators/models/evaluation.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

std::unique_ptr<Model> Make(int features, MlpOptions options) {
  auto mlp = MakeMlp(features, options);
  EXPECT_TRUE(mlp.ok()) << mlp.status().ToString();
  return std::move(mlp).value();
}

TEST(MlpTest, LearnsXor) {
  RowMatrix x(4, 2);
  x << 0, 0, 0, 1, 1, 0, 1, 1;
  const std::vector<double> y = {0, 1, 1, 0};
  MlpOptions options;
  options.hidden = {8};
  options.activation = Activation::kTanh;
  options.learning_rate = 0.05;
  options.batch_size = 4;
  auto mlp = Make(2, options);
  for (int epoch = 0; epoch < 500; ++epoch) ASSERT_TRUE(mlp->Learn(x, y).ok());
  PredictionColumns out;
  ASSERT_TRUE(mlp->Predict(x, &out).ok());
  for (int row = 0; row < 4; ++row) {
    EXPECT_EQ(out.value[row], y[row]) << "row " << row;
    EXPECT_GT(out.score[row], 0.9);
  }
  EXPECT_EQ(mlp->version(), 500);
  EXPECT_TRUE(testing::JsonChecker::Valid(mlp->ExportJson()));
}

TEST(MlpTest, RegressesALinearTarget) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(-1, 1);
  const int rows = 20000;
  RowMatrix x(rows, 3);
  std::vector<double> y(rows);
  for (int row = 0; row < rows; ++row) {
    for (int j = 0; j < 3; ++j) x(row, j) = uniform(rng);
    y[row] = 2 * x(row, 0) - x(row, 1) + 0.5;
  }
  MlpOptions options;
  options.task = Task::kRegression;
  options.hidden = {16};
  options.learning_rate = 0.01;
  options.l2 = 0;
  auto mlp = Make(3, options);
  PredictionColumns out;
  double sq = 0;
  for (int begin = 0; begin < rows; begin += 1000) {
    ASSERT_TRUE(mlp->Prequential(x.middleRows(begin, 1000),
                                 std::span<const double>(y.data() + begin, 1000), nullptr, &out)
                    .ok());
    if (begin < rows - 2000) continue;
    for (int i = 0; i < 1000; ++i)
      sq += (out.value[i] - y[begin + i]) * (out.value[i] - y[begin + i]);
  }
  const double rmse = std::sqrt(sq / 2000);
  std::printf("MLP linear target: last 2k rows RMSE %.4f\n", rmse);
  EXPECT_LT(rmse, 0.05);
}

TEST(MlpTest, PrequentialPredictsEachMiniBatchBeforeLearningIt) {
  RowMatrix x = RowMatrix::Random(64, 4);
  std::vector<double> y(64);
  for (int row = 0; row < 64; ++row) y[row] = x(row, 0) > 0 ? 1 : 0;
  MlpOptions options;
  options.batch_size = 16;
  auto a = Make(4, options);
  auto b = Make(4, options);
  PredictionColumns preq, fresh;
  ASSERT_TRUE(a->Prequential(x, y, nullptr, &preq).ok());
  // The first mini-batch is predicted by the initial weights...
  ASSERT_TRUE(b->Predict(x.topRows(16), &fresh).ok());
  for (int row = 0; row < 16; ++row)
    EXPECT_EQ(preq.probabilities(row, 1), fresh.probabilities(row, 1));
  // ...the second by the weights after one step on the first.
  ASSERT_TRUE(b->Learn(x.topRows(16), std::span<const double>(y.data(), 16)).ok());
  ASSERT_TRUE(b->Predict(x.middleRows(16, 16), &fresh).ok());
  for (int row = 0; row < 16; ++row) {
    EXPECT_EQ(preq.probabilities(16 + row, 1), fresh.probabilities(row, 1));
  }
}

TEST(MlpTest, SnapshotRestoresBitIdentically) {
  for (const Optimizer optimizer : {Optimizer::kAdam, Optimizer::kSgd}) {
    RowMatrix x = RowMatrix::Random(300, 5);
    std::vector<double> y(300);
    for (int row = 0; row < 300; ++row) y[row] = (x(row, 0) + x(row, 1) > 0) + (x(row, 2) > 0.5);
    MlpOptions options;
    options.num_classes = 3;
    options.hidden = {12, 6};
    options.optimizer = optimizer;
    options.learning_rate = optimizer == Optimizer::kSgd ? 0.1 : 0.01;
    auto mlp = Make(5, options);
    ASSERT_TRUE(mlp->Learn(x.topRows(150), std::span<const double>(y.data(), 150)).ok());
    pb::ModelSnapshot snapshot;
    ASSERT_TRUE(mlp->Snapshot(&snapshot).ok());
    auto restored = Model::Restore(snapshot);
    ASSERT_TRUE(restored.ok()) << restored.status().ToString();
    PredictionColumns a, b;
    ASSERT_TRUE(mlp->Prequential(x.bottomRows(150), std::span<const double>(y.data() + 150, 150),
                                 nullptr, &a)
                    .ok());
    ASSERT_TRUE((*restored)
                    ->Prequential(x.bottomRows(150), std::span<const double>(y.data() + 150, 150),
                                  nullptr, &b)
                    .ok());
    EXPECT_EQ(a.probabilities, b.probabilities);
    pb::ModelSnapshot sa, sb;
    ASSERT_TRUE(mlp->Snapshot(&sa).ok());
    ASSERT_TRUE((*restored)->Snapshot(&sb).ok());
    EXPECT_EQ(sa.SerializeAsString(), sb.SerializeAsString());
  }
}

TEST(MlpTest, DigitsPrequential) {
  testing::Dataset data = testing::ReadCsv(testing::DataPath("digits_8x8.csv"));
  testing::Shuffle(&data, 7);
  data.x /= 16.0;  // pixels 0..16 -> [0, 1]
  MlpOptions options;
  options.num_classes = 10;
  options.hidden = {64};
  options.learning_rate = 0.01;
  options.batch_size = 8;
  auto mlp = Make(64, options);
  auto evaluator = PrequentialEvaluator::Make(Task::kClassification, 10, 500);
  ASSERT_TRUE(evaluator.ok());
  testing::RunPrequential(data, mlp.get(), evaluator->get(), 100);
  const double accuracy = (*evaluator)->Classification(false).accuracy;
  const double window = (*evaluator)->Classification(true).accuracy;
  std::printf("MLP digits 8x8: prequential %.4f, last 500 rows %.4f\n", accuracy, window);
  EXPECT_GT(accuracy, 0.82);  // 0.845 (the Hoeffding tree: 0.841)
  EXPECT_GT(window, 0.92);    // 0.942
}

TEST(MlpTest, RejectsBadOptions) {
  MlpOptions bad;
  bad.hidden = {0};
  EXPECT_FALSE(MakeMlp(3, bad).ok());
  bad = {};
  bad.batch_size = 0;
  EXPECT_FALSE(MakeMlp(3, bad).ok());
  bad = {};
  bad.num_classes = 1;
  EXPECT_FALSE(MakeMlp(3, bad).ok());
  EXPECT_FALSE(MakeMlp(0, MlpOptions()).ok());
}

}  // namespace
}  // namespace eddy::learn
