#include "operators/models/evaluation.h"

#include <algorithm>
#include <cmath>

#include "operators/models/model.pb.h"

namespace eddy::learn {
namespace {

constexpr double kProbabilityFloor = 1e-15;

void FillClassMetrics(int num_classes, std::span<const int64_t> confusion,
                      ClassificationReport* report) {
  report->precision.assign(num_classes, 0.0);
  report->recall.assign(num_classes, 0.0);
  report->f1.assign(num_classes, 0.0);
  int present = 0;
  double sum_p = 0, sum_r = 0, sum_f = 0;
  for (int c = 0; c < num_classes; ++c) {
    int64_t tp = confusion[c * num_classes + c];
    int64_t predicted = 0, actual = 0;
    for (int other = 0; other < num_classes; ++other) {
      predicted += confusion[other * num_classes + c];
      actual += confusion[c * num_classes + other];
    }
    const double p = predicted > 0 ? static_cast<double>(tp) / predicted : 0.0;
    const double r = actual > 0 ? static_cast<double>(tp) / actual : 0.0;
    const double f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    report->precision[c] = p;
    report->recall[c] = r;
    report->f1[c] = f;
    if (predicted > 0 || actual > 0) {
      ++present;
      sum_p += p;
      sum_r += r;
      sum_f += f;
    }
  }
  if (present > 0) {
    report->macro_precision = sum_p / present;
    report->macro_recall = sum_r / present;
    report->macro_f1 = sum_f / present;
  }
}

double R2(double ss_res, double ss_tot) {
  if (ss_tot == 0) return ss_res == 0 ? 1.0 : 0.0;
  return 1.0 - ss_res / ss_tot;
}

}  // namespace

PrequentialEvaluator::PrequentialEvaluator(Task task, int num_classes, int64_t window)
    : task_(task), num_classes_(num_classes), window_(window) {
  if (task_ == Task::kClassification)
    confusion_.assign(static_cast<size_t>(num_classes) * num_classes, 0);
  ring_truth_.reserve(window);
  ring_prediction_.reserve(window);
  ring_loss_.reserve(window);
}

Result<std::unique_ptr<PrequentialEvaluator>> PrequentialEvaluator::Make(Task task, int num_classes,
                                                                         int64_t window) {
  if (window < 1) return Status::InvalidArgument("evaluation window must be >= 1");
  if (task == Task::kClassification && num_classes < 2) {
    return Status::InvalidArgument("classification evaluation needs num_classes >= 2");
  }
  return std::unique_ptr<PrequentialEvaluator>(new PrequentialEvaluator(task, num_classes, window));
}

void PrequentialEvaluator::Record(double truth, double prediction, double loss) {
  if (static_cast<int64_t>(ring_truth_.size()) < window_) {
    ring_truth_.push_back(truth);
    ring_prediction_.push_back(prediction);
    ring_loss_.push_back(loss);
    return;
  }
  ring_truth_[ring_next_] = truth;
  ring_prediction_[ring_next_] = prediction;
  ring_loss_[ring_next_] = loss;
  ring_next_ = (ring_next_ + 1) % static_cast<size_t>(window_);
}

template <typename Fn>
void PrequentialEvaluator::ForEachInWindow(Fn&& fn) const {
  const size_t size = ring_truth_.size();
  const size_t start = static_cast<int64_t>(size) < window_ ? 0 : ring_next_;
  for (size_t i = 0; i < size; ++i) {
    const size_t slot = (start + i) % size;
    fn(ring_truth_[slot], ring_prediction_[slot], ring_loss_[slot]);
  }
}

Status PrequentialEvaluator::Update(const PredictionColumns& predictions, std::span<const double> y,
                                    const std::vector<uint8_t>* mask) {
  const auto rows = predictions.value.size();
  if (mask != nullptr && static_cast<Eigen::Index>(mask->size()) != rows) {
    return Status::InvalidArgument("evaluation mask size differs from the predictions");
  }
  if (task_ != Task::kClustering && static_cast<Eigen::Index>(y.size()) != rows) {
    return Status::InvalidArgument("evaluation got " + std::to_string(y.size()) + " labels for " +
                                   std::to_string(rows) + " predictions");
  }
  if (task_ == Task::kClassification && (predictions.probabilities.rows() != rows ||
                                         predictions.probabilities.cols() != num_classes_)) {
    return Status::InvalidArgument("classification evaluation needs class probabilities");
  }
  if (task_ == Task::kClustering && predictions.score.size() != rows) {
    return Status::InvalidArgument("clustering evaluation needs distances");
  }
  // Validate labels before recording anything.
  for (Eigen::Index row = 0; row < rows; ++row) {
    if (mask != nullptr && (*mask)[row] == 0) continue;
    if (task_ == Task::kClassification) {
      const double truth = y[row], predicted = predictions.value[row];
      if (!(truth >= 0 && truth < num_classes_) || !(predicted >= 0 && predicted < num_classes_)) {
        return Status::InvalidArgument("row " + std::to_string(row) + ": class outside [0, " +
                                       std::to_string(num_classes_) + ")");
      }
    }
  }
  for (Eigen::Index row = 0; row < rows; ++row) {
    if (mask != nullptr && (*mask)[row] == 0) continue;
    // An unseeded k-means model assigns no cluster (-1): nothing to score.
    if (task_ == Task::kClustering && predictions.value[row] < 0) continue;
    ++count_;
    switch (task_) {
      case Task::kClassification: {
        const int truth = static_cast<int>(y[row]);
        const int predicted = static_cast<int>(predictions.value[row]);
        ++confusion_[truth * num_classes_ + predicted];
        const double p = std::max(predictions.probabilities(row, truth), kProbabilityFloor);
        const double loss = -std::log(p);
        log_loss_sum_ += loss;
        Record(truth, predicted, loss);
        break;
      }
      case Task::kRegression: {
        const double truth = y[row];
        const double error = predictions.value[row] - truth;
        abs_error_sum_ += std::abs(error);
        sq_error_sum_ += error * error;
        const double delta = truth - y_mean_;
        y_mean_ += delta / static_cast<double>(count_);
        y_m2_ += delta * (truth - y_mean_);
        Record(truth, predictions.value[row], error);
        break;
      }
      case Task::kClustering: {
        const double distance = predictions.score[row];
        const double sq = distance * distance;
        sse_ += sq;
        Record(predictions.value[row], predictions.value[row], sq);
        break;
      }
    }
  }
  return Status::OK();
}

ClassificationReport PrequentialEvaluator::Classification(bool window) const {
  ClassificationReport report;
  if (task_ != Task::kClassification) return report;
  if (!window) {
    report.count = count_;
    report.confusion = confusion_;
    report.log_loss = count_ > 0 ? log_loss_sum_ / count_ : 0.0;
  } else {
    report.confusion.assign(confusion_.size(), 0);
    double loss_sum = 0;
    ForEachInWindow([&](double truth, double predicted, double loss) {
      ++report.confusion[static_cast<int>(truth) * num_classes_ + static_cast<int>(predicted)];
      loss_sum += loss;
      ++report.count;
    });
    report.log_loss = report.count > 0 ? loss_sum / report.count : 0.0;
  }
  int64_t correct = 0;
  for (int c = 0; c < num_classes_; ++c) correct += report.confusion[c * num_classes_ + c];
  report.accuracy = report.count > 0 ? static_cast<double>(correct) / report.count : 0.0;
  FillClassMetrics(num_classes_, report.confusion, &report);
  return report;
}

RegressionReport PrequentialEvaluator::Regression(bool window) const {
  RegressionReport report;
  if (task_ != Task::kRegression) return report;
  double abs_sum = 0, sq_sum = 0, ss_tot = 0;
  if (!window) {
    report.count = count_;
    abs_sum = abs_error_sum_;
    sq_sum = sq_error_sum_;
    ss_tot = y_m2_;
  } else {
    double mean = 0;
    ForEachInWindow([&](double truth, double, double error) {
      ++report.count;
      abs_sum += std::abs(error);
      sq_sum += error * error;
      const double delta = truth - mean;
      mean += delta / static_cast<double>(report.count);
      ss_tot += delta * (truth - mean);
    });
  }
  if (report.count == 0) return report;
  report.rmse = std::sqrt(sq_sum / report.count);
  report.mae = abs_sum / report.count;
  report.r2 = R2(sq_sum, ss_tot);
  return report;
}

ClusteringReport PrequentialEvaluator::Clustering(bool window) const {
  ClusteringReport report;
  if (task_ != Task::kClustering) return report;
  if (!window) {
    report.count = count_;
    report.sse = sse_;
  } else {
    ForEachInWindow([&](double, double, double sq) {
      ++report.count;
      report.sse += sq;
    });
  }
  report.mean_squared_distance = report.count > 0 ? report.sse / report.count : 0.0;
  return report;
}

void PrequentialEvaluator::Snapshot(pb::EvaluatorSnapshot* out) const {
  out->Clear();
  out->set_task(static_cast<int>(task_));
  out->set_num_classes(num_classes_);
  out->set_window(window_);
  out->set_count(count_);
  out->mutable_confusion()->Assign(confusion_.begin(), confusion_.end());
  out->set_log_loss_sum(log_loss_sum_);
  out->set_abs_error_sum(abs_error_sum_);
  out->set_sq_error_sum(sq_error_sum_);
  out->set_y_mean(y_mean_);
  out->set_y_m2(y_m2_);
  out->set_sse(sse_);
  ForEachInWindow([&](double truth, double prediction, double loss) {
    out->add_ring_truth(truth);
    out->add_ring_prediction(prediction);
    out->add_ring_loss(loss);
  });
}

Result<std::unique_ptr<PrequentialEvaluator>> PrequentialEvaluator::Restore(
    const pb::EvaluatorSnapshot& snapshot) {
  if (snapshot.task() < 0 || snapshot.task() > static_cast<int>(Task::kClustering)) {
    return Status::Corruption("evaluator snapshot has an unknown task");
  }
  const Task task = static_cast<Task>(snapshot.task());
  auto made = Make(task, snapshot.num_classes(), snapshot.window());
  if (!made.ok()) return Status::Corruption("evaluator snapshot: " + made.status().message());
  std::unique_ptr<PrequentialEvaluator> evaluator = std::move(made).value();
  const int ring = snapshot.ring_truth_size();
  if (static_cast<size_t>(snapshot.confusion_size()) != evaluator->confusion_.size() ||
      ring > snapshot.window() || snapshot.ring_prediction_size() != ring ||
      snapshot.ring_loss_size() != ring) {
    return Status::Corruption("evaluator snapshot has inconsistent sizes");
  }
  evaluator->count_ = snapshot.count();
  std::copy(snapshot.confusion().begin(), snapshot.confusion().end(),
            evaluator->confusion_.begin());
  evaluator->log_loss_sum_ = snapshot.log_loss_sum();
  evaluator->abs_error_sum_ = snapshot.abs_error_sum();
  evaluator->sq_error_sum_ = snapshot.sq_error_sum();
  evaluator->y_mean_ = snapshot.y_mean();
  evaluator->y_m2_ = snapshot.y_m2();
  evaluator->sse_ = snapshot.sse();
  for (int i = 0; i < ring; ++i) {
    evaluator->Record(snapshot.ring_truth(i), snapshot.ring_prediction(i), snapshot.ring_loss(i));
  }
  return evaluator;
}

}  // namespace eddy::learn
