#include "operators/models/features.h"

#include <algorithm>
#include <cmath>

#include "operators/models/model.pb.h"

namespace eddy::learn {

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  return hash;
}

Result<std::unique_ptr<FeatureEncoder>> FeatureEncoder::Make(const Schema& schema,
                                                             const FeatureOptions& options) {
  if (options.columns.empty()) return Status::InvalidArgument("no feature columns");
  if (options.max_categories < 1) return Status::InvalidArgument("max_categories must be >= 1");
  if (options.hash_dimension < 1) return Status::InvalidArgument("hash_dimension must be >= 1");
  std::unique_ptr<FeatureEncoder> encoder(new FeatureEncoder());
  encoder->options_ = options;
  int offset = 0;
  for (const std::string& name : options.columns) {
    auto index = schema.IndexOf(name);
    if (!index) return Status::InvalidArgument("feature column '" + name + "' is not in the input");
    ColumnPlan plan;
    plan.name = name;
    plan.offset = offset;
    if (schema.field(*index).type == TypeId::kString) {
      switch (options.categorical) {
        case CategoricalEncoding::kOneHot:
          plan.kind = ColumnKind::kOneHot;
          plan.width = options.max_categories;
          break;
        case CategoricalEncoding::kHashing:
          plan.kind = ColumnKind::kHashing;
          plan.width = options.hash_dimension;
          break;
        case CategoricalEncoding::kOrdinal:
          plan.kind = ColumnKind::kOrdinal;
          plan.width = 1;
          break;
      }
    } else {
      encoder->numeric_features_.push_back(offset);
    }
    offset += plan.width;
    encoder->columns_.push_back(std::move(plan));
  }
  encoder->num_features_ = offset;
  const auto numeric = static_cast<Eigen::Index>(encoder->numeric_features_.size());
  encoder->mean_ = Eigen::RowVectorXd::Zero(numeric);
  encoder->m2_ = Eigen::RowVectorXd::Zero(numeric);
  encoder->scratch_.resize(numeric);
  return encoder;
}

std::vector<std::string> FeatureEncoder::feature_names() const {
  std::vector<std::string> names(num_features_);
  for (const ColumnPlan& plan : columns_) {
    for (int slot = 0; slot < plan.width; ++slot) {
      std::string& name = names[plan.offset + slot];
      switch (plan.kind) {
        case ColumnKind::kNumeric:
        case ColumnKind::kOrdinal:
          name = plan.name;
          break;
        case ColumnKind::kOneHot:
          name = plan.name + "=" +
                 (slot < static_cast<int>(plan.slots.size()) ? plan.slots[slot]
                                                             : "?" + std::to_string(slot));
          break;
        case ColumnKind::kHashing:
          name = plan.name + "#" + std::to_string(slot);
          break;
      }
    }
  }
  return names;
}

std::vector<int> FeatureEncoder::nominal_features() const {
  std::vector<int> out;
  for (const ColumnPlan& plan : columns_) {
    if (plan.kind == ColumnKind::kOrdinal) out.push_back(plan.offset);
  }
  return out;
}

int FeatureEncoder::Slot(ColumnPlan& plan, std::string_view value, bool update) const {
  auto it = plan.vocabulary.find(value);
  if (it != plan.vocabulary.end()) return it->second;
  if (!update || static_cast<int>(plan.slots.size()) >= options_.max_categories) return -1;
  const int slot = static_cast<int>(plan.slots.size());
  plan.slots.emplace_back(value);
  plan.vocabulary.emplace(std::string(value), slot);
  return slot;
}

namespace {

// Value `row` of a numeric column as a double.
inline double NumericValue(const Column& column, size_t row) {
  switch (column.type()) {
    case TypeId::kDouble:
      return column.GetDouble(row);
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      return static_cast<double>(column.GetInt64(row));
    case TypeId::kBool:
      return column.GetBool(row) ? 1.0 : 0.0;
    case TypeId::kString:
      break;
  }
  return 0.0;
}

}  // namespace

// The numeric columns into the row-major matrix a block of rows at a time:
// a block's rows across all columns stay in cache while each column's
// values are read in order, instead of one strided pass over the whole
// matrix per column (64 rows of 100 features are 50 KB: L1/L2). NULL and
// non-finite values leave 0 and an invalid row.
//
// A batch's columns come from memory (100 columns of 100,000 rows are 80
// MB), a hundred streams that the hardware prefetcher does not all follow:
// each column's next block is prefetched while this one is copied, which
// took the copy from 1.4 to 0.9-1.0 ns a value at 100 columns, near a
// sequential read (0.83).
void FeatureEncoder::EncodeNumeric(Eigen::Index first, Eigen::Index rows, RowMatrix* out,
                                   std::vector<uint8_t>* valid) {
  constexpr Eigen::Index kBlockRows = 64;
  constexpr size_t kCacheLine = 64;
  const Eigen::Index stride = out->cols();  // row-major
  std::vector<std::pair<const Column*, Eigen::Index>>& numeric = numeric_scratch_;
  numeric.clear();  // column, matrix column
  for (size_t idx = 0; idx < columns_.size(); ++idx) {
    if (columns_[idx].kind == ColumnKind::kNumeric)
      numeric.emplace_back(resolved_[idx], columns_[idx].offset);
  }
  for (Eigen::Index begin = 0; begin < rows; begin += kBlockRows) {
    const Eigen::Index end = std::min(rows, begin + kBlockRows);
    for (const auto& [column, offset] : numeric) {
      const bool nulls = column->MayHaveNulls();
      if (column->type() == TypeId::kDouble && !nulls) {
        // Copy, then one branch-free pass for the rare non-finite value
        // (v - v is 0 only for finite v).
        const double* values = column->doubles().data() + first;
        // A prefetch past the column's end is harmless: it never faults.
        const char* next = reinterpret_cast<const char*>(values + end);
        for (size_t byte = 0; byte < kBlockRows * sizeof(double); byte += kCacheLine) {
          __builtin_prefetch(next + byte, /*rw=*/0, /*locality=*/3);
        }
        double* to = out->data() + begin * stride + offset;
        bool finite = true;
        for (Eigen::Index row = begin; row < end; ++row, to += stride) {
          *to = values[row];
          finite &= values[row] - values[row] == 0.0;
        }
        if (finite) continue;
        for (Eigen::Index row = begin; row < end; ++row) {
          if (std::isfinite(values[row])) continue;
          (*out)(row, offset) = 0.0;
          (*valid)[row] = 0;
        }
        continue;
      }
      for (Eigen::Index row = begin; row < end; ++row) {
        const auto at = static_cast<size_t>(first + row);
        const double value = NumericValue(*column, at);
        if ((nulls && column->IsNull(at)) || !std::isfinite(value)) {
          (*out)(row, offset) = 0.0;
          (*valid)[row] = 0;
        } else {
          (*out)(row, offset) = value;
        }
      }
    }
  }
}

Status FeatureEncoder::Encode(const Batch& batch, size_t first_row, size_t count, bool update,
                              RowMatrix* out, std::vector<uint8_t>* valid) {
  if (first_row + count > batch.num_rows()) {
    return Status::Internal("feature encoding past the batch's rows");
  }
  const auto rows = static_cast<Eigen::Index>(count);
  const auto first = static_cast<Eigen::Index>(first_row);
  // Check every column first so a failure changes no vocabulary. The
  // later blocks of a batch reuse what its first block found: a name
  // lookup per column and block would cost as much as a model's step.
  if (first_row == 0 || resolved_batch_ != &batch) {
    resolved_batch_ = nullptr;
    resolved_.clear();
    for (const ColumnPlan& plan : columns_) {
      const Column* column = batch.FindColumn(plan.name);
      if (column == nullptr) {
        return Status::InvalidArgument("feature column '" + plan.name + "' is missing");
      }
      const bool is_string = column->type() == TypeId::kString;
      if (is_string != (plan.kind != ColumnKind::kNumeric)) {
        return Status::InvalidArgument("feature column '" + plan.name + "' changed type to " +
                                       std::string(TypeName(column->type())));
      }
      resolved_.push_back(column);
    }
    resolved_batch_ = &batch;
  }
  // Numeric columns write every value of theirs; categorical ones only a
  // row's slot, so only they need the rest zeroed. A matrix of the same
  // shape as the last batch's keeps its buffer (no allocation, no page
  // faults).
  const bool sparse = std::any_of(columns_.begin(), columns_.end(), [](const ColumnPlan& plan) {
    return plan.kind != ColumnKind::kNumeric;
  });
  if (sparse) {
    out->setZero(rows, num_features_);
  } else {
    out->resize(rows, num_features_);
  }
  valid->assign(rows, 1);
  EncodeNumeric(first, rows, out, valid);
  for (size_t idx = 0; idx < columns_.size(); ++idx) {
    ColumnPlan& plan = columns_[idx];
    const Column& column = *resolved_[idx];
    switch (plan.kind) {
      case ColumnKind::kNumeric:
        break;
      case ColumnKind::kOneHot:
      case ColumnKind::kOrdinal:
        for (Eigen::Index row = 0; row < rows; ++row) {
          const auto at = static_cast<size_t>(first + row);
          const int slot = column.IsNull(at) ? -1 : Slot(plan, column.GetString(at), update);
          if (plan.kind == ColumnKind::kOrdinal) {
            (*out)(row, plan.offset) = slot;
          } else if (slot >= 0) {
            (*out)(row, plan.offset + slot) = 1.0;
          }
        }
        break;
      case ColumnKind::kHashing:
        for (Eigen::Index row = 0; row < rows; ++row) {
          const auto at = static_cast<size_t>(first + row);
          if (column.IsNull(at)) continue;
          const uint64_t slot = Fnv1a64(column.GetString(at)) % static_cast<uint64_t>(plan.width);
          (*out)(row, plan.offset + static_cast<Eigen::Index>(slot)) += 1.0;
        }
        break;
    }
  }
  if (options_.standardize && !numeric_features_.empty()) Standardize(update, out, *valid);
  return Status::OK();
}

void FeatureEncoder::Standardize(bool update, RowMatrix* out, const std::vector<uint8_t>& valid) {
  for (Eigen::Index row = 0; row < out->rows(); ++row) {
    auto values = out->row(row)(numeric_features_);
    scratch_ = values;  // raw values, for the statistics update
    if (count_ >= 2) {
      const double n = static_cast<double>(count_);
      for (Eigen::Index f = 0; f < scratch_.size(); ++f) {
        const double sd = std::sqrt(m2_[f] / n);
        values[f] = sd > 0 ? (scratch_[f] - mean_[f]) / sd : 0.0;
      }
    } else {
      values.setZero();
    }
    if (!update || !valid[row]) continue;
    ++count_;
    const double n = static_cast<double>(count_);
    for (Eigen::Index f = 0; f < scratch_.size(); ++f) {
      const double delta = scratch_[f] - mean_[f];
      mean_[f] += delta / n;
      m2_[f] += delta * (scratch_[f] - mean_[f]);
    }
  }
}

void FeatureEncoder::Snapshot(pb::FeatureSnapshot* out) const {
  out->Clear();
  for (const ColumnPlan& plan : columns_) {
    pb::FeatureColumn* column = out->add_columns();
    column->set_name(plan.name);
    column->set_kind(static_cast<int>(plan.kind));
    column->set_offset(plan.offset);
    column->set_width(plan.width);
    for (const std::string& value : plan.slots) column->add_vocabulary(value);
  }
  out->set_categorical(static_cast<int>(options_.categorical));
  out->set_max_categories(options_.max_categories);
  out->set_hash_dimension(options_.hash_dimension);
  out->set_standardize(options_.standardize);
  out->set_num_features(num_features_);
  out->set_count(count_);
  out->mutable_mean()->Assign(mean_.data(), mean_.data() + mean_.size());
  out->mutable_m2()->Assign(m2_.data(), m2_.data() + m2_.size());
}

Result<std::unique_ptr<FeatureEncoder>> FeatureEncoder::Restore(
    const pb::FeatureSnapshot& snapshot) {
  std::unique_ptr<FeatureEncoder> encoder(new FeatureEncoder());
  FeatureOptions& options = encoder->options_;
  options.categorical = static_cast<CategoricalEncoding>(snapshot.categorical());
  options.max_categories = snapshot.max_categories();
  options.hash_dimension = snapshot.hash_dimension();
  options.standardize = snapshot.standardize();
  int offset = 0;
  for (const pb::FeatureColumn& column : snapshot.columns()) {
    ColumnPlan plan;
    plan.name = column.name();
    if (column.kind() < 0 || column.kind() > static_cast<int>(ColumnKind::kOrdinal) ||
        column.offset() != offset || column.width() < 1 ||
        column.vocabulary_size() > options.max_categories) {
      return Status::Corruption("feature snapshot: bad column '" + column.name() + "'");
    }
    plan.kind = static_cast<ColumnKind>(column.kind());
    plan.offset = column.offset();
    plan.width = column.width();
    for (const std::string& value : column.vocabulary()) {
      plan.vocabulary.emplace(value, static_cast<int>(plan.slots.size()));
      plan.slots.push_back(value);
    }
    if (plan.kind == ColumnKind::kNumeric) encoder->numeric_features_.push_back(offset);
    options.columns.push_back(plan.name);
    offset += plan.width;
    encoder->columns_.push_back(std::move(plan));
  }
  const auto numeric = static_cast<int>(encoder->numeric_features_.size());
  if (offset != snapshot.num_features() || snapshot.mean_size() != numeric ||
      snapshot.m2_size() != numeric || snapshot.count() < 0) {
    return Status::Corruption("feature snapshot has inconsistent sizes");
  }
  encoder->num_features_ = offset;
  encoder->count_ = snapshot.count();
  encoder->mean_ = Eigen::Map<const Eigen::RowVectorXd>(snapshot.mean().data(), numeric);
  encoder->m2_ = Eigen::Map<const Eigen::RowVectorXd>(snapshot.m2().data(), numeric);
  encoder->scratch_.resize(numeric);
  return encoder;
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<LabelEncoder>> LabelEncoder::Make(const Schema& schema, std::string column,
                                                         bool classification, int num_classes) {
  auto index = schema.IndexOf(column);
  if (!index) return Status::InvalidArgument("label column '" + column + "' is not in the input");
  const TypeId type = schema.field(*index).type;
  if (classification && num_classes < 2) {
    return Status::InvalidArgument("classification needs num_classes >= 2");
  }
  if (!classification && type == TypeId::kString) {
    return Status::InvalidArgument("regression label '" + column + "' must be numeric");
  }
  std::unique_ptr<LabelEncoder> encoder(new LabelEncoder());
  encoder->column_ = std::move(column);
  encoder->classification_ = classification;
  encoder->categorical_ = type == TypeId::kString;
  encoder->num_classes_ = classification ? num_classes : 0;
  return encoder;
}

Result<std::unique_ptr<LabelEncoder>> LabelEncoder::Restore(std::string column, int num_classes,
                                                            const pb::LabelSnapshot& snapshot) {
  std::unique_ptr<LabelEncoder> encoder(new LabelEncoder());
  encoder->column_ = std::move(column);
  encoder->classification_ = num_classes > 0;
  encoder->categorical_ = snapshot.categorical();
  encoder->num_classes_ = num_classes;
  if (snapshot.vocabulary_size() > num_classes) {
    return Status::Corruption("label snapshot has more classes than configured");
  }
  for (const std::string& name : snapshot.vocabulary()) {
    encoder->vocabulary_.emplace(name, static_cast<int>(encoder->names_.size()));
    encoder->names_.push_back(name);
  }
  return encoder;
}

Status LabelEncoder::Encode(const Batch& batch, bool update, std::vector<double>* labels,
                            std::vector<uint8_t>* labelled) {
  const Column* column = batch.FindColumn(column_);
  if (column == nullptr)
    return Status::InvalidArgument("label column '" + column_ + "' is missing");
  if ((column->type() == TypeId::kString) != categorical_) {
    return Status::InvalidArgument("label column '" + column_ + "' changed type");
  }
  const size_t rows = batch.num_rows();
  labels->assign(rows, 0.0);
  labelled->assign(rows, 1);
  for (size_t row = 0; row < rows; ++row) {
    if (column->IsNull(row)) {
      (*labelled)[row] = 0;
      continue;
    }
    double label = 0;
    switch (column->type()) {
      case TypeId::kDouble:
        label = column->GetDouble(row);
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        label = static_cast<double>(column->GetInt64(row));
        break;
      case TypeId::kBool:
        label = column->GetBool(row) ? 1.0 : 0.0;
        break;
      case TypeId::kString: {
        const std::string_view name = column->GetString(row);
        auto it = vocabulary_.find(name);
        if (it != vocabulary_.end()) {
          label = it->second;
        } else if (update && static_cast<int>(names_.size()) < num_classes_) {
          label = static_cast<double>(names_.size());
          vocabulary_.emplace(std::string(name), static_cast<int>(names_.size()));
          names_.emplace_back(name);
        } else {
          (*labelled)[row] = 0;
        }
        break;
      }
    }
    if (!std::isfinite(label)) (*labelled)[row] = 0;
    (*labels)[row] = label;
  }
  return Status::OK();
}

std::string LabelEncoder::ClassName(int id) const {
  if (!categorical_) return std::to_string(id);
  return id >= 0 && id < static_cast<int>(names_.size()) ? names_[id] : std::string();
}

void LabelEncoder::Snapshot(pb::LabelSnapshot* out) const {
  out->Clear();
  out->set_categorical(categorical_);
  out->set_max_classes(num_classes_);
  for (const std::string& name : names_) out->add_vocabulary(name);
}

}  // namespace eddy::learn
