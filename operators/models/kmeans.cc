// Streaming k-means with the semantics of Spark MLlib's StreamingKMeans
// (mllib/clustering/StreamingKMeans.scala, StreamingKMeansModel.update):
//
// Per Learn call (a "batch") over m rows:
//   1. assign every row to its nearest centre (squared Euclidean, lowest
//      index on ties) with the centres as they were before the call;
//   2. discount every cluster weight: n <- n * a, where a = decay_factor for
//      time unit "batches" and a^m for "points";
//   3. for each cluster j with m_j > 0 rows of mean x_j:
//        n' = n + m_j,  lambda = m_j / max(n', 1e-16),
//        c <- (1 - lambda) c + (lambda / m_j) * sum_j   (= (c n + x_j m_j) / n')
//   4. if the smallest weight < 1e-8 x the largest, the smallest cluster is
//      dying: both get weight (max + min) / 2, and the largest centre c is
//      split into c + p and c - p (the dying one), p_i = 1e-14 max(|c_i|, 1).
// Half-life h (in batches or points) gives a = exp(ln(0.5) / h).
//
// Seeding: centres come from k-means++ (Arthur & Vassilvitskii 2007), with
// weight 0, as soon as k rows have arrived (rows of earlier, smaller calls
// are buffered), over the first kSeedSampleRows of them (or k, if larger);
// then the normal update runs on all the rows of the call. Like the
// init_size of scikit-learn's MiniBatchKMeans, the sample bounds the
// seeding's k passes: over a job's whole first batch (100,000 rows) they
// cost several times the batch's update, and a model fed in blocks could
// not seed as one call does. Before seeding, Predict returns cluster -1 and
// distance NaN.

#include <algorithm>
#include <cmath>
#include <limits>

#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"

namespace eddy::learn {

double DecayFactorFromHalfLife(double half_life) { return std::exp(std::log(0.5) / half_life); }

namespace {

// The most rows k-means++ seeds from (unless k is larger); see the top.
constexpr Eigen::Index kSeedSampleRows = 1024;

class StreamingKMeans final : public Model {
 public:
  StreamingKMeans(int num_features, const KMeansOptions& options)
      : options_(options),
        num_features_(num_features),
        rng_(options.seed),
        centers_(RowMatrix::Zero(options.k, num_features)),
        weights_(Eigen::VectorXd::Zero(options.k)),
        sums_(options.k, num_features),
        counts_(options.k) {}

  ModelKind kind() const override { return ModelKind::kStreamingKMeans; }
  Task task() const override { return Task::kClustering; }
  int num_features() const override { return num_features_; }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, 0, false));
    if (!initialized_) {
      if (!SeedFrom(x, mask)) return Status::OK();
      // The buffered rows, then this call's, are the first update.
      if (!in_blocks_) ClearSums();
      Accumulate(pending_, nullptr);
      pending_.resize(0, num_features_);
      Accumulate(x, mask);
      if (!in_blocks_ && Apply()) ++version_;
      return Status::OK();
    }
    if (in_blocks_) {
      Accumulate(x, mask);
    } else if (Update(x, mask)) {
      ++version_;
    }
    return Status::OK();
  }

  // The blocks' points gather with the centres of before the batch, which
  // move at the end, as in one call. Before seeding, blocks buffer rows
  // until the seeding sample is complete, or the batch ends with k rows,
  // so the sample is the one call's whatever the block size.
  bool LearnsInBlocks() const override { return true; }
  void BeginBlocks() override {
    in_blocks_ = true;
    ClearSums();
  }
  void EndBlocks() override {
    if (!in_blocks_) return;
    in_blocks_ = false;
    seeded_in_blocks_ = false;
    if (!initialized_ && pending_.rows() >= options_.k) {
      Seed(pending_);
      initialized_ = true;
      Accumulate(pending_, nullptr);
      pending_.resize(0, num_features_);
    }
    if (Apply()) ++version_;
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    out->value.resize(x.rows());
    out->score.resize(x.rows());
    out->probabilities.resize(0, 0);
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      if (!initialized_ || seeded_in_blocks_) {  // as one call: unseeded until it ends
        out->value[row] = -1;
        out->score[row] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      double sq = 0;
      out->value[row] = Nearest(x.row(row), &sq);
      out->score[row] = std::sqrt(sq);
    }
    return Status::OK();
  }

  // Per-batch model: every row is predicted with the centres from before the
  // call, then the call's rows update them.
  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, 0, false));
    EDDY_RETURN_IF_ERROR(Predict(x, out));
    return Learn(x, y, mask);
  }

  Status Snapshot(pb::ModelSnapshot* out) const override {
    out->Clear();
    out->set_format_version(1);
    out->set_version(version_);
    pb::KMeansState* state = out->mutable_kmeans();
    state->set_k(options_.k);
    state->set_num_features(num_features_);
    state->set_decay_factor(options_.decay_factor);
    state->set_time_unit(static_cast<int>(options_.time_unit));
    rng_.Save(state->mutable_rng());
    state->set_initialized(initialized_);
    state->mutable_centers()->Assign(centers_.data(), centers_.data() + centers_.size());
    state->mutable_weights()->Assign(weights_.data(), weights_.data() + weights_.size());
    state->mutable_pending()->Assign(pending_.data(), pending_.data() + pending_.size());
    return Status::OK();
  }

  Status Load(const pb::KMeansState& state, int64_t version) {
    const size_t cells = static_cast<size_t>(options_.k) * num_features_;
    if (static_cast<size_t>(state.centers_size()) != cells || state.weights_size() != options_.k ||
        state.pending_size() % num_features_ != 0) {
      return Status::Corruption("k-means snapshot has inconsistent sizes");
    }
    rng_.Load(state.rng());
    initialized_ = state.initialized();
    std::copy(state.centers().begin(), state.centers().end(), centers_.data());
    std::copy(state.weights().begin(), state.weights().end(), weights_.data());
    pending_.resize(state.pending_size() / num_features_, num_features_);
    std::copy(state.pending().begin(), state.pending().end(), pending_.data());
    version_ = version;
    return Status::OK();
  }

  ModelShape Shape() const override {
    ModelShape shape;
    shape.cluster_weights.assign(weights_.data(), weights_.data() + weights_.size());
    return shape;
  }

  std::string ExportJson() const override {
    JsonWriter json;
    json.BeginObject();
    json.Key("model");
    json.String("streaming_kmeans");
    json.Key("version");
    json.Int(version_);
    json.Key("k");
    json.Int(options_.k);
    json.Key("decay_factor");
    json.Double(options_.decay_factor);
    json.Key("time_unit");
    json.String(options_.time_unit == DecayUnit::kBatches ? "batches" : "points");
    json.Key("initialized");
    json.Bool(initialized_);
    json.Key("centers");
    json.BeginArray();
    for (int c = 0; c < options_.k; ++c) {
      json.DoubleArray(std::span<const double>(centers_.row(c).data(), num_features_));
    }
    json.EndArray();
    json.Key("weights");
    json.DoubleArray(std::span<const double>(weights_.data(), options_.k));
    json.EndObject();
    return json.Take();
  }

 private:
  template <typename Row>
  int Nearest(const Row& x, double* best_sq) const {
    int best = 0;
    double best_distance = std::numeric_limits<double>::infinity();
    for (int c = 0; c < options_.k; ++c) {
      const double distance = (centers_.row(c) - x).squaredNorm();
      if (distance < best_distance) {
        best_distance = distance;
        best = c;
      }
    }
    *best_sq = best_distance;
    return best;
  }

  Eigen::Index SeedSampleRows() const {
    return std::max<Eigen::Index>(kSeedSampleRows, options_.k);
  }

  // Before seeding: buffers the selected rows of `x` until k rows have
  // arrived (in blocks: the whole sample, see LearnsInBlocks), then seeds
  // from the first SeedSampleRows of the buffered rows and `x`'s. Returns
  // whether it seeded; the buffered rows stay in pending_ for the first
  // update.
  bool SeedFrom(const FeatureMatrix& x, const std::vector<uint8_t>* mask) {
    Eigen::Index selected = 0;
    for (Eigen::Index row = 0; row < x.rows(); ++row) selected += RowSelected(mask, row);
    const Eigen::Index buffered = pending_.rows();
    const Eigen::Index needed = in_blocks_ ? SeedSampleRows() : options_.k;
    if (buffered + selected < needed) {
      pending_.conservativeResize(buffered + selected, num_features_);
      Eigen::Index next = buffered;
      for (Eigen::Index row = 0; row < x.rows(); ++row) {
        if (RowSelected(mask, row)) pending_.row(next++) = x.row(row);
      }
      return false;
    }
    const Eigen::Index sample_rows = std::min(buffered + selected, SeedSampleRows());
    RowMatrix sample(sample_rows, num_features_);
    const Eigen::Index from_pending = std::min(buffered, sample_rows);
    sample.topRows(from_pending) = pending_.topRows(from_pending);
    Eigen::Index next = from_pending;
    for (Eigen::Index row = 0; row < x.rows() && next < sample_rows; ++row) {
      if (RowSelected(mask, row)) sample.row(next++) = x.row(row);
    }
    Seed(sample);
    initialized_ = true;
    seeded_in_blocks_ = in_blocks_;
    return true;
  }

  void Seed(const RowMatrix& rows) {
    const Eigen::Index n = rows.rows();
    auto uniform_index = [&]() {
      return std::min<Eigen::Index>(static_cast<Eigen::Index>(rng_.NextDouble() * n), n - 1);
    };
    centers_.row(0) = rows.row(uniform_index());
    Eigen::VectorXd d2(n);
    for (Eigen::Index row = 0; row < n; ++row)
      d2[row] = (rows.row(row) - centers_.row(0)).squaredNorm();
    for (int c = 1; c < options_.k; ++c) {
      const double total = d2.sum();
      Eigen::Index chosen = 0;
      if (total > 0) {
        const double target = rng_.NextDouble() * total;
        double cumulative = 0;
        chosen = -1;
        for (Eigen::Index row = 0; row < n; ++row) {
          cumulative += d2[row];
          if (d2[row] > 0 && cumulative > target) {
            chosen = row;
            break;
          }
        }
        if (chosen < 0) {  // rounding: take the last row with positive distance
          for (Eigen::Index row = n - 1; row >= 0; --row) {
            if (d2[row] > 0) {
              chosen = row;
              break;
            }
          }
        }
      } else {
        chosen = uniform_index();
      }
      centers_.row(c) = rows.row(chosen);
      for (Eigen::Index row = 0; row < n; ++row) {
        d2[row] = std::min(d2[row], (rows.row(row) - centers_.row(c)).squaredNorm());
      }
    }
    weights_.setZero();
  }

  // One MLlib update with the selected rows; false if there were none.
  bool Update(const FeatureMatrix& x, const std::vector<uint8_t>* mask) {
    ClearSums();
    Accumulate(x, mask);
    return Apply();
  }

  void ClearSums() {
    sums_.setZero();
    counts_.setZero();
    points_ = 0;
  }

  // Adds the selected rows to their nearest centre's sums.
  void Accumulate(const FeatureMatrix& x, const std::vector<uint8_t>* mask) {
    double ignored = 0;
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      if (!RowSelected(mask, row)) continue;
      const int c = Nearest(x.row(row), &ignored);
      sums_.row(c) += x.row(row);
      counts_[c] += 1;
      ++points_;
    }
  }

  // Moves the centres towards the gathered sums; false when none came.
  bool Apply() {
    const int64_t points = points_;
    if (points == 0) return false;
    const double discount = options_.time_unit == DecayUnit::kBatches
                                ? options_.decay_factor
                                : std::pow(options_.decay_factor, static_cast<double>(points));
    weights_ *= discount;
    for (int c = 0; c < options_.k; ++c) {
      const double count = counts_[c];
      if (count == 0) continue;
      const double updated = weights_[c] + count;
      const double lambda = count / std::max(updated, 1e-16);
      weights_[c] = updated;
      centers_.row(c) *= 1.0 - lambda;
      centers_.row(c) += (lambda / count) * sums_.row(c);
    }
    SplitDyingCluster();
    return true;
  }

  void SplitDyingCluster() {
    Eigen::Index largest = 0, smallest = 0;
    const double max_weight = weights_.maxCoeff(&largest);
    const double min_weight = weights_.minCoeff(&smallest);
    if (!(min_weight < 1e-8 * max_weight)) return;
    const double weight = (max_weight + min_weight) / 2.0;
    weights_[largest] = weight;
    weights_[smallest] = weight;
    for (int j = 0; j < num_features_; ++j) {
      const double x = centers_(largest, j);
      const double p = 1e-14 * std::max(std::abs(x), 1.0);
      centers_(largest, j) = x + p;
      centers_(smallest, j) = x - p;
    }
  }

  const KMeansOptions options_;
  const int num_features_;
  CounterRng rng_;
  bool initialized_ = false;
  RowMatrix centers_;        // k x num_features
  Eigen::VectorXd weights_;  // k
  RowMatrix pending_;        // rows waiting for seeding
  // Per-update scratch: the points gathered for the next Apply.
  RowMatrix sums_;
  Eigen::VectorXd counts_;
  int64_t points_ = 0;
  bool in_blocks_ = false;  // between BeginBlocks and EndBlocks
  // Seeded by a block of the current batch: predicts as unseeded until
  // EndBlocks, as the batch's one call would have.
  bool seeded_in_blocks_ = false;
};

Status CheckOptions(int num_features, const KMeansOptions& options) {
  if (num_features < 1) return Status::InvalidArgument("k-means needs at least one feature");
  if (options.k < 1) return Status::InvalidArgument("k-means needs k >= 1");
  if (!(options.decay_factor >= 0 && options.decay_factor <= 1)) {
    return Status::InvalidArgument("decay_factor must be in [0, 1]");
  }
  if (options.time_unit != DecayUnit::kBatches && options.time_unit != DecayUnit::kPoints) {
    return Status::InvalidArgument("unknown decay time unit");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeStreamingKMeans(int num_features, const KMeansOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(num_features, options));
  return std::unique_ptr<Model>(std::make_unique<StreamingKMeans>(num_features, options));
}

Result<std::unique_ptr<Model>> RestoreStreamingKMeans(const pb::KMeansState& state,
                                                      int64_t version) {
  KMeansOptions options;
  options.k = state.k();
  options.decay_factor = state.decay_factor();
  options.time_unit = static_cast<DecayUnit>(state.time_unit());
  options.seed = state.rng().seed();
  Status valid = CheckOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("k-means snapshot: " + valid.message());
  auto model = std::make_unique<StreamingKMeans>(state.num_features(), options);
  EDDY_RETURN_IF_ERROR(model->Load(state, version));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::learn
