// FeatureEncoder and LabelEncoder: numeric casts, NULL handling, one-hot
// vocabularies with a cap, feature hashing with the documented FNV-1a hash,
// ordinal codes, online standardization (rows scaled by the statistics of the
// rows before them), snapshots.

#include "operators/models/features.h"

#include <gtest/gtest.h>

#include <cmath>

#include "operators/models/model.pb.h"

namespace eddy::learn {
namespace {

Batch MakeBatch() {
  Batch batch{Schema({{"price", TypeId::kDouble, true},
                      {"qty", TypeId::kInt64, true},
                      {"flag", TypeId::kBool, true},
                      {"color", TypeId::kString, true}})};
  const double prices[] = {1.5, 2.5, 3.5, 4.5};
  const int64_t qty[] = {1, 2, 3, 4};
  const char* colors[] = {"red", "blue", "red", "green"};
  for (int row = 0; row < 4; ++row) {
    batch.column(0).AppendDouble(prices[row]);
    batch.column(1).AppendInt64(qty[row]);
    batch.column(2).AppendBool(row % 2 == 0);
    batch.column(3).AppendString(colors[row]);
  }
  EXPECT_TRUE(batch.SetNumRows(4).ok());
  return batch;
}

std::unique_ptr<FeatureEncoder> Make(const Batch& batch, FeatureOptions options) {
  auto encoder = FeatureEncoder::Make(batch.schema(), options);
  EXPECT_TRUE(encoder.ok()) << encoder.status().ToString();
  return std::move(encoder).value();
}

TEST(FeaturesTest, Fnv1aMatchesPublishedVectors) {
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(FeaturesTest, NumericAndOneHot) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"price", "qty", "flag", "color"};
  options.max_categories = 2;
  auto encoder = Make(batch, options);
  ASSERT_EQ(encoder->num_features(), 5);
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  RowMatrix expected(4, 5);
  // green is the third colour: beyond the cap of 2, it encodes as zeros.
  expected << 1.5, 1, 1, 1, 0, 2.5, 2, 0, 0, 1, 3.5, 3, 1, 1, 0, 4.5, 4, 0, 0, 0;
  EXPECT_EQ(x, expected);
  EXPECT_EQ(valid, std::vector<uint8_t>(4, 1));
  EXPECT_EQ(encoder->feature_names(),
            (std::vector<std::string>{"price", "qty", "flag", "color=red", "color=blue"}));
}

TEST(FeaturesTest, UnseenCategoryWithoutUpdateIsZeros) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"color"};
  auto encoder = Make(batch, options);
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, false, &x, &valid).ok());
  EXPECT_EQ(x.sum(), 0.0);
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  EXPECT_EQ(x(3, 2), 1.0);  // red=0, blue=1, green=2
}

TEST(FeaturesTest, HashingUsesFnv1aModuloDimension) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"color"};
  options.categorical = CategoricalEncoding::kHashing;
  options.hash_dimension = 7;
  auto encoder = Make(batch, options);
  ASSERT_EQ(encoder->num_features(), 7);
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, false, &x, &valid).ok());
  const char* colors[] = {"red", "blue", "red", "green"};
  for (int row = 0; row < 4; ++row) {
    EXPECT_EQ(x.row(row).sum(), 1.0);
    EXPECT_EQ(x(row, static_cast<Eigen::Index>(Fnv1a64(colors[row]) % 7)), 1.0) << row;
  }
}

TEST(FeaturesTest, OrdinalCodesAreNominalFeatures) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"price", "color"};
  options.categorical = CategoricalEncoding::kOrdinal;
  auto encoder = Make(batch, options);
  EXPECT_EQ(encoder->nominal_features(), std::vector<int>{1});
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  EXPECT_EQ(x.col(1), Eigen::Vector4d(0, 1, 0, 2));
}

TEST(FeaturesTest, NullAndNonFiniteNumericRowsAreInvalid) {
  Batch batch{Schema({{"a", TypeId::kDouble, true}, {"s", TypeId::kString, true}})};
  batch.column(0).AppendDouble(1);
  batch.column(0).AppendNull();
  batch.column(0).AppendDouble(std::numeric_limits<double>::infinity());
  batch.column(1).AppendString("x");
  batch.column(1).AppendString("y");
  batch.column(1).AppendNull();  // NULL category: unknown, row still valid
  ASSERT_TRUE(batch.SetNumRows(3).ok());
  FeatureOptions options;
  options.columns = {"a", "s"};
  auto encoder = Make(batch, options);
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  EXPECT_EQ(valid, (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(x(1, 0), 0.0);
  EXPECT_EQ(x(2, 0), 0.0);
  EXPECT_EQ(x.row(2).sum(), 0.0);
}

TEST(FeaturesTest, StandardizationUsesOnlyEarlierRows) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"qty", "color"};
  options.standardize = true;
  auto encoder = Make(batch, options);
  RowMatrix x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  // qty 1, 2, 3, 4. Rows 0 and 1: fewer than two earlier rows -> 0.
  // Row 2: mean 1.5, sd 0.5 -> 3. Row 3: mean 2, sd sqrt(2/3).
  EXPECT_EQ(x(0, 0), 0.0);
  EXPECT_EQ(x(1, 0), 0.0);
  EXPECT_DOUBLE_EQ(x(2, 0), 3.0);
  EXPECT_DOUBLE_EQ(x(3, 0), 2.0 / std::sqrt(2.0 / 3.0));
  EXPECT_EQ(x(0, 1), 1.0);  // one-hot is not scaled

  // A second batch uses all four rows: mean 2.5, sd sqrt(1.25).
  ASSERT_TRUE(encoder->Encode(batch, false, &x, &valid).ok());
  EXPECT_DOUBLE_EQ(x(0, 0), (1 - 2.5) / std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(x(3, 0), (4 - 2.5) / std::sqrt(1.25));
}

TEST(FeaturesTest, SnapshotRestoresVocabularyAndStatistics) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"price", "color"};
  options.standardize = true;
  auto encoder = Make(batch, options);
  RowMatrix x, restored_x;
  std::vector<uint8_t> valid;
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  pb::FeatureSnapshot snapshot;
  encoder->Snapshot(&snapshot);
  auto restored = FeatureEncoder::Restore(snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  ASSERT_TRUE(encoder->Encode(batch, true, &x, &valid).ok());
  ASSERT_TRUE((*restored)->Encode(batch, true, &restored_x, &valid).ok());
  EXPECT_EQ(x, restored_x);
  EXPECT_EQ((*restored)->feature_names(), encoder->feature_names());
  snapshot.set_num_features(99);
  EXPECT_EQ(FeatureEncoder::Restore(snapshot).status().code(), StatusCode::kCorruption);
}

TEST(FeaturesTest, MissingOrRetypedColumnsAreErrors) {
  Batch batch = MakeBatch();
  FeatureOptions options;
  options.columns = {"nope"};
  EXPECT_FALSE(FeatureEncoder::Make(batch.schema(), options).ok());
  options.columns = {"price"};
  auto encoder = Make(batch, options);
  Batch other{Schema({{"price", TypeId::kString, true}})};
  other.column(0).AppendString("1");
  ASSERT_TRUE(other.SetNumRows(1).ok());
  RowMatrix x;
  std::vector<uint8_t> valid;
  EXPECT_EQ(encoder->Encode(other, true, &x, &valid).code(), StatusCode::kInvalidArgument);
}

TEST(FeaturesTest, LabelEncoderLearnsStringClassesInOrder) {
  Batch batch = MakeBatch();
  auto labels = LabelEncoder::Make(batch.schema(), "color", true, 2);
  ASSERT_TRUE(labels.ok());
  std::vector<double> y;
  std::vector<uint8_t> labelled;
  ASSERT_TRUE((*labels)->Encode(batch, true, &y, &labelled).ok());
  EXPECT_EQ(y[0], 0.0);
  EXPECT_EQ(y[1], 1.0);
  EXPECT_EQ(y[2], 0.0);
  EXPECT_EQ(labelled, (std::vector<uint8_t>{1, 1, 1, 0}));  // green: third class of two
  EXPECT_EQ((*labels)->ClassName(1), "blue");
  pb::LabelSnapshot snapshot;
  (*labels)->Snapshot(&snapshot);
  auto restored = LabelEncoder::Restore("color", 2, snapshot);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ((*restored)->ClassName(0), "red");

  auto numeric = LabelEncoder::Make(batch.schema(), "qty", false, 0);
  ASSERT_TRUE(numeric.ok());
  ASSERT_TRUE((*numeric)->Encode(batch, true, &y, &labelled).ok());
  EXPECT_EQ(y, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_FALSE(LabelEncoder::Make(batch.schema(), "color", false, 0).ok());
}

}  // namespace
}  // namespace eddy::learn
