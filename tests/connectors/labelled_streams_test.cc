// The benchmark streams of connectors/generator/labelled_streams.cc (sea,
// agrawal, random_rbf, hyperplane): every value checked against the formulas
// of docs/generators.md, written out here independently of the
// implementation; the label functions against the published definitions
// (Street & Kim 2001; Agrawal et al. 1993 as in MOA; MOA's RandomRBF and
// Hyperplane generators); determinism across reads and partitionings.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "connectors/generator/generator_source.h"
#include "tests/connectors/generator_test_util.h"

namespace eddy {
namespace {

// --- The documented value functions ----------------------------------------

using testing::DocHash;
using testing::DocUnit;

uint64_t DocBelow(uint64_t hash, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(hash) * n) >> 64);
}
double DocNormal(uint64_t seed, uint64_t stream, uint64_t index) {
  const double u1 = DocUnit(seed, stream, 2 * index);
  const double u2 = DocUnit(seed, stream, 2 * index + 1);
  return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// An unbounded generator of `kind`.
spec::SourceSpec Spec(const std::string& kind, uint64_t seed,
                      std::map<std::string, std::string> options = {}, int32_t partitions = 1) {
  return testing::GeneratorSpecFor(kind, 0, seed, std::move(options), partitions);
}

std::unique_ptr<Source> Open(const spec::SourceSpec& spec) { return testing::OpenSource(spec); }

Batch Read(Source* source, size_t partition, int64_t start, int64_t end) {
  return testing::ReadRange(source, partition, start, end);
}

Batch ReadFirst(const spec::SourceSpec& spec, int64_t rows) {
  std::unique_ptr<Source> source = Open(spec);
  return Read(source.get(), 0, 0, rows);
}

std::string Error(const spec::SourceSpec& spec) {
  Result<std::unique_ptr<Source>> source = MakeGeneratorSource(spec);
  EXPECT_FALSE(source.ok());
  return source.ok() ? "" : source.status().message();
}

// --- Determinism and schemas -------------------------------------------------

const std::vector<spec::SourceSpec>& AllKinds() {
  static const std::vector<spec::SourceSpec> kinds = {
      Spec("sea", 5, {{"drift_every", "300"}}),
      Spec("agrawal", 5, {{"drift_at", "500"}, {"drift_width", "100"}}),
      Spec("random_rbf", 5, {{"speed", "0.001"}, {"features", "4"}, {"classes", "3"}}),
      Spec("hyperplane", 5, {{"magnitude", "0.01"}}),
  };
  return kinds;
}

TEST(LabelledStreamsTest, OneReadEqualsManyReadsAndAnotherInstance) {
  for (const spec::SourceSpec& spec : AllKinds()) {
    SCOPED_TRACE(spec.generator().kind());
    std::unique_ptr<Source> first = Open(spec);
    Batch whole = Read(first.get(), 0, 0, 1000);
    ASSERT_EQ(whole.num_rows(), 1000u);
    std::unique_ptr<Source> second = Open(spec);
    Batch pieces;
    std::atomic<bool> cancel{false};
    DeadLetters dead;
    for (int64_t start = 0; start < 1000; start += 37) {
      ASSERT_TRUE(
          second->Read({0, start, std::min<int64_t>(start + 37, 1000)}, cancel, &pieces, &dead)
              .ok());
    }
    EXPECT_EQ(pieces.ToString(1000), whole.ToString(1000));
    // A late range read alone equals the same rows read with their prefix.
    Batch late = Read(second.get(), 0, 900, 1000);
    for (size_t row = 0; row < 100; ++row) {
      ASSERT_EQ(late.RowToString(row), whole.RowToString(900 + row));
    }
  }
}

TEST(LabelledStreamsTest, PartitioningDoesNotChangeRecords) {
  for (spec::SourceSpec spec : AllKinds()) {
    SCOPED_TRACE(spec.generator().kind());
    Batch single = ReadFirst(spec, 300);
    spec.mutable_generator()->set_partitions(3);
    std::unique_ptr<Source> split = Open(spec);
    for (size_t p = 0; p < 3; ++p) {
      Batch part = Read(split.get(), p, 0, 100);
      for (size_t offset = 0; offset < 100; ++offset) {
        // Record i = offset * 3 + p; event_time (column 1) is the same too (rate 0).
        ASSERT_EQ(part.RowToString(offset), single.RowToString(offset * 3 + p));
      }
    }
  }
}

TEST(LabelledStreamsTest, Schemas) {
  EXPECT_EQ(Open(Spec("sea", 1))->schema().ToString(),
            "id:int64, event_time:timestamp, x0:double, x1:double"
            ", x2:double, label:int64");
  EXPECT_EQ(Open(Spec("agrawal", 1))->schema().ToString(),
            "id:int64, event_time:timestamp, salary:double, "
            "commission:double, age:int64, elevel:int64, car:int64"
            ", zipcode:int64, hvalue:double, hyears:int64, "
            "loan:double, label:int64");
  EXPECT_EQ(Open(Spec("random_rbf", 1))->schema().size(), 13u);  // id, time, x0..x9, label
  EXPECT_EQ(Open(Spec("hyperplane", 1, {{"features", "3"}}))->schema().ToString(),
            "id:int64, event_time:timestamp, x0:double, x1:double"
            ", x2:double, label:int64");
}

TEST(LabelledStreamsTest, PinnedValuesOfTheFirstRecords) {
  // The data contract in numbers: a change to any stream number, hash or
  // formula shows up here. (random_rbf goes through log and cos: pinned for
  // glibc on x86-64.)
  Batch sea = ReadFirst(Spec("sea", 42), 2);
  EXPECT_DOUBLE_EQ(sea.column(2).GetDouble(0), 10 * DocUnit(42, 1000, 0));
  EXPECT_EQ(sea.RowToString(0),
            "id=0, event_time=2026-01-01T00:00:00.000000Z, x0=7.43589787396896"
            ", x1=2.8377546002925236, x2=9.255958164452139, label=1");
  EXPECT_EQ(sea.RowToString(1),
            "id=1, event_time=2026-01-01T00:00:00.001000Z, x0=0.6920719362076955"
            ", x1=6.301626039016146, x2=2.9367803148304548, label=0");
  Batch agrawal = ReadFirst(Spec("agrawal", 42, {{"perturbation", "0"}}), 2);
  EXPECT_EQ(agrawal.RowToString(0),
            "id=0, event_time=2026-01-01T00:00:00.000000Z, salary=87542.79328698353"
            ", commission=0, age=65, elevel=1, car=12, zipcode=8"
            ", hvalue=95851.24885606313, hyears=14, loan=221812.3838540278, label=0");
  EXPECT_EQ(agrawal.RowToString(1),
            "id=1, event_time=2026-01-01T00:00:00.001000Z"
            ", salary=116006.91332967218, commission=0, age=66, elevel=0, car=3"
            ", zipcode=7, hvalue=191557.95630804583, hyears=26"
            ", loan=147046.35626607042, label=0");
  Batch rbf = ReadFirst(Spec("random_rbf", 42, {{"features", "2"}}), 2);
  EXPECT_EQ(rbf.RowToString(0),
            "id=0, event_time=2026-01-01T00:00:00.000000Z, x0=0.7355290601465311"
            ", x1=0.7622840514488005, label=1");
  EXPECT_EQ(rbf.RowToString(1),
            "id=1, event_time=2026-01-01T00:00:00.001000Z, x0=0.5898783645761498"
            ", x1=0.3013516960151569, label=0");
  Batch hyperplane = ReadFirst(Spec("hyperplane", 42, {{"features", "2"}}), 2);
  EXPECT_EQ(hyperplane.RowToString(0),
            "id=0, event_time=2026-01-01T00:00:00.000000Z, x0=0.743589787396896"
            ", x1=0.28377546002925236, label=1");
  EXPECT_EQ(hyperplane.RowToString(1),
            "id=1, event_time=2026-01-01T00:00:00.001000Z, x0=0.06920719362076955"
            ", x1=0.6301626039016146, label=0");
}

// --- SEA ------------------------------------------------------------------

constexpr double kSeaTheta[4] = {8, 9, 7, 9.5};

// Checks every SEA row against the definition, with the function of record i.
template <typename FunctionOf>
void ExpectSea(const Batch& batch, uint64_t seed, double noise, FunctionOf function_of) {
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    const uint64_t i = static_cast<uint64_t>(batch.column(0).GetInt64(row));
    double x[3];
    for (uint64_t j = 0; j < 3; ++j) {
      x[j] = 10 * DocUnit(seed, 1000 + j, i);
      ASSERT_EQ(batch.column(2 + j).GetDouble(row), x[j]) << i;
    }
    // MOA / River: class 1 when x0 + x1 > theta.
    int64_t label = x[0] + x[1] > kSeaTheta[function_of(i) - 1] ? 1 : 0;
    if (DocUnit(seed, 21, i) < noise) label = 1 - label;
    ASSERT_EQ(batch.column(5).GetInt64(row), label) << i;
  }
}

TEST(LabelledStreamsTest, SeaFollowsTheDefinition) {
  for (int function = 1; function <= 4; ++function) {
    SCOPED_TRACE(function);
    Batch batch =
        ReadFirst(Spec("sea", 3, {{"function", std::to_string(function)}, {"noise", "0"}}), 2000);
    ExpectSea(batch, 3, 0.0, [&](uint64_t) { return function; });
  }
  // Default: function 1 with 10% noise.
  ExpectSea(ReadFirst(Spec("sea", 3), 2000), 3, 0.1, [](uint64_t) { return 1; });
}

TEST(LabelledStreamsTest, SeaNoiseFlipsThatFraction) {
  Batch clean = ReadFirst(Spec("sea", 9, {{"noise", "0"}}), 20000);
  Batch noisy = ReadFirst(Spec("sea", 9, {{"noise", "0.1"}}), 20000);
  int flipped = 0;
  for (size_t row = 0; row < 20000; ++row) {
    flipped += clean.column(5).GetInt64(row) != noisy.column(5).GetInt64(row);
  }
  EXPECT_NEAR(flipped / 20000.0, 0.1, 0.006);
}

TEST(LabelledStreamsTest, SeaConceptSchedules) {
  // Cycle every 500 records from function 2: 2, 3, 4, 1, 2, ...
  ExpectSea(
      ReadFirst(Spec("sea", 4, {{"function", "2"}, {"drift_every", "500"}, {"noise", "0"}}), 2500),
      4, 0.0, [](uint64_t i) { return static_cast<int>((1 + i / 500) % 4) + 1; });
  // One abrupt switch: function 1, then 3 from record 700.
  ExpectSea(
      ReadFirst(Spec("sea", 4, {{"drift_at", "700"}, {"drift_to", "3"}, {"noise", "0"}}), 1500), 4,
      0.0, [](uint64_t i) { return i >= 700 ? 3 : 1; });
  // Gradual: P(new) = 1 / (1 + exp(-4 (i - 1000) / 400)), drawn from stream 24.
  ExpectSea(
      ReadFirst(Spec("sea", 4, {{"drift_at", "1000"}, {"drift_width", "400"}, {"noise", "0"}}),
                2000),
      4, 0.0, [](uint64_t i) {
        const double p = 1 / (1 + std::exp(-4 * (static_cast<double>(i) - 1000) / 400));
        return DocUnit(4, 24, i) < p ? 2 : 1;  // drift_to defaults to the next function
      });
}

// --- Agrawal --------------------------------------------------------------

struct Loan {
  double salary, commission;
  int64_t age, elevel, car, zipcode;
  double hvalue;
  int64_t hyears;
  double loan;
};

Loan DocAgrawal(uint64_t seed, uint64_t i) {
  Loan r{};
  r.salary = 20000 + 130000 * DocUnit(seed, 60, i);
  r.commission = r.salary >= 75000 ? 0 : 10000 + 65000 * DocUnit(seed, 61, i);
  r.age = 20 + static_cast<int64_t>(DocBelow(DocHash(seed, 62, i), 61));
  r.elevel = static_cast<int64_t>(DocBelow(DocHash(seed, 63, i), 5));
  r.car = static_cast<int64_t>(DocBelow(DocHash(seed, 64, i), 20));
  r.zipcode = static_cast<int64_t>(DocBelow(DocHash(seed, 65, i), 9));
  r.hvalue = (9.0 - static_cast<double>(r.zipcode)) * 100000 * (0.5 + DocUnit(seed, 66, i));
  r.hyears = 1 + static_cast<int64_t>(DocBelow(DocHash(seed, 67, i), 30));
  r.loan = 500000 * DocUnit(seed, 68, i);
  return r;
}

// Agrawal et al. (1993), Figure 2, functions 1-10: true = group A (label 0).
bool GroupA(int function, const Loan& r) {
  const auto in = [](double v, double lo, double hi) { return lo <= v && v <= hi; };
  const double age = static_cast<double>(r.age);
  const double elevel = static_cast<double>(r.elevel);
  switch (function) {
    case 1:
      return age < 40 || age >= 60;
    case 2:
      return (age < 40 && in(r.salary, 50e3, 100e3)) ||
             (40 <= age && age < 60 && in(r.salary, 75e3, 125e3)) ||
             (age >= 60 && in(r.salary, 25e3, 75e3));
    case 3:
      return (age < 40 && (r.elevel == 0 || r.elevel == 1)) ||
             (40 <= age && age < 60 && (r.elevel == 1 || r.elevel == 2 || r.elevel == 3)) ||
             (age >= 60 && (r.elevel == 2 || r.elevel == 3 || r.elevel == 4));
    case 4:
      return (age < 40 &&
              ((r.elevel <= 1) ? in(r.salary, 25e3, 75e3) : in(r.salary, 50e3, 100e3))) ||
             (40 <= age && age < 60 &&
              ((r.elevel >= 1 && r.elevel <= 3) ? in(r.salary, 50e3, 100e3)
                                                : in(r.salary, 75e3, 125e3))) ||
             (age >= 60 &&
              ((r.elevel >= 2) ? in(r.salary, 50e3, 100e3) : in(r.salary, 25e3, 75e3)));
    case 5:
      return (age < 40 &&
              (in(r.salary, 50e3, 100e3) ? in(r.loan, 100e3, 300e3) : in(r.loan, 200e3, 400e3))) ||
             (40 <= age && age < 60 &&
              (in(r.salary, 75e3, 125e3) ? in(r.loan, 200e3, 400e3) : in(r.loan, 300e3, 500e3))) ||
             (age >= 60 &&
              (in(r.salary, 25e3, 75e3) ? in(r.loan, 300e3, 500e3) : in(r.loan, 100e3, 300e3)));
    case 6: {
      const double t = r.salary + r.commission;
      return (age < 40 && in(t, 50e3, 100e3)) || (40 <= age && age < 60 && in(t, 75e3, 125e3)) ||
             (age >= 60 && in(t, 25e3, 75e3));
    }
    case 7:
      return 2.0 * (r.salary + r.commission) / 3.0 - r.loan / 5.0 - 20000 > 0;
    case 8:
      return 2.0 * (r.salary + r.commission) / 3.0 - 5000 * elevel - 20000 > 0;
    case 9:
      return 2.0 * (r.salary + r.commission) / 3.0 - 5000 * elevel - r.loan / 5.0 - 10000 > 0;
    default: {
      const double equity =
          r.hyears >= 20 ? r.hvalue * (static_cast<double>(r.hyears) - 20) / 10 : 0.0;
      return 2.0 * (r.salary + r.commission) / 3.0 - 5000 * elevel + equity / 5.0 - 10000 > 0;
    }
  }
}

TEST(LabelledStreamsTest, AgrawalFollowsThePublishedFunctions) {
  const uint64_t seed = 13;
  for (int function = 1; function <= 10; ++function) {
    SCOPED_TRACE(function);
    Batch batch = ReadFirst(
        Spec("agrawal", seed, {{"function", std::to_string(function)}, {"perturbation", "0"}}),
        3000);
    int group_a = 0;
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      const uint64_t i = row;
      const Loan r = DocAgrawal(seed, i);
      ASSERT_EQ(batch.column(2).GetDouble(row), r.salary);
      ASSERT_EQ(batch.column(3).GetDouble(row), r.commission);
      ASSERT_EQ(batch.column(4).GetInt64(row), r.age);
      ASSERT_EQ(batch.column(5).GetInt64(row), r.elevel);
      ASSERT_EQ(batch.column(6).GetInt64(row), r.car);
      ASSERT_EQ(batch.column(7).GetInt64(row), r.zipcode);
      ASSERT_EQ(batch.column(8).GetDouble(row), r.hvalue);
      ASSERT_EQ(batch.column(9).GetInt64(row), r.hyears);
      ASSERT_EQ(batch.column(10).GetDouble(row), r.loan);
      const int64_t label = batch.column(11).GetInt64(row);
      ASSERT_EQ(label, GroupA(function, r) ? 0 : 1) << "record " << i;
      group_a += label == 0;
    }
    // Both classes occur under every function.
    EXPECT_GT(group_a, 0);
    EXPECT_LT(group_a, 3000);
    if (function == 1) {
      // P(age < 40 or age >= 60) with age uniform on 20..80: 41 / 61.
      EXPECT_NEAR(group_a / 3000.0, 41.0 / 61.0, 0.03);
    }
  }
}

TEST(LabelledStreamsTest, AgrawalValueDomains) {
  Batch batch = ReadFirst(Spec("agrawal", 2, {{"perturbation", "0"}}), 20000);
  std::map<int, std::pair<int64_t, int64_t>> int_range;  // column -> (min, max)
  for (int column : {4, 5, 6, 7, 9}) int_range[column] = {INT64_MAX, INT64_MIN};
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    for (auto& [column, range] : int_range) {
      range.first = std::min(range.first, batch.column(column).GetInt64(row));
      range.second = std::max(range.second, batch.column(column).GetInt64(row));
    }
    const double salary = batch.column(2).GetDouble(row);
    ASSERT_GE(salary, 20000);
    ASSERT_LT(salary, 150000);
    ASSERT_EQ(batch.column(3).GetDouble(row) == 0, salary >= 75000);
  }
  EXPECT_EQ(int_range[4], (std::pair<int64_t, int64_t>{20, 80}));  // age
  EXPECT_EQ(int_range[5], (std::pair<int64_t, int64_t>{0, 4}));    // elevel
  EXPECT_EQ(int_range[6], (std::pair<int64_t, int64_t>{0, 19}));   // car
  EXPECT_EQ(int_range[7], (std::pair<int64_t, int64_t>{0, 8}));    // zipcode
  EXPECT_EQ(int_range[9], (std::pair<int64_t, int64_t>{1, 30}));   // hyears
}

TEST(LabelledStreamsTest, AgrawalPerturbationMovesAttributesNotLabels) {
  const uint64_t seed = 17;
  const double p = 0.05;
  Batch batch = ReadFirst(Spec("agrawal", seed, {{"function", "2"}}), 3000);  // default 0.05
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    const uint64_t i = row;
    const Loan r = DocAgrawal(seed, i);
    const auto perturb = [&](double v, double range, double lo, double hi, uint64_t k) {
      return std::clamp(v + range * (2.0 * (DocUnit(seed, 70 + k, i) - 0.5)) * p, lo, hi);
    };
    ASSERT_EQ(batch.column(2).GetDouble(row), perturb(r.salary, 130000, 20000, 150000, 0));
    ASSERT_EQ(batch.column(3).GetDouble(row),
              r.commission > 0 ? perturb(r.commission, 65000, 10000, 75000, 1) : 0.0);
    ASSERT_EQ(
        batch.column(4).GetInt64(row),
        static_cast<int64_t>(std::floor(perturb(static_cast<double>(r.age), 60, 20, 80, 2) + 0.5)));
    ASSERT_EQ(batch.column(5).GetInt64(row), r.elevel);
    ASSERT_EQ(batch.column(8).GetDouble(row),
              perturb(r.hvalue, (9.0 - static_cast<double>(r.zipcode)) * 100000, 0, 135000, 6));
    ASSERT_EQ(batch.column(9).GetInt64(row),
              static_cast<int64_t>(
                  std::floor(perturb(static_cast<double>(r.hyears), 29, 1, 30, 7) + 0.5)));
    ASSERT_EQ(batch.column(10).GetDouble(row), perturb(r.loan, 500000, 0, 500000, 8));
    // The label is the function of the unperturbed record.
    ASSERT_EQ(batch.column(11).GetInt64(row), GroupA(2, r) ? 0 : 1);
  }
}

// --- Random RBF --------------------------------------------------------------

struct DocRbf {
  size_t d, n;
  std::vector<double> centre, direction, stddev, cumulative;
  std::vector<int64_t> cls;

  DocRbf(uint64_t model_seed, size_t features, size_t centroids, uint64_t classes)
      : d(features), n(centroids) {
    double total = 0;
    for (size_t c = 0; c < n; ++c) {
      double norm = 0;
      for (size_t j = 0; j < d; ++j) {
        centre.push_back(DocUnit(model_seed, 80, c * d + j));
        direction.push_back(DocUnit(model_seed, 84, c * d + j));
        norm += direction.back() * direction.back();
      }
      for (size_t j = 0; j < d; ++j) direction[c * d + j] /= std::sqrt(norm);
      cls.push_back(static_cast<int64_t>(DocBelow(DocHash(model_seed, 81, c), classes)));
      stddev.push_back(DocUnit(model_seed, 82, c));
      total += DocUnit(model_seed, 83, c);
      cumulative.push_back(total);
    }
  }

  size_t Choose(uint64_t seed, uint64_t i) const {
    const double target = DocUnit(seed, 85, i) * cumulative.back();
    size_t c = 0;
    while (cumulative[c] <= target) ++c;
    return c;
  }

  double Centre(size_t c, size_t j, uint64_t i, double speed) const {
    double t = centre[c * d + j] + speed * static_cast<double>(i) * direction[c * d + j];
    t = std::fmod(t, 2.0);
    return t > 1 ? 2 - t : t;
  }
};

TEST(LabelledStreamsTest, RandomRbfFollowsTheDefinition) {
  for (const double speed : {0.0, 0.0005}) {
    SCOPED_TRACE(speed);
    const uint64_t seed = 21;
    Batch batch = ReadFirst(Spec("random_rbf", seed,
                                 {{"features", "3"},
                                  {"classes", "4"},
                                  {"centroids", "7"},
                                  {"speed", std::to_string(speed)}}),
                            5000);
    const DocRbf model(seed, 3, 7, 4);
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      const uint64_t i = row;
      const size_t c = model.Choose(seed, i);
      ASSERT_EQ(batch.column(5).GetInt64(row), model.cls[c]);
      double v[3];
      double norm = 0;
      for (size_t j = 0; j < 3; ++j) {
        v[j] = 2 * DocUnit(seed, 1000 + j, i) - 1;
        norm += v[j] * v[j];
      }
      const double scale = DocNormal(seed, 86, i) * model.stddev[c] / std::sqrt(norm);
      for (size_t j = 0; j < 3; ++j) {
        const double expected = model.Centre(c, j, i, speed) + v[j] * scale;
        ASSERT_DOUBLE_EQ(batch.column(2 + j).GetDouble(row), expected) << i << " " << j;
      }
    }
  }
}

TEST(LabelledStreamsTest, RandomRbfModelSeedKeepsTheCentroids) {
  // Same model, different samples: labels follow the same centroids.
  Batch a = ReadFirst(Spec("random_rbf", 1, {{"model_seed", "9"}, {"features", "2"}}), 500);
  Batch b = ReadFirst(Spec("random_rbf", 2, {{"model_seed", "9"}, {"features", "2"}}), 500);
  const DocRbf model(9, 2, 50, 2);
  int differ = 0;
  for (size_t row = 0; row < 500; ++row) {
    ASSERT_EQ(a.column(4).GetInt64(row), model.cls[model.Choose(1, row)]);
    ASSERT_EQ(b.column(4).GetInt64(row), model.cls[model.Choose(2, row)]);
    differ += a.column(2).GetDouble(row) != b.column(2).GetDouble(row);
  }
  EXPECT_EQ(differ, 500);
}

TEST(LabelledStreamsTest, RandomRbfCentroidsStayInTheUnitCube) {
  // Fast centroids bounce off the walls: after many records the centre of
  // every centroid is still in [0, 1]; points scatter around it.
  const uint64_t seed = 3;
  Batch batch = ReadFirst(Spec("random_rbf", seed, {{"features", "2"}, {"speed", "0.37"}}), 2000);
  const DocRbf model(seed, 2, 50, 2);
  for (uint64_t i = 0; i < 2000; ++i) {
    for (size_t c = 0; c < 50; ++c) {
      const double centre = model.Centre(c, 0, i, 0.37);
      ASSERT_GE(centre, 0.0);
      ASSERT_LE(centre, 1.0);
    }
  }
  double largest = 0;
  for (size_t row = 0; row < 2000; ++row) {
    largest = std::max(largest, std::abs(batch.column(2).GetDouble(row)));
  }
  EXPECT_LT(largest, 6.0);  // centre + N(0,1) * stddev < 1, well inside
}

// --- Hyperplane --------------------------------------------------------------

// Levy's construction of docs/generators.md, written out again.
double DocWalk(uint64_t seed, uint64_t stream, uint64_t t) {
  const uint64_t span = uint64_t{1} << 40;
  EXPECT_LT(t, span);
  if (t == 0) return 0;
  uint64_t lo = 0, hi = span, node = 1;
  double w_lo = 0, w_hi = std::sqrt(static_cast<double>(span)) * DocNormal(seed, stream, 0);
  while (t != lo) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const double w_mid = (w_lo + w_hi) / 2 + std::sqrt(static_cast<double>(hi - lo) / 4) *
                                                 DocNormal(seed, stream, node);
    if (t < mid) {
      hi = mid, w_hi = w_mid, node = 2 * node;
    } else {
      lo = mid, w_lo = w_mid, node = 2 * node + 1;
    }
  }
  return w_lo;
}

// Labels of the first `rows` records from the definition, with weight k
// at record i given by `weight(k, i)`.
template <typename WeightOf>
void ExpectHyperplane(const Batch& batch, uint64_t seed, size_t d, double noise, WeightOf weight) {
  for (size_t row = 0; row < batch.num_rows(); ++row) {
    const uint64_t i = row;
    double dot = 0, sum = 0;
    for (size_t j = 0; j < d; ++j) {
      const double x = DocUnit(seed, 1000 + j, i);
      ASSERT_EQ(batch.column(2 + j).GetDouble(row), x);
      dot += weight(j, i) * x;
      sum += weight(j, i);
    }
    int64_t label = dot >= 0.5 * sum ? 1 : 0;
    if (DocUnit(seed, 21, i) < noise) label = 1 - label;
    ASSERT_EQ(batch.column(2 + d).GetInt64(row), label) << i;
  }
}

TEST(LabelledStreamsTest, HyperplaneWithoutDriftIsAFixedHyperplane) {
  const uint64_t seed = 31;
  ExpectHyperplane(ReadFirst(Spec("hyperplane", seed, {{"features", "5"}, {"noise", "0"}}), 3000),
                   seed, 5, 0.0, [&](size_t j, uint64_t) { return DocUnit(seed, 90, j); });
  // Default noise 5%.
  ExpectHyperplane(ReadFirst(Spec("hyperplane", seed, {{"features", "5"}}), 3000), seed, 5, 0.05,
                   [&](size_t j, uint64_t) { return DocUnit(seed, 90, j); });
}

TEST(LabelledStreamsTest, HyperplaneWeightsMoveLinearlyWithoutReversals) {
  const uint64_t seed = 32;
  ExpectHyperplane(ReadFirst(Spec("hyperplane", seed,
                                  {{"features", "4"},
                                   {"drift_features", "2"},
                                   {"magnitude", "0.001"},
                                   {"sigma", "0"},
                                   {"noise", "0"}}),
                             3000),
                   seed, 4, 0.0, [&](size_t j, uint64_t i) {
                     return DocUnit(seed, 90, j) + (j < 2 ? 0.001 * static_cast<double>(i) : 0.0);
                   });
}

TEST(LabelledStreamsTest, HyperplaneWeightsFollowTheDocumentedWalk) {
  const uint64_t seed = 33;
  const double magnitude = 0.01, sigma = 0.1;
  const uint64_t run = 10;  // round(1 / sigma)
  const double scale = std::sqrt(10 * (1 - sigma) / sigma);
  ExpectHyperplane(
      ReadFirst(
          Spec("hyperplane", seed,
               {{"features", "3"}, {"drift_features", "2"}, {"magnitude", "0.01"}, {"noise", "0"}}),
          3000),
      seed, 3, 0.0, [&](size_t j, uint64_t i) {
        double w = DocUnit(seed, 90, j);
        if (j < 2) {
          const uint64_t block = i / run;
          const double f = static_cast<double>(i % run) / static_cast<double>(run);
          const double walk =
              (1 - f) * DocWalk(seed, 2000 + j, block) + f * DocWalk(seed, 2000 + j, block + 1);
          w += magnitude * scale * walk;
        }
        return w;
      });
  // The walk has the variance the documentation promises: Var W(t) = t.
  double sum_sq = 0;
  for (uint64_t s = 0; s < 2000; ++s) sum_sq += std::pow(DocWalk(s, 2000, 1000), 2);
  EXPECT_NEAR(sum_sq / 2000 / 1000, 1.0, 0.1);
}

TEST(LabelledStreamsTest, HyperplaneConceptActuallyRotates) {
  // With drift, the labels of the same points change over time: the label
  // function at record 0 and at record 200k disagree on a sizeable share of
  // points (computed from the walk at both times).
  const uint64_t seed = 34;
  const double scale = std::sqrt(10 * 0.9 / 0.1);
  double w_start[2], w_end[2];
  for (uint64_t k = 0; k < 2; ++k) {
    w_start[k] = DocUnit(seed, 90, k);
    w_end[k] = w_start[k] + 0.001 * scale * DocWalk(seed, 2000 + k, 20000);
  }
  int disagree = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    const double x0 = DocUnit(seed, 1000, i), x1 = DocUnit(seed, 1001, i);
    const bool a = w_start[0] * x0 + w_start[1] * x1 >= 0.5 * (w_start[0] + w_start[1]);
    const bool b = w_end[0] * x0 + w_end[1] * x1 >= 0.5 * (w_end[0] + w_end[1]);
    disagree += a != b;
  }
  EXPECT_GT(disagree, 20);
}

// --- Options ---------------------------------------------------------------

TEST(LabelledStreamsTest, BadOptionsAreRefusedByName) {
  EXPECT_NE(
      Error(Spec("sea", 1, {{"function", "5"}})).find("option 'function' must be between 1 and 4"),
      std::string::npos);
  EXPECT_NE(Error(Spec("agrawal", 1, {{"function", "11"}})).find("between 1 and 10"),
            std::string::npos);
  EXPECT_NE(Error(Spec("sea", 1, {{"drift_every", "10"}, {"drift_at", "5"}}))
                .find("'drift_every' and 'drift_at' exclude each other"),
            std::string::npos);
  EXPECT_NE(Error(Spec("sea", 1, {{"drift_width", "10"}})).find("'drift_width' needs 'drift_at'"),
            std::string::npos);
  EXPECT_NE(Error(Spec("sea", 1, {{"noise", "1.5"}})).find("option 'noise'"), std::string::npos);
  EXPECT_NE(Error(Spec("hyperplane", 1, {{"features", "3"}, {"drift_features", "4"}}))
                .find("'drift_features' (4) must be at most 'features' (3)"),
            std::string::npos);
  EXPECT_NE(Error(Spec("random_rbf", 1, {{"centroid", "5"}})).find("unknown option 'centroid'"),
            std::string::npos);
  EXPECT_NE(Error(Spec("agrawal", 1, {{"perturbation", "x"}})).find("expected a number"),
            std::string::npos);
  EXPECT_NE(Error(Spec("nope", 1)).find("sea, agrawal, random_rbf, hyperplane"), std::string::npos);
}

}  // namespace
}  // namespace eddy
