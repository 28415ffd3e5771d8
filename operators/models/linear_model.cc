// Linear models trained by per-row SGD.
//
// Update for one row (x, y), with scores s = W x + b and dL/ds = g:
//   constant / inverse scaling (scikit-learn's plain SGD):
//     eta = eta0 | eta0 / t^power_t   (t = 1 for the first row learned)
//     W <- max(0, 1 - eta * l2) * W - eta * g x^T      (L2 as weight decay)
//     b <- b - eta * g
//   AdaGrad (Duchi et al. 2011), per weight j with gradient G = g x_j + l2 w_j:
//     A_j += G^2;  w_j <- w_j - eta0 * G / sqrt(A_j + eps)
// L1, constant / inverse scaling: the cumulative penalty of Tsuruoka et al.
// (2009), scikit-learn's method (see ApplyCumulativeL1). L1 with AdaGrad: a
// proximal (soft-threshold) step with each weight's own step size,
// w_j <- sign(w_j) max(0, |w_j| - eta_j l1) (FOBOS, Duchi & Singer 2009).
// Either way weights of features that carry no signal become exactly 0. Elastic net splits alpha
// into l1 = alpha * l1_ratio and l2 = alpha * (1 - l1_ratio). The intercept is never regularized.
//
// Every row is one exact online step; only the arithmetic inside a row is
// vectorized (Eigen row ops on preallocated buffers, no per-row allocation).

#include <algorithm>
#include <cmath>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"

namespace eddy::learn {
namespace {

const char* LossName(LinearLoss loss) {
  switch (loss) {
    case LinearLoss::kSquared:
      return "squared";
    case LinearLoss::kHuber:
      return "huber";
    case LinearLoss::kEpsilonInsensitive:
      return "epsilon_insensitive";
    case LinearLoss::kLogistic:
      return "logistic";
    case LinearLoss::kSoftmax:
      return "softmax";
  }
  return "unknown";
}

double Sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1.0 + e);
}

class LinearModel final : public Model {
 public:
  LinearModel(int num_features, const LinearModelOptions& options)
      : options_(options),
        num_features_(num_features),
        outputs_(options.loss == LinearLoss::kSoftmax ? options.num_classes : 1),
        weights_(RowMatrix::Zero(outputs_, num_features)),
        intercept_(Eigen::VectorXd::Zero(outputs_)),
        scores_(outputs_),
        grad_(outputs_),
        grad_row_(num_features) {
    if (options_.schedule == LearningRate::kAdaGrad) {
      grad_sq_ = RowMatrix::Zero(outputs_, num_features);
      grad_sq_intercept_ = Eigen::VectorXd::Zero(outputs_);
    }
    l1_q_ = RowMatrix::Zero(outputs_, num_features);
    const double alpha = options_.alpha;
    switch (options_.penalty) {
      case Penalty::kNone:
        break;
      case Penalty::kL2:
        l2_ = alpha;
        break;
      case Penalty::kL1:
        l1_ = alpha;
        break;
      case Penalty::kElasticNet:
        l1_ = alpha * options_.l1_ratio;
        l2_ = alpha * (1.0 - options_.l1_ratio);
        break;
    }
  }

  ModelKind kind() const override { return ModelKind::kLinear; }
  Task task() const override { return Classifier() ? Task::kClassification : Task::kRegression; }
  int num_features() const override { return num_features_; }
  int num_classes() const override {
    if (options_.loss == LinearLoss::kLogistic) return 2;
    if (options_.loss == LinearLoss::kSoftmax) return options_.num_classes;
    return 0;
  }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      if (!RowSelected(mask, row)) continue;
      Score(x.row(row), scores_);
      Step(x.row(row), y[row]);
      changed = true;
    }
    Changed(changed);
    return Status::OK();
  }

  bool LearnsInBlocks() const override { return true; }
  void BeginBlocks() override {
    in_blocks_ = true;
    changed_in_blocks_ = false;
  }
  void EndBlocks() override {
    in_blocks_ = false;
    if (changed_in_blocks_) ++version_;
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    PrepareOutput(x.rows(), out);
    Eigen::VectorXd scores(outputs_);
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      Score(x.row(row), scores);
      Emit(scores, row, out);
    }
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    PrepareOutput(x.rows(), out);
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      // The scores that make the prediction are the ones the gradient uses.
      Score(x.row(row), scores_);
      Emit(scores_, row, out);
      if (!RowSelected(mask, row)) continue;
      Step(x.row(row), y[row]);
      changed = true;
    }
    Changed(changed);
    return Status::OK();
  }

  Status Snapshot(pb::ModelSnapshot* out) const override {
    out->Clear();
    out->set_format_version(1);
    out->set_version(version_);
    pb::LinearState* state = out->mutable_linear();
    SaveState(state);
    return Status::OK();
  }

  std::string ExportJson() const override {
    JsonWriter json;
    json.BeginObject();
    json.Key("model");
    json.String("linear");
    json.Key("loss");
    json.String(LossName(options_.loss));
    json.Key("version");
    json.Int(version_);
    json.Key("rows_learned");
    json.Int(t_);
    json.Key("num_features");
    json.Int(num_features_);
    json.Key("weights");
    json.BeginArray();
    for (int output = 0; output < outputs_; ++output) {
      json.DoubleArray(std::span<const double>(weights_.row(output).data(), num_features_));
    }
    json.EndArray();
    json.Key("intercept");
    json.DoubleArray(std::span<const double>(intercept_.data(), outputs_));
    json.EndObject();
    return json.Take();
  }

  void SaveState(pb::LinearState* state) const {
    pb::LinearOptions* opts = state->mutable_options();
    opts->set_loss(static_cast<int>(options_.loss));
    opts->set_num_classes(options_.num_classes);
    opts->set_epsilon(options_.epsilon);
    opts->set_penalty(static_cast<int>(options_.penalty));
    opts->set_alpha(options_.alpha);
    opts->set_l1_ratio(options_.l1_ratio);
    opts->set_schedule(static_cast<int>(options_.schedule));
    opts->set_eta0(options_.eta0);
    opts->set_power_t(options_.power_t);
    opts->set_fit_intercept(options_.fit_intercept);
    opts->set_adagrad_epsilon(options_.adagrad_epsilon);
    state->set_num_features(num_features_);
    state->set_num_outputs(outputs_);
    state->set_t(t_);
    state->mutable_weights()->Assign(weights_.data(), weights_.data() + weights_.size());
    state->mutable_intercept()->Assign(intercept_.data(), intercept_.data() + intercept_.size());
    state->set_l1_u(l1_u_);
    state->mutable_l1_q()->Assign(l1_q_.data(), l1_q_.data() + l1_q_.size());
    if (options_.schedule == LearningRate::kAdaGrad) {
      state->mutable_grad_sq()->Assign(grad_sq_.data(), grad_sq_.data() + grad_sq_.size());
      state->mutable_grad_sq_intercept()->Assign(
          grad_sq_intercept_.data(), grad_sq_intercept_.data() + grad_sq_intercept_.size());
    }
  }

  Status LoadState(const pb::LinearState& state) {
    const size_t cells = static_cast<size_t>(outputs_) * num_features_;
    if (state.num_outputs() != outputs_ || static_cast<size_t>(state.weights_size()) != cells ||
        state.intercept_size() != outputs_ || static_cast<size_t>(state.l1_q_size()) != cells) {
      return Status::Corruption("linear model snapshot has inconsistent sizes");
    }
    if (options_.schedule == LearningRate::kAdaGrad &&
        (static_cast<size_t>(state.grad_sq_size()) != cells ||
         state.grad_sq_intercept_size() != outputs_)) {
      return Status::Corruption("linear model snapshot lacks AdaGrad state");
    }
    t_ = state.t();
    l1_u_ = state.l1_u();
    std::copy(state.l1_q().begin(), state.l1_q().end(), l1_q_.data());
    std::copy(state.weights().begin(), state.weights().end(), weights_.data());
    std::copy(state.intercept().begin(), state.intercept().end(), intercept_.data());
    if (options_.schedule == LearningRate::kAdaGrad) {
      std::copy(state.grad_sq().begin(), state.grad_sq().end(), grad_sq_.data());
      std::copy(state.grad_sq_intercept().begin(), state.grad_sq_intercept().end(),
                grad_sq_intercept_.data());
    }
    return Status::OK();
  }

  void set_version(int64_t version) { version_ = version; }

 private:
  using RowRef = Eigen::Ref<const Eigen::RowVectorXd>;

  // One version step per call that learned a row, or per batch of blocks.
  void Changed(bool changed) {
    if (!changed) return;
    if (in_blocks_) {
      changed_in_blocks_ = true;
    } else {
      ++version_;
    }
  }

  bool Classifier() const {
    return options_.loss == LinearLoss::kLogistic || options_.loss == LinearLoss::kSoftmax;
  }

  template <typename Row>
  void Score(const Row& x, Eigen::VectorXd& scores) const {
    for (int output = 0; output < outputs_; ++output) {
      scores[output] = weights_.row(output).dot(x) + intercept_[output];
    }
  }

  void PrepareOutput(Eigen::Index rows, PredictionColumns* out) const {
    out->value.resize(rows);
    if (Classifier()) {
      out->score.resize(rows);
      out->probabilities.resize(rows, num_classes());
    } else {
      out->score.resize(0);
      out->probabilities.resize(0, 0);
    }
  }

  void Emit(const Eigen::VectorXd& scores, Eigen::Index row, PredictionColumns* out) const {
    switch (options_.loss) {
      case LinearLoss::kSquared:
      case LinearLoss::kHuber:
      case LinearLoss::kEpsilonInsensitive:
        out->value[row] = scores[0];
        return;
      case LinearLoss::kLogistic: {
        const double p1 = Sigmoid(scores[0]);
        out->probabilities(row, 0) = 1.0 - p1;
        out->probabilities(row, 1) = p1;
        const bool positive = scores[0] > 0;
        out->value[row] = positive ? 1.0 : 0.0;
        out->score[row] = positive ? p1 : 1.0 - p1;
        return;
      }
      case LinearLoss::kSoftmax: {
        auto probs = out->probabilities.row(row);
        Softmax(scores.transpose(), probs);
        Eigen::Index best = 0;
        probs.maxCoeff(&best);  // first maximum on ties
        out->value[row] = static_cast<double>(best);
        out->score[row] = probs[best];
        return;
      }
    }
  }

  // dL/ds for the current scores_, into grad_.
  void LossGradient(double y) {
    switch (options_.loss) {
      case LinearLoss::kSquared:
        grad_[0] = scores_[0] - y;
        return;
      case LinearLoss::kHuber: {
        const double r = scores_[0] - y;
        grad_[0] =
            std::abs(r) <= options_.epsilon ? r : (r > 0 ? options_.epsilon : -options_.epsilon);
        return;
      }
      case LinearLoss::kEpsilonInsensitive: {
        const double r = scores_[0] - y;
        grad_[0] = r > options_.epsilon ? 1.0 : (r < -options_.epsilon ? -1.0 : 0.0);
        return;
      }
      case LinearLoss::kLogistic:
        grad_[0] = Sigmoid(scores_[0]) - y;
        return;
      case LinearLoss::kSoftmax:
        Softmax(scores_, grad_);
        grad_[static_cast<int>(y)] -= 1.0;
        return;
    }
  }

  // One SGD step on row x with label y; scores_ must hold the row's scores.
  template <typename Row>
  void Step(const Row& x, double y) {
    LossGradient(y);
    ++t_;
    if (options_.schedule == LearningRate::kAdaGrad) {
      const double eps = options_.adagrad_epsilon;
      for (int output = 0; output < outputs_; ++output) {
        auto w = weights_.row(output);
        auto acc = grad_sq_.row(output);
        grad_row_.noalias() = grad_[output] * x;
        if (l2_ > 0) grad_row_ += l2_ * w;
        acc.array() += grad_row_.array().square();
        // grad_row_ becomes the per-weight step size.
        grad_row_.array() = grad_row_.array() * options_.eta0 / (acc.array() + eps).sqrt();
        w -= grad_row_;
        if (l1_ > 0) {
          w.array() = w.array().sign() *
                      (w.array().abs() - options_.eta0 * l1_ / (acc.array() + eps).sqrt()).max(0.0);
        }
        if (options_.fit_intercept) {
          const double g = grad_[output];
          grad_sq_intercept_[output] += g * g;
          intercept_[output] -= options_.eta0 * g / std::sqrt(grad_sq_intercept_[output] + eps);
        }
      }
      return;
    }
    const double eta = options_.schedule == LearningRate::kConstant
                           ? options_.eta0
                           : options_.eta0 / std::pow(static_cast<double>(t_), options_.power_t);
    if (l2_ > 0) weights_ *= std::max(0.0, 1.0 - eta * l2_);
    for (int output = 0; output < outputs_; ++output) {
      if (grad_[output] == 0.0) continue;
      weights_.row(output).noalias() -= (eta * grad_[output]) * x;
      if (options_.fit_intercept) intercept_[output] -= eta * grad_[output];
    }
    if (l1_ > 0) ApplyCumulativeL1(eta * l1_);
  }

  // Tsuruoka, Tsujii & Ananiadou (2009), as scikit-learn's l1penalty: u is
  // the L1 penalty every weight should have received so far, q_j what w_j
  // actually received; a weight is pulled toward 0 by the difference but
  // never across it. A weight resting at 0 must be pushed past all the
  // penalty it was spared to leave it, which keeps noise weights at 0.
  void ApplyCumulativeL1(double step_penalty) {
    l1_u_ += step_penalty;
    double* w = weights_.data();
    double* q = l1_q_.data();
    for (Eigen::Index j = 0; j < weights_.size(); ++j) {
      const double z = w[j];
      if (z > 0) {
        w[j] = std::max(0.0, z - (l1_u_ + q[j]));
      } else if (z < 0) {
        w[j] = std::min(0.0, z + (l1_u_ - q[j]));
      }
      q[j] += w[j] - z;
    }
  }

  const LinearModelOptions options_;
  const int num_features_;
  const int outputs_;
  double l1_ = 0;
  double l2_ = 0;
  RowMatrix weights_;          // outputs_ x num_features_
  Eigen::VectorXd intercept_;  // outputs_
  RowMatrix grad_sq_;          // AdaGrad only
  Eigen::VectorXd grad_sq_intercept_;
  int64_t t_ = 0;
  // Cumulative L1 penalty (constant and inverse-scaling schedules).
  double l1_u_ = 0;
  RowMatrix l1_q_;
  // Per-row scratch, allocated once.
  Eigen::VectorXd scores_;
  Eigen::VectorXd grad_;
  Eigen::RowVectorXd grad_row_;
  bool in_blocks_ = false;
  bool changed_in_blocks_ = false;
};

Status CheckOptions(int num_features, const LinearModelOptions& o) {
  if (num_features < 1) return Status::InvalidArgument("a linear model needs at least one feature");
  if (!(o.eta0 > 0) || !std::isfinite(o.eta0)) return Status::InvalidArgument("eta0 must be > 0");
  if (!(o.alpha >= 0)) return Status::InvalidArgument("alpha must be >= 0");
  if (!(o.l1_ratio >= 0 && o.l1_ratio <= 1)) {
    return Status::InvalidArgument("l1_ratio must be in [0, 1]");
  }
  if (!(o.epsilon >= 0)) return Status::InvalidArgument("epsilon must be >= 0");
  if (!(o.power_t >= 0)) return Status::InvalidArgument("power_t must be >= 0");
  if (!(o.adagrad_epsilon > 0)) return Status::InvalidArgument("adagrad_epsilon must be > 0");
  if (o.loss == LinearLoss::kSoftmax && o.num_classes < 2) {
    return Status::InvalidArgument("softmax needs num_classes >= 2");
  }
  if (static_cast<int>(o.loss) > static_cast<int>(LinearLoss::kSoftmax) ||
      static_cast<int>(o.penalty) > static_cast<int>(Penalty::kElasticNet) ||
      static_cast<int>(o.schedule) > static_cast<int>(LearningRate::kAdaGrad)) {
    return Status::InvalidArgument("unknown linear model option value");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeLinearModel(int num_features,
                                               const LinearModelOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(num_features, options));
  return std::unique_ptr<Model>(std::make_unique<LinearModel>(num_features, options));
}

Result<std::unique_ptr<Model>> RestoreLinearModel(const pb::LinearState& state, int64_t version) {
  const pb::LinearOptions& o = state.options();
  LinearModelOptions options;
  options.loss = static_cast<LinearLoss>(o.loss());
  options.num_classes = o.num_classes();
  options.epsilon = o.epsilon();
  options.penalty = static_cast<Penalty>(o.penalty());
  options.alpha = o.alpha();
  options.l1_ratio = o.l1_ratio();
  options.schedule = static_cast<LearningRate>(o.schedule());
  options.eta0 = o.eta0();
  options.power_t = o.power_t();
  options.fit_intercept = o.fit_intercept();
  options.adagrad_epsilon = o.adagrad_epsilon();
  if (o.loss() < 0 || o.penalty() < 0 || o.schedule() < 0) {
    return Status::Corruption("linear model snapshot has invalid options");
  }
  Status valid = CheckOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("linear model snapshot: " + valid.message());
  auto model = std::make_unique<LinearModel>(state.num_features(), options);
  EDDY_RETURN_IF_ERROR(model->LoadState(state));
  model->set_version(version);
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::learn
