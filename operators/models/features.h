#pragma once
// Turning Batch columns into the feature matrix and label vector the models
// in operators/models/ read.
//
// Numeric columns (double, int64, timestamp, bool) become one feature each,
// copied column-wise from an Eigen::Map of the column's contiguous values into
// the row-major matrix (row-major because every learner walks rows; the copy
// is O(rows x features), the cost of one learning pass). String columns are
// categorical, encoded by one of:
//   one-hot   max_categories slots per column, a vocabulary learned online in
//             row order (first value seen gets slot 0); values beyond the cap
//             or unseen while not updating encode as all zeros.
//   hashing   hash_dimension slots per column; slot = FNV-1a 64-bit hash of
//             the UTF-8 bytes modulo hash_dimension (stable across runs,
//             platforms and restarts, unlike std::hash).
//   ordinal   one feature holding the vocabulary slot (-1 when unknown): a
//             nominal attribute for Hoeffding trees (see nominal_features()).
// Optional online standardization of numeric features: each row is scaled by
// the running mean and population standard deviation of the rows BEFORE it
// (Welford), then its raw values update the statistics, so a prediction
// never sees its own row. Features with fewer than two rows seen or zero
// variance encode as 0. Categorical features are not scaled.
//
// Rows with a NULL or non-finite numeric feature are flagged invalid (their
// features are 0 and they do not update statistics); the caller decides
// whether they become dead letters. A NULL categorical value encodes as
// "unknown".
//
// Thread-safety: none. Encode with update=true mutates vocabularies and
// statistics, which are part of Snapshot().

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "operators/models/model.h"
#include "runtime/core/batch.h"
#include "runtime/core/status.h"

namespace eddy::learn {

namespace pb {
class FeatureSnapshot;
class LabelSnapshot;
}  // namespace pb

enum class CategoricalEncoding : uint8_t { kOneHot, kHashing, kOrdinal };

struct FeatureOptions {
  std::vector<std::string> columns;
  CategoricalEncoding categorical = CategoricalEncoding::kOneHot;
  int max_categories = 64;  // one-hot / ordinal vocabulary cap per column
  int hash_dimension = 64;  // slots per hashed column
  bool standardize = false;
};

// FNV-1a, 64-bit: the documented hash of feature hashing.
uint64_t Fnv1a64(std::string_view bytes);

struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return Fnv1a64(text); }
};
using Vocabulary = std::unordered_map<std::string, int, TransparentStringHash, std::equal_to<>>;

class FeatureEncoder {
 public:
  // Resolves `options.columns` against `schema`.
  static Result<std::unique_ptr<FeatureEncoder>> Make(const Schema& schema,
                                                      const FeatureOptions& options);
  static Result<std::unique_ptr<FeatureEncoder>> Restore(const pb::FeatureSnapshot& snapshot);
  FeatureEncoder(const FeatureEncoder&) = delete;
  FeatureEncoder& operator=(const FeatureEncoder&) = delete;

  int num_features() const { return num_features_; }
  // "price", "color=red" (one-hot, learned slots), "color#17" (hashing).
  std::vector<std::string> feature_names() const;
  // Indices of ordinal-encoded features, for HoeffdingTreeOptions.
  std::vector<int> nominal_features() const;

  // Encodes every row of `batch` into `out` (rows x num_features()) and sets
  // (*valid)[row] to 0 for rows with a NULL or non-finite numeric feature.
  // With `update`, learns vocabularies and standardization statistics.
  Status Encode(const Batch& batch, bool update, RowMatrix* out, std::vector<uint8_t>* valid) {
    return Encode(batch, 0, batch.num_rows(), update, out, valid);
  }
  // The same for rows [first, first + count) of `batch`, into rows
  // [0, count) of `out` and `valid`: a batch encoded block after block, in
  // order, encodes as in one call (vocabularies and statistics grow row by
  // row), in a matrix that stays in cache.
  Status Encode(const Batch& batch, size_t first, size_t count, bool update, RowMatrix* out,
                std::vector<uint8_t>* valid);

  void Snapshot(pb::FeatureSnapshot* out) const;

 private:
  enum class ColumnKind : uint8_t { kNumeric, kOneHot, kHashing, kOrdinal };
  struct ColumnPlan {
    std::string name;
    ColumnKind kind = ColumnKind::kNumeric;
    int offset = 0;
    int width = 1;
    Vocabulary vocabulary;
    std::vector<std::string> slots;  // vocabulary by slot, for names/snapshots
  };
  FeatureEncoder() = default;
  int Slot(ColumnPlan& plan, std::string_view value, bool update) const;
  void Standardize(bool update, RowMatrix* out, const std::vector<uint8_t>& valid);
  // REQUIRES: resolved_ holds the batch's columns.
  void EncodeNumeric(Eigen::Index first, Eigen::Index rows, RowMatrix* out,
                     std::vector<uint8_t>* valid);

  FeatureOptions options_;
  std::vector<ColumnPlan> columns_;
  // The columns of the batch Encode last resolved (per columns_), and the
  // numeric ones' scratch list; valid for the blocks of that one batch.
  const Batch* resolved_batch_ = nullptr;
  std::vector<const Column*> resolved_;
  std::vector<std::pair<const Column*, Eigen::Index>> numeric_scratch_;
  int num_features_ = 0;
  std::vector<int> numeric_features_;  // standardized positions
  int64_t count_ = 0;
  Eigen::RowVectorXd mean_;
  Eigen::RowVectorXd m2_;
  Eigen::RowVectorXd scratch_;
};

// Labels from one column. Regression: any numeric column as a double.
// Classification: int64/bool values are the class ids (checked against
// num_classes by the model); string values get class ids from a vocabulary
// learned in row order, up to num_classes (rows with further values are
// flagged unlabelled). NULL labels are unlabelled: predicted, not learned.
class LabelEncoder {
 public:
  static Result<std::unique_ptr<LabelEncoder>> Make(const Schema& schema, std::string column,
                                                    bool classification, int num_classes);
  static Result<std::unique_ptr<LabelEncoder>> Restore(std::string column, int num_classes,
                                                       const pb::LabelSnapshot& snapshot);
  Status Encode(const Batch& batch, bool update, std::vector<double>* labels,
                std::vector<uint8_t>* labelled);
  // The name of class `id` for string labels ("" if unknown), else the id.
  std::string ClassName(int id) const;
  void Snapshot(pb::LabelSnapshot* out) const;

 private:
  LabelEncoder() = default;
  std::string column_;
  bool classification_ = false;
  bool categorical_ = false;
  int num_classes_ = 0;
  Vocabulary vocabulary_;
  std::vector<std::string> names_;
};

}  // namespace eddy::learn
