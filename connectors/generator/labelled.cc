// Labelled numeric streams for the learning operators: regression (a linear
// target), classification (points around class prototypes, with optional
// concept drift and label noise) and clusters (points around k centers).
// The formulas are the data contract documented in docs/generators.md, so a
// test or a user can compute the true weights, prototypes and centers.
//
// Columns are filled one at a time over a chunk of records (features first,
// then the label from them), so the inner loops are branch-free arithmetic
// over contiguous doubles.

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "connectors/generator/generators.h"

namespace eddy::generator {
namespace {

constexpr int64_t kMaxFeatures = 1000;
constexpr int64_t kMaxClasses = 100'000;
constexpr double kMaxSpread = 1e9;

enum class LabelledKind { kRegression, kClassification, kClusters };

// Uniform in [lo, hi) from one hash.
double UniformAt(uint64_t key, uint64_t index, double lo, double hi) {
  return lo + (hi - lo) * ToUnit(HashAt(key, index));
}

struct LabelledParams {
  LabelledKind kind = LabelledKind::kRegression;
  uint64_t seed = 0;
  int64_t features = 4;
  int64_t classes = 2;   // classification: classes; clusters: k
  int64_t drift_at = 0;  // classification: first record of concept 1; 0 = never
  double noise = 0;      // regression: stddev; classification: flipped fraction
  double spread = 0.5;   // classification, clusters: stddev around the prototype
};

// Schema: id, event_time, x0..x{d-1}, label.
class LabelledGenerator final : public RecordGenerator {
 public:
  explicit LabelledGenerator(const LabelledParams& params) : params_(params) {
    const size_t d = static_cast<size_t>(params.features);
    std::vector<Field> fields;
    fields.push_back({"id", TypeId::kInt64, false});
    fields.push_back({"event_time", TypeId::kTimestamp, false});
    for (size_t j = 0; j < d; ++j)
      fields.push_back({"x" + std::to_string(j), TypeId::kDouble, false});
    fields.push_back({"label",
                      params.kind == LabelledKind::kRegression ? TypeId::kDouble : TypeId::kInt64,
                      false});
    schema_ = Schema(std::move(fields));

    for (size_t j = 0; j < d; ++j) feature_keys_.push_back(StreamKey(params.seed, kFeatures + j));
    class_key_ = StreamKey(params.seed, kClass);
    switch (params.kind) {
      case LabelledKind::kRegression: {
        const uint64_t key = StreamKey(params.seed, kWeights);
        for (size_t j = 0; j < d; ++j) weights_.push_back(UniformAt(key, j, -1.0, 1.0));
        bias_ = UniformAt(key, d, -1.0, 1.0);
        noise_key_ = StreamKey(params.seed, kTargetNoise);
        break;
      }
      case LabelledKind::kClassification:
        // Concept 0, then (when drift_at > 0) concept 1 from its own stream.
        for (uint64_t concept_id = 0; concept_id < 2; ++concept_id) {
          const uint64_t key = StreamKey(params.seed, kPrototypes + concept_id);
          std::vector<double>& centers = centers_[concept_id];
          for (size_t idx = 0; idx < static_cast<size_t>(params.classes) * d; ++idx) {
            centers.push_back(UniformAt(key, idx, -1.0, 1.0));
          }
        }
        flip_key_ = StreamKey(params.seed, kLabelFlip);
        other_key_ = StreamKey(params.seed, kLabelOther);
        break;
      case LabelledKind::kClusters: {
        const uint64_t key = StreamKey(params.seed, kCenters);
        for (size_t idx = 0; idx < static_cast<size_t>(params.classes) * d; ++idx) {
          centers_[0].push_back(UniformAt(key, idx, -5.0, 5.0));
        }
        break;
      }
    }
  }

  const Schema& schema() const override { return schema_; }

  void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
            Batch* out) const override {
    const size_t rows = records.rows;
    const size_t d = static_cast<size_t>(params_.features);
    std::span<int64_t> ids = ExtendInt64(&out->column(0), rows);
    for (size_t row = 0; row < rows; ++row) ids[row] = static_cast<int64_t>(records.index(row));
    std::span<int64_t> times = ExtendInt64(&out->column(1), rows);
    std::copy(event_times.begin(), event_times.end(), times.begin());
    Column& label = out->column(2 + d);
    if (params_.kind == LabelledKind::kRegression) {
      FillRegression(records, out, ExtendDouble(&label, rows));
    } else {
      FillAroundCenters(records, out, ExtendInt64(&label, rows));
    }
  }

 private:
  void FillRegression(const RecordSpan& records, Batch* out, std::span<double> labels) const {
    const size_t rows = records.rows;
    std::fill(labels.begin(), labels.end(), 0.0);
    for (size_t j = 0; j < weights_.size(); ++j) {
      std::span<double> x = ExtendDouble(&out->column(2 + j), rows);
      const uint64_t key = feature_keys_[j];
      const double w = weights_[j];
      for (size_t row = 0; row < rows; ++row) {
        x[row] = UniformAt(key, records.index(row), -1.0, 1.0);
        labels[row] += w * x[row];
      }
    }
    for (size_t row = 0; row < rows; ++row) labels[row] += bias_;
    if (params_.noise > 0) {
      for (size_t row = 0; row < rows; ++row) {
        labels[row] += params_.noise * StdNormal(noise_key_, records.index(row));
      }
    }
  }

  // Classification and clusters: the true class goes into `labels` first,
  // the features are drawn around that class's center, then (classification
  // only) a `noise` fraction of labels is moved to another class.
  void FillAroundCenters(const RecordSpan& records, Batch* out, std::span<int64_t> labels) const {
    const size_t rows = records.rows;
    const size_t d = static_cast<size_t>(params_.features);
    const uint64_t classes = static_cast<uint64_t>(params_.classes);
    for (size_t row = 0; row < rows; ++row) {
      labels[row] = static_cast<int64_t>(Below(HashAt(class_key_, records.index(row)), classes));
    }
    const uint64_t drift_at = static_cast<uint64_t>(params_.drift_at);
    for (size_t j = 0; j < d; ++j) {
      std::span<double> x = ExtendDouble(&out->column(2 + j), rows);
      const uint64_t key = feature_keys_[j];
      for (size_t row = 0; row < rows; ++row) {
        const uint64_t index = records.index(row);
        const size_t concept_id = drift_at > 0 && index >= drift_at ? 1 : 0;
        const double center = centers_[concept_id][static_cast<size_t>(labels[row]) * d + j];
        x[row] = center + params_.spread * StdNormal(key, index);
      }
    }
    if (params_.kind == LabelledKind::kClassification && params_.noise > 0) {
      for (size_t row = 0; row < rows; ++row) {
        const uint64_t index = records.index(row);
        if (ToUnit(HashAt(flip_key_, index)) >= params_.noise) continue;
        const uint64_t shift = 1 + Below(HashAt(other_key_, index), classes - 1);
        labels[row] = static_cast<int64_t>((static_cast<uint64_t>(labels[row]) + shift) % classes);
      }
    }
  }

  const LabelledParams params_;
  Schema schema_;
  std::vector<uint64_t> feature_keys_;
  uint64_t class_key_ = 0;
  // Regression.
  std::vector<double> weights_;
  double bias_ = 0;
  uint64_t noise_key_ = 0;
  // Classification: prototypes of concepts 0 and 1; clusters: centers in [0].
  // Row-major: class c, feature j at [c * d + j].
  std::vector<double> centers_[2];
  uint64_t flip_key_ = 0;
  uint64_t other_key_ = 0;
};

}  // namespace

Result<std::unique_ptr<RecordGenerator>> MakeLabelledGenerator(std::string_view kind, uint64_t seed,
                                                               GeneratorOptions* options) {
  LabelledParams params;
  params.seed = seed;
  if (kind == "regression") {
    params.kind = LabelledKind::kRegression;
    EDDY_ASSIGN_OR_RETURN(params.features, options->Int("features", 4, 1, kMaxFeatures));
    EDDY_ASSIGN_OR_RETURN(params.noise, options->Double("noise", 0.1, 0.0, kMaxSpread));
  } else if (kind == "classification") {
    params.kind = LabelledKind::kClassification;
    EDDY_ASSIGN_OR_RETURN(params.features, options->Int("features", 4, 1, kMaxFeatures));
    EDDY_ASSIGN_OR_RETURN(params.classes, options->Int("classes", 2, 2, kMaxClasses));
    EDDY_ASSIGN_OR_RETURN(params.drift_at,
                          options->Int("drift_at", 0, 0, std::numeric_limits<int64_t>::max()));
    EDDY_ASSIGN_OR_RETURN(params.noise, options->Double("noise", 0.0, 0.0, 1.0));
    EDDY_ASSIGN_OR_RETURN(params.spread, options->Double("spread", 0.5, 0.0, kMaxSpread));
  } else {
    params.kind = LabelledKind::kClusters;
    EDDY_ASSIGN_OR_RETURN(params.features, options->Int("features", 2, 1, kMaxFeatures));
    EDDY_ASSIGN_OR_RETURN(params.classes, options->Int("k", 3, 1, kMaxClasses));
    EDDY_ASSIGN_OR_RETURN(params.spread, options->Double("spread", 0.5, 0.0, kMaxSpread));
  }
  if (params.classes * params.features > 10'000'000) {
    return Status::InvalidArgument("options: classes * features must be at most 10000000");
  }
  return std::unique_ptr<RecordGenerator>(std::make_unique<LabelledGenerator>(params));
}

}  // namespace eddy::generator
