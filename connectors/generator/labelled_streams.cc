// The published benchmark streams of online learning, as MOA and River
// define them, on the counter-based hash of generators.h:
//
//  * sea: SEA concepts (Street & Kim 2001), x0 + x1 against a threshold;
//  * agrawal: the ten loan functions of Agrawal et al. (1993);
//  * random_rbf: random radial basis functions (MOA's RandomRBFGenerator and
//    RandomRBFGeneratorDrift);
//  * hyperplane: the rotating hyperplane (Hulten et al. 2001).
//
// MOA's generators keep a sequential RNG and mutable state (moving
// centroids, drifting weights); here every value of record i is a pure
// function of (seed, kind, options, i), so drift is written as a closed form
// of i: reflected linear motion for RBF centroids, a Brownian walk built
// top-down (Levy's construction) for hyperplane weights. docs/generators.md
// gives each formula; it is the data contract the tests check.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "connectors/generator/generators.h"

namespace eddy::generator {
namespace {

constexpr int64_t kMaxFeatures = 1000;
constexpr int64_t kMaxClasses = 100'000;
constexpr int64_t kMaxIndex = std::numeric_limits<int64_t>::max();
constexpr double kMaxMagnitude = 1e9;

double Unit(uint64_t key, uint64_t index) { return ToUnit(HashAt(key, index)); }

// Which concept (classification function, 1-based) record i follows.
// Exactly one of: a fixed function; a cycle through all functions every
// `every` records; a switch to `to` at record `at` (abrupt, or gradual over
// `width` records with MOA ConceptDriftStream's sigmoid).
struct ConceptSchedule {
  int64_t first = 1;
  int64_t functions = 1;
  int64_t every = 0;
  int64_t at = 0;
  int64_t to = 1;
  double width = 0;
  uint64_t choice_key = 0;

  int64_t At(uint64_t index) const {
    if (every > 0) {
      return static_cast<int64_t>((static_cast<uint64_t>(first - 1) + index / every) %
                                  static_cast<uint64_t>(functions)) +
             1;
    }
    if (at <= 0) return first;
    if (width <= 0) return index >= static_cast<uint64_t>(at) ? to : first;
    const double x = -4.0 * (static_cast<double>(index) - static_cast<double>(at)) / width;
    const double p_new = 1.0 / (1.0 + std::exp(x));
    return Unit(choice_key, index) < p_new ? to : first;
  }
};

Result<ConceptSchedule> ParseSchedule(uint64_t seed, int64_t functions, int64_t default_function,
                                      GeneratorOptions* options) {
  ConceptSchedule schedule;
  schedule.functions = functions;
  schedule.choice_key = StreamKey(seed, kDriftChoice);
  EDDY_ASSIGN_OR_RETURN(schedule.first, options->Int("function", default_function, 1, functions));
  EDDY_ASSIGN_OR_RETURN(schedule.every, options->Int("drift_every", 0, 0, kMaxIndex));
  EDDY_ASSIGN_OR_RETURN(schedule.at, options->Int("drift_at", 0, 0, kMaxIndex));
  // Default target: the next function, wrapping.
  EDDY_ASSIGN_OR_RETURN(schedule.to,
                        options->Int("drift_to", schedule.first % functions + 1, 1, functions));
  EDDY_ASSIGN_OR_RETURN(schedule.width, options->Double("drift_width", 0, 0, 1e18));
  if (schedule.every > 0 && schedule.at > 0) {
    return Status::InvalidArgument(
        "options 'drift_every' and 'drift_at' exclude each other (a cycle through all functions, "
        "or one switch)");
  }
  if (schedule.width > 0 && schedule.at == 0) {
    return Status::InvalidArgument("option 'drift_width' needs 'drift_at'");
  }
  return schedule;
}

// Every kind starts with id (the record index) and event_time.
void AppendIdAndTime(std::vector<Field>* fields) {
  fields->push_back({"id", TypeId::kInt64, false});
  fields->push_back({"event_time", TypeId::kTimestamp, false});
}

void FillIdAndTime(const RecordSpan& records, std::span<const TimestampMicros> event_times,
                   Batch* out) {
  std::span<int64_t> ids = ExtendInt64(&out->column(0), records.rows);
  for (size_t row = 0; row < records.rows; ++row) {
    ids[row] = static_cast<int64_t>(records.index(row));
  }
  std::span<int64_t> times = ExtendInt64(&out->column(1), records.rows);
  std::copy(event_times.begin(), event_times.end(), times.begin());
}

// ---------------------------------------------------------------------------
// SEA concepts.

constexpr double kSeaThresholds[4] = {8.0, 9.0, 7.0, 9.5};

// Columns: id, event_time, x0, x1, x2 (uniform in [0, 10)), label
// (1 when x0 + x1 > theta of the record's function, as MOA and River; then
// flipped with probability `noise`).
class SeaGenerator final : public RecordGenerator {
 public:
  SeaGenerator(uint64_t seed, ConceptSchedule schedule, double noise)
      : schedule_(schedule), noise_(noise), flip_key_(StreamKey(seed, kLabelFlip)) {
    std::vector<Field> fields;
    AppendIdAndTime(&fields);
    for (int j = 0; j < 3; ++j) {
      fields.push_back({"x" + std::to_string(j), TypeId::kDouble, false});
      feature_keys_[j] = StreamKey(seed, kFeatures + j);
    }
    fields.push_back({"label", TypeId::kInt64, false});
    schema_ = Schema(std::move(fields));
  }

  const Schema& schema() const override { return schema_; }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    FillIdAndTime(records, event_times, out);
    std::span<double> x[3];
    for (size_t j = 0; j < 3; ++j) {
      x[j] = ExtendDouble(&out->column(2 + j), rows);
      for (size_t row = 0; row < rows; ++row) {
        x[j][row] = 10.0 * Unit(feature_keys_[j], records.index(row));
      }
    }
    std::span<int64_t> labels = ExtendInt64(&out->column(5), rows);
    for (size_t row = 0; row < rows; ++row) {
      const uint64_t index = records.index(row);
      const double theta = kSeaThresholds[schedule_.At(index) - 1];
      int64_t label = x[0][row] + x[1][row] > theta ? 1 : 0;
      if (noise_ > 0 && Unit(flip_key_, index) < noise_) label = 1 - label;
      labels[row] = label;
    }
  }

 private:
  const ConceptSchedule schedule_;
  const double noise_;
  const uint64_t flip_key_;
  uint64_t feature_keys_[3] = {};
  Schema schema_;
};

// ---------------------------------------------------------------------------
// Agrawal.

struct AgrawalRecord {
  double salary = 0;
  double commission = 0;
  int64_t age = 0;
  int64_t elevel = 0;
  int64_t car = 0;
  int64_t zipcode = 0;
  double hvalue = 0;
  int64_t hyears = 0;
  double loan = 0;
};

bool Between(double value, double lo, double hi) { return lo <= value && value <= hi; }

// Agrawal et al.'s functions 1-10, with MOA's class numbering: 0 is
// "group A" (the condition holds), 1 is "group B".
int64_t AgrawalClass(int64_t function, const AgrawalRecord& r) {
  const bool young = r.age < 40;
  const bool middle = !young && r.age < 60;
  switch (function) {
    case 1:
      return r.age < 40 || 60 <= r.age ? 0 : 1;
    case 2:
      if (young) return Between(r.salary, 50000, 100000) ? 0 : 1;
      if (middle) return Between(r.salary, 75000, 125000) ? 0 : 1;
      return Between(r.salary, 25000, 75000) ? 0 : 1;
    case 3:
      if (young) return r.elevel == 0 || r.elevel == 1 ? 0 : 1;
      if (middle) return r.elevel >= 1 && r.elevel <= 3 ? 0 : 1;
      return r.elevel >= 2 && r.elevel <= 4 ? 0 : 1;
    case 4:
      if (young) {
        if (r.elevel == 0 || r.elevel == 1) return Between(r.salary, 25000, 75000) ? 0 : 1;
        return Between(r.salary, 50000, 100000) ? 0 : 1;
      }
      if (middle) {
        if (r.elevel >= 1 && r.elevel <= 3) return Between(r.salary, 50000, 100000) ? 0 : 1;
        return Between(r.salary, 75000, 125000) ? 0 : 1;
      }
      if (r.elevel >= 2 && r.elevel <= 4) return Between(r.salary, 50000, 100000) ? 0 : 1;
      return Between(r.salary, 25000, 75000) ? 0 : 1;
    case 5:
      if (young) {
        if (Between(r.salary, 50000, 100000)) return Between(r.loan, 100000, 300000) ? 0 : 1;
        return Between(r.loan, 200000, 400000) ? 0 : 1;
      }
      if (middle) {
        if (Between(r.salary, 75000, 125000)) return Between(r.loan, 200000, 400000) ? 0 : 1;
        return Between(r.loan, 300000, 500000) ? 0 : 1;
      }
      if (Between(r.salary, 25000, 75000)) return Between(r.loan, 300000, 500000) ? 0 : 1;
      return Between(r.loan, 100000, 300000) ? 0 : 1;
    case 6: {
      const double total = r.salary + r.commission;
      if (young) return Between(total, 50000, 100000) ? 0 : 1;
      if (middle) return Between(total, 75000, 125000) ? 0 : 1;
      return Between(total, 25000, 75000) ? 0 : 1;
    }
    case 7: {
      const double disposable = 2.0 * (r.salary + r.commission) / 3.0 - r.loan / 5.0 - 20000.0;
      return disposable > 0 ? 0 : 1;
    }
    case 8: {
      const double disposable =
          2.0 * (r.salary + r.commission) / 3.0 - 5000.0 * static_cast<double>(r.elevel) - 20000.0;
      return disposable > 0 ? 0 : 1;
    }
    case 9: {
      const double disposable = 2.0 * (r.salary + r.commission) / 3.0 -
                                5000.0 * static_cast<double>(r.elevel) - r.loan / 5.0 - 10000.0;
      return disposable > 0 ? 0 : 1;
    }
    default: {  // 10
      const double equity =
          r.hyears >= 20 ? r.hvalue * (static_cast<double>(r.hyears) - 20.0) / 10.0 : 0.0;
      const double disposable = 2.0 * (r.salary + r.commission) / 3.0 -
                                5000.0 * static_cast<double>(r.elevel) + equity / 5.0 - 10000.0;
      return disposable > 0 ? 0 : 1;
    }
  }
}

// MOA's perturbValue: v + range * (2u - 1) * p, clamped to [lo, hi].
double Perturb(double value, double range, double lo, double hi, double u, double fraction) {
  value += range * (2.0 * (u - 0.5)) * fraction;
  return std::clamp(value, lo, hi);
}

// Java's Math.round for the non-negative values here.
int64_t JavaRound(double value) { return static_cast<int64_t>(std::floor(value + 0.5)); }

// Columns: id, event_time, salary, commission, age, elevel, car, zipcode,
// hvalue, hyears, loan, label.
class AgrawalGenerator final : public RecordGenerator {
 public:
  AgrawalGenerator(uint64_t seed, ConceptSchedule schedule, double perturbation)
      : schedule_(schedule), perturbation_(perturbation) {
    std::vector<Field> fields;
    AppendIdAndTime(&fields);
    fields.push_back({"salary", TypeId::kDouble, false});
    fields.push_back({"commission", TypeId::kDouble, false});
    fields.push_back({"age", TypeId::kInt64, false});
    fields.push_back({"elevel", TypeId::kInt64, false});
    fields.push_back({"car", TypeId::kInt64, false});
    fields.push_back({"zipcode", TypeId::kInt64, false});
    fields.push_back({"hvalue", TypeId::kDouble, false});
    fields.push_back({"hyears", TypeId::kInt64, false});
    fields.push_back({"loan", TypeId::kDouble, false});
    fields.push_back({"label", TypeId::kInt64, false});
    schema_ = Schema(std::move(fields));
    for (uint64_t k = 0; k < 9; ++k) {
      attribute_keys_[k] = StreamKey(seed, kAgrawalSalary + k);
      perturb_keys_[k] = StreamKey(seed, kAgrawalPerturb + k);
    }
  }

  const Schema& schema() const override { return schema_; }

  // The record before perturbation, whose attributes decide the label.
  AgrawalRecord Draw(uint64_t index) const {
    AgrawalRecord r;
    r.salary = 20000.0 + 130000.0 * Unit(attribute_keys_[0], index);
    r.commission = r.salary >= 75000.0 ? 0.0 : 10000.0 + 65000.0 * Unit(attribute_keys_[1], index);
    r.age = 20 + static_cast<int64_t>(Below(HashAt(attribute_keys_[2], index), 61));
    r.elevel = static_cast<int64_t>(Below(HashAt(attribute_keys_[3], index), 5));
    r.car = static_cast<int64_t>(Below(HashAt(attribute_keys_[4], index), 20));
    r.zipcode = static_cast<int64_t>(Below(HashAt(attribute_keys_[5], index), 9));
    r.hvalue =
        (9.0 - static_cast<double>(r.zipcode)) * 100000.0 * (0.5 + Unit(attribute_keys_[6], index));
    r.hyears = 1 + static_cast<int64_t>(Below(HashAt(attribute_keys_[7], index), 30));
    r.loan = 500000.0 * Unit(attribute_keys_[8], index);
    return r;
  }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    FillIdAndTime(records, event_times, out);
    std::span<double> salary = ExtendDouble(&out->column(2), rows);
    std::span<double> commission = ExtendDouble(&out->column(3), rows);
    std::span<int64_t> age = ExtendInt64(&out->column(4), rows);
    std::span<int64_t> elevel = ExtendInt64(&out->column(5), rows);
    std::span<int64_t> car = ExtendInt64(&out->column(6), rows);
    std::span<int64_t> zipcode = ExtendInt64(&out->column(7), rows);
    std::span<double> hvalue = ExtendDouble(&out->column(8), rows);
    std::span<int64_t> hyears = ExtendInt64(&out->column(9), rows);
    std::span<double> loan = ExtendDouble(&out->column(10), rows);
    std::span<int64_t> labels = ExtendInt64(&out->column(11), rows);
    const double p = perturbation_;
    for (size_t row = 0; row < rows; ++row) {
      const uint64_t index = records.index(row);
      AgrawalRecord r = Draw(index);
      labels[row] = AgrawalClass(schedule_.At(index), r);
      if (p > 0) {
        // MOA's perturbation, including its clamp of hvalue to [0, 135000].
        const auto u = [&](int k) { return Unit(perturb_keys_[k], index); };
        r.salary = Perturb(r.salary, 130000.0, 20000.0, 150000.0, u(0), p);
        if (r.commission > 0)
          r.commission = Perturb(r.commission, 65000.0, 10000.0, 75000.0, u(1), p);
        r.age = JavaRound(Perturb(static_cast<double>(r.age), 60.0, 20.0, 80.0, u(2), p));
        r.hvalue = Perturb(r.hvalue, (9.0 - static_cast<double>(r.zipcode)) * 100000.0, 0.0,
                           135000.0, u(6), p);
        r.hyears = JavaRound(Perturb(static_cast<double>(r.hyears), 29.0, 1.0, 30.0, u(7), p));
        r.loan = Perturb(r.loan, 500000.0, 0.0, 500000.0, u(8), p);
      }
      salary[row] = r.salary;
      commission[row] = r.commission;
      age[row] = r.age;
      elevel[row] = r.elevel;
      car[row] = r.car;
      zipcode[row] = r.zipcode;
      hvalue[row] = r.hvalue;
      hyears[row] = r.hyears;
      loan[row] = r.loan;
    }
  }

 private:
  const ConceptSchedule schedule_;
  const double perturbation_;
  uint64_t attribute_keys_[9] = {};
  uint64_t perturb_keys_[9] = {};
  Schema schema_;
};

// ---------------------------------------------------------------------------
// Random RBF.

struct RbfParams {
  int64_t features = 10;
  int64_t classes = 2;
  int64_t centroids = 50;
  double speed = 0;
  int64_t drift_centroids = 0;
};

// Folds t >= 0 back into [0, 1] as a point bouncing between the walls would:
// a triangle wave of period 2.
double Reflect(double t) {
  const double m = std::fmod(t, 2.0);
  return m > 1.0 ? 2.0 - m : m;
}

// Columns: id, event_time, x0..x{d-1}, label.
class RandomRbfGenerator final : public RecordGenerator {
 public:
  RandomRbfGenerator(uint64_t seed, uint64_t model_seed, const RbfParams& params)
      : params_(params) {
    const size_t d = static_cast<size_t>(params.features);
    const size_t n = static_cast<size_t>(params.centroids);
    std::vector<Field> fields;
    AppendIdAndTime(&fields);
    for (size_t j = 0; j < d; ++j) {
      fields.push_back({"x" + std::to_string(j), TypeId::kDouble, false});
      feature_keys_.push_back(StreamKey(seed, kFeatures + j));
    }
    fields.push_back({"label", TypeId::kInt64, false});
    schema_ = Schema(std::move(fields));

    const uint64_t centre_key = StreamKey(model_seed, kRbfCentre);
    const uint64_t class_key = StreamKey(model_seed, kRbfClass);
    const uint64_t stddev_key = StreamKey(model_seed, kRbfStdDev);
    const uint64_t weight_key = StreamKey(model_seed, kRbfWeight);
    const uint64_t direction_key = StreamKey(model_seed, kRbfDirection);
    centres_.resize(n * d);
    directions_.resize(n * d);
    double total = 0;
    for (size_t c = 0; c < n; ++c) {
      double norm = 0;
      for (size_t j = 0; j < d; ++j) {
        centres_[c * d + j] = Unit(centre_key, c * d + j);
        directions_[c * d + j] = Unit(direction_key, c * d + j);
        norm += directions_[c * d + j] * directions_[c * d + j];
      }
      norm = std::sqrt(norm);
      for (size_t j = 0; j < d; ++j) {
        directions_[c * d + j] = norm > 0 ? directions_[c * d + j] / norm : 0.0;
      }
      classes_.push_back(
          static_cast<int64_t>(Below(HashAt(class_key, c), static_cast<uint64_t>(params.classes))));
      stddevs_.push_back(Unit(stddev_key, c));
      total += Unit(weight_key, c);
      cumulative_weights_.push_back(total);
    }
    choice_key_ = StreamKey(seed, kRbfChoice);
    magnitude_key_ = StreamKey(seed, kRbfMagnitude);
  }

  const Schema& schema() const override { return schema_; }

  // Centroid c's centre in feature j at record `index`.
  double Centre(size_t c, size_t j, uint64_t index) const {
    const size_t d = static_cast<size_t>(params_.features);
    const double start = centres_[c * d + j];
    if (params_.speed <= 0 || c >= static_cast<size_t>(params_.drift_centroids)) return start;
    return Reflect(start + params_.speed * static_cast<double>(index) * directions_[c * d + j]);
  }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    const size_t d = static_cast<size_t>(params_.features);
    FillIdAndTime(records, event_times, out);
    // MOA's chooseRandomIndexBasedOnWeights: the first centroid whose
    // cumulative weight exceeds u * total.
    std::vector<size_t> chosen(rows);
    std::span<int64_t> labels = ExtendInt64(&out->column(2 + d), rows);
    const double total = cumulative_weights_.back();
    for (size_t row = 0; row < rows; ++row) {
      const double target = Unit(choice_key_, records.index(row)) * total;
      const size_t c = static_cast<size_t>(
          std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), target) -
          cumulative_weights_.begin());
      chosen[row] = std::min(c, cumulative_weights_.size() - 1);
      labels[row] = classes_[chosen[row]];
    }
    // A direction uniform in [-1, 1)^d, scaled to length N(0, 1) * stddev.
    std::vector<double> squared_norm(rows, 0.0);
    std::vector<std::span<double>> x(d);
    for (size_t j = 0; j < d; ++j) {
      x[j] = ExtendDouble(&out->column(2 + j), rows);
      for (size_t row = 0; row < rows; ++row) {
        x[j][row] = 2.0 * Unit(feature_keys_[j], records.index(row)) - 1.0;
        squared_norm[row] += x[j][row] * x[j][row];
      }
    }
    std::vector<double> scale(rows);
    for (size_t row = 0; row < rows; ++row) {
      const double norm = std::sqrt(squared_norm[row]);
      scale[row] =
          norm > 0 ? StdNormal(magnitude_key_, records.index(row)) * stddevs_[chosen[row]] / norm
                   : 0.0;
    }
    for (size_t j = 0; j < d; ++j) {
      for (size_t row = 0; row < rows; ++row) {
        x[j][row] = Centre(chosen[row], j, records.index(row)) + x[j][row] * scale[row];
      }
    }
  }

 private:
  const RbfParams params_;
  Schema schema_;
  std::vector<uint64_t> feature_keys_;
  // Row-major: centroid c, feature j at [c * d + j].
  std::vector<double> centres_;
  std::vector<double> directions_;  // unit vectors
  std::vector<int64_t> classes_;
  std::vector<double> stddevs_;
  std::vector<double> cumulative_weights_;
  uint64_t choice_key_ = 0;
  uint64_t magnitude_key_ = 0;
};

// ---------------------------------------------------------------------------
// Rotating hyperplane.

// Brownian motion W(t) at integer t, W(0) = 0, Var W(t) = t, built top-down
// (Levy's midpoint construction) so any t costs at most kWalkLevels draws:
// over each segment of 2^kWalkLevels steps the end point is N(0, 2^L) and
// each midpoint is the mean of its interval's ends plus N(0, length / 4).
// Draw of node n (n = 0: the segment's end; heap numbering from 1 for the
// midpoints) of segment s: N(key, s * 2^42 + n).
constexpr int kWalkLevels = 40;

double WalkAt(uint64_t key, uint64_t t) {
  constexpr uint64_t kSpan = uint64_t{1} << kWalkLevels;
  const uint64_t segment = t >> kWalkLevels;
  const uint64_t rest = t & (kSpan - 1);
  const double end_stddev = std::sqrt(static_cast<double>(kSpan));
  double base = 0;
  for (uint64_t s = 0; s < segment; ++s) base += end_stddev * StdNormal(key, s << 42);
  if (rest == 0) return base;
  uint64_t lo = 0;
  uint64_t hi = kSpan;
  double w_lo = 0;
  double w_hi = end_stddev * StdNormal(key, segment << 42);
  uint64_t node = 1;
  while (rest != lo) {
    const uint64_t mid = lo + (hi - lo) / 2;
    const double w_mid = 0.5 * (w_lo + w_hi) + std::sqrt(static_cast<double>(hi - lo) / 4.0) *
                                                   StdNormal(key, (segment << 42) | node);
    if (rest < mid) {
      hi = mid;
      w_hi = w_mid;
      node = 2 * node;
    } else {
      lo = mid;
      w_lo = w_mid;
      node = 2 * node + 1;
    }
  }
  return base + w_lo;
}

struct HyperplaneParams {
  int64_t features = 10;
  int64_t drift_features = 2;
  double magnitude = 0;
  double sigma = 0.1;
  double noise = 0.05;
};

// Columns: id, event_time, x0..x{d-1} (uniform in [0, 1)), label
// (1 when sum w_j x_j >= sum w_j / 2, flipped with probability `noise`).
class HyperplaneGenerator final : public RecordGenerator {
 public:
  HyperplaneGenerator(uint64_t seed, const HyperplaneParams& params) : params_(params) {
    const size_t d = static_cast<size_t>(params.features);
    std::vector<Field> fields;
    AppendIdAndTime(&fields);
    const uint64_t weight_key = StreamKey(seed, kHyperplaneWeights);
    for (size_t j = 0; j < d; ++j) {
      fields.push_back({"x" + std::to_string(j), TypeId::kDouble, false});
      feature_keys_.push_back(StreamKey(seed, kFeatures + j));
      initial_weights_.push_back(Unit(weight_key, j));
    }
    for (int64_t k = 0; k < params.drift_features; ++k) {
      walk_keys_.push_back(StreamKey(seed, kHyperplaneWalk + static_cast<uint64_t>(k)));
    }
    fields.push_back({"label", TypeId::kInt64, false});
    schema_ = Schema(std::move(fields));
    flip_key_ = StreamKey(seed, kLabelFlip);
    if (params.sigma > 0) {
      // Floored so that a tiny sigma gives a very long but finite run and a
      // finite scale.
      const double sigma = std::max(params.sigma, 1e-15);
      run_length_ = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(1.0 / sigma)));
      walk_scale_ = std::sqrt(static_cast<double>(run_length_) * (1.0 - sigma) / sigma);
    }
  }

  const Schema& schema() const override { return schema_; }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    const size_t d = static_cast<size_t>(params_.features);
    const size_t drifting = walk_keys_.size();
    FillIdAndTime(records, event_times, out);
    // dot = sum_j w_j x_j and the weights' sum, per row.
    std::vector<double> dot(rows, 0.0);
    std::vector<double> weight_sum(rows, 0.0);
    std::vector<double> weight(rows);
    for (size_t j = 0; j < d; ++j) {
      std::span<double> x = ExtendDouble(&out->column(2 + j), rows);
      for (size_t row = 0; row < rows; ++row) x[row] = Unit(feature_keys_[j], records.index(row));
      if (j < drifting && params_.magnitude > 0) {
        Weights(j, records, weight);
      } else {
        std::fill(weight.begin(), weight.end(), initial_weights_[j]);
      }
      for (size_t row = 0; row < rows; ++row) {
        dot[row] += weight[row] * x[row];
        weight_sum[row] += weight[row];
      }
    }
    std::span<int64_t> labels = ExtendInt64(&out->column(2 + d), rows);
    for (size_t row = 0; row < rows; ++row) {
      int64_t label = dot[row] >= 0.5 * weight_sum[row] ? 1 : 0;
      if (params_.noise > 0 && Unit(flip_key_, records.index(row)) < params_.noise) {
        label = 1 - label;
      }
      labels[row] = label;
    }
  }

 private:
  // w_k(i) = w_k(0) + magnitude * D_k(i): D_k(i) = i without reversals
  // (sigma 0); otherwise the Brownian walk at block b = i / L (L = round(1 /
  // sigma), MOA's mean run length between reversals) scaled to the variance
  // of MOA's persistent walk, linear between block ends.
  void Weights(size_t k, const RecordSpan& records, std::vector<double>& out) const {
    const double start = initial_weights_[k];
    if (params_.sigma <= 0) {
      for (size_t row = 0; row < records.rows; ++row) {
        out[row] = start + params_.magnitude * static_cast<double>(records.index(row));
      }
      return;
    }
    const uint64_t key = walk_keys_[k];
    bool cached = false;
    uint64_t cached_block = 0;
    double w_block = 0;
    double w_next = 0;
    for (size_t row = 0; row < records.rows; ++row) {
      const uint64_t index = records.index(row);
      const uint64_t block = index / run_length_;
      if (!cached || block != cached_block) {
        w_block = cached && block == cached_block + 1 ? w_next : WalkAt(key, block);
        cached = true;
        w_next = WalkAt(key, block + 1);
        cached_block = block;
      }
      const double fraction =
          static_cast<double>(index - block * run_length_) / static_cast<double>(run_length_);
      const double walk = (1.0 - fraction) * w_block + fraction * w_next;
      out[row] = start + params_.magnitude * walk_scale_ * walk;
    }
  }

  const HyperplaneParams params_;
  Schema schema_;
  std::vector<uint64_t> feature_keys_;
  std::vector<double> initial_weights_;
  std::vector<uint64_t> walk_keys_;
  uint64_t flip_key_ = 0;
  uint64_t run_length_ = 1;
  double walk_scale_ = 0;
};

}  // namespace

bool IsLabelledStreamKind(std::string_view kind) {
  return kind == "sea" || kind == "agrawal" || kind == "random_rbf" || kind == "hyperplane";
}

Result<std::unique_ptr<RecordGenerator>> MakeLabelledStreamGenerator(std::string_view kind,
                                                                     uint64_t seed,
                                                                     GeneratorOptions* options) {
  if (kind == "sea") {
    EDDY_ASSIGN_OR_RETURN(ConceptSchedule schedule, ParseSchedule(seed, 4, 1, options));
    EDDY_ASSIGN_OR_RETURN(double noise, options->Double("noise", 0.1, 0.0, 1.0));
    return std::unique_ptr<RecordGenerator>(std::make_unique<SeaGenerator>(seed, schedule, noise));
  }
  if (kind == "agrawal") {
    EDDY_ASSIGN_OR_RETURN(ConceptSchedule schedule, ParseSchedule(seed, 10, 1, options));
    EDDY_ASSIGN_OR_RETURN(double perturbation, options->Double("perturbation", 0.05, 0.0, 1.0));
    return std::unique_ptr<RecordGenerator>(
        std::make_unique<AgrawalGenerator>(seed, schedule, perturbation));
  }
  if (kind == "random_rbf") {
    RbfParams params;
    EDDY_ASSIGN_OR_RETURN(params.features, options->Int("features", 10, 1, kMaxFeatures));
    EDDY_ASSIGN_OR_RETURN(params.classes, options->Int("classes", 2, 2, kMaxClasses));
    EDDY_ASSIGN_OR_RETURN(params.centroids, options->Int("centroids", 50, 1, kMaxClasses));
    EDDY_ASSIGN_OR_RETURN(params.speed, options->Double("speed", 0.0, 0.0, kMaxMagnitude));
    // -1: every centroid moves (MOA's default of 50 of 50).
    EDDY_ASSIGN_OR_RETURN(params.drift_centroids,
                          options->Int("drift_centroids", -1, 0, kMaxClasses));
    if (params.drift_centroids < 0) params.drift_centroids = params.centroids;
    // -1: the model comes from `seed`.
    EDDY_ASSIGN_OR_RETURN(int64_t model_seed, options->Int("model_seed", -1, 0, kMaxIndex));
    if (params.centroids * params.features > 10'000'000) {
      return Status::InvalidArgument("options: centroids * features must be at most 10000000");
    }
    return std::unique_ptr<RecordGenerator>(std::make_unique<RandomRbfGenerator>(
        seed, model_seed < 0 ? seed : static_cast<uint64_t>(model_seed), params));
  }
  HyperplaneParams params;
  EDDY_ASSIGN_OR_RETURN(params.features, options->Int("features", 10, 1, kMaxFeatures));
  EDDY_ASSIGN_OR_RETURN(params.drift_features, options->Int("drift_features", 2, 0, kMaxFeatures));
  EDDY_ASSIGN_OR_RETURN(params.magnitude, options->Double("magnitude", 0.0, 0.0, kMaxMagnitude));
  EDDY_ASSIGN_OR_RETURN(params.sigma, options->Double("sigma", 0.1, 0.0, 1.0));
  EDDY_ASSIGN_OR_RETURN(params.noise, options->Double("noise", 0.05, 0.0, 1.0));
  if (params.drift_features > params.features) {
    return Status::InvalidArgument(
        "option 'drift_features' (" + std::to_string(params.drift_features) +
        ") must be at most 'features' (" + std::to_string(params.features) + ")");
  }
  return std::unique_ptr<RecordGenerator>(std::make_unique<HyperplaneGenerator>(seed, params));
}

}  // namespace eddy::generator
