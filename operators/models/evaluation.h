#pragma once
// Prequential (test-then-train) evaluation of the models in operators/models/:
// feed it each labelled row's prediction, made before the row was learned,
// and read metrics over the whole stream and over a sliding window of the
// last `window` rows.
//
//   classification  accuracy, log loss (probabilities clipped to 1e-15),
//                   per-class precision / recall / F1 and their macro
//                   averages (over the classes present in the truth or the
//                   predictions, as scikit-learn), confusion matrix
//                   (row = true class, column = predicted class).
//   regression      RMSE, MAE, R^2 (1 - SS_res / SS_tot; with SS_tot = 0:
//                   1 when SS_res = 0, else 0, as scikit-learn).
//   clustering      SSE (sum of squared distances to the assigned centre)
//                   and its mean per row.
//
// Whole-stream figures are running sums; window figures are recomputed from
// a ring of the last rows when read (O(window)), so they never drift.
// Thread-safety: none.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "operators/models/model.h"

namespace eddy::learn {

namespace pb {
class EvaluatorSnapshot;
}  // namespace pb

struct ClassificationReport {
  int64_t count = 0;
  double accuracy = 0;
  double log_loss = 0;
  std::vector<double> precision;  // per class
  std::vector<double> recall;
  std::vector<double> f1;
  double macro_precision = 0;
  double macro_recall = 0;
  double macro_f1 = 0;
  std::vector<int64_t> confusion;  // num_classes x num_classes, row-major
};

struct RegressionReport {
  int64_t count = 0;
  double rmse = 0;
  double mae = 0;
  double r2 = 0;
};

struct ClusteringReport {
  int64_t count = 0;
  double sse = 0;
  double mean_squared_distance = 0;
};

class PrequentialEvaluator {
 public:
  static constexpr int64_t kDefaultWindow = 1000;
  // num_classes is used for classification only.
  static Result<std::unique_ptr<PrequentialEvaluator>> Make(Task task, int num_classes,
                                                            int64_t window = kDefaultWindow);
  static Result<std::unique_ptr<PrequentialEvaluator>> Restore(
      const pb::EvaluatorSnapshot& snapshot);
  PrequentialEvaluator(const PrequentialEvaluator&) = delete;
  PrequentialEvaluator& operator=(const PrequentialEvaluator&) = delete;

  Task task() const { return task_; }
  // Records rows whose `mask` byte is set (all rows if null). Classification
  // reads predictions.value and .probabilities; regression .value;
  // clustering .score (the distance) and ignores `y`.
  Status Update(const PredictionColumns& predictions, std::span<const double> y,
                const std::vector<uint8_t>* mask = nullptr);

  ClassificationReport Classification(bool window) const;
  RegressionReport Regression(bool window) const;
  ClusteringReport Clustering(bool window) const;

  void Snapshot(pb::EvaluatorSnapshot* out) const;

 private:
  PrequentialEvaluator(Task task, int num_classes, int64_t window);
  void Record(double truth, double prediction, double loss);
  // Ring entries oldest first.
  template <typename Fn>
  void ForEachInWindow(Fn&& fn) const;

  Task task_;
  int num_classes_;
  int64_t window_;
  int64_t count_ = 0;
  std::vector<int64_t> confusion_;
  double log_loss_sum_ = 0;
  double abs_error_sum_ = 0;
  double sq_error_sum_ = 0;
  double y_mean_ = 0;
  double y_m2_ = 0;
  double sse_ = 0;
  // Ring of the last window_ rows: truth, prediction, loss (classification:
  // log loss; regression: error; clustering: squared distance).
  std::vector<double> ring_truth_;
  std::vector<double> ring_prediction_;
  std::vector<double> ring_loss_;
  size_t ring_next_ = 0;  // slot the next row overwrites once the ring is full
};

}  // namespace eddy::learn
