// Multilayer perceptron trained online (issue 16): dense layers with ReLU or
// tanh, a softmax (classification) or linear (regression) output, trained by
// SGD or Adam on mini-batches of batch_size rows cut from each call in row
// order; L2 on the weights. Weights start from the seeded counter-based RNG
// (He-uniform for ReLU layers, Glorot-uniform otherwise), biases at 0.
//
// Prequential, per mini-batch in order: predict its rows with the current
// weights, then take one step on its labelled rows — test-then-train at the
// grain of a mini-batch, so a row is never predicted by weights that saw it.
// The last mini-batch of a call may be shorter; the cut depends only on the
// call's rows, so a replayed batch trains identically.
//
// Loss: cross-entropy of the softmax (classification), half squared error
// (regression), averaged over the mini-batch. Eigen for the maths; no
// threads, so results are bit-identical run to run.

#include <algorithm>
#include <cmath>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"

namespace eddy::learn {
namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

struct Layer {
  Matrix w;  // inputs x outputs
  Vector b;
  // Adam's moments (empty for SGD).
  Matrix mw, vw;
  Vector mb, vb;
};

class Mlp final : public Model {
 public:
  Mlp(int num_features, const MlpOptions& options) : options_(options), inputs_(num_features) {}

  void Init() {
    CounterRng rng(options_.seed);
    int in = inputs_;
    std::vector<int> sizes = options_.hidden;
    sizes.push_back(outputs());
    for (size_t l = 0; l < sizes.size(); ++l) {
      const int out = sizes[l];
      const bool hidden = l + 1 < sizes.size();
      const double limit = hidden && options_.activation == Activation::kRelu
                               ? std::sqrt(6.0 / in)
                               : std::sqrt(6.0 / (in + out));
      Layer layer;
      layer.w.resize(in, out);
      for (int i = 0; i < in; ++i) {
        for (int j = 0; j < out; ++j) layer.w(i, j) = (2 * rng.NextDouble() - 1) * limit;
      }
      layer.b = Vector::Zero(out);
      if (options_.optimizer == Optimizer::kAdam) {
        layer.mw = layer.vw = Matrix::Zero(in, out);
        layer.mb = layer.vb = Vector::Zero(out);
      }
      layers_.push_back(std::move(layer));
      in = out;
    }
  }

  ModelKind kind() const override { return ModelKind::kMlp; }
  Task task() const override { return options_.task; }
  int num_features() const override { return inputs_; }
  int num_classes() const override {
    return options_.task == Task::kClassification ? options_.num_classes : 0;
  }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, inputs_, num_classes(), true));
    return Run(x, y, mask, nullptr);
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, inputs_));
    PrepareOutput(x.rows(), out);
    std::vector<Matrix> activations;
    for (Eigen::Index start = 0; start < x.rows(); start += options_.batch_size) {
      const Eigen::Index n = std::min<Eigen::Index>(options_.batch_size, x.rows() - start);
      Forward(x.middleRows(start, n), &activations);
      WriteOutput(activations.back(), start, out);
    }
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, inputs_, num_classes(), true));
    PrepareOutput(x.rows(), out);
    return Run(x, y, mask, out);
  }

  Status Snapshot(pb::ModelSnapshot* out) const override;
  std::string ExportJson() const override;
  Status Load(const pb::MlpState& state, int64_t version);

 private:
  int outputs() const { return options_.task == Task::kClassification ? options_.num_classes : 1; }

  void PrepareOutput(Eigen::Index rows, PredictionColumns* out) const {
    out->value.resize(rows);
    if (options_.task == Task::kClassification) {
      out->score.resize(rows);
      out->probabilities.resize(rows, options_.num_classes);
    } else {
      out->score.resize(0);
      out->probabilities.resize(0, 0);
    }
  }

  // activations[0] = x, then every layer's output (the last: softmax
  // probabilities or the linear prediction).
  void Forward(const FeatureMatrix& x, std::vector<Matrix>* activations) const {
    activations->resize(layers_.size() + 1);
    (*activations)[0] = x;
    for (size_t l = 0; l < layers_.size(); ++l) {
      Matrix z = (*activations)[l] * layers_[l].w;
      z.rowwise() += layers_[l].b.transpose();
      if (l + 1 < layers_.size()) {
        if (options_.activation == Activation::kRelu) {
          z = z.cwiseMax(0.0);
        } else {
          z = z.array().tanh();
        }
      } else if (options_.task == Task::kClassification) {
        for (Eigen::Index r = 0; r < z.rows(); ++r) {
          const double top = z.row(r).maxCoeff();
          z.row(r) = (z.row(r).array() - top).exp();
          z.row(r) /= z.row(r).sum();
        }
      }
      (*activations)[l + 1] = std::move(z);
    }
  }

  void WriteOutput(const Matrix& output, Eigen::Index start, PredictionColumns* out) const {
    for (Eigen::Index r = 0; r < output.rows(); ++r) {
      if (options_.task == Task::kClassification) {
        Eigen::Index best = 0;
        output.row(r).maxCoeff(&best);
        out->value[start + r] = static_cast<double>(best);
        out->score[start + r] = output(r, best);
        out->probabilities.row(start + r) = output.row(r);
      } else {
        out->value[start + r] = output(r, 0);
      }
    }
  }

  Status Run(const FeatureMatrix& x, std::span<const double> y, const std::vector<uint8_t>* mask,
             PredictionColumns* out) {
    std::vector<Matrix> activations;
    std::vector<Eigen::Index> rows;
    bool changed = false;
    for (Eigen::Index start = 0; start < x.rows(); start += options_.batch_size) {
      const Eigen::Index n = std::min<Eigen::Index>(options_.batch_size, x.rows() - start);
      rows.clear();
      for (Eigen::Index r = start; r < start + n; ++r) {
        if (RowSelected(mask, r)) rows.push_back(r);
      }
      const bool all = static_cast<Eigen::Index>(rows.size()) == n;
      if (out != nullptr || all) {
        Forward(x.middleRows(start, n), &activations);
        if (out != nullptr) WriteOutput(activations.back(), start, out);
      }
      if (rows.empty()) continue;
      if (!all) {
        RowMatrix picked(static_cast<Eigen::Index>(rows.size()), inputs_);
        for (size_t i = 0; i < rows.size(); ++i) picked.row(i) = x.row(rows[i]);
        Forward(picked, &activations);
      }
      Step(activations, y, rows);
      changed = true;
    }
    if (changed) ++version_;
    return Status::OK();
  }

  // One optimizer step on the rows whose forward pass is `activations`
  // (labels y[rows[i]]).
  void Step(const std::vector<Matrix>& activations, std::span<const double> y,
            const std::vector<Eigen::Index>& rows) {
    const double n = static_cast<double>(rows.size());
    Matrix delta = activations.back();  // d loss / d z of the output layer
    for (size_t i = 0; i < rows.size(); ++i) {
      const double label = y[rows[i]];
      if (options_.task == Task::kClassification) {
        delta(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(label)) -= 1.0;
      } else {
        delta(static_cast<Eigen::Index>(i), 0) -= label;
      }
    }
    delta /= n;
    ++steps_;
    for (size_t l = layers_.size(); l-- > 0;) {
      Layer& layer = layers_[l];
      Matrix grad_w = activations[l].transpose() * delta;
      grad_w += options_.l2 * layer.w;
      const Vector grad_b = delta.colwise().sum().transpose();
      if (l > 0) {
        Matrix back = delta * layer.w.transpose();
        const Matrix& a = activations[l];
        if (options_.activation == Activation::kRelu) {
          back = back.cwiseProduct((a.array() > 0).cast<double>().matrix());
        } else {
          back = back.cwiseProduct((1.0 - a.array().square()).matrix());
        }
        delta = std::move(back);
      }
      Update(&layer, grad_w, grad_b);
    }
  }

  void Update(Layer* layer, const Matrix& grad_w, const Vector& grad_b) {
    const double lr = options_.learning_rate;
    if (options_.optimizer == Optimizer::kSgd) {
      layer->w -= lr * grad_w;
      layer->b -= lr * grad_b;
      return;
    }
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1 - std::pow(b1, static_cast<double>(steps_));
    const double c2 = 1 - std::pow(b2, static_cast<double>(steps_));
    layer->mw = b1 * layer->mw + (1 - b1) * grad_w;
    layer->vw = b2 * layer->vw + (1 - b2) * grad_w.cwiseProduct(grad_w);
    layer->mb = b1 * layer->mb + (1 - b1) * grad_b;
    layer->vb = b2 * layer->vb + (1 - b2) * grad_b.cwiseProduct(grad_b);
    layer->w.array() -= lr * (layer->mw.array() / c1) / ((layer->vw.array() / c2).sqrt() + eps);
    layer->b.array() -= lr * (layer->mb.array() / c1) / ((layer->vb.array() / c2).sqrt() + eps);
  }

  const MlpOptions options_;
  const int inputs_;
  std::vector<Layer> layers_;
  int64_t steps_ = 0;
};

void Append(const Matrix& m, google::protobuf::RepeatedField<double>* out) {
  out->Add(m.data(), m.data() + m.size());
}

Status Mlp::Snapshot(pb::ModelSnapshot* out) const {
  out->Clear();
  out->set_format_version(1);
  out->set_version(version_);
  pb::MlpState* state = out->mutable_mlp();
  pb::MlpOptions* o = state->mutable_options();
  o->set_task(static_cast<int>(options_.task));
  o->set_num_classes(options_.num_classes);
  for (int h : options_.hidden) o->add_hidden(h);
  o->set_activation(static_cast<int>(options_.activation));
  o->set_optimizer(static_cast<int>(options_.optimizer));
  o->set_learning_rate(options_.learning_rate);
  o->set_l2(options_.l2);
  o->set_batch_size(options_.batch_size);
  o->set_seed(options_.seed);
  state->set_num_features(inputs_);
  state->set_steps(steps_);
  for (const Layer& layer : layers_) {
    Append(layer.w, state->mutable_weights());
    Append(layer.b, state->mutable_weights());
    if (options_.optimizer == Optimizer::kAdam) {
      Append(layer.mw, state->mutable_moments());
      Append(layer.vw, state->mutable_moments());
      Append(layer.mb, state->mutable_moments());
      Append(layer.vb, state->mutable_moments());
    }
  }
  return Status::OK();
}

Status Mlp::Load(const pb::MlpState& state, int64_t version) {
  int64_t weights = 0;
  for (const Layer& layer : layers_) weights += layer.w.size() + layer.b.size();
  const int64_t moments = options_.optimizer == Optimizer::kAdam ? 2 * weights : 0;
  if (state.weights_size() != weights || state.moments_size() != moments) {
    return Status::Corruption("mlp snapshot: expected " + std::to_string(weights) +
                              " weights, got " + std::to_string(state.weights_size()));
  }
  const double* w = state.weights().data();
  const double* m = state.moments().data();
  auto take = [](const double** from, auto* into) {
    std::copy(*from, *from + into->size(), into->data());
    *from += into->size();
  };
  for (Layer& layer : layers_) {
    take(&w, &layer.w);
    take(&w, &layer.b);
    if (options_.optimizer == Optimizer::kAdam) {
      take(&m, &layer.mw);
      take(&m, &layer.vw);
      take(&m, &layer.mb);
      take(&m, &layer.vb);
    }
  }
  steps_ = state.steps();
  version_ = version;
  return Status::OK();
}

std::string Mlp::ExportJson() const {
  JsonWriter json;
  json.BeginObject();
  json.Key("model");
  json.String(options_.task == Task::kClassification ? "mlp_classifier" : "mlp_regressor");
  json.Key("version");
  json.Int(version_);
  json.Key("steps");
  json.Int(steps_);
  json.Key("activation");
  json.String(options_.activation == Activation::kRelu ? "relu" : "tanh");
  json.Key("layers");
  json.BeginArray();
  for (const Layer& layer : layers_) {
    json.BeginObject();
    json.Key("inputs");
    json.Int(layer.w.rows());
    json.Key("outputs");
    json.Int(layer.w.cols());
    json.Key("bias");
    json.DoubleArray(std::span<const double>(layer.b.data(), static_cast<size_t>(layer.b.size())));
    json.Key("weight_norm");
    json.Double(layer.w.norm());
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return json.Take();
}

Status CheckMlpOptions(int num_features, const MlpOptions& o) {
  if (num_features < 1) return Status::InvalidArgument("an MLP needs at least one feature");
  if (o.task == Task::kClustering) return Status::InvalidArgument("an MLP does not cluster");
  if (o.task == Task::kClassification && o.num_classes < 2) {
    return Status::InvalidArgument("an MLP classifier needs num_classes >= 2");
  }
  for (int h : o.hidden) {
    if (h < 1 || h > 100000)
      return Status::InvalidArgument("hidden layer sizes must be in [1, 100000]");
  }
  if (!(o.learning_rate > 0)) return Status::InvalidArgument("learning_rate must be > 0");
  if (!(o.l2 >= 0)) return Status::InvalidArgument("l2 must be >= 0");
  if (o.batch_size < 1) return Status::InvalidArgument("batch_size must be >= 1");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeMlp(int num_features, const MlpOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckMlpOptions(num_features, options));
  auto mlp = std::make_unique<Mlp>(num_features, options);
  mlp->Init();
  return std::unique_ptr<Model>(std::move(mlp));
}

Result<std::unique_ptr<Model>> RestoreMlp(const pb::MlpState& state, int64_t version) {
  const pb::MlpOptions& o = state.options();
  MlpOptions options;
  options.task = static_cast<Task>(o.task());
  options.num_classes = o.num_classes();
  options.hidden.assign(o.hidden().begin(), o.hidden().end());
  options.activation = static_cast<Activation>(o.activation());
  options.optimizer = static_cast<Optimizer>(o.optimizer());
  options.learning_rate = o.learning_rate();
  options.l2 = o.l2();
  options.batch_size = o.batch_size();
  options.seed = o.seed();
  if (o.task() < 0 || o.task() > 1 || o.activation() < 0 || o.activation() > 1 ||
      o.optimizer() < 0 || o.optimizer() > 1) {
    return Status::Corruption("mlp snapshot has invalid options");
  }
  Status valid = CheckMlpOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("mlp snapshot: " + valid.message());
  auto mlp = std::make_unique<Mlp>(state.num_features(), options);
  mlp->Init();  // shapes; Load overwrites every value
  EDDY_RETURN_IF_ERROR(mlp->Load(state, version));
  return std::unique_ptr<Model>(std::move(mlp));
}

}  // namespace eddy::learn
