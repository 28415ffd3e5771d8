// Hoeffding tree regressor (FIMT-DD style, as river's
// HoeffdingTreeRegressor, without drift adaptation).
//
// Splits maximize variance reduction,
//   VR = var(parent) - sum_i (n_i / n) var(child_i)   (population variances),
// and a leaf splits when, with the Hoeffding bound epsilon for range 1,
//   VR(best) > 0  and  (VR(second) / VR(best) < 1 - epsilon  or  epsilon < tau)
// (the ratio test of Ikonomovska et al. 2011 used by river). Each branch must
// keep min_branch_fraction of the weight.
//
// Numeric observer: quantization (river's QO, Mastelini & de Carvalho 2021):
// values fall into bins of width quantization_radius (key floor(x / r)); each
// bin keeps the sum of its x values and the target's count, mean and M2. The
// candidate thresholds lie midway between the x means of adjacent non-empty
// bins. Memory per feature is bounded by the value range / r, not by the
// stream length (an E-BST keeps every distinct value). Nominal features
// (ordinal codes) keep target statistics per value and split by equality.
//
// Leaf models:
//   mean      the leaf's target mean;
//   linear    the mean plus a linear correction w . z learned by per-row SGD
//             (squared loss, constant rate leaf_learning_rate) on the leaf's
//             own standardized features z = (x - mean_x) / sd_x; children
//             inherit the parent's weights and feature statistics;
//   adaptive  (default) whichever of the two has the lower running absolute
//             error on the rows the leaf learned (measured before each update).

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"

namespace eddy::learn {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

struct Stats {
  double n = 0;
  double mean = 0;
  double m2 = 0;
  void Add(double y) {
    n += 1;
    const double delta = y - mean;
    mean += delta / n;
    m2 += delta * (y - mean);
  }
  void Merge(const Stats& other) {
    if (other.n == 0) return;
    const double total = n + other.n;
    const double delta = other.mean - mean;
    m2 += other.m2 + delta * delta * n * other.n / total;
    mean += delta * other.n / total;
    n = total;
  }
  void Subtract(const Stats& part, Stats* out) const {  // *this minus part
    out->n = n - part.n;
    if (out->n <= 0) {
      *out = Stats{};
      return;
    }
    out->mean = (n * mean - part.n * part.mean) / out->n;
    const double delta = part.mean - out->mean;
    out->m2 = std::max(0.0, m2 - part.m2 - delta * delta * part.n * out->n / n);
  }
  double Variance() const { return n > 0 ? m2 / n : 0.0; }
};

struct Bin {
  double x_sum = 0;
  Stats y;
};

struct Observer {
  std::map<int64_t, Bin> bins;      // numeric
  std::map<double, Stats> nominal;  // nominal
};

struct Node {
  int feature = -1;
  double threshold = 0;
  bool nominal = false;
  std::unique_ptr<Node> left;
  std::unique_ptr<Node> right;
  Stats y;
  int depth = 0;
  bool active = true;
  double weight_at_last_eval = 0;
  std::vector<Observer> observers;
  // Linear leaf model over leaf-standardized features.
  Eigen::RowVectorXd w;
  Eigen::RowVectorXd x_mean;
  Eigen::RowVectorXd x_m2;
  double mean_abs_error = 0;
  double model_abs_error = 0;

  bool is_leaf() const { return left == nullptr; }
  bool GoesLeft(const double* x) const {
    return nominal ? x[feature] == threshold : x[feature] <= threshold;
  }
};

struct Candidate {
  int feature = -1;
  double threshold = 0;
  bool nominal = false;
  double merit = kNegInf;
  Stats left;
  Stats right;
};

const char* LeafModelName(RegressionLeaf leaf) {
  switch (leaf) {
    case RegressionLeaf::kMean:
      return "mean";
    case RegressionLeaf::kLinear:
      return "linear";
    case RegressionLeaf::kAdaptive:
      return "adaptive";
  }
  return "unknown";
}

class HoeffdingTreeRegressor final : public Model {
 public:
  HoeffdingTreeRegressor(int num_features, const HoeffdingTreeRegressorOptions& options)
      : options_(options),
        num_features_(num_features),
        nominal_(num_features, false),
        z_(num_features) {
    for (int f : options_.nominal_features) nominal_[f] = true;
    root_ = NewLeaf(0, nullptr);
  }

  ModelKind kind() const override { return ModelKind::kHoeffdingTreeRegressor; }
  Task task() const override { return Task::kRegression; }
  int num_features() const override { return num_features_; }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, 0, true));
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      if (!RowSelected(mask, row)) continue;
      LearnRow(x.row(row).data(), y[row]);
      changed = true;
    }
    if (changed) ++version_;
    return Status::OK();
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    PrepareOutput(x.rows(), out);
    Eigen::RowVectorXd z(num_features_);
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      const double* xr = x.row(row).data();
      out->value[row] = LeafPrediction(*SortToLeaf(xr), xr, &z);
    }
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, 0, true));
    PrepareOutput(x.rows(), out);
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      const double* xr = x.row(row).data();
      out->value[row] = LeafPrediction(*SortToLeaf(xr), xr, &z_);
      if (!RowSelected(mask, row)) continue;
      LearnRow(xr, y[row]);
      changed = true;
    }
    if (changed) ++version_;
    return Status::OK();
  }

  Status Snapshot(pb::ModelSnapshot* out) const override;
  std::string ExportJson() const override;
  ModelShape Shape() const override { return TreeShape(root_.get()); }
  Status Load(const pb::TreeState& state, int64_t version);

 private:
  std::unique_ptr<Node> NewLeaf(int depth, const Node* parent) const {
    auto leaf = std::make_unique<Node>();
    leaf->depth = depth;
    if (parent != nullptr) {
      leaf->w = parent->w;
      leaf->x_mean = parent->x_mean;
      leaf->x_m2 = parent->x_m2;
    } else {
      leaf->w = Eigen::RowVectorXd::Zero(num_features_);
      leaf->x_mean = Eigen::RowVectorXd::Zero(num_features_);
      leaf->x_m2 = Eigen::RowVectorXd::Zero(num_features_);
    }
    return leaf;
  }

  const Node* SortToLeaf(const double* x) const {
    const Node* node = root_.get();
    while (!node->is_leaf()) node = node->GoesLeft(x) ? node->left.get() : node->right.get();
    return node;
  }

  void PrepareOutput(Eigen::Index rows, PredictionColumns* out) const {
    out->value.resize(rows);
    out->score.resize(0);
    out->probabilities.resize(0, 0);
  }

  // Standardized features of the leaf's linear model, into *z. The
  // statistics' count is the leaf's own row count (inherited rows included).
  void Standardize(const Node& leaf, const double* x, Eigen::RowVectorXd* z) const {
    const double n = leaf.y.n;
    for (int f = 0; f < num_features_; ++f) {
      const double sd = n > 1 ? std::sqrt(leaf.x_m2[f] / n) : 0.0;
      (*z)[f] = sd > 0 ? (x[f] - leaf.x_mean[f]) / sd : 0.0;
    }
  }

  double LinearPrediction(const Node& leaf, const double* x, Eigen::RowVectorXd* z) const {
    Standardize(leaf, x, z);
    return leaf.y.mean + leaf.w.dot(*z);
  }

  double LeafPrediction(const Node& leaf, const double* x, Eigen::RowVectorXd* z) const {
    switch (options_.leaf_model) {
      case RegressionLeaf::kMean:
        return leaf.y.mean;
      case RegressionLeaf::kLinear:
        return LinearPrediction(leaf, x, z);
      case RegressionLeaf::kAdaptive:
        return leaf.model_abs_error < leaf.mean_abs_error ? LinearPrediction(leaf, x, z)
                                                          : leaf.y.mean;
    }
    return leaf.y.mean;
  }

  void LearnRow(const double* x, double y) {
    Node* leaf = root_.get();
    while (!leaf->is_leaf()) leaf = leaf->GoesLeft(x) ? leaf->left.get() : leaf->right.get();
    if (options_.leaf_model != RegressionLeaf::kMean) {
      const double linear = LinearPrediction(*leaf, x, &z_);  // fills z_
      leaf->mean_abs_error += std::abs(leaf->y.mean - y);
      leaf->model_abs_error += std::abs(linear - y);
      // SGD on the residual around the mean.
      const double error = linear - y;
      leaf->w -= (options_.leaf_learning_rate * error) * z_;
    }
    leaf->y.Add(y);
    const double n = leaf->y.n;
    for (int f = 0; f < num_features_; ++f) {
      const double delta = x[f] - leaf->x_mean[f];
      leaf->x_mean[f] += delta / n;
      leaf->x_m2[f] += delta * (x[f] - leaf->x_mean[f]);
    }
    if (!leaf->active) return;
    if (leaf->observers.empty()) leaf->observers.resize(num_features_);
    for (int f = 0; f < num_features_; ++f) {
      Observer& obs = leaf->observers[f];
      if (nominal_[f]) {
        obs.nominal[x[f]].Add(y);
      } else {
        Bin& bin = obs.bins[static_cast<int64_t>(std::floor(x[f] / options_.quantization_radius))];
        bin.x_sum += x[f];
        bin.y.Add(y);
      }
    }
    if (leaf->y.n - leaf->weight_at_last_eval >= options_.grace_period) {
      AttemptSplit(leaf);
      leaf->weight_at_last_eval = leaf->y.n;
    }
  }

  double Merit(const Stats& pre, const Stats& left, const Stats& right) const {
    const double total = left.n + right.n;
    const double min_weight = options_.min_branch_fraction * total;
    if (!(left.n > min_weight && right.n > min_weight)) return kNegInf;
    return pre.Variance() - (left.n / total * left.Variance() + right.n / total * right.Variance());
  }

  Candidate BestSplit(const Node& leaf, int f) const {
    Candidate best;
    best.feature = f;
    const Observer& obs = leaf.observers[f];
    Stats total;
    if (nominal_[f]) {
      best.nominal = true;
      for (const auto& [value, stats] : obs.nominal) total.Merge(stats);
      for (const auto& [value, stats] : obs.nominal) {
        Stats rest;
        total.Subtract(stats, &rest);
        const double merit = Merit(total, stats, rest);
        if (merit > best.merit) {
          best = {f, value, true, merit, stats, rest};
        }
      }
      return best;
    }
    for (const auto& [key, bin] : obs.bins) total.Merge(bin.y);
    Stats left;
    for (auto it = obs.bins.begin(); it != obs.bins.end(); ++it) {
      auto next = std::next(it);
      if (next == obs.bins.end()) break;
      left.Merge(it->second.y);
      Stats right;
      total.Subtract(left, &right);
      const double merit = Merit(total, left, right);
      if (merit > best.merit) {
        const double here = it->second.x_sum / it->second.y.n;
        const double there = next->second.x_sum / next->second.y.n;
        best = {f, (here + there) / 2, false, merit, left, right};
      }
    }
    return best;
  }

  void AttemptSplit(Node* leaf) {
    if (leaf->y.Variance() <= 0) return;
    if (options_.max_depth > 0 && leaf->depth >= options_.max_depth) {
      leaf->active = false;
      leaf->observers.clear();
      return;
    }
    Candidate best;
    double second = 0;
    for (int f = 0; f < num_features_; ++f) {
      Candidate candidate = BestSplit(*leaf, f);
      if (candidate.merit > best.merit) {
        if (best.merit > second) second = best.merit;
        best = candidate;
      } else if (candidate.merit > second) {
        second = candidate.merit;
      }
    }
    if (!(best.merit > 0)) return;
    const double bound = HoeffdingBound(1.0, options_.delta, leaf->y.n);
    if (!(second / best.merit < 1 - bound || bound < options_.tau)) return;
    leaf->feature = best.feature;
    leaf->threshold = best.threshold;
    leaf->nominal = best.nominal;
    leaf->left = NewLeaf(leaf->depth + 1, leaf);
    leaf->right = NewLeaf(leaf->depth + 1, leaf);
    leaf->left->y = best.left;
    leaf->right->y = best.right;
    leaf->left->weight_at_last_eval = best.left.n;
    leaf->right->weight_at_last_eval = best.right.n;
    leaf->observers.clear();
    leaf->observers.shrink_to_fit();
    ++num_splits_;
  }

  void SaveNode(const Node& node, pb::TreeState* state) const;
  Result<std::unique_ptr<Node>> LoadNode(const pb::TreeState& state, int index, int parent) const;
  void NodeJson(const Node& node, JsonWriter* json) const;

  const HoeffdingTreeRegressorOptions options_;
  const int num_features_;
  std::vector<bool> nominal_;
  std::unique_ptr<Node> root_;
  int64_t num_splits_ = 0;
  Eigen::RowVectorXd z_;  // scratch
};

void HoeffdingTreeRegressor::SaveNode(const Node& node, pb::TreeState* state) const {
  const int index = state->nodes_size();
  pb::TreeNode* out = state->add_nodes();
  out->set_is_leaf(node.is_leaf());
  out->set_feature(node.feature);
  out->set_threshold(node.threshold);
  out->set_nominal(node.nominal);
  out->set_weight(node.y.n);
  out->set_y_mean(node.y.mean);
  out->set_y_m2(node.y.m2);
  out->set_depth(node.depth);
  out->set_active(node.active);
  out->set_weight_at_last_eval(node.weight_at_last_eval);
  out->set_left(-1);
  out->set_right(-1);
  out->set_alternate(-1);
  out->mutable_leaf_model()->mutable_weights()->Assign(node.w.data(),
                                                       node.w.data() + node.w.size());
  out->mutable_x_mean()->Assign(node.x_mean.data(), node.x_mean.data() + node.x_mean.size());
  out->mutable_x_m2()->Assign(node.x_m2.data(), node.x_m2.data() + node.x_m2.size());
  out->set_mean_abs_error(node.mean_abs_error);
  out->set_model_abs_error(node.model_abs_error);
  for (const Observer& obs : node.observers) {
    pb::ObserverState* o = out->add_observers();
    for (const auto& [key, bin] : obs.bins) {
      o->add_bin_key(key);
      o->add_bin_x_sum(bin.x_sum);
      o->add_bin_weight(bin.y.n);
      o->add_bin_y_mean(bin.y.mean);
      o->add_bin_y_m2(bin.y.m2);
    }
    for (const auto& [value, stats] : obs.nominal) {
      o->add_nominal_values(value);
      o->add_bin_weight(stats.n);
      o->add_bin_y_mean(stats.mean);
      o->add_bin_y_m2(stats.m2);
    }
  }
  if (!node.is_leaf()) {
    state->mutable_nodes(index)->set_left(state->nodes_size());
    SaveNode(*node.left, state);
    state->mutable_nodes(index)->set_right(state->nodes_size());
    SaveNode(*node.right, state);
  }
}

Result<std::unique_ptr<Node>> HoeffdingTreeRegressor::LoadNode(const pb::TreeState& state,
                                                               int index, int parent) const {
  if (index <= parent || index >= state.nodes_size()) {
    return Status::Corruption("tree snapshot: bad node index " + std::to_string(index));
  }
  const pb::TreeNode& in = state.nodes(index);
  auto node = std::make_unique<Node>();
  node->y = {in.weight(), in.y_mean(), in.y_m2()};
  node->depth = in.depth();
  node->active = in.active();
  node->weight_at_last_eval = in.weight_at_last_eval();
  if (in.leaf_model().weights_size() != num_features_ || in.x_mean_size() != num_features_ ||
      in.x_m2_size() != num_features_ ||
      (in.observers_size() != 0 && in.observers_size() != num_features_)) {
    return Status::Corruption("tree snapshot: bad regressor leaf sizes");
  }
  node->w = Eigen::Map<const Eigen::RowVectorXd>(in.leaf_model().weights().data(), num_features_);
  node->x_mean = Eigen::Map<const Eigen::RowVectorXd>(in.x_mean().data(), num_features_);
  node->x_m2 = Eigen::Map<const Eigen::RowVectorXd>(in.x_m2().data(), num_features_);
  node->mean_abs_error = in.mean_abs_error();
  node->model_abs_error = in.model_abs_error();
  node->observers.resize(in.observers_size());
  for (int f = 0; f < in.observers_size(); ++f) {
    const pb::ObserverState& o = in.observers(f);
    Observer& obs = node->observers[f];
    const int entries = nominal_[f] ? o.nominal_values_size() : o.bin_key_size();
    if (o.bin_weight_size() != entries || o.bin_y_mean_size() != entries ||
        o.bin_y_m2_size() != entries || (!nominal_[f] && o.bin_x_sum_size() != entries)) {
      return Status::Corruption("tree snapshot: bad regressor observer");
    }
    for (int i = 0; i < entries; ++i) {
      const Stats stats{o.bin_weight(i), o.bin_y_mean(i), o.bin_y_m2(i)};
      if (nominal_[f]) {
        obs.nominal[o.nominal_values(i)] = stats;
      } else {
        obs.bins[o.bin_key(i)] = {o.bin_x_sum(i), stats};
      }
    }
  }
  if (!in.is_leaf()) {
    if (in.feature() < 0 || in.feature() >= num_features_) {
      return Status::Corruption("tree snapshot: split on a bad feature");
    }
    node->feature = in.feature();
    node->threshold = in.threshold();
    node->nominal = in.nominal();
    EDDY_ASSIGN_OR_RETURN(node->left, LoadNode(state, in.left(), index));
    EDDY_ASSIGN_OR_RETURN(node->right, LoadNode(state, in.right(), index));
  }
  return node;
}

Status HoeffdingTreeRegressor::Snapshot(pb::ModelSnapshot* out) const {
  out->Clear();
  out->set_format_version(1);
  out->set_version(version_);
  pb::TreeState* state = out->mutable_tree_regressor();
  pb::TreeOptions* o = state->mutable_options();
  o->set_delta(options_.delta);
  o->set_grace_period(options_.grace_period);
  o->set_tau(options_.tau);
  o->set_leaf_model(static_cast<int>(options_.leaf_model));
  o->set_leaf_learning_rate(options_.leaf_learning_rate);
  o->set_quantization_radius(options_.quantization_radius);
  for (int f : options_.nominal_features) o->add_nominal_features(f);
  o->set_max_depth(options_.max_depth);
  o->set_min_branch_fraction(options_.min_branch_fraction);
  state->set_num_features(num_features_);
  state->set_num_splits(num_splits_);
  SaveNode(*root_, state);
  return Status::OK();
}

Status HoeffdingTreeRegressor::Load(const pb::TreeState& state, int64_t version) {
  EDDY_ASSIGN_OR_RETURN(root_, LoadNode(state, 0, -1));
  num_splits_ = state.num_splits();
  version_ = version;
  return Status::OK();
}

void HoeffdingTreeRegressor::NodeJson(const Node& node, JsonWriter* json) const {
  json->BeginObject();
  json->Key("depth");
  json->Int(node.depth);
  json->Key("count");
  json->Double(node.y.n);
  json->Key("mean");
  json->Double(node.y.mean);
  json->Key("variance");
  json->Double(node.y.Variance());
  if (node.is_leaf()) {
    json->Key("leaf");
    json->Bool(true);
    json->Key("active");
    json->Bool(node.active);
    if (options_.leaf_model != RegressionLeaf::kMean) {
      json->Key("linear_weights");
      json->DoubleArray(std::span<const double>(node.w.data(), node.w.size()));
      json->Key("mean_abs_error");
      json->Double(node.mean_abs_error);
      json->Key("linear_abs_error");
      json->Double(node.model_abs_error);
    }
  } else {
    json->Key("split");
    json->BeginObject();
    json->Key("feature");
    json->Int(node.feature);
    json->Key("op");
    json->String(node.nominal ? "==" : "<=");
    json->Key("value");
    json->Double(node.threshold);
    json->EndObject();
    json->Key("left");
    NodeJson(*node.left, json);
    json->Key("right");
    NodeJson(*node.right, json);
  }
  json->EndObject();
}

std::string HoeffdingTreeRegressor::ExportJson() const {
  JsonWriter json;
  json.BeginObject();
  json.Key("model");
  json.String("hoeffding_tree_regressor");
  json.Key("version");
  json.Int(version_);
  json.Key("leaf_model");
  json.String(LeafModelName(options_.leaf_model));
  json.Key("num_splits");
  json.Int(num_splits_);
  json.Key("root");
  NodeJson(*root_, &json);
  json.EndObject();
  return json.Take();
}

Status CheckOptions(int num_features, const HoeffdingTreeRegressorOptions& o) {
  if (num_features < 1)
    return Status::InvalidArgument("a Hoeffding tree needs at least one feature");
  if (!(o.delta > 0 && o.delta < 1)) return Status::InvalidArgument("delta must be in (0, 1)");
  if (o.grace_period < 1) return Status::InvalidArgument("grace_period must be >= 1");
  if (!(o.tau >= 0)) return Status::InvalidArgument("tau must be >= 0");
  if (!(o.quantization_radius > 0))
    return Status::InvalidArgument("quantization_radius must be > 0");
  if (!(o.leaf_learning_rate > 0)) return Status::InvalidArgument("leaf_learning_rate must be > 0");
  if (!(o.min_branch_fraction >= 0 && o.min_branch_fraction < 0.5)) {
    return Status::InvalidArgument("min_branch_fraction must be in [0, 0.5)");
  }
  if (static_cast<int>(o.leaf_model) > static_cast<int>(RegressionLeaf::kAdaptive)) {
    return Status::InvalidArgument("unknown leaf model");
  }
  for (int f : o.nominal_features) {
    if (f < 0 || f >= num_features) return Status::InvalidArgument("nominal feature out of range");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeHoeffdingTreeRegressor(
    int num_features, const HoeffdingTreeRegressorOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(num_features, options));
  return std::unique_ptr<Model>(std::make_unique<HoeffdingTreeRegressor>(num_features, options));
}

Result<std::unique_ptr<Model>> RestoreHoeffdingTreeRegressor(const pb::TreeState& state,
                                                             int64_t version) {
  const pb::TreeOptions& o = state.options();
  HoeffdingTreeRegressorOptions options;
  options.delta = o.delta();
  options.grace_period = o.grace_period();
  options.tau = o.tau();
  options.leaf_model = static_cast<RegressionLeaf>(o.leaf_model());
  options.leaf_learning_rate = o.leaf_learning_rate();
  options.quantization_radius = o.quantization_radius();
  options.nominal_features.assign(o.nominal_features().begin(), o.nominal_features().end());
  options.max_depth = o.max_depth();
  options.min_branch_fraction = o.min_branch_fraction();
  if (o.leaf_model() < 0) return Status::Corruption("tree snapshot has invalid options");
  Status valid = CheckOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("tree snapshot: " + valid.message());
  auto model = std::make_unique<HoeffdingTreeRegressor>(state.num_features(), options);
  EDDY_RETURN_IF_ERROR(model->Load(state, version));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::learn
