#pragma once
// Helpers shared by the model implementations in operators/models/: input
// validation, the counter-based RNG, a minimal JSON writer and the per-model
// restore entry points used by Model::Restore. Not for use outside learn/.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "operators/models/model.h"

namespace eddy::learn {

namespace pb {
class LinearState;
class KMeansState;
class TreeState;
class TreeOptions;
class ForestState;
class LeveragingBaggingState;
class MlpState;
class Rng;
}  // namespace pb

// Node count and depth of a Hoeffding tree (classifier or regressor: any
// Node with depth, left, right and is_leaf()); alternate subtrees of the
// adaptive tree are not counted until they replace a branch.
template <typename Node>
ModelShape TreeShape(const Node* root) {
  ModelShape shape;
  std::vector<const Node*> pending = {root};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    ++shape.tree_nodes;
    if (node->depth > shape.tree_depth) shape.tree_depth = node->depth;
    if (!node->is_leaf()) {
      pending.push_back(node->left.get());
      pending.push_back(node->right.get());
    }
  }
  return shape;
}

// SplitMix64 over (seed, counter): the n-th draw depends only on the seed and
// n, so the RNG state is two integers and snapshots restore it exactly.
class CounterRng {
 public:
  explicit CounterRng(uint64_t seed = 0, uint64_t counter = 0) : seed_(seed), counter_(counter) {}
  uint64_t NextU64() {
    uint64_t z = seed_ + 0x9e3779b97f4a7c15ULL * (++counter_);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), 53 random bits.
  double NextDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }
  void Save(pb::Rng* out) const;
  void Load(const pb::Rng& in);

 private:
  uint64_t seed_;
  uint64_t counter_;
};

// Online bagging's Poisson(lambda) weight by Knuth's multiplication method
// (river's utils.random.poisson); `limit` is exp(-lambda). Shared by the
// ensembles so their draws follow one definition.
inline int Poisson(double limit, CounterRng* rng) {
  int k = 0;
  double product = rng->NextDouble();
  while (product > limit) {
    ++k;
    product *= rng->NextDouble();
  }
  return k;
}

// The seed of an ensemble's member `index`: a SplitMix64 draw over (seed,
// index), so members' RNGs are independent and depend on nothing else.
// An ensemble's shape: its members' nodes summed, the deepest member's
// depth. `model_of(member)` gives a member's model.
template <typename Members, typename ModelOf>
ModelShape EnsembleShape(const Members& members, ModelOf model_of) {
  ModelShape shape;
  for (const auto& member : members) {
    const ModelShape one = model_of(member).Shape();
    shape.tree_nodes += one.tree_nodes;
    shape.tree_depth = std::max(shape.tree_depth, one.tree_depth);
  }
  return shape;
}

inline uint64_t EnsembleMemberSeed(uint64_t seed, int index) {
  CounterRng mix(seed, static_cast<uint64_t>(index) << 32);
  return mix.NextU64();
}

// Checks shapes, the mask and, for rows that will be learned, finite
// features and valid labels (classes in [0, num_classes) when num_classes >
// 0; finite targets otherwise; labels ignored when `needs_labels` is false).
// An ensemble's summed class votes (rows x classes) as predictions: each
// row normalized to a distribution (uniform when no member has anything to
// say), its most probable class and that class's probability.
inline void VotesToPredictions(const RowMatrix& votes, int num_classes, PredictionColumns* out) {
  const Eigen::Index rows = votes.rows();
  out->value.resize(rows);
  out->score.resize(rows);
  out->probabilities.resize(rows, num_classes);
  for (Eigen::Index row = 0; row < rows; ++row) {
    const double total = votes.row(row).sum();
    if (total > 0) {
      out->probabilities.row(row) = votes.row(row) / total;
    } else {
      out->probabilities.row(row).setConstant(1.0 / num_classes);
    }
    Eigen::Index best = 0;
    out->probabilities.row(row).maxCoeff(&best);
    out->value[row] = static_cast<double>(best);
    out->score[row] = out->probabilities(row, best);
  }
}

Status ValidateLearnInput(const FeatureMatrix& x, std::span<const double> y,
                          const std::vector<uint8_t>* mask, int num_features, int num_classes,
                          bool needs_labels);
Status ValidatePredictInput(const FeatureMatrix& x, int num_features);
inline bool RowSelected(const std::vector<uint8_t>* mask, Eigen::Index row) {
  return mask == nullptr || (*mask)[row] != 0;
}

// Appends JSON text. Doubles use 17 significant digits (round-trip exact);
// NaN and infinities become null.
class JsonWriter {
 public:
  void BeginObject() {
    Separate();
    out_ += '{';
    first_ = true;
  }
  void EndObject() {
    out_ += '}';
    first_ = false;
  }
  void BeginArray() {
    Separate();
    out_ += '[';
    first_ = true;
  }
  void EndArray() {
    out_ += ']';
    first_ = false;
  }
  void Key(std::string_view key);
  void String(std::string_view value);
  void Double(double value);
  void Int(int64_t value);
  void Bool(bool value);
  void DoubleArray(std::span<const double> values);
  std::string Take() { return std::move(out_); }

 private:
  void WriteQuoted(std::string_view value);
  void Separate() {
    if (!first_ && !after_key_) out_ += ',';
    first_ = false;
    after_key_ = false;
  }
  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

// Restore entry points, one per implementation file.
Result<std::unique_ptr<Model>> RestoreLinearModel(const pb::LinearState& state, int64_t version);
Result<std::unique_ptr<Model>> RestoreStreamingKMeans(const pb::KMeansState& state,
                                                      int64_t version);
Result<std::unique_ptr<Model>> RestoreHoeffdingTreeClassifier(const pb::TreeState& state,
                                                              int64_t version);
Result<std::unique_ptr<Model>> RestoreHoeffdingTreeRegressor(const pb::TreeState& state,
                                                             int64_t version);
Result<std::unique_ptr<Model>> RestoreAdaptiveRandomForest(const pb::ForestState& state,
                                                           int64_t version);
Result<std::unique_ptr<Model>> RestoreLeveragingBagging(const pb::LeveragingBaggingState& state,
                                                        int64_t version);
Result<std::unique_ptr<Model>> RestoreMlp(const pb::MlpState& state, int64_t version);

// A Hoeffding tree classifier's options in and out of its snapshot.
void SaveTreeOptions(const HoeffdingTreeOptions& options, bool adaptive, pb::TreeOptions* out);
HoeffdingTreeOptions LoadTreeOptions(const pb::TreeOptions& in);

// Row-level access to a tree made by MakeHoeffdingTreeClassifier (not the
// adaptive one), for the ensembles: one row's class probabilities (the
// leaf's, num_classes of them), and learning one row `weight` times (river's
// sample_weight: class counts, observers and the grace period count it).
void TreeProbabilities(const Model& tree, const double* x, double* out);
// The same numbers, remembering the leaf's naive Bayes posterior for a
// TreeLearnOne of the same row next (computed once instead of twice).
void TreeProbabilitiesBeforeLearning(Model* tree, const double* x, double* out);
void TreeLearnOne(Model* tree, const double* x, int y, double weight);

// Hoeffding bound: with probability 1 - delta, the true mean of a variable of
// range `range` is within this of the mean of n observations.
inline double HoeffdingBound(double range, double delta, double n) {
  return std::sqrt(range * range * std::log(1.0 / delta) / (2.0 * n));
}

// Numerically stable softmax of `scores` into `out` (same shape).
template <typename In, typename Out>
void Softmax(const In& scores, Out&& out) {
  const double max_score = scores.maxCoeff();
  out.array() = (scores.array() - max_score).exp();
  out /= out.sum();
}

}  // namespace eddy::learn
