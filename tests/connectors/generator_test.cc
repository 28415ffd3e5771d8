#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connectors/generator/generator_source.h"
#include "tests/connectors/generator_test_util.h"
#include "tests/connectors/offsets_test_util.h"

namespace eddy {
namespace {

using testing::DocHash;
using testing::DocUnit;
using testing::GeneratorSpecFor;
using testing::OpenSource;
using testing::ReadRange;

// Columns and source metadata, rendered whole so a difference shows.
std::string Render(const Batch& batch) {
  std::string out = batch.ToString(batch.num_rows());
  for (size_t row = 0; row < batch.meta().size(); ++row) {
    out += batch.meta().topic.ValueToString(row) + "/" + batch.meta().partition.ValueToString(row) +
           "/" + batch.meta().offset.ValueToString(row) + "/" +
           batch.meta().key.ValueToString(row) + "/" + batch.meta().timestamp.ValueToString(row) +
           "\n";
  }
  return out;
}

std::string StatusMessage(const spec::SourceSpec& spec) {
  Result<std::unique_ptr<Source>> source = MakeGeneratorSource(spec);
  EXPECT_FALSE(source.ok());
  if (source.ok()) return "";
  EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument);
  return source.status().message();
}

const TimestampMicros kDefaultStart = *ParseTimestamp("2026-01-01T00:00:00Z");

// --- Determinism -----------------------------------------------------------

TEST(GeneratorTest, OneRangeEqualsManySmallRangesAndASecondInstance) {
  for (const std::string kind : {"ysb", "regression", "classification", "clusters"}) {
    SCOPED_TRACE(kind);
    spec::SourceSpec spec = GeneratorSpecFor(kind, 0, 42);
    std::unique_ptr<Source> first = OpenSource(spec);
    Batch whole = ReadRange(first.get(), 0, 0, 500);
    ASSERT_EQ(whole.num_rows(), 500u);

    std::unique_ptr<Source> second = OpenSource(spec);
    Batch pieces;
    std::atomic<bool> cancel{false};
    DeadLetters dead;
    // Out of order and unevenly sized; appended into one batch.
    for (int64_t start = 0; start < 500; start += 37) {
      ASSERT_TRUE(
          second->Read({0, start, std::min<int64_t>(start + 37, 500)}, cancel, &pieces, &dead)
              .ok());
    }
    EXPECT_EQ(Render(pieces), Render(whole));
    // Re-reading a range replays it.
    EXPECT_EQ(Render(ReadRange(first.get(), 0, 100, 200)),
              Render(ReadRange(second.get(), 0, 100, 200)));
  }
}

TEST(GeneratorTest, LargeRangeAcrossChunksEqualsPieces) {
  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("classification", 0, 3));
  Batch whole = ReadRange(source.get(), 0, 0, 40000);  // more than one 16 Ki-row chunk
  Batch tail = ReadRange(source.get(), 0, 39990, 40000);
  ASSERT_EQ(whole.num_rows(), 40000u);
  for (size_t row = 0; row < 10; ++row) {
    EXPECT_EQ(whole.RowToString(39990 + row), tail.RowToString(row));
  }
  EXPECT_EQ(whole.meta().offset.GetInt64(39999), 39999);
}

TEST(GeneratorTest, DifferentSeedsDiffer) {
  for (const std::string kind : {"ysb", "regression", "classification", "clusters"}) {
    SCOPED_TRACE(kind);
    std::unique_ptr<Source> a = OpenSource(GeneratorSpecFor(kind, 0, 1));
    std::unique_ptr<Source> b = OpenSource(GeneratorSpecFor(kind, 0, 2));
    Batch batch_a = ReadRange(a.get(), 0, 0, 100);
    Batch batch_b = ReadRange(b.get(), 0, 0, 100);
    // Column 0 is user_id for ysb (all differ); the first feature elsewhere.
    const size_t column = kind == "ysb" ? 0 : 2;
    size_t equal = 0;
    for (size_t row = 0; row < 100; ++row) {
      equal +=
          batch_a.column(column).ValueToString(row) == batch_b.column(column).ValueToString(row);
    }
    EXPECT_EQ(equal, 0u);
  }
}

// --- Partitions, offsets, count ------------------------------------------------

TEST(GeneratorTest, PartitionOffsetMapsToRecordIndex) {
  std::unique_ptr<Source> split = OpenSource(GeneratorSpecFor("regression", 10, 5, {}, 3));
  ASSERT_EQ(split->partitions().size(), 3u);
  EXPECT_EQ(split->partitions()[2].topic, "gen");
  EXPECT_EQ(split->partitions()[2].partition, PartitionId{2});
  Result<Offsets> latest = split->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  // Records 0..9 over 3 partitions: {0,3,6,9}, {1,4,7}, {2,5,8}.
  EXPECT_EQ(*latest, testing::OffsetsOf({4, 3, 3}));
  Result<Offsets> initial = split->InitialOffsets();
  ASSERT_TRUE(initial.ok());
  EXPECT_EQ(*initial, testing::OffsetsOf({0, 0, 0}));

  Batch part1 = ReadRange(split.get(), 1, 0, 3);
  ASSERT_EQ(part1.num_rows(), 3u);
  const std::vector<int64_t> expected_ids = {1, 4, 7};
  for (size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(part1.column(0).GetInt64(row), expected_ids[row]);
    EXPECT_EQ(part1.meta().topic.GetString(row), "gen");
    EXPECT_EQ(part1.meta().partition.GetInt64(row), 1);
    EXPECT_EQ(part1.meta().offset.GetInt64(row), static_cast<int64_t>(row));
    EXPECT_TRUE(part1.meta().key.IsNull(row));
    // Rate 0: one record per millisecond of event time.
    EXPECT_EQ(part1.column(1).GetInt64(row), kDefaultStart + expected_ids[row] * 1000);
    EXPECT_EQ(part1.meta().timestamp.GetInt64(row), part1.column(1).GetInt64(row));
  }

  // Content depends on the record index only, not on the partition count.
  std::unique_ptr<Source> single = OpenSource(GeneratorSpecFor("regression", 10, 5, {}, 1));
  Batch all = ReadRange(single.get(), 0, 0, 10);
  for (size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(part1.RowToString(row), all.RowToString(static_cast<size_t>(expected_ids[row])));
  }
}

TEST(GeneratorTest, CountBoundsReads) {
  std::unique_ptr<Source> bounded = OpenSource(GeneratorSpecFor("clusters", 10, 5, {}, 2));
  EXPECT_TRUE(bounded->IsBounded());
  std::atomic<bool> cancel{false};
  Batch batch;
  DeadLetters dead;
  EXPECT_TRUE(bounded->Read({1, 0, 5}, cancel, &batch, &dead).ok());
  Status past_end = bounded->Read({1, 0, 6}, cancel, &batch, &dead);
  EXPECT_EQ(past_end.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bounded->Read({2, 0, 1}, cancel, &batch, &dead).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(batch.num_rows(), 5u);

  std::unique_ptr<Source> unbounded = OpenSource(GeneratorSpecFor("clusters", 0));
  EXPECT_FALSE(unbounded->IsBounded());
}

TEST(GeneratorTest, CancelStopsALargeRead) {
  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("ysb", 0));
  std::atomic<bool> cancel{true};
  Batch batch;
  DeadLetters dead;
  Status status = source->Read({0, 0, 1'000'000}, cancel, &batch, &dead);
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_LT(batch.num_rows(), 1'000'000u);
}

// --- Availability ------------------------------------------------------------

TEST(GeneratorTest, UnthrottledBoundedOffersEverything) {
  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("ysb", 101, 1, {}, 2));
  Result<Offsets> latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, testing::OffsetsOf({51, 50}));
}

TEST(GeneratorTest, UnthrottledUnboundedOffersAMillionBeyondWhatWasRead) {
  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("ysb", 0, 1, {}, 2));
  Result<Offsets> latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, testing::OffsetsOf({1'000'000, 1'000'000}));
  ReadRange(source.get(), 1, 0, 25);
  latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, testing::OffsetsOf({1'000'000, 1'000'025}));
}

TEST(GeneratorTest, RateLimitsAvailability) {
  spec::SourceSpec spec = GeneratorSpecFor("regression", 100'000, 1, {}, 2);
  spec.mutable_generator()->set_rate(10'000);  // 10 records per ms
  std::unique_ptr<Source> source = OpenSource(spec);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Result<Offsets> latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  const int64_t total = (*latest)[0].value + (*latest)[1].value;
  EXPECT_GE(total, 400);      // at least 40 ms worth
  EXPECT_LT(total, 100'000);  // well short of the count after 50 ms
  // Partition 0 holds the even records, so it is never behind partition 1.
  EXPECT_GE((*latest)[0], (*latest)[1]);
  EXPECT_LE((*latest)[0] - (*latest)[1], 1);

  // A fast rate is capped by the count.
  spec.mutable_generator()->set_rate(1e9);
  std::unique_ptr<Source> fast = OpenSource(spec);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  latest = fast->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, testing::OffsetsOf({50'000, 50'000}));
}

TEST(GeneratorTest, EventTimeFollowsRateAndStartTime) {
  spec::SourceSpec spec = GeneratorSpecFor("clusters", 0, 1, {}, 2);
  spec.mutable_generator()->set_rate(4);
  spec.mutable_generator()->set_start_time("2026-03-01T12:00:00Z");
  std::unique_ptr<Source> source = OpenSource(spec);
  Batch batch = ReadRange(source.get(), 1, 0, 3);  // records 1, 3, 5
  const TimestampMicros start = *ParseTimestamp("2026-03-01T12:00:00Z");
  EXPECT_EQ(batch.column(1).GetInt64(0), start + 250'000);
  EXPECT_EQ(batch.column(1).GetInt64(1), start + 750'000);
  EXPECT_EQ(batch.column(1).GetInt64(2), start + 1'250'000);
  EXPECT_EQ(batch.meta().timestamp.GetInt64(2), start + 1'250'000);
}

// --- Schemas -------------------------------------------------------------------

TEST(GeneratorTest, SchemaPerKind) {
  auto schema_of = [](const std::string& kind, std::map<std::string, std::string> options = {}) {
    Result<Schema> schema = GeneratorSchema(GeneratorSpecFor(kind, 0, 1, options).generator());
    EXPECT_TRUE(schema.ok()) << schema.status().ToString();
    return schema.ok() ? schema->ToString() : std::string();
  };
  EXPECT_EQ(schema_of("ysb"),
            "user_id:string, page_id:string, ad_id:string, ad_type:string, event_type:string, "
            "event_time:timestamp, ip_address:string");
  EXPECT_EQ(schema_of("ysb_campaigns"), "ad_id:string, campaign_id:string");
  EXPECT_EQ(schema_of("regression"),
            "id:int64, event_time:timestamp, x0:double, x1:double, x2:double, x3:double, "
            "label:double");
  EXPECT_EQ(schema_of("classification", {{"features", "2"}}),
            "id:int64, event_time:timestamp, x0:double, x1:double, label:int64");
  EXPECT_EQ(schema_of("clusters"),
            "id:int64, event_time:timestamp, x0:double, x1:double, label:int64");

  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("clusters", 5));
  EXPECT_EQ(source->schema().ToString(),
            "id:int64, event_time:timestamp, x0:double, x1:double, label:int64");
  EXPECT_EQ(ReadRange(source.get(), 0, 0, 5).schema(), source->schema());
}

TEST(GeneratorTest, DeclaredSchemaMustMatch) {
  spec::SourceSpec spec = GeneratorSpecFor("ysb_campaigns", 0);
  spec::ColumnSpec* ad = spec.add_schema();
  ad->set_name("ad_id");
  ad->set_type("string");
  spec::ColumnSpec* campaign = spec.add_schema();
  campaign->set_name("campaign_id");
  campaign->set_type("varchar");
  EXPECT_TRUE(MakeGeneratorSource(spec).ok());
  campaign->set_type("int64");
  EXPECT_NE(StatusMessage(spec).find("'campaign_id:int64' does not match"), std::string::npos);
}

// --- YSB -------------------------------------------------------------------------

TEST(GeneratorTest, YsbValueDomains) {
  std::map<std::string, std::string> options = {{"campaigns", "7"}, {"ads_per_campaign", "3"}};
  std::unique_ptr<Source> events = OpenSource(GeneratorSpecFor("ysb", 0, 9, options));
  Batch batch = ReadRange(events.get(), 0, 0, 3000);

  std::unique_ptr<Source> campaigns = OpenSource(GeneratorSpecFor("ysb_campaigns", 0, 9, options));
  EXPECT_TRUE(campaigns->IsBounded());
  Result<Offsets> latest = campaigns->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(*latest, testing::OffsetsOf({21}));
  Batch table = ReadRange(campaigns.get(), 0, 0, 21);
  std::set<std::string> table_ads;
  std::map<std::string, int> ads_per_campaign;
  for (size_t row = 0; row < table.num_rows(); ++row) {
    table_ads.insert(std::string(table.column(0).GetString(row)));
    ++ads_per_campaign[std::string(table.column(1).GetString(row))];
  }
  EXPECT_EQ(table_ads.size(), 21u);
  ASSERT_EQ(ads_per_campaign.size(), 7u);
  for (const auto& [campaign, ads] : ads_per_campaign) EXPECT_EQ(ads, 3) << campaign;

  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const std::regex ip("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  const std::set<std::string> ad_types = {"banner", "modal", "sponsored-search", "mail", "mobile"};
  const std::set<std::string> event_types = {"view", "click", "purchase"};
  std::map<std::string, int> ad_type_counts, event_type_counts;
  std::set<std::string> users, ads_seen;
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    const std::string user(batch.column(0).GetString(row));
    const std::string page(batch.column(1).GetString(row));
    const std::string ad(batch.column(2).GetString(row));
    ASSERT_TRUE(std::regex_match(user, uuid)) << user;
    ASSERT_TRUE(std::regex_match(page, uuid)) << page;
    ASSERT_TRUE(table_ads.count(ad)) << ad;
    users.insert(user);
    ads_seen.insert(ad);
    ++ad_type_counts[std::string(batch.column(3).GetString(row))];
    ++event_type_counts[std::string(batch.column(4).GetString(row))];
    EXPECT_EQ(batch.column(5).GetInt64(row), kDefaultStart + static_cast<int64_t>(row) * 1000);
    const std::string address(batch.column(6).GetString(row));
    std::smatch octets;
    ASSERT_TRUE(std::regex_match(address, octets, ip)) << address;
    for (size_t idx = 1; idx <= 4; ++idx) EXPECT_LE(std::stoi(octets[idx].str()), 255);
  }
  EXPECT_EQ(users.size(), 3000u);   // a fresh user per event
  EXPECT_EQ(ads_seen.size(), 21u);  // 3000 draws cover all 21 ads
  ASSERT_EQ(ad_type_counts.size(), 5u);
  for (const auto& [type, count] : ad_type_counts) {
    EXPECT_TRUE(ad_types.count(type)) << type;
    EXPECT_NEAR(count, 600, 90) << type;
  }
  ASSERT_EQ(event_type_counts.size(), 3u);
  for (const auto& [type, count] : event_type_counts) {
    EXPECT_TRUE(event_types.count(type)) << type;
    EXPECT_NEAR(count, 1000, 100) << type;
  }
}

TEST(GeneratorTest, YsbCampaignsDefaultsAndCount) {
  Result<std::unique_ptr<Source>> table =
      MakeGeneratorSource(GeneratorSpecFor("ysb_campaigns", 1000));
  ASSERT_TRUE(table.ok()) << table.status().ToString();  // 100 campaigns x 10 ads
  ASSERT_TRUE((*table)->Open().ok());
  Result<Offsets> latest = (*table)->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, testing::OffsetsOf({1000}));
  EXPECT_NE(StatusMessage(GeneratorSpecFor("ysb_campaigns", 5)).find("'count' is 5"),
            std::string::npos);
  // Other seeds give other uuids.
  std::unique_ptr<Source> a = OpenSource(GeneratorSpecFor("ysb_campaigns", 0, 1));
  std::unique_ptr<Source> b = OpenSource(GeneratorSpecFor("ysb_campaigns", 0, 2));
  EXPECT_NE(ReadRange(a.get(), 0, 0, 1).RowToString(0), ReadRange(b.get(), 0, 0, 1).RowToString(0));
}

// --- Labelled kinds -----------------------------------------------------------

TEST(GeneratorTest, RegressionLabelIsDocumentedLinearFunction) {
  const uint64_t seed = 11;
  std::unique_ptr<Source> source =
      OpenSource(GeneratorSpecFor("regression", 0, seed, {{"features", "3"}, {"noise", "0"}}));
  Batch batch = ReadRange(source.get(), 0, 0, 1000);
  // w_j = 2 U(seed, 30, j) - 1, b = 2 U(seed, 30, d) - 1.
  std::vector<double> w;
  for (uint64_t j = 0; j < 3; ++j) w.push_back(2 * DocUnit(seed, 30, j) - 1);
  const double b = 2 * DocUnit(seed, 30, 3) - 1;
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    const uint64_t i = static_cast<uint64_t>(batch.column(0).GetInt64(row));
    ASSERT_EQ(i, row);
    double y = 0;
    for (uint64_t j = 0; j < 3; ++j) {
      const double x = 2 * DocUnit(seed, 1000 + j, i) - 1;  // x_j(i) = 2 U(seed, 1000 + j, i) - 1
      ASSERT_EQ(batch.column(2 + j).GetDouble(row), x);
      y += w[j] * x;
    }
    ASSERT_EQ(batch.column(5).GetDouble(row), y + b) << row;
  }
}

TEST(GeneratorTest, RegressionNoiseHasRequestedStddev) {
  const uint64_t seed = 12;
  std::unique_ptr<Source> clean =
      OpenSource(GeneratorSpecFor("regression", 0, seed, {{"noise", "0"}}));
  std::unique_ptr<Source> noisy = OpenSource(GeneratorSpecFor("regression", 0, seed));  // 0.1
  Batch a = ReadRange(clean.get(), 0, 0, 5000);
  Batch b = ReadRange(noisy.get(), 0, 0, 5000);
  double sum = 0, sum_sq = 0;
  for (size_t row = 0; row < 5000; ++row) {
    ASSERT_EQ(a.column(2).GetDouble(row), b.column(2).GetDouble(row));  // same features
    const double residual = b.column(6).GetDouble(row) - a.column(6).GetDouble(row);
    sum += residual;
    sum_sq += residual * residual;
  }
  const double mean = sum / 5000;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sum_sq / 5000 - mean * mean), 0.1, 0.005);
}

TEST(GeneratorTest, ClassificationLabelsInRangeAndBalanced) {
  std::unique_ptr<Source> source =
      OpenSource(GeneratorSpecFor("classification", 0, 4, {{"classes", "3"}}));
  Batch batch = ReadRange(source.get(), 0, 0, 3000);
  std::vector<int> counts(3, 0);
  for (size_t row = 0; row < 3000; ++row) {
    const int64_t label = batch.column(6).GetInt64(row);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 3);
    ++counts[static_cast<size_t>(label)];
  }
  for (int count : counts) EXPECT_NEAR(count, 1000, 100);
}

TEST(GeneratorTest, ClassificationNoiseFlipsThatFractionOfLabels) {
  std::unique_ptr<Source> clean =
      OpenSource(GeneratorSpecFor("classification", 0, 4, {{"classes", "3"}}));
  std::unique_ptr<Source> noisy =
      OpenSource(GeneratorSpecFor("classification", 0, 4, {{"classes", "3"}, {"noise", "0.2"}}));
  Batch a = ReadRange(clean.get(), 0, 0, 5000);
  Batch b = ReadRange(noisy.get(), 0, 0, 5000);
  int flipped = 0;
  for (size_t row = 0; row < 5000; ++row) {
    ASSERT_EQ(a.column(2).GetDouble(row), b.column(2).GetDouble(row));  // same points
    const int64_t label = b.column(6).GetInt64(row);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 3);
    flipped += label != a.column(6).GetInt64(row);
  }
  EXPECT_NEAR(flipped, 1000, 100);
}

// Per-class mean of the features over rows [begin, end).
std::vector<std::vector<double>> ClassMeans(const Batch& batch, size_t features, size_t classes,
                                            size_t begin, size_t end) {
  std::vector<std::vector<double>> sums(classes, std::vector<double>(features, 0.0));
  std::vector<int> counts(classes, 0);
  const size_t label_column = 2 + features;
  for (size_t row = begin; row < end; ++row) {
    const size_t label = static_cast<size_t>(batch.column(label_column).GetInt64(row));
    ++counts[label];
    for (size_t j = 0; j < features; ++j) sums[label][j] += batch.column(2 + j).GetDouble(row);
  }
  for (size_t c = 0; c < classes; ++c) {
    for (size_t j = 0; j < features; ++j) sums[c][j] /= std::max(counts[c], 1);
  }
  return sums;
}

TEST(GeneratorTest, ClassificationPrototypesMoveAtDriftPoint) {
  const uint64_t seed = 5;
  std::unique_ptr<Source> drifting = OpenSource(GeneratorSpecFor(
      "classification", 0, seed, {{"features", "2"}, {"drift_at", "4000"}, {"spread", "0.1"}}));
  Batch batch = ReadRange(drifting.get(), 0, 0, 8000);
  const auto before = ClassMeans(batch, 2, 2, 0, 4000);
  const auto after = ClassMeans(batch, 2, 2, 4000, 8000);
  // Prototype of concept n, class c, feature j: 2 U(seed, 40 + n, c d + j) - 1.
  for (size_t c = 0; c < 2; ++c) {
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_NEAR(before[c][j], 2 * DocUnit(seed, 40, c * 2 + j) - 1, 0.01);
      EXPECT_NEAR(after[c][j], 2 * DocUnit(seed, 41, c * 2 + j) - 1, 0.01);
    }
  }
  double moved = 0;
  for (size_t c = 0; c < 2; ++c) {
    for (size_t j = 0; j < 2; ++j) moved += std::abs(before[c][j] - after[c][j]);
  }
  EXPECT_GT(moved, 0.5);

  // Without drift_at the same rows keep concept 0.
  std::unique_ptr<Source> stable = OpenSource(
      GeneratorSpecFor("classification", 0, seed, {{"features", "2"}, {"spread", "0.1"}}));
  Batch stable_batch = ReadRange(stable.get(), 0, 0, 8000);
  EXPECT_EQ(stable_batch.RowToString(3999), batch.RowToString(3999));
  EXPECT_NE(stable_batch.RowToString(4000), batch.RowToString(4000));
  const auto stable_after = ClassMeans(stable_batch, 2, 2, 4000, 8000);
  for (size_t c = 0; c < 2; ++c) {
    for (size_t j = 0; j < 2; ++j) EXPECT_NEAR(stable_after[c][j], before[c][j], 0.02);
  }
}

TEST(GeneratorTest, ClustersAroundDocumentedCenters) {
  const uint64_t seed = 8;
  std::unique_ptr<Source> source = OpenSource(GeneratorSpecFor("clusters", 0, seed));  // d 2, k 3
  Batch batch = ReadRange(source.get(), 0, 0, 6000);
  const auto means = ClassMeans(batch, 2, 3, 0, 6000);
  std::vector<int> counts(3, 0);
  std::vector<double> sq(3, 0.0);
  for (size_t row = 0; row < 6000; ++row) {
    const int64_t label = batch.column(4).GetInt64(row);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 3);
    ++counts[static_cast<size_t>(label)];
    const double dx = batch.column(2).GetDouble(row) - means[static_cast<size_t>(label)][0];
    sq[static_cast<size_t>(label)] += dx * dx;
  }
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(counts[c], 2000, 150);
    EXPECT_NEAR(std::sqrt(sq[c] / counts[c]), 0.5, 0.03);  // spread
    // Center c, feature j: 10 U(seed, 50, c d + j) - 5.
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_NEAR(means[c][j], 10 * DocUnit(seed, 50, c * 2 + j) - 5, 0.04);
    }
  }
}

// --- Option errors -----------------------------------------------------------

TEST(GeneratorTest, BadOptionsAreInvalidArgumentNamingTheOption) {
  EXPECT_EQ(StatusMessage(GeneratorSpecFor("ysb", 0, 1, {{"campaign", "5"}})),
            "source 'gen': unknown option 'campaign' for generator kind 'ysb' (known: "
            "ads_per_campaign, campaigns)");
  EXPECT_EQ(StatusMessage(GeneratorSpecFor("regression", 0, 1, {{"features", "four"}})),
            "source 'gen': generator 'regression': option 'features': expected an integer, got "
            "'four'");
  EXPECT_EQ(StatusMessage(GeneratorSpecFor("regression", 0, 1, {{"features", "0"}})),
            "source 'gen': generator 'regression': option 'features' must be between 1 and 1000, "
            "got 0");
  EXPECT_NE(StatusMessage(GeneratorSpecFor("regression", 0, 1, {{"noise", "0.1x"}}))
                .find("option 'noise': expected a number"),
            std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("classification", 0, 1, {{"classes", "1"}}))
                .find("option 'classes' must be between 2"),
            std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("classification", 0, 1, {{"noise", "1.5"}}))
                .find("option 'noise' must be between 0 and 1"),
            std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("clusters", 0, 1, {{"classes", "3"}}))
                .find("unknown option 'classes'"),
            std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("ysb", 0, 1,
                                           {{"campaigns", "2000"}, {"ads_per_campaign", "1000"}}))
                .find("'campaigns' * 'ads_per_campaign'"),
            std::string::npos);
  EXPECT_EQ(StatusMessage(GeneratorSpecFor("sine", 0)),
            "source 'gen': generator 'kind': unknown kind 'sine' (one of ysb, ysb_campaigns, "
            "regression, classification, clusters, sea, agrawal, random_rbf, hyperplane, "
            "fashion_mnist)");
  EXPECT_NE(StatusMessage(GeneratorSpecFor("", 0)).find("'kind' is missing"), std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("ysb", -1)).find("'count'"), std::string::npos);
  EXPECT_NE(StatusMessage(GeneratorSpecFor("ysb", 0, 1, {}, -2)).find("'partitions'"),
            std::string::npos);
  spec::SourceSpec bad_rate = GeneratorSpecFor("ysb", 0);
  bad_rate.mutable_generator()->set_rate(-1);
  EXPECT_NE(StatusMessage(bad_rate).find("'rate'"), std::string::npos);
  spec::SourceSpec bad_start = GeneratorSpecFor("ysb", 0);
  bad_start.mutable_generator()->set_start_time("yesterday");
  EXPECT_NE(StatusMessage(bad_start).find("'start_time'"), std::string::npos);
  spec::SourceSpec not_generator;
  not_generator.set_name("gen");
  EXPECT_NE(StatusMessage(not_generator).find("not a generator source"), std::string::npos);

  Result<Schema> schema =
      GeneratorSchema(GeneratorSpecFor("clusters", 0, 1, {{"k", "-1"}}).generator());
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(schema.status().message().find("option 'k'"), std::string::npos);
}

}  // namespace
}  // namespace eddy
