// Models that learn a batch in blocks (Model::LearnsInBlocks) end exactly
// where one call over the whole batch ends: the same predictions bit for
// bit, the same state, one version step. And the feature encoder encodes a
// batch block after block as in one call. The learning operators rely on
// both to feed cache-sized blocks (operators/learn/learn_batch.cc).

#include <gtest/gtest.h>

#include <random>

#include "operators/models/features.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "tests/models/learn_test_util.h"

namespace eddy::learn {
namespace {

using testing::Box;
using testing::ExpectSamePredictions;

constexpr Eigen::Index kRows = 2500;

// Prequential over rows [0, kRows) of `p` in one call, or in blocks of
// `block` rows; every third row unlabelled (masked).
PredictionColumns Run(Model* model, const testing::Problem& p, Eigen::Index block) {
  std::vector<uint8_t> mask(kRows);
  for (Eigen::Index row = 0; row < kRows; ++row) mask[row] = row % 3 != 0;
  PredictionColumns all;
  if (block == 0) {
    EXPECT_TRUE(model->Prequential(p.x.topRows(kRows), p.y, &mask, &all).ok());
    return all;
  }
  EXPECT_TRUE(model->LearnsInBlocks());
  model->BeginBlocks();
  for (Eigen::Index first = 0; first < kRows; first += block) {
    const Eigen::Index n = std::min(block, kRows - first);
    std::vector<uint8_t> part(mask.begin() + first, mask.begin() + first + n);
    PredictionColumns out;
    const RowMatrix x = p.x.middleRows(first, n);
    EXPECT_TRUE(
        model->Prequential(x, std::span<const double>(p.y).subspan(first, n), &part, &out).ok());
    if (first == 0) {
      all.value.resize(kRows);
      all.score.resize(out.score.size() > 0 ? kRows : 0);
      all.probabilities.resize(out.probabilities.size() > 0 ? kRows : 0, out.probabilities.cols());
    }
    all.value.segment(first, n) = out.value;
    if (all.score.size() > 0) all.score.segment(first, n) = out.score;
    if (all.probabilities.size() > 0) all.probabilities.middleRows(first, n) = out.probabilities;
  }
  model->EndBlocks();
  return all;
}

std::string State(const Model& model) {
  pb::ModelSnapshot snapshot;
  EXPECT_TRUE(model.Snapshot(&snapshot).ok());
  return snapshot.SerializeAsString();
}

void ExpectBlocksAsOneCall(const std::function<std::unique_ptr<Model>()>& make,
                           Eigen::Index block = 1024) {
  const testing::Problem p = Box(static_cast<int>(kRows), 1200, 7);
  auto whole = make();
  auto blocked = make();
  const int64_t start = whole->version();
  for (int batch = 0; batch < 2; ++batch) {  // the second continues the first
    const PredictionColumns expected = Run(whole.get(), p, 0);
    const PredictionColumns actual = Run(blocked.get(), p, block);
    ExpectSamePredictions(expected, actual);
    EXPECT_EQ(blocked->version(), whole->version());
    EXPECT_EQ(State(*blocked), State(*whole));
  }
  EXPECT_EQ(whole->version(), start + 2);
}

TEST(LearnInBlocksTest, LinearModelsLearnABatchInBlocksAsInOneCall) {
  for (LinearLoss loss : {LinearLoss::kSquared, LinearLoss::kLogistic, LinearLoss::kSoftmax}) {
    LinearModelOptions options;
    options.loss = loss;
    options.num_classes = 2;
    options.penalty = Penalty::kElasticNet;
    options.schedule = LearningRate::kAdaGrad;
    SCOPED_TRACE(static_cast<int>(loss));
    ExpectBlocksAsOneCall([&] { return MakeLinearModel(5, options).value(); });
  }
}

TEST(LearnInBlocksTest, SeededKMeansGathersTheBlocksAndMovesItsCentresOnce) {
  KMeansOptions options;
  options.k = 4;
  options.decay_factor = 0.9;
  for (DecayUnit unit : {DecayUnit::kBatches, DecayUnit::kPoints}) {
    options.time_unit = unit;
    auto make = [&] {
      auto model = MakeStreamingKMeans(5, options).value();
      const testing::Problem seed = Box(50, 50, 3);
      EXPECT_TRUE(model->Learn(seed.x, {}).ok());
      return model;
    };
    ExpectBlocksAsOneCall(make);
  }
}

// Unseeded, the first batch seeds k-means++ from its first 1,024 rows and
// predicts every row as unseeded (cluster -1), in blocks of any size as in
// one call: blocks smaller than the sample buffer rows until it is complete.
TEST(LearnInBlocksTest, KMeansSeedsFromTheSameRowsInBlocksAsInOneCall) {
  KMeansOptions options;
  options.k = 4;
  for (Eigen::Index block : {1024, 300, 7}) {
    SCOPED_TRACE(block);
    ExpectBlocksAsOneCall([&] { return MakeStreamingKMeans(5, options).value(); }, block);
  }
  // k above the sample: the sample is k rows.
  options.k = 1100;
  ExpectBlocksAsOneCall([&] { return MakeStreamingKMeans(5, options).value(); }, 500);
}

TEST(LearnInBlocksTest, TheEncoderEncodesABatchInBlocksAsInOneCall) {
  Batch batch{Schema({{"price", TypeId::kDouble, true},
                      {"qty", TypeId::kInt64, true},
                      {"color", TypeId::kString, true}})};
  std::mt19937_64 rng(5);
  const char* colors[] = {"red", "blue", "green", "teal", "plum"};
  for (int row = 0; row < 3000; ++row) {
    if (row % 97 == 0) {
      batch.column(0).AppendNull();
    } else {
      batch.column(0).AppendDouble(static_cast<double>(rng() % 1000) / 7.0);
    }
    batch.column(1).AppendInt64(static_cast<int64_t>(rng() % 50));
    batch.column(2).AppendString(colors[rng() % 5]);
  }
  ASSERT_TRUE(batch.SetNumRows(3000).ok());
  for (CategoricalEncoding encoding : {CategoricalEncoding::kOneHot, CategoricalEncoding::kHashing,
                                       CategoricalEncoding::kOrdinal}) {
    FeatureOptions options;
    options.columns = {"price", "qty", "color"};
    options.categorical = encoding;
    options.max_categories = 4;  // the fifth colour arrives late: over the cap
    options.standardize = true;
    auto whole = FeatureEncoder::Make(batch.schema(), options).value();
    auto blocked = FeatureEncoder::Make(batch.schema(), options).value();
    RowMatrix expected;
    std::vector<uint8_t> expected_valid;
    ASSERT_TRUE(whole->Encode(batch, true, &expected, &expected_valid).ok());
    for (size_t first = 0; first < batch.num_rows(); first += 1024) {
      const size_t n = std::min<size_t>(1024, batch.num_rows() - first);
      RowMatrix x;
      std::vector<uint8_t> valid;
      ASSERT_TRUE(blocked->Encode(batch, first, n, true, &x, &valid).ok());
      const auto at = static_cast<Eigen::Index>(first);
      EXPECT_EQ(x, expected.middleRows(at, static_cast<Eigen::Index>(n))) << first;
      EXPECT_EQ(valid,
                std::vector<uint8_t>(expected_valid.begin() + at, expected_valid.begin() + at + n));
    }
    pb::FeatureSnapshot a, b;
    whole->Snapshot(&a);
    blocked->Snapshot(&b);
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  }
  auto encoder = FeatureEncoder::Make(batch.schema(), FeatureOptions{{"price"}}).value();
  RowMatrix x;
  std::vector<uint8_t> valid;
  EXPECT_FALSE(encoder->Encode(batch, 2990, 11, true, &x, &valid).ok()) << "past the rows";
}

}  // namespace
}  // namespace eddy::learn
