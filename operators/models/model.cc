#include "operators/models/model.h"

#include <cstdio>
#include <string>

#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"
#include "runtime/core/json_string.h"

namespace eddy::learn {

Result<std::unique_ptr<Model>> Model::Restore(const pb::ModelSnapshot& snapshot) {
  switch (snapshot.model_case()) {
    case pb::ModelSnapshot::kLinear:
      return RestoreLinearModel(snapshot.linear(), snapshot.version());
    case pb::ModelSnapshot::kKmeans:
      return RestoreStreamingKMeans(snapshot.kmeans(), snapshot.version());
    case pb::ModelSnapshot::kTreeClassifier:
      return RestoreHoeffdingTreeClassifier(snapshot.tree_classifier(), snapshot.version());
    case pb::ModelSnapshot::kTreeRegressor:
      return RestoreHoeffdingTreeRegressor(snapshot.tree_regressor(), snapshot.version());
    case pb::ModelSnapshot::kForest:
      return RestoreAdaptiveRandomForest(snapshot.forest(), snapshot.version());
    case pb::ModelSnapshot::kLeveragingBagging:
      return RestoreLeveragingBagging(snapshot.leveraging_bagging(), snapshot.version());
    case pb::ModelSnapshot::kMlp:
      return RestoreMlp(snapshot.mlp(), snapshot.version());
    case pb::ModelSnapshot::MODEL_NOT_SET:
      break;
  }
  return Status::Corruption("model snapshot holds no model");
}

void CounterRng::Save(pb::Rng* out) const {
  out->set_seed(seed_);
  out->set_counter(counter_);
}

void CounterRng::Load(const pb::Rng& in) {
  seed_ = in.seed();
  counter_ = in.counter();
}

Status ValidatePredictInput(const FeatureMatrix& x, int num_features) {
  if (x.cols() != num_features) {
    return Status::InvalidArgument("model expects " + std::to_string(num_features) +
                                   " features, got " + std::to_string(x.cols()));
  }
  return Status::OK();
}

Status ValidateLearnInput(const FeatureMatrix& x, std::span<const double> y,
                          const std::vector<uint8_t>* mask, int num_features, int num_classes,
                          bool needs_labels) {
  EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features));
  const auto rows = static_cast<size_t>(x.rows());
  if (needs_labels && y.size() != rows) {
    return Status::InvalidArgument("got " + std::to_string(y.size()) + " labels for " +
                                   std::to_string(rows) + " rows");
  }
  if (mask != nullptr && mask->size() != rows) {
    return Status::InvalidArgument("mask has " + std::to_string(mask->size()) + " entries for " +
                                   std::to_string(rows) + " rows");
  }
  for (Eigen::Index row = 0; row < x.rows(); ++row) {
    if (!RowSelected(mask, row)) continue;
    if (!x.row(row).allFinite()) {
      return Status::InvalidArgument("row " + std::to_string(row) + " has a non-finite feature");
    }
    if (!needs_labels) continue;
    const double label = y[row];
    if (!std::isfinite(label)) {
      return Status::InvalidArgument("row " + std::to_string(row) + " has a non-finite label");
    }
    if (num_classes > 0 && (label < 0 || label >= num_classes ||
                            label != static_cast<double>(static_cast<int>(label)))) {
      return Status::InvalidArgument("row " + std::to_string(row) + " has label " +
                                     std::to_string(label) + ", expected a class in [0, " +
                                     std::to_string(num_classes) + ")");
    }
  }
  return Status::OK();
}

void JsonWriter::Key(std::string_view key) {
  Separate();
  WriteQuoted(key);
  out_ += ':';
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  Separate();
  WriteQuoted(value);
}

void JsonWriter::WriteQuoted(std::string_view value) { AppendJsonString(value, &out_); }

void JsonWriter::Double(double value) {
  Separate();
  if (!std::isfinite(value)) {
    out_ += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  out_ += buf;
}

void JsonWriter::Int(int64_t value) {
  Separate();
  out_ += std::to_string(value);
}

void JsonWriter::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
}

void JsonWriter::DoubleArray(std::span<const double> values) {
  BeginArray();
  for (double value : values) Double(value);
  EndArray();
}

}  // namespace eddy::learn
