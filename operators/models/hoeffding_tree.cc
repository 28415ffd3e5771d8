// Hoeffding tree classifier (VFDT; Domingos & Hulten 2000) and Hoeffding
// adaptive tree (HAT-ADWIN; Bifet & Gavalda 2009), following MOA's
// HoeffdingTree / HoeffdingAdaptiveTree and river's implementations.
//
// Learning, per row in order: sort the row to a leaf; update the leaf's class
// counts and attribute observers; every grace_period rows seen by the leaf,
// evaluate the best split per feature and split when
//   merit(best) - merit(second best) > epsilon  or  epsilon < tau,
//   epsilon = sqrt(R^2 ln(1/delta) / (2 n))   (R = log2(classes) or 1 for Gini)
// with "no split" among the candidates at merit -infinity (river's null
// split): it wins only when no feature has a valid split, and then the leaf
// is deactivated (pre-pruning). Children start with the class counts the
// split estimates for them. The merit of "no split" is not 0 (MOA's) on
// purpose: a leaf's class counts include those inherited from its parent's
// split estimate while its observers only see the rows since, so under drift
// the two mixes differ, every feature's merit can go negative, and a merit-0
// "no split" would win and deactivate the leaf for good: on MOA's drifting
// RBF stream that cost 0.07 of prequential accuracy (0.692 vs river's
// 0.760; tests/models/drift_quality_test.cc).
//
// Observers: numeric features keep one Gaussian per class (weight, mean,
// variance, min, max); the candidate thresholds are num_split_points (10)
// equally spaced values between the smallest and largest value seen, and the
// class counts on each side are estimated from the Gaussians' CDFs (MOA's
// GaussianNumericAttributeClassObserver). Nominal features (ordinal codes)
// keep counts per value and class, and split binary: value == v vs the rest.
// A split must leave at least min_branch_fraction of the weight on each side.
//
// Leaf prediction: majority class; naive Bayes (priors x Gaussian densities x
// Laplace-smoothed nominal frequencies, in log space to avoid underflow);
// adaptive naive Bayes (default): each leaf counts how often each of the two
// would have been right on the rows it learned and uses the better (NB on
// ties).
//
// Memory bound (max_active_leaves, max_bytes): after each Learn call, leaves
// are ranked by promise = weight seen - weight of the majority class (the
// errors a split could still fix, MOA's calculatePromise); only the top
// leaves that fit stay active, the rest are deactivated (they drop their
// observers, keep class counts and still predict by majority class). A
// deactivated leaf that climbs back into the top is reactivated with fresh
// observers. Leaf bytes are estimated as 64 + 48 x features x classes.
//
// HAT: every node keeps an ADWIN over the 0/1 error of the prediction its
// subtree makes for the rows passing through it. When a split node's error
// rises significantly (ADWIN detects a change and the error estimate went up)
// it starts an alternate subtree (a fresh leaf) that learns in parallel. Once
// both have seen more than drift_window_threshold rows, the alternate replaces
// the node if its error is lower by more than
//   sqrt(2 e (1 - e) ln(2 / 0.05) (1 / n_alt + 1 / n_node)),  e = node error,
// and is discarded if it is worse by that much (river's
// HoeffdingAdaptiveTreeClassifier, without bootstrap sampling). Predictions use
// the main tree only.

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numbers>

#include "operators/models/adwin.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"

namespace eddy::learn {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kHatDelta = 0.05;

// Weighted Gaussian (West 1979), MOA's GaussianEstimator.
struct Gaussian {
  double weight = 0;
  double mean = 0;
  double m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  // `x` seen `w` times (MOA's weighted update; exactly the unweighted one
  // for w = 1).
  void Add(double x, double w) {
    min = std::min(min, x);
    max = std::max(max, x);
    if (weight > 0) {
      weight += w;
      const double last = mean;
      mean += w * (x - last) / weight;
      m2 += w * (x - last) * (x - mean);
    } else {
      weight = w;
      mean = x;
    }
  }
  double StdDev() const { return weight > 1 ? std::sqrt(m2 / (weight - 1)) : 0.0; }
  double Pdf(double x) const {
    if (weight <= 0) return 0;
    const double sd = StdDev();
    if (sd > 0) {
      const double diff = x - mean;
      return std::exp(-diff * diff / (2 * sd * sd)) / (std::sqrt(2 * std::numbers::pi) * sd);
    }
    return x == mean ? 1.0 : 0.0;
  }
  // Estimated weight of values <= x and > x.
  void Split(double x, double* le, double* gt) const {
    const double equal = Pdf(x) * weight;
    const double sd = StdDev();
    double less = sd > 0 ? 0.5 * std::erfc(-((x - mean) / sd) / std::sqrt(2.0)) * weight - equal
                         : (x < mean ? weight - equal : 0.0);
    double greater = weight - equal - less;
    if (greater < 0) greater = 0;
    *le = less + equal;
    *gt = greater;
  }
};

// Observer of one feature at one leaf.
struct Observer {
  std::vector<Gaussian> per_class;                // numeric
  std::map<double, std::vector<double>> nominal;  // value -> class counts
};

struct Node {
  // Split nodes (left != nullptr).
  int feature = -1;
  double threshold = 0;
  bool nominal = false;
  std::unique_ptr<Node> left;
  std::unique_ptr<Node> right;
  // Every node.
  std::vector<double> class_counts;
  int depth = 0;
  // Leaves.
  bool active = true;
  double weight_at_last_eval = 0;
  double mc_correct = 0;
  double nb_correct = 0;
  std::vector<Observer> observers;  // empty until the leaf learns (or when inactive)
  // The features the observers watch when max_features is set (drawn when
  // they start); empty: all.
  std::vector<int> subspace;
  // HAT.
  std::unique_ptr<Adwin> adwin;
  std::unique_ptr<Node> alternate;

  bool is_leaf() const { return left == nullptr; }
  double weight() const {
    double total = 0;
    for (double c : class_counts) total += c;
    return total;
  }
  bool GoesLeft(const double* x) const {
    return nominal ? x[feature] == threshold : x[feature] <= threshold;
  }
};

struct SplitCandidate {
  int feature = -1;  // -1: do not split
  double threshold = 0;
  bool nominal = false;
  double merit = kNegInf;
  std::vector<double> left;
  std::vector<double> right;
};

double Entropy(const std::vector<double>& dist, double total) {
  double h = 0;
  for (double c : dist) {
    if (c > 0) h -= c / total * std::log2(c / total);
  }
  return h;
}

double Gini(const std::vector<double>& dist, double total) {
  double g = 1;
  for (double c : dist) g -= (c / total) * (c / total);
  return g;
}

const char* LeafPredictionName(LeafPrediction p) {
  switch (p) {
    case LeafPrediction::kMajorityClass:
      return "majority_class";
    case LeafPrediction::kNaiveBayes:
      return "naive_bayes";
    case LeafPrediction::kNaiveBayesAdaptive:
      return "naive_bayes_adaptive";
  }
  return "unknown";
}

class HoeffdingTreeClassifier final : public Model {
 public:
  HoeffdingTreeClassifier(int num_features, const HoeffdingTreeOptions& options, bool adaptive)
      : options_(options),
        num_features_(num_features),
        adaptive_(adaptive),
        nominal_(num_features, false),
        all_features_(num_features),
        rng_(options.seed) {
    for (int f : options_.nominal_features) nominal_[f] = true;
    for (int f = 0; f < num_features; ++f) all_features_[f] = f;
    root_ = NewLeaf(0);
  }

  // For the ensembles (model_internal.h): one row's class probabilities, and
  // learning one row `weight` times. A forest asks for a row's probabilities
  // (ProbabilitiesBeforeLearning) right before it learns the row, so the leaf's naive Bayes
  // posterior is kept for LearnAtLeaf (adaptive NB scores it): the same numbers, computed once. Not
  // for concurrent use (a forest's tree belongs to one task).
  void Probabilities(const double* x, double* out) const {
    LeafProbabilities(*SortToLeaf(root_.get(), x), x, out);
  }
  void ProbabilitiesBeforeLearning(const double* x, double* out) {
    Node* leaf = SortToLeaf(root_.get(), x);
    nb_leaf_ = nullptr;
    if (leaf->active && options_.leaf_prediction != LeafPrediction::kMajorityClass) {
      nb_.resize(options_.num_classes);
      nb_ok_ = NaiveBayesProbabilities(*leaf, x, nb_.data());
      nb_leaf_ = leaf;
      nb_x_ = x;
      const bool use_nb = options_.leaf_prediction == LeafPrediction::kNaiveBayes ||
                          leaf->nb_correct >= leaf->mc_correct;
      if (use_nb && nb_ok_) {
        std::copy(nb_.begin(), nb_.end(), out);
        return;
      }
    }
    MajorityProbabilities(*leaf, out);
  }
  void LearnWeighted(const double* x, int y, double weight) {
    LearnRow(x, y, weight);
    nb_leaf_ = nullptr;
    EnforceMemoryBound();
  }

  ModelKind kind() const override {
    return adaptive_ ? ModelKind::kHoeffdingAdaptiveTreeClassifier
                     : ModelKind::kHoeffdingTreeClassifier;
  }
  Task task() const override { return Task::kClassification; }
  int num_features() const override { return num_features_; }
  int num_classes() const override { return options_.num_classes; }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      if (!RowSelected(mask, row)) continue;
      LearnRow(x.row(row).data(), static_cast<int>(y[row]));
      changed = true;
    }
    if (changed) {
      EnforceMemoryBound();
      ++version_;
    }
    return Status::OK();
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    PrepareOutput(x.rows(), out);
    for (Eigen::Index row = 0; row < x.rows(); ++row) PredictRow(x.row(row).data(), row, out);
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    PrepareOutput(x.rows(), out);
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      PredictRow(x.row(row).data(), row, out);
      if (!RowSelected(mask, row)) continue;
      LearnRow(x.row(row).data(), static_cast<int>(y[row]));
      changed = true;
    }
    if (changed) {
      EnforceMemoryBound();
      ++version_;
    }
    return Status::OK();
  }

  Status Snapshot(pb::ModelSnapshot* out) const override;
  std::string ExportJson() const override;
  ModelShape Shape() const override { return TreeShape(root_.get()); }
  Status Load(const pb::TreeState& state, int64_t version);

 private:
  std::unique_ptr<Node> NewLeaf(int depth, std::vector<double> counts = {}) const {
    auto leaf = std::make_unique<Node>();
    leaf->depth = depth;
    leaf->class_counts =
        counts.empty() ? std::vector<double>(options_.num_classes, 0.0) : std::move(counts);
    leaf->weight_at_last_eval = leaf->weight();
    return leaf;
  }

  static const Node* SortToLeaf(const Node* node, const double* x) {
    while (!node->is_leaf()) node = node->GoesLeft(x) ? node->left.get() : node->right.get();
    return node;
  }
  static Node* SortToLeaf(Node* node, const double* x) {
    while (!node->is_leaf()) node = node->GoesLeft(x) ? node->left.get() : node->right.get();
    return node;
  }

  void PrepareOutput(Eigen::Index rows, PredictionColumns* out) const {
    out->value.resize(rows);
    out->score.resize(rows);
    out->probabilities.resize(rows, options_.num_classes);
  }

  void PredictRow(const double* x, Eigen::Index row, PredictionColumns* out) const {
    auto probs = out->probabilities.row(row);
    LeafProbabilities(*SortToLeaf(root_.get(), x), x, probs.data());
    Eigen::Index best = 0;
    probs.maxCoeff(&best);
    out->value[row] = static_cast<double>(best);
    out->score[row] = probs[best];
  }

  // Normalized class distribution (uniform when the leaf saw nothing).
  void MajorityProbabilities(const Node& leaf, double* out) const {
    const double total = leaf.weight();
    for (int c = 0; c < options_.num_classes; ++c) {
      out[c] = total > 0 ? leaf.class_counts[c] / total : 1.0 / options_.num_classes;
    }
  }

  // Naive Bayes posterior; false (out untouched) when it has nothing to say.
  bool NaiveBayesProbabilities(const Node& leaf, const double* x, double* out) const {
    const double total = leaf.weight();
    if (total <= 0 || leaf.observers.empty()) return false;
    double best = kNegInf;
    for (int c = 0; c < options_.num_classes; ++c) {
      double log_vote = leaf.class_counts[c] > 0 ? std::log(leaf.class_counts[c] / total) : kNegInf;
      for (const int f : Observed(leaf)) {
        if (log_vote == kNegInf) break;
        const Observer& obs = leaf.observers[f];
        double p;
        if (nominal_[f]) {
          double value_count = 0, class_total = 0;
          auto it = obs.nominal.find(x[f]);
          if (it != obs.nominal.end()) value_count = it->second[c];
          for (const auto& [value, counts] : obs.nominal) class_total += counts[c];
          p = (value_count + 1) / (class_total + static_cast<double>(obs.nominal.size()) + 1);
        } else {
          p = obs.per_class[c].Pdf(x[f]);
        }
        log_vote += p > 0 ? std::log(p) : kNegInf;
      }
      out[c] = log_vote;
      best = std::max(best, log_vote);
    }
    if (best == kNegInf) return false;
    double sum = 0;
    for (int c = 0; c < options_.num_classes; ++c) {
      out[c] = std::exp(out[c] - best);
      sum += out[c];
    }
    for (int c = 0; c < options_.num_classes; ++c) out[c] /= sum;
    return true;
  }

  void LeafProbabilities(const Node& leaf, const double* x, double* out) const {
    const bool use_nb = options_.leaf_prediction == LeafPrediction::kNaiveBayes ||
                        (options_.leaf_prediction == LeafPrediction::kNaiveBayesAdaptive &&
                         leaf.nb_correct >= leaf.mc_correct);
    if (use_nb && leaf.active && NaiveBayesProbabilities(leaf, x, out)) return;
    MajorityProbabilities(leaf, out);
  }

  int ArgMax(const double* values) const {
    int best = 0;
    for (int c = 1; c < options_.num_classes; ++c) {
      if (values[c] > values[best]) best = c;
    }
    return best;
  }

  // The features a leaf's observers watch.
  const std::vector<int>& Observed(const Node& leaf) const {
    return leaf.subspace.empty() ? all_features_ : leaf.subspace;
  }

  // `weight` > 1 only through LearnWeighted (the forest's online bagging);
  // the adaptive tree learns every row once.
  void LearnRow(const double* x, int y, double weight = 1.0) {
    if (adaptive_) {
      LearnAdaptive(&root_, x, y);
    } else {
      LearnAtLeaf(SortToLeaf(root_.get(), x), x, y, weight);
    }
  }

  void LearnAtLeaf(Node* leaf, const double* x, int y, double weight = 1.0) {
    if (leaf->active && options_.leaf_prediction == LeafPrediction::kNaiveBayesAdaptive) {
      if (ArgMax(leaf->class_counts.data()) == y) leaf->mc_correct += weight;
      if (leaf == nb_leaf_ && x == nb_x_) {  // Probabilities computed it for this row
        if (nb_ok_ && ArgMax(nb_.data()) == y) leaf->nb_correct += weight;
      } else {
        scratch_.resize(options_.num_classes);
        if (NaiveBayesProbabilities(*leaf, x, scratch_.data()) && ArgMax(scratch_.data()) == y) {
          leaf->nb_correct += weight;
        }
      }
    }
    leaf->class_counts[y] += weight;
    if (!leaf->active) return;
    if (leaf->observers.empty()) InitObservers(leaf);
    for (const int f : Observed(*leaf)) {
      Observer& obs = leaf->observers[f];
      if (nominal_[f]) {
        auto [it, inserted] = obs.nominal.try_emplace(x[f]);
        if (inserted) it->second.assign(options_.num_classes, 0.0);
        it->second[y] += weight;
      } else {
        obs.per_class[y].Add(x[f], weight);
      }
    }
    const double seen = leaf->weight();
    if (seen - leaf->weight_at_last_eval >= options_.grace_period) {
      AttemptSplit(leaf);
      leaf->weight_at_last_eval = seen;
    }
  }

  // Starts a leaf's observers; with max_features, on a random subset of
  // that many features (partial Fisher-Yates, sorted).
  void InitObservers(Node* leaf) {
    leaf->observers.resize(num_features_);
    leaf->subspace.clear();
    if (options_.max_features > 0 && options_.max_features < num_features_) {
      std::vector<int> pool = all_features_;
      for (int i = 0; i < options_.max_features; ++i) {
        const int j =
            i + static_cast<int>(rng_.NextU64() % static_cast<uint64_t>(num_features_ - i));
        std::swap(pool[i], pool[j]);
      }
      leaf->subspace.assign(pool.begin(), pool.begin() + options_.max_features);
      std::sort(leaf->subspace.begin(), leaf->subspace.end());
    }
    for (const int f : Observed(*leaf)) {
      if (!nominal_[f]) leaf->observers[f].per_class.resize(options_.num_classes);
    }
  }

  double Merit(const std::vector<double>& pre, double total, const std::vector<double>& left,
               const std::vector<double>& right) const {
    double wl = 0, wr = 0;
    for (double c : left) wl += c;
    for (double c : right) wr += c;
    const double all = wl + wr;
    if (all <= 0) return kNegInf;
    const double min_weight = options_.min_branch_fraction * all;
    if (!(wl > min_weight && wr > min_weight)) return kNegInf;
    if (options_.split_criterion == SplitCriterion::kGini) {
      return Gini(pre, total) - (wl / all * Gini(left, wl) + wr / all * Gini(right, wr));
    }
    return Entropy(pre, total) - (wl / all * Entropy(left, wl) + wr / all * Entropy(right, wr));
  }

  SplitCandidate BestSplit(const Node& leaf, int f) const {
    SplitCandidate best;
    best.feature = f;
    const double total = leaf.weight();
    const Observer& obs = leaf.observers[f];
    std::vector<double> left(options_.num_classes), right(options_.num_classes);
    if (nominal_[f]) {
      best.nominal = true;
      for (const auto& [value, counts] : obs.nominal) {
        for (int c = 0; c < options_.num_classes; ++c) {
          left[c] = counts[c];
          right[c] = leaf.class_counts[c] - counts[c];
        }
        const double merit = Merit(leaf.class_counts, total, left, right);
        if (merit > best.merit) {
          best.merit = merit;
          best.threshold = value;
          best.left = left;
          best.right = right;
        }
      }
      return best;
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const Gaussian& g : obs.per_class) {
      if (g.weight <= 0) continue;
      lo = std::min(lo, g.min);
      hi = std::max(hi, g.max);
    }
    if (!(lo < hi)) return best;
    const double step = (hi - lo) / (options_.num_split_points + 1);
    for (int i = 0; i < options_.num_split_points; ++i) {
      const double value = lo + step * (i + 1);
      if (!(value > lo && value < hi)) continue;
      for (int c = 0; c < options_.num_classes; ++c) {
        const Gaussian& g = obs.per_class[c];
        left[c] = right[c] = 0;
        if (g.weight <= 0) continue;
        if (value < g.min) {
          right[c] = g.weight;
        } else if (value >= g.max) {
          left[c] = g.weight;
        } else {
          g.Split(value, &left[c], &right[c]);
        }
      }
      const double merit = Merit(leaf.class_counts, total, left, right);
      if (merit > best.merit) {
        best.merit = merit;
        best.threshold = value;
        best.left = left;
        best.right = right;
      }
    }
    return best;
  }

  void AttemptSplit(Node* leaf) {
    int classes_seen = 0;
    for (double c : leaf->class_counts) classes_seen += c > 0;
    if (classes_seen < 2) return;  // pure leaf
    if (options_.max_depth > 0 && leaf->depth >= options_.max_depth) {
      Deactivate(leaf);
      return;
    }
    // Best and second best among the features' best splits and "no split".
    SplitCandidate best;  // "no split", merit -infinity (see the file comment)
    double second = kNegInf;
    for (const int f : Observed(*leaf)) {
      SplitCandidate candidate = BestSplit(*leaf, f);
      if (candidate.merit > best.merit) {
        second = best.merit;
        best = std::move(candidate);
      } else if (candidate.merit > second) {
        second = candidate.merit;
      }
    }
    const double range = options_.split_criterion == SplitCriterion::kGini
                             ? 1.0
                             : std::log2(std::max(options_.num_classes, 2));
    const double bound = HoeffdingBound(range, options_.delta, leaf->weight());
    if (!(best.merit - second > bound || bound < options_.tau)) return;
    if (best.feature < 0) {
      Deactivate(leaf);  // pre-pruning: not splitting is as good as any split
      return;
    }
    leaf->feature = best.feature;
    leaf->threshold = best.threshold;
    leaf->nominal = best.nominal;
    leaf->left = NewLeaf(leaf->depth + 1, std::move(best.left));
    leaf->right = NewLeaf(leaf->depth + 1, std::move(best.right));
    leaf->observers.clear();
    leaf->observers.shrink_to_fit();
    ++num_splits_;
  }

  void Deactivate(Node* leaf) {
    if (!leaf->active) return;
    leaf->active = false;
    leaf->observers.clear();
    leaf->observers.shrink_to_fit();
    ++num_deactivations_;
  }

  // HAT learning at `*slot` (see the file comment).
  void LearnAdaptive(std::unique_ptr<Node>* slot, const double* x, int y) {
    Node* node = slot->get();
    scratch_.resize(options_.num_classes);
    LeafProbabilities(*SortToLeaf(static_cast<const Node*>(node), x), x, scratch_.data());
    const bool correct = ArgMax(scratch_.data()) == y;
    if (!node->adwin) node->adwin = std::make_unique<Adwin>(options_.adwin_delta);
    const double old_error = node->adwin->estimation();
    bool error_rose = node->adwin->Update(correct ? 0.0 : 1.0);
    if (error_rose && old_error > node->adwin->estimation()) error_rose = false;
    if (node->is_leaf()) {
      LearnAtLeaf(node, x, y);
      return;
    }
    node->class_counts[y] += 1;
    if (error_rose) {
      node->alternate = NewLeaf(node->depth);
      ++num_alternates_created_;
    } else if (node->alternate && node->alternate->adwin) {
      const Adwin& mine = *node->adwin;
      const Adwin& alt = *node->alternate->adwin;
      if (mine.width() > options_.drift_window_threshold &&
          alt.width() > options_.drift_window_threshold) {
        const double old_rate = mine.estimation();
        const double alt_rate = alt.estimation();
        const double fn =
            1.0 / static_cast<double>(alt.width()) + 1.0 / static_cast<double>(mine.width());
        const double bound =
            std::sqrt(2.0 * old_rate * (1.0 - old_rate) * std::log(2.0 / kHatDelta) * fn);
        if (bound < old_rate - alt_rate) {
          std::unique_ptr<Node> replacement = std::move(node->alternate);
          *slot = std::move(replacement);  // destroys the old subtree
          ++num_alternates_switched_;
          return;
        }
        if (bound < alt_rate - old_rate) {
          node->alternate.reset();
          ++num_alternates_pruned_;
        }
      }
    }
    if (node->alternate) LearnAdaptive(&node->alternate, x, y);
    LearnAdaptive(node->GoesLeft(x) ? &node->left : &node->right, x, y);
  }

  // ---- memory bound --------------------------------------------------------

  double ActiveLeafBytes() const { return 64.0 + 48.0 * num_features_ * options_.num_classes; }

  static void CollectLeaves(Node* node, std::vector<Node*>* leaves) {
    if (node->is_leaf()) {
      leaves->push_back(node);
      return;
    }
    CollectLeaves(node->left.get(), leaves);
    CollectLeaves(node->right.get(), leaves);
    if (node->alternate) CollectLeaves(node->alternate.get(), leaves);
  }

  void EnforceMemoryBound() {
    if (options_.max_active_leaves <= 0 && options_.max_bytes <= 0) return;
    int64_t allowed = std::numeric_limits<int64_t>::max();
    if (options_.max_active_leaves > 0) allowed = options_.max_active_leaves;
    if (options_.max_bytes > 0) {
      allowed =
          std::min<int64_t>(allowed, static_cast<int64_t>(options_.max_bytes / ActiveLeafBytes()));
    }
    std::vector<Node*> leaves;
    CollectLeaves(root_.get(), &leaves);
    int64_t active = 0;
    for (const Node* leaf : leaves) active += leaf->active;
    if (active <= allowed && active == static_cast<int64_t>(leaves.size())) return;
    auto promise = [](const Node* leaf) {
      const double total = leaf->weight();
      double top = 0;
      for (double c : leaf->class_counts) top = std::max(top, c);
      return total - top;
    };
    std::stable_sort(leaves.begin(), leaves.end(),
                     [&](const Node* a, const Node* b) { return promise(a) > promise(b); });
    for (size_t i = 0; i < leaves.size(); ++i) {
      Node* leaf = leaves[i];
      if (static_cast<int64_t>(i) < allowed) {
        if (!leaf->active && leaf->weight() > 0 && promise(leaf) > 0) {
          leaf->active = true;  // reactivated: fresh observers
          leaf->weight_at_last_eval = leaf->weight();
        }
      } else {
        Deactivate(leaf);
      }
    }
  }

  // ---- snapshots -----------------------------------------------------------

  void SaveNode(const Node& node, pb::TreeState* state) const;
  Result<std::unique_ptr<Node>> LoadNode(const pb::TreeState& state, int index, int parent) const;
  void NodeJson(const Node& node, JsonWriter* json) const;

  const HoeffdingTreeOptions options_;
  const int num_features_;
  const bool adaptive_;
  std::vector<bool> nominal_;
  std::vector<int> all_features_;  // 0 .. num_features - 1
  CounterRng rng_;                 // feature subsets (max_features)
  std::unique_ptr<Node> root_;
  int64_t num_splits_ = 0;
  int64_t num_deactivations_ = 0;
  int64_t num_alternates_created_ = 0;
  int64_t num_alternates_switched_ = 0;
  int64_t num_alternates_pruned_ = 0;
  std::vector<double> scratch_;
  // Probabilities' naive Bayes posterior of leaf nb_leaf_ for row nb_x_.
  const Node* nb_leaf_ = nullptr;
  const double* nb_x_ = nullptr;
  bool nb_ok_ = false;
  std::vector<double> nb_;
};

void HoeffdingTreeClassifier::SaveNode(const Node& node, pb::TreeState* state) const {
  const int index = state->nodes_size();
  pb::TreeNode* out = state->add_nodes();
  out->set_is_leaf(node.is_leaf());
  out->set_feature(node.feature);
  out->set_threshold(node.threshold);
  out->set_nominal(node.nominal);
  out->mutable_class_counts()->Assign(node.class_counts.begin(), node.class_counts.end());
  out->set_depth(node.depth);
  out->set_active(node.active);
  out->set_weight_at_last_eval(node.weight_at_last_eval);
  out->set_mc_correct(node.mc_correct);
  out->set_nb_correct(node.nb_correct);
  out->mutable_subspace()->Assign(node.subspace.begin(), node.subspace.end());
  out->set_left(-1);
  out->set_right(-1);
  out->set_alternate(-1);
  for (int f = 0; f < static_cast<int>(node.observers.size()); ++f) {
    const Observer& obs = node.observers[f];
    pb::ObserverState* o = out->add_observers();
    for (const Gaussian& g : obs.per_class) {
      pb::GaussianState* gs = o->add_per_class();
      gs->set_weight(g.weight);
      gs->set_mean(g.mean);
      gs->set_m2(g.m2);
      gs->set_min(g.min);
      gs->set_max(g.max);
    }
    for (const auto& [value, counts] : obs.nominal) {
      o->add_nominal_values(value);
      for (double c : counts) o->add_nominal_counts(c);
    }
  }
  if (node.adwin) node.adwin->Save(out->mutable_adwin());
  // `out` may move as nodes are added: set child indices through the index.
  if (!node.is_leaf()) {
    state->mutable_nodes(index)->set_left(state->nodes_size());
    SaveNode(*node.left, state);
    state->mutable_nodes(index)->set_right(state->nodes_size());
    SaveNode(*node.right, state);
  }
  if (node.alternate) {
    state->mutable_nodes(index)->set_alternate(state->nodes_size());
    SaveNode(*node.alternate, state);
  }
}

Result<std::unique_ptr<Node>> HoeffdingTreeClassifier::LoadNode(const pb::TreeState& state,
                                                                int index, int parent) const {
  if (index <= parent || index >= state.nodes_size()) {
    return Status::Corruption("tree snapshot: bad node index " + std::to_string(index));
  }
  const pb::TreeNode& in = state.nodes(index);
  auto node = std::make_unique<Node>();
  if (in.class_counts_size() != options_.num_classes) {
    return Status::Corruption("tree snapshot: bad class counts");
  }
  node->class_counts.assign(in.class_counts().begin(), in.class_counts().end());
  node->depth = in.depth();
  node->active = in.active();
  node->weight_at_last_eval = in.weight_at_last_eval();
  node->mc_correct = in.mc_correct();
  node->nb_correct = in.nb_correct();
  if (in.observers_size() != 0 && in.observers_size() != num_features_) {
    return Status::Corruption("tree snapshot: bad observers");
  }
  for (const int f : in.subspace()) {
    if (f < 0 || f >= num_features_) return Status::Corruption("tree snapshot: bad subspace");
    node->subspace.push_back(f);
  }
  node->observers.resize(in.observers_size());
  for (int f = 0; f < in.observers_size(); ++f) {
    const pb::ObserverState& o = in.observers(f);
    Observer& obs = node->observers[f];
    if (nominal_[f]) {
      if (o.nominal_counts_size() != o.nominal_values_size() * options_.num_classes) {
        return Status::Corruption("tree snapshot: bad nominal observer");
      }
      for (int v = 0; v < o.nominal_values_size(); ++v) {
        auto begin = o.nominal_counts().begin() + v * options_.num_classes;
        obs.nominal[o.nominal_values(v)].assign(begin, begin + options_.num_classes);
      }
    } else {
      // A feature outside the leaf's subspace has no Gaussians.
      const bool unobserved = o.per_class_size() == 0 && !node->subspace.empty();
      if (o.per_class_size() != options_.num_classes && !unobserved) {
        return Status::Corruption("tree snapshot: bad numeric observer");
      }
      for (const pb::GaussianState& gs : o.per_class()) {
        obs.per_class.push_back({gs.weight(), gs.mean(), gs.m2(), gs.min(), gs.max()});
      }
    }
  }
  if (in.has_adwin()) {
    node->adwin = std::make_unique<Adwin>();
    if (!node->adwin->Load(in.adwin())) return Status::Corruption("tree snapshot: bad ADWIN state");
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
  if (in.alternate() >= 0) {
    EDDY_ASSIGN_OR_RETURN(node->alternate, LoadNode(state, in.alternate(), index));
  }
  return node;
}

Status HoeffdingTreeClassifier::Snapshot(pb::ModelSnapshot* out) const {
  out->Clear();
  out->set_format_version(1);
  out->set_version(version_);
  pb::TreeState* state = out->mutable_tree_classifier();
  SaveTreeOptions(options_, adaptive_, state->mutable_options());
  state->set_num_features(num_features_);
  state->set_num_splits(num_splits_);
  state->set_num_deactivations(num_deactivations_);
  state->set_num_alternates_created(num_alternates_created_);
  state->set_num_alternates_switched(num_alternates_switched_);
  state->set_num_alternates_pruned(num_alternates_pruned_);
  rng_.Save(state->mutable_rng());
  SaveNode(*root_, state);
  return Status::OK();
}

Status HoeffdingTreeClassifier::Load(const pb::TreeState& state, int64_t version) {
  EDDY_ASSIGN_OR_RETURN(root_, LoadNode(state, 0, -1));
  num_splits_ = state.num_splits();
  num_deactivations_ = state.num_deactivations();
  num_alternates_created_ = state.num_alternates_created();
  num_alternates_switched_ = state.num_alternates_switched();
  num_alternates_pruned_ = state.num_alternates_pruned();
  if (state.has_rng()) rng_.Load(state.rng());
  version_ = version;
  return Status::OK();
}

void HoeffdingTreeClassifier::NodeJson(const Node& node, JsonWriter* json) const {
  json->BeginObject();
  json->Key("depth");
  json->Int(node.depth);
  json->Key("class_counts");
  json->DoubleArray(node.class_counts);
  if (node.adwin) {
    json->Key("error");
    json->Double(node.adwin->estimation());
    json->Key("error_window");
    json->Int(node.adwin->width());
  }
  if (node.is_leaf()) {
    json->Key("leaf");
    json->Bool(true);
    json->Key("active");
    json->Bool(node.active);
    json->Key("mc_correct");
    json->Double(node.mc_correct);
    json->Key("nb_correct");
    json->Double(node.nb_correct);
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
  if (node.alternate) {
    json->Key("alternate");
    NodeJson(*node.alternate, json);
  }
  json->EndObject();
}

std::string HoeffdingTreeClassifier::ExportJson() const {
  JsonWriter json;
  json.BeginObject();
  json.Key("model");
  json.String(adaptive_ ? "hoeffding_adaptive_tree_classifier" : "hoeffding_tree_classifier");
  json.Key("version");
  json.Int(version_);
  json.Key("num_classes");
  json.Int(options_.num_classes);
  json.Key("leaf_prediction");
  json.String(LeafPredictionName(options_.leaf_prediction));
  json.Key("num_splits");
  json.Int(num_splits_);
  if (adaptive_) {
    json.Key("alternates_created");
    json.Int(num_alternates_created_);
    json.Key("alternates_switched");
    json.Int(num_alternates_switched_);
    json.Key("alternates_pruned");
    json.Int(num_alternates_pruned_);
  }
  json.Key("root");
  NodeJson(*root_, &json);
  json.EndObject();
  return json.Take();
}

Status CheckOptions(int num_features, const HoeffdingTreeOptions& o) {
  if (num_features < 1)
    return Status::InvalidArgument("a Hoeffding tree needs at least one feature");
  if (o.num_classes < 2) return Status::InvalidArgument("a Hoeffding tree needs num_classes >= 2");
  if (!(o.delta > 0 && o.delta < 1)) return Status::InvalidArgument("delta must be in (0, 1)");
  if (o.grace_period < 1) return Status::InvalidArgument("grace_period must be >= 1");
  if (!(o.tau >= 0)) return Status::InvalidArgument("tau must be >= 0");
  if (o.num_split_points < 1) return Status::InvalidArgument("num_split_points must be >= 1");
  if (!(o.min_branch_fraction >= 0 && o.min_branch_fraction < 0.5)) {
    return Status::InvalidArgument("min_branch_fraction must be in [0, 0.5)");
  }
  if (!(o.adwin_delta > 0 && o.adwin_delta < 1)) {
    return Status::InvalidArgument("adwin_delta must be in (0, 1)");
  }
  if (static_cast<int>(o.split_criterion) > static_cast<int>(SplitCriterion::kGini) ||
      static_cast<int>(o.leaf_prediction) > static_cast<int>(LeafPrediction::kNaiveBayesAdaptive)) {
    return Status::InvalidArgument("unknown Hoeffding tree option value");
  }
  for (int f : o.nominal_features) {
    if (f < 0 || f >= num_features) return Status::InvalidArgument("nominal feature out of range");
  }
  if (o.max_features < 0) return Status::InvalidArgument("max_features must be >= 0");
  return Status::OK();
}

}  // namespace

void SaveTreeOptions(const HoeffdingTreeOptions& o, bool adaptive, pb::TreeOptions* out) {
  out->set_num_classes(o.num_classes);
  out->set_split_criterion(static_cast<int>(o.split_criterion));
  out->set_delta(o.delta);
  out->set_grace_period(o.grace_period);
  out->set_tau(o.tau);
  out->set_leaf_prediction(static_cast<int>(o.leaf_prediction));
  for (int f : o.nominal_features) out->add_nominal_features(f);
  out->set_max_active_leaves(o.max_active_leaves);
  out->set_max_bytes(o.max_bytes);
  out->set_max_depth(o.max_depth);
  out->set_min_branch_fraction(o.min_branch_fraction);
  out->set_num_split_points(o.num_split_points);
  out->set_adwin_delta(o.adwin_delta);
  out->set_drift_window_threshold(o.drift_window_threshold);
  out->set_adaptive(adaptive);
  out->set_max_features(o.max_features);
  out->set_seed(o.seed);
}

HoeffdingTreeOptions LoadTreeOptions(const pb::TreeOptions& o) {
  HoeffdingTreeOptions options;
  options.num_classes = o.num_classes();
  options.split_criterion = static_cast<SplitCriterion>(o.split_criterion());
  options.delta = o.delta();
  options.grace_period = o.grace_period();
  options.tau = o.tau();
  options.leaf_prediction = static_cast<LeafPrediction>(o.leaf_prediction());
  options.nominal_features.assign(o.nominal_features().begin(), o.nominal_features().end());
  options.max_active_leaves = o.max_active_leaves();
  options.max_bytes = o.max_bytes();
  options.max_depth = o.max_depth();
  options.min_branch_fraction = o.min_branch_fraction();
  options.num_split_points = o.num_split_points();
  options.adwin_delta = o.adwin_delta();
  options.drift_window_threshold = o.drift_window_threshold();
  options.max_features = o.max_features();
  options.seed = o.seed();
  return options;
}

void TreeProbabilities(const Model& tree, const double* x, double* out) {
  static_cast<const HoeffdingTreeClassifier&>(tree).Probabilities(x, out);
}

void TreeProbabilitiesBeforeLearning(Model* tree, const double* x, double* out) {
  static_cast<HoeffdingTreeClassifier*>(tree)->ProbabilitiesBeforeLearning(x, out);
}

void TreeLearnOne(Model* tree, const double* x, int y, double weight) {
  static_cast<HoeffdingTreeClassifier*>(tree)->LearnWeighted(x, y, weight);
}

Result<std::unique_ptr<Model>> MakeHoeffdingTreeClassifier(int num_features,
                                                           const HoeffdingTreeOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(num_features, options));
  return std::unique_ptr<Model>(
      std::make_unique<HoeffdingTreeClassifier>(num_features, options, false));
}

Result<std::unique_ptr<Model>> MakeHoeffdingAdaptiveTreeClassifier(
    int num_features, const HoeffdingTreeOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(num_features, options));
  return std::unique_ptr<Model>(
      std::make_unique<HoeffdingTreeClassifier>(num_features, options, true));
}

Result<std::unique_ptr<Model>> RestoreHoeffdingTreeClassifier(const pb::TreeState& state,
                                                              int64_t version) {
  const pb::TreeOptions& o = state.options();
  const HoeffdingTreeOptions options = LoadTreeOptions(o);
  if (o.split_criterion() < 0 || o.leaf_prediction() < 0) {
    return Status::Corruption("tree snapshot has invalid options");
  }
  Status valid = CheckOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("tree snapshot: " + valid.message());
  auto model =
      std::make_unique<HoeffdingTreeClassifier>(state.num_features(), options, o.adaptive());
  EDDY_RETURN_IF_ERROR(model->Load(state, version));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::learn
