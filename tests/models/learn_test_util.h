#pragma once
// Helpers for the tests of operators/models/: a tiny CSV reader for the data
// sets in ../shared/data (header row, numeric features first, target last), a
// deterministic shuffle, batch building, a prequential driver and a minimal
// JSON syntax checker.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operators/models/evaluation.h"
#include "operators/models/features.h"
#include "operators/models/model.h"
#include "runtime/core/batch.h"

namespace eddy::learn::testing {

// A labelled problem: rows of features and their classes.
struct Problem {
  RowMatrix x;
  std::vector<double> y;
};

// y = x0 > 0.3 && x1 > 0.6 over 5 uniform features; the labels flip at
// `flip` (rows >= flip get the opposite class).
inline Problem Box(int rows, int flip, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0, 1);
  Problem p{RowMatrix(rows, 5), std::vector<double>(rows)};
  for (int row = 0; row < rows; ++row) {
    for (int j = 0; j < 5; ++j) p.x(row, j) = uniform(rng);
    const bool positive = p.x(row, 0) > 0.3 && p.x(row, 1) > 0.6;
    p.y[row] = (row < flip ? positive : !positive) ? 1 : 0;
  }
  return p;
}

struct Dataset {
  std::vector<std::string> feature_names;
  RowMatrix x;
  std::vector<double> y;
  Eigen::Index rows() const { return x.rows(); }
};

inline std::string DataPath(std::string_view name) { return "../shared/data/" + std::string(name); }

// Reads a CSV of numbers with a header row; the last column is the target.
inline Dataset ReadCsv(const std::string& path) {
  Dataset data;
  std::ifstream in(path);
  // A missing data set fails the test with its path (GoogleTest reports the
  // exception) instead of running on no rows.
  if (!in.good())
    throw std::runtime_error("cannot open " + path +
                             " (run from the repo root, with shared/ beside it)");
  std::string line;
  std::getline(in, line);
  {
    std::stringstream header(line);
    std::string cell;
    while (std::getline(header, cell, ',')) data.feature_names.push_back(cell);
    data.feature_names.pop_back();  // the target
  }
  const size_t features = data.feature_names.size();
  std::vector<double> values;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    std::stringstream row(line);
    std::string cell;
    size_t column = 0;
    while (std::getline(row, cell, ',')) {
      const double value = std::stod(cell);
      if (column < features) {
        values.push_back(value);
      } else {
        data.y.push_back(value);
      }
      ++column;
    }
    EXPECT_EQ(column, features + 1) << "bad row in " << path << ": " << line;
  }
  data.x = Eigen::Map<RowMatrix>(values.data(), static_cast<Eigen::Index>(data.y.size()),
                                 static_cast<Eigen::Index>(features));
  return data;
}

// Fisher-Yates with mt19937_64 (whose output the standard fixes, unlike
// std::shuffle's algorithm).
inline void Shuffle(Dataset* data, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (Eigen::Index i = data->rows() - 1; i > 0; --i) {
    const auto j = static_cast<Eigen::Index>(rng() % static_cast<uint64_t>(i + 1));
    data->x.row(i).swap(data->x.row(j));
    std::swap(data->y[i], data->y[j]);
  }
}

// Rows [begin, end) as a Batch of double columns named like the features.
inline Batch ToBatch(const Dataset& data, Eigen::Index begin, Eigen::Index end) {
  std::vector<Field> fields;
  for (const std::string& name : data.feature_names)
    fields.push_back({name, TypeId::kDouble, true});
  Batch batch{Schema(fields)};
  for (size_t column = 0; column < data.feature_names.size(); ++column) {
    Column& col = batch.column(column);
    for (Eigen::Index row = begin; row < end; ++row) col.AppendDouble(data.x(row, column));
  }
  EXPECT_TRUE(batch.SetNumRows(static_cast<size_t>(end - begin)).ok());
  return batch;
}

// Streams `data` through `model` in batches of `batch_size`: predict, then
// learn, scored by `evaluator`. With `encoder`, features go through it
// (update on); otherwise the raw matrix is used.
inline void RunPrequential(const Dataset& data, Model* model, PrequentialEvaluator* evaluator,
                           Eigen::Index batch_size, FeatureEncoder* encoder = nullptr) {
  PredictionColumns predictions;
  RowMatrix encoded;
  std::vector<uint8_t> valid;
  for (Eigen::Index begin = 0; begin < data.rows(); begin += batch_size) {
    const Eigen::Index end = std::min(begin + batch_size, data.rows());
    std::span<const double> y(data.y.data() + begin, static_cast<size_t>(end - begin));
    if (encoder != nullptr) {
      ASSERT_TRUE(encoder->Encode(ToBatch(data, begin, end), true, &encoded, &valid).ok());
      ASSERT_TRUE(model->Prequential(encoded, y, &valid, &predictions).ok());
    } else {
      ASSERT_TRUE(
          model->Prequential(data.x.middleRows(begin, end - begin), y, nullptr, &predictions).ok());
    }
    ASSERT_TRUE(evaluator->Update(predictions, y).ok());
  }
}

// Minimal JSON syntax check (RFC 8259 values), enough to prove ExportJson
// emits a document a parser accepts.
class JsonChecker {
 public:
  static bool Valid(std::string_view text) {
    JsonChecker checker(text);
    checker.SkipSpace();
    if (!checker.Value()) return false;
    checker.SkipSpace();
    return checker.pos_ == text.size();
  }

 private:
  explicit JsonChecker(std::string_view text) : text_(text) {}
  bool Value() {
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '{') return Object();
    if (c == '[') return Array();
    if (c == '"') return String();
    if (Literal("true") || Literal("false") || Literal("null")) return true;
    return Number();
  }
  bool Object() {
    ++pos_;
    SkipSpace();
    if (Peek('}')) return ++pos_, true;
    while (true) {
      SkipSpace();
      if (!String()) return false;
      SkipSpace();
      if (!Peek(':')) return false;
      ++pos_;
      if (!Value()) return false;
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek('}')) return ++pos_, true;
      return false;
    }
  }
  bool Array() {
    ++pos_;
    SkipSpace();
    if (Peek(']')) return ++pos_, true;
    while (true) {
      if (!Value()) return false;
      SkipSpace();
      if (Peek(',')) {
        ++pos_;
        continue;
      }
      if (Peek(']')) return ++pos_, true;
      return false;
    }
  }
  bool String() {
    if (!Peek('"')) return false;
    ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (c == '\\')
        ++pos_;
      else if (static_cast<unsigned char>(c) < 0x20)
        return false;
    }
    return false;
  }
  bool Number() {
    const size_t start = pos_;
    if (Peek('-')) ++pos_;
    while (pos_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
            text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-')) {
      ++pos_;
    }
    return pos_ > start && std::isdigit(static_cast<unsigned char>(text_[pos_ - 1]));
  }
  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool Peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string_view text_;
  size_t pos_ = 0;
};

// Bitwise equality of two prediction sets.
inline void ExpectSamePredictions(const PredictionColumns& a, const PredictionColumns& b) {
  ASSERT_EQ(a.value.size(), b.value.size());
  ASSERT_EQ(a.score.size(), b.score.size());
  ASSERT_EQ(a.probabilities.rows(), b.probabilities.rows());
  ASSERT_EQ(a.probabilities.cols(), b.probabilities.cols());
  for (Eigen::Index i = 0; i < a.value.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(a.value[i]), std::bit_cast<uint64_t>(b.value[i])) << i;
  }
  for (Eigen::Index i = 0; i < a.score.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(a.score[i]), std::bit_cast<uint64_t>(b.score[i])) << i;
  }
  for (Eigen::Index i = 0; i < a.probabilities.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(a.probabilities.data()[i]),
              std::bit_cast<uint64_t>(b.probabilities.data()[i]))
        << i;
  }
}

}  // namespace eddy::learn::testing
