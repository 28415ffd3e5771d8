// ADWIN: detects a change in the mean quickly, stays quiet on stationary
// streams (false positives bounded), restores from snapshots exactly.

#include "operators/models/adwin.h"

#include <gtest/gtest.h>

#include <random>

#include "operators/models/model.pb.h"

namespace eddy::learn {
namespace {

TEST(AdwinTest, KeepsExactMeanWhileStationary) {
  Adwin adwin;
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(adwin.Update(i % 4 == 0 ? 1.0 : 0.0));
  EXPECT_EQ(adwin.width(), 1000);
  EXPECT_DOUBLE_EQ(adwin.estimation(), 0.25);
  EXPECT_NEAR(adwin.variance(), 0.25 * 0.75, 1e-9);
}

TEST(AdwinTest, DetectsAnAbruptMeanChange) {
  std::mt19937_64 rng(1);
  std::bernoulli_distribution before(0.2), after(0.8);
  Adwin adwin;
  for (int i = 0; i < 2000; ++i) ASSERT_FALSE(adwin.Update(before(rng))) << i;
  int detected_at = -1;
  for (int i = 0; i < 1000; ++i) {
    if (adwin.Update(after(rng)) && detected_at < 0) detected_at = i;
  }
  ASSERT_GE(detected_at, 0);
  EXPECT_LT(detected_at, 100);  // a 0.6 jump is found within a few clock ticks
  // The window has dropped the old concept.
  EXPECT_LT(adwin.width(), 1100);
  EXPECT_NEAR(adwin.estimation(), 0.8, 0.05);
}

TEST(AdwinTest, FewFalsePositivesOnStationaryStreams) {
  // delta = 0.002 bounds the false-positive probability per check; over 20
  // streams of 10,000 Bernoulli(0.3) values (6,250 checks) we allow 5.
  int64_t detections = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution bit(0.3);
    Adwin adwin;
    for (int i = 0; i < 10000; ++i) adwin.Update(bit(rng));
    detections += adwin.detections();
  }
  std::printf("ADWIN false detections over 200,000 stationary values: %lld\n",
              static_cast<long long>(detections));
  EXPECT_LE(detections, 5);
}

TEST(AdwinTest, SnapshotContinuesIdentically) {
  std::mt19937_64 rng(4);
  std::bernoulli_distribution low(0.1), high(0.6);
  Adwin adwin;
  for (int i = 0; i < 777; ++i) adwin.Update(low(rng));
  pb::AdwinState state;
  adwin.Save(&state);
  Adwin restored;
  ASSERT_TRUE(restored.Load(state));
  for (int i = 0; i < 1500; ++i) {
    const double value = high(rng);
    ASSERT_EQ(adwin.Update(value), restored.Update(value)) << i;
    ASSERT_EQ(adwin.width(), restored.width());
    ASSERT_EQ(adwin.estimation(), restored.estimation());
  }
  EXPECT_GT(adwin.detections(), 0);
  state.set_width(state.width() + 1);
  EXPECT_FALSE(restored.Load(state));
}

}  // namespace
}  // namespace eddy::learn
