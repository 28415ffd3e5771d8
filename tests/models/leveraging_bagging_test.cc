// Leveraging bagging (operators/models/leveraging_bagging.cc): a known
// concept learnt at least as well as by one tree, snapshot -> restore ->
// identical predictions and learning for every base model, determinism,
// members on a thread pool equal to members in turn, members replaced after
// an abrupt drift, and option checks.

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

// Prequential in calls of `batch` rows; P(class 1) per row, in order.
std::vector<double> Stream(Model* model, const Problem& p, int batch, int begin = 0, int end = -1) {
  if (end < 0) end = static_cast<int>(p.y.size());
  std::vector<double> predictions;
  PredictionColumns out;
  for (int start = begin; start < end; start += batch) {
    const int n = std::min(batch, end - start);
    const Status status = model->Prequential(
        p.x.middleRows(start, n), std::span<const double>(p.y.data() + start, n), nullptr, &out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    for (int i = 0; i < n; ++i) predictions.push_back(out.probabilities(i, 1));
  }
  return predictions;
}

double Accuracy(const std::vector<double>& p1, const Problem& p, int begin, int end) {
  int correct = 0;
  for (int row = begin; row < end; ++row) correct += (p1[row] > 0.5 ? 1 : 0) == p.y[row];
  return static_cast<double>(correct) / (end - begin);
}

enum class Base { kTree, kAdaptiveTree, kSgd, kMlp };

std::unique_ptr<Model> MakeBase(Base base) {
  Result<std::unique_ptr<Model>> model = Status::Internal("unset");
  switch (base) {
    case Base::kTree:
      model = MakeHoeffdingTreeClassifier(5, HoeffdingTreeOptions{});
      break;
    case Base::kAdaptiveTree:
      model = MakeHoeffdingAdaptiveTreeClassifier(5, HoeffdingTreeOptions{});
      break;
    case Base::kSgd: {
      LinearModelOptions options;
      options.loss = LinearLoss::kLogistic;
      model = MakeLinearModel(5, options);
      break;
    }
    case Base::kMlp: {
      MlpOptions options;
      options.hidden = {8};
      model = MakeMlp(5, options);
      break;
    }
  }
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

std::unique_ptr<Model> Bagging(Base base = Base::kTree, LeveragingBaggingOptions options = {}) {
  auto model = MakeLeveragingBaggingClassifier(*MakeBase(base), options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

std::string SnapshotBytes(const Model& model) {
  pb::ModelSnapshot snapshot;
  EXPECT_TRUE(model.Snapshot(&snapshot).ok());
  return snapshot.SerializeAsString();
}

TEST(LeveragingBaggingTest, LearnsABoxConceptAtLeastAsWellAsOneTree) {
  const Problem p = Box(10000, 10000, 1);
  auto bagging = Bagging();
  auto tree = MakeBase(Base::kTree);
  const double ensemble = Accuracy(Stream(bagging.get(), p, 1000), p, 0, 10000);
  const double single = Accuracy(Stream(tree.get(), p, 1000), p, 0, 10000);
  std::printf("box concept, prequential over 10k rows: bagging %.4f, one tree %.4f\n", ensemble,
              single);
  EXPECT_GT(ensemble, 0.95);
  EXPECT_GE(ensemble, single);
  EXPECT_EQ(bagging->version(), 10);
  EXPECT_GT(bagging->Shape().tree_nodes, 10);
  const std::string json = bagging->ExportJson();
  EXPECT_TRUE(testing::JsonChecker::Valid(json)) << json;
  EXPECT_NE(json.find("\"base\":\"hoeffding_tree\""), std::string::npos) << json;
  // Predict agrees with the distribution prequential would give next.
  PredictionColumns out;
  ASSERT_TRUE(bagging->Predict(p.x.topRows(200), &out).ok());
  int correct = 0;
  for (int row = 0; row < 200; ++row) correct += out.value[row] == p.y[row];
  EXPECT_GT(correct, 190);
  EXPECT_NEAR(out.probabilities.row(0).sum(), 1.0, 1e-12);
}

class LeveragingBaggingBaseTest : public ::testing::TestWithParam<Base> {};

TEST_P(LeveragingBaggingBaseTest, SnapshotRestoresBitIdentically) {
  const Problem p = Box(2000, 1000, 2);
  LeveragingBaggingOptions options;
  options.n_models = 4;
  auto model = Bagging(GetParam(), options);
  Stream(model.get(), p, 250, 0, 1000);
  pb::ModelSnapshot snapshot;
  ASSERT_TRUE(model->Snapshot(&snapshot).ok());
  auto restored = Model::Restore(snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ((*restored)->kind(), ModelKind::kLeveragingBaggingClassifier);
  EXPECT_EQ((*restored)->version(), model->version());
  EXPECT_EQ(SnapshotBytes(**restored), snapshot.SerializeAsString());
  const std::vector<double> a = Stream(model.get(), p, 250, 1000, 2000);
  const std::vector<double> b = Stream(restored->get(), p, 250, 1000, 2000);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
  EXPECT_EQ(SnapshotBytes(*model), SnapshotBytes(**restored));
  // Learn (no predictions) continues identically as well.
  ASSERT_TRUE(model->Learn(p.x.topRows(300), std::span<const double>(p.y.data(), 300)).ok());
  ASSERT_TRUE((*restored)->Learn(p.x.topRows(300), std::span<const double>(p.y.data(), 300)).ok());
  EXPECT_EQ(SnapshotBytes(*model), SnapshotBytes(**restored));
  EXPECT_TRUE(testing::JsonChecker::Valid(model->ExportJson()));
}

INSTANTIATE_TEST_SUITE_P(Bases, LeveragingBaggingBaseTest,
                         ::testing::Values(Base::kTree, Base::kAdaptiveTree, Base::kSgd,
                                           Base::kMlp));

TEST(LeveragingBaggingTest, DeterministicAndSeeded) {
  const Problem p = Box(3000, 3000, 5);
  auto a = Bagging();
  auto b = Bagging();
  EXPECT_EQ(Stream(a.get(), p, 1000), Stream(b.get(), p, 700));  // batching does not matter
  // Nor does it to the state, but for the version (one per call).
  pb::ModelSnapshot sa, sb;
  ASSERT_TRUE(a->Snapshot(&sa).ok());
  ASSERT_TRUE(b->Snapshot(&sb).ok());
  EXPECT_EQ(sa.version(), 3);
  EXPECT_EQ(sb.version(), 5);
  sb.set_version(3);
  EXPECT_EQ(sa.SerializeAsString(), sb.SerializeAsString());
  LeveragingBaggingOptions other;
  other.seed = 7;
  auto c = Bagging(Base::kTree, other);
  auto d = Bagging();
  EXPECT_NE(Stream(c.get(), p, 1000), Stream(d.get(), p, 1000));
}

TEST(LeveragingBaggingTest, ParallelMembersEqualSequential) {
  // A flip mid-stream: changes are flagged and replaced members re-walk the
  // rest of their call, on the pool as in turn.
  const Problem p = Box(8000, 4000, 3);
  auto sequential = Bagging();
  auto parallel = Bagging();
  ThreadPool pool(4);
  parallel->set_thread_pool(&pool);
  const std::vector<double> a = Stream(sequential.get(), p, 1000);
  const std::vector<double> b = Stream(parallel.get(), p, 1000);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "row " << i;
  EXPECT_EQ(SnapshotBytes(*sequential), SnapshotBytes(*parallel));
  EXPECT_EQ(sequential->ExportJson().find("\"changes\":0,"), std::string::npos);
  // Learn (no predictions), with masked rows, as well.
  std::vector<uint8_t> mask(500, 1);
  for (size_t i = 0; i < mask.size(); i += 3) mask[i] = 0;
  ASSERT_TRUE(
      sequential->Learn(p.x.topRows(500), std::span<const double>(p.y.data(), 500), &mask).ok());
  ASSERT_TRUE(
      parallel->Learn(p.x.topRows(500), std::span<const double>(p.y.data(), 500), &mask).ok());
  EXPECT_EQ(SnapshotBytes(*sequential), SnapshotBytes(*parallel));
}

TEST(LeveragingBaggingTest, ReplacesMembersAfterAnAbruptFlip) {
  const Problem p = Box(12000, 6000, 4);
  auto bagging = Bagging();
  auto tree = MakeBase(Base::kTree);
  const std::vector<double> predictions = Stream(bagging.get(), p, 500);
  const std::vector<double> single = Stream(tree.get(), p, 500);
  const double before = Accuracy(predictions, p, 5000, 6000);
  const double after = Accuracy(predictions, p, 8000, 12000);
  const double tree_after = Accuracy(single, p, 8000, 12000);
  std::printf("flip: before %.4f, +2k..+6k after %.4f (one tree %.4f)\n", before, after,
              tree_after);
  EXPECT_GT(before, 0.95);
  EXPECT_GT(after, 0.95);
  EXPECT_GT(after, tree_after);
  const std::string json = bagging->ExportJson();
  EXPECT_EQ(json.find("\"changes\":0,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"replacements\":1"), std::string::npos) << json;
}

TEST(LeveragingBaggingTest, RejectsBadOptionsBasesAndInput) {
  auto tree = MakeBase(Base::kTree);
  LeveragingBaggingOptions bad;
  bad.n_models = 0;
  auto result = MakeLeveragingBaggingClassifier(*tree, bad);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("models"), std::string::npos);
  bad = {};
  bad.w = 0;
  result = MakeLeveragingBaggingClassifier(*tree, bad);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("w must"), std::string::npos);
  bad = {};
  bad.adwin_delta = 1;
  result = MakeLeveragingBaggingClassifier(*tree, bad);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("adwin_delta"), std::string::npos);
  // A regressor and itself are not bases.
  auto regressor = MakeLinearModel(5, LinearModelOptions{});
  ASSERT_TRUE(regressor.ok());
  EXPECT_FALSE(MakeLeveragingBaggingClassifier(**regressor, {}).ok());
  auto bagging = Bagging();
  EXPECT_FALSE(MakeLeveragingBaggingClassifier(*bagging, {}).ok());
  RowMatrix x = RowMatrix::Zero(1, 5);
  const double label = 2;  // not a class of a 2-class model
  EXPECT_FALSE(bagging->Learn(x, std::span<const double>(&label, 1)).ok());
  EXPECT_EQ(bagging->version(), 0);
  // A snapshot whose members do not match its base is refused.
  pb::ModelSnapshot snapshot;
  ASSERT_TRUE(bagging->Snapshot(&snapshot).ok());
  ASSERT_TRUE(
      (*regressor)
          ->Snapshot(snapshot.mutable_leveraging_bagging()->mutable_members(0)->mutable_model())
          .ok());
  EXPECT_FALSE(Model::Restore(snapshot).ok());
}

}  // namespace
}  // namespace eddy::learn
