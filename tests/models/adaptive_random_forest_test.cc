// The adaptive random forest classifier (operators/models/
// adaptive_random_forest.cc): a known concept learnt to a bounded accuracy,
// snapshot -> restore -> identical predictions and learning, parallel
// training on a thread pool equal to sequential training bit for bit, drift
// recovery, and option checks.

#include <gtest/gtest.h>

#include <random>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "runtime/core/thread_pool.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

using testing::Box;
using testing::Problem;

// Prequential in calls of `batch` rows; the predictions, in order.
std::vector<double> Stream(Model* model, const Problem& p, int batch, int begin = 0, int end = -1) {
  if (end < 0) end = static_cast<int>(p.y.size());
  std::vector<double> predictions;
  PredictionColumns out;
  for (int start = begin; start < end; start += batch) {
    const int n = std::min(batch, end - start);
    EXPECT_TRUE(model
                    ->Prequential(p.x.middleRows(start, n),
                                  std::span<const double>(p.y.data() + start, n), nullptr, &out)
                    .ok());
    for (int i = 0; i < n; ++i) predictions.push_back(out.probabilities(i, 1));
  }
  return predictions;
}

double Accuracy(const std::vector<double>& p1, const Problem& p, int begin, int end) {
  int correct = 0;
  for (int row = begin; row < end; ++row) correct += (p1[row] > 0.5 ? 1 : 0) == p.y[row];
  return static_cast<double>(correct) / (end - begin);
}

std::unique_ptr<Model> Forest(AdaptiveRandomForestOptions options = {}) {
  auto forest = MakeAdaptiveRandomForestClassifier(5, options);
  EXPECT_TRUE(forest.ok()) << forest.status().ToString();
  return std::move(forest).value();
}

TEST(AdaptiveRandomForestTest, LearnsABoxConcept) {
  const Problem p = Box(20000, 20000, 1);
  auto forest = Forest();
  const std::vector<double> predictions = Stream(forest.get(), p, 1000);
  const double last = Accuracy(predictions, p, 15000, 20000);
  std::printf("ARF box concept: last 5k rows %.4f\n", last);
  EXPECT_GT(last, 0.97);
  EXPECT_EQ(forest->version(), 20);
  EXPECT_GT(forest->Shape().tree_nodes, 10);
  EXPECT_TRUE(testing::JsonChecker::Valid(forest->ExportJson()));
}

TEST(AdaptiveRandomForestTest, SnapshotRestoresBitIdentically) {
  const Problem p = Box(6000, 6000, 2);
  auto forest = Forest();
  Stream(forest.get(), p, 500, 0, 3000);
  pb::ModelSnapshot snapshot;
  ASSERT_TRUE(forest->Snapshot(&snapshot).ok());
  auto restored = Model::Restore(snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ((*restored)->version(), forest->version());
  // Identical predictions, then identical learning.
  const std::vector<double> a = Stream(forest.get(), p, 500, 3000, 6000);
  const std::vector<double> b = Stream(restored->get(), p, 500, 3000, 6000);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
  pb::ModelSnapshot after_a, after_b;
  ASSERT_TRUE(forest->Snapshot(&after_a).ok());
  ASSERT_TRUE((*restored)->Snapshot(&after_b).ok());
  EXPECT_EQ(after_a.SerializeAsString(), after_b.SerializeAsString());
}

TEST(AdaptiveRandomForestTest, ParallelTrainingEqualsSequential) {
  const Problem p = Box(8000, 4000, 3);
  auto sequential = Forest();
  auto parallel = Forest();
  ThreadPool pool(4);
  parallel->set_thread_pool(&pool);
  const std::vector<double> a = Stream(sequential.get(), p, 1000);
  const std::vector<double> b = Stream(parallel.get(), p, 1000);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
  pb::ModelSnapshot sa, sb;
  ASSERT_TRUE(sequential->Snapshot(&sa).ok());
  ASSERT_TRUE(parallel->Snapshot(&sb).ok());
  EXPECT_EQ(sa.SerializeAsString(), sb.SerializeAsString());
  // Learn (no predictions) as well.
  ASSERT_TRUE(sequential->Learn(p.x.topRows(500), std::span<const double>(p.y.data(), 500)).ok());
  ASSERT_TRUE(parallel->Learn(p.x.topRows(500), std::span<const double>(p.y.data(), 500)).ok());
  ASSERT_TRUE(sequential->Snapshot(&sa).ok());
  ASSERT_TRUE(parallel->Snapshot(&sb).ok());
  EXPECT_EQ(sa.SerializeAsString(), sb.SerializeAsString());
}

TEST(AdaptiveRandomForestTest, RecoversFromAnAbruptFlip) {
  const Problem p = Box(12000, 6000, 4);
  auto forest = Forest();
  const std::vector<double> predictions = Stream(forest.get(), p, 500);
  const double before = Accuracy(predictions, p, 5000, 6000);
  const double after = Accuracy(predictions, p, 9000, 12000);
  std::printf("ARF flip: before %.4f, +3k..+6k after %.4f\n", before, after);
  EXPECT_GT(before, 0.95);
  EXPECT_GT(after, 0.95);
  // Every tree was replaced at least once (by its background tree).
  const std::string json = forest->ExportJson();
  EXPECT_EQ(json.find("\"drifts\":0"), std::string::npos) << json;
}

TEST(AdaptiveRandomForestTest, DifferentSeedsDifferentForests) {
  const Problem p = Box(3000, 3000, 5);
  AdaptiveRandomForestOptions other;
  other.seed = 7;
  auto a = Forest();
  auto b = Forest(other);
  EXPECT_NE(Stream(a.get(), p, 1000), Stream(b.get(), p, 1000));
}

TEST(AdaptiveRandomForestTest, RejectsBadOptionsAndInput) {
  AdaptiveRandomForestOptions bad;
  bad.n_models = 0;
  EXPECT_FALSE(MakeAdaptiveRandomForestClassifier(5, bad).ok());
  bad = {};
  bad.lambda = 0;
  EXPECT_FALSE(MakeAdaptiveRandomForestClassifier(5, bad).ok());
  bad = {};
  bad.num_classes = 1;
  EXPECT_FALSE(MakeAdaptiveRandomForestClassifier(5, bad).ok());
  auto forest = Forest();
  RowMatrix x = RowMatrix::Zero(1, 5);
  const double label = 2;  // not a class of a 2-class forest
  EXPECT_FALSE(forest->Learn(x, std::span<const double>(&label, 1)).ok());
  EXPECT_EQ(forest->version(), 0);
}

}  // namespace
}  // namespace eddy::learn
