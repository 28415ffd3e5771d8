// Adaptive random forest classifier (Gomes et al. 2017; river's
// ARFClassifier, MOA's AdaptiveRandomForest).
//
// n_models Hoeffding trees (hoeffding_tree.cc), each observing a random
// subset of max_features features per leaf (drawn when the leaf first
// learns; round(sqrt(m)) by default), trained by online bagging: every row
// is learned by each tree with weight k ~ Poisson(lambda = 6). Each tree
// has a warning detector (ADWIN, delta 0.01) and a drift detector (ADWIN,
// delta 0.001) over its own 0/1 error, updated on the rows it learns (k >
// 0): a warning starts a background tree, which learns alongside; a drift
// replaces the tree by its background tree (or a fresh one) and resets the
// detectors and the tree's accuracy. Prediction: the trees' class
// probabilities, each weighted by the tree's prequential accuracy since it
// was (re)started (unweighted while that is 0), summed and normalized.
//
// Determinism and parallelism: every member (tree, background, detectors,
// accuracy) owns a counter-based RNG seeded from (seed, member index), used
// for its Poisson draws and its trees' feature subsets, so members are
// independent: for a call, each member walks the rows in order (predict,
// then learn) and writes its weighted probabilities into its own buffer; the
// buffers are then summed in member order. With a thread pool the members
// run on its workers, without one in turn — the result is the same bit for
// bit.

#include <algorithm>
#include <cmath>

#include "operators/models/adwin.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"
#include "runtime/core/thread_pool.h"

namespace eddy::learn {
namespace {

struct Member {
  std::unique_ptr<Model> tree;
  std::unique_ptr<Model> background;  // null until a warning
  std::unique_ptr<Adwin> warning;
  std::unique_ptr<Adwin> drift;
  double correct = 0;  // the tree's prequential accuracy since it started
  double seen = 0;
  CounterRng rng;
  int64_t warnings = 0;
  int64_t drifts = 0;

  double accuracy() const { return seen > 0 ? correct / seen : 0.0; }
};

class AdaptiveRandomForest final : public Model {
 public:
  AdaptiveRandomForest(int num_features, const AdaptiveRandomForestOptions& options)
      : options_(options), num_features_(num_features) {
    tree_options_ = options_.tree;
    tree_options_.num_classes = options_.num_classes;
    tree_options_.max_features =
        options_.max_features > 0
            ? std::min(options_.max_features, num_features)
            : std::max(1, static_cast<int>(std::lround(std::sqrt(double(num_features)))));
  }

  // A fresh forest (Restore fills the members instead).
  Status Init() {
    members_.resize(options_.n_models);
    for (int i = 0; i < options_.n_models; ++i) {
      Member& member = members_[i];
      member.rng = CounterRng(MemberSeed(i));
      EDDY_ASSIGN_OR_RETURN(member.tree, NewTree(&member));
      ResetDetectors(&member);
    }
    return Status::OK();
  }

  ModelKind kind() const override { return ModelKind::kAdaptiveRandomForestClassifier; }
  Task task() const override { return Task::kClassification; }
  int num_features() const override { return num_features_; }
  int num_classes() const override { return options_.num_classes; }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    return Run(x, y, mask, nullptr);
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    const int classes = options_.num_classes;
    RowMatrix votes = RowMatrix::Zero(x.rows(), classes);
    std::vector<double> proba(classes);
    for (const Member& member : members_) {
      for (Eigen::Index row = 0; row < x.rows(); ++row) {
        TreeProbabilities(*member.tree, x.row(row).data(), proba.data());
        AddVote(member, proba.data(), &votes.row(row)[0]);
      }
    }
    VotesToPredictions(votes, options_.num_classes, out);
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes(), true));
    return Run(x, y, mask, out);
  }

  Status Snapshot(pb::ModelSnapshot* out) const override;
  std::string ExportJson() const override;
  ModelShape Shape() const override {
    return EnsembleShape(members_,
                         [](const Member& member) -> const Model& { return *member.tree; });
  }
  Status Load(const pb::ForestState& state, int64_t version);

 private:
  uint64_t MemberSeed(int index) const { return EnsembleMemberSeed(options_.seed, index); }

  Result<std::unique_ptr<Model>> NewTree(Member* member) const {
    HoeffdingTreeOptions options = tree_options_;
    options.seed = member->rng.NextU64();
    return MakeHoeffdingTreeClassifier(num_features_, options);
  }

  void ResetDetectors(Member* member) const {
    member->warning = std::make_unique<Adwin>(options_.warning_delta);
    member->drift = std::make_unique<Adwin>(options_.drift_delta);
  }

  // Adds `member`'s class probabilities `proba` for a row, weighted, to
  // `votes`.
  void AddVote(const Member& member, const double* proba, double* votes) const {
    const double accuracy = member.accuracy();
    const double weight = options_.weighted_vote && accuracy > 0 ? accuracy : 1.0;
    for (int c = 0; c < options_.num_classes; ++c) votes[c] += proba[c] * weight;
  }

  // Learn (out == nullptr) or Prequential over the members, in parallel on
  // the thread pool when there is one.
  Status Run(const FeatureMatrix& x, std::span<const double> y, const std::vector<uint8_t>* mask,
             PredictionColumns* out) {
    const int n = static_cast<int>(members_.size());
    std::vector<RowMatrix> votes(out != nullptr ? n : 0);
    std::vector<Status> statuses(n);
    auto task = [&](size_t i) {
      statuses[i] = RunMember(&members_[i], x, y, mask, out != nullptr ? &votes[i] : nullptr);
    };
    if (pool_ != nullptr && n > 1) {
      EDDY_RETURN_IF_ERROR(pool_->Run(static_cast<size_t>(n), task));
    } else {
      for (int i = 0; i < n; ++i) task(static_cast<size_t>(i));
    }
    for (const Status& status : statuses) EDDY_RETURN_IF_ERROR(status);
    if (out != nullptr) {
      RowMatrix total = RowMatrix::Zero(x.rows(), options_.num_classes);
      for (const RowMatrix& member_votes : votes) total += member_votes;  // member order
      VotesToPredictions(total, options_.num_classes, out);
    }
    bool changed = false;
    for (Eigen::Index row = 0; row < x.rows() && !changed; ++row) changed = RowSelected(mask, row);
    if (changed) ++version_;
    return Status::OK();
  }

  // One member over the rows, in order: its vote (prequential), then its
  // accuracy, the Poisson weight, learning and the detectors.
  Status RunMember(Member* member, const FeatureMatrix& x, std::span<const double> y,
                   const std::vector<uint8_t>* mask, RowMatrix* votes) const {
    const int classes = options_.num_classes;
    if (votes != nullptr) votes->setZero(x.rows(), classes);
    std::vector<double> proba(classes);
    for (Eigen::Index row = 0; row < x.rows(); ++row) {
      const double* features = x.row(row).data();
      const bool learns = RowSelected(mask, row);
      TreeProbabilitiesBeforeLearning(member->tree.get(), features, proba.data());
      if (votes != nullptr) AddVote(*member, proba.data(), &(*votes)(row, 0));
      if (!learns) continue;
      const int label = static_cast<int>(y[row]);
      const int predicted =
          static_cast<int>(std::max_element(proba.begin(), proba.end()) - proba.begin());
      const double error = predicted == label ? 0.0 : 1.0;
      member->correct += 1.0 - error;
      member->seen += 1;
      const int k = Poisson(poisson_limit_, &member->rng);
      if (k == 0) continue;
      if (member->background) TreeLearnOne(member->background.get(), features, label, k);
      TreeLearnOne(member->tree.get(), features, label, k);
      if (member->warning->Update(error)) {
        EDDY_ASSIGN_OR_RETURN(member->background, NewTree(member));
        member->warning = std::make_unique<Adwin>(options_.warning_delta);
        ++member->warnings;
      }
      if (member->drift->Update(error)) {
        if (member->background) {
          member->tree = std::move(member->background);
        } else {
          EDDY_ASSIGN_OR_RETURN(member->tree, NewTree(member));
        }
        ResetDetectors(member);
        member->correct = member->seen = 0;
        ++member->drifts;
      }
    }
    return Status::OK();
  }

  const AdaptiveRandomForestOptions options_;
  const int num_features_;
  HoeffdingTreeOptions tree_options_;
  const double poisson_limit_ = std::exp(-options_.lambda);
  std::vector<Member> members_;
};

void SaveForestOptions(const AdaptiveRandomForestOptions& o, pb::ForestOptions* out) {
  out->set_num_classes(o.num_classes);
  out->set_n_models(o.n_models);
  out->set_max_features(o.max_features);
  out->set_lambda(o.lambda);
  out->set_warning_delta(o.warning_delta);
  out->set_drift_delta(o.drift_delta);
  out->set_weighted_vote(o.weighted_vote);
  out->set_seed(o.seed);
  SaveTreeOptions(o.tree, false, out->mutable_tree());
}

Status AdaptiveRandomForest::Snapshot(pb::ModelSnapshot* out) const {
  out->Clear();
  out->set_format_version(1);
  out->set_version(version_);
  pb::ForestState* state = out->mutable_forest();
  SaveForestOptions(options_, state->mutable_options());
  state->set_num_features(num_features_);
  for (const Member& member : members_) {
    pb::ForestMember* m = state->add_members();
    EDDY_RETURN_IF_ERROR(member.tree->Snapshot(m->mutable_tree()));
    if (member.background)
      EDDY_RETURN_IF_ERROR(member.background->Snapshot(m->mutable_background()));
    member.warning->Save(m->mutable_warning());
    member.drift->Save(m->mutable_drift());
    m->set_correct(member.correct);
    m->set_seen(member.seen);
    member.rng.Save(m->mutable_rng());
    m->set_warnings(member.warnings);
    m->set_drifts(member.drifts);
  }
  return Status::OK();
}

Status AdaptiveRandomForest::Load(const pb::ForestState& state, int64_t version) {
  if (state.members_size() != options_.n_models) {
    return Status::Corruption("forest snapshot: expected " + std::to_string(options_.n_models) +
                              " trees, got " + std::to_string(state.members_size()));
  }
  members_.resize(options_.n_models);
  auto restore_tree = [&](const pb::ModelSnapshot& snapshot) -> Result<std::unique_ptr<Model>> {
    EDDY_ASSIGN_OR_RETURN(auto tree, Model::Restore(snapshot));
    if (tree->kind() != ModelKind::kHoeffdingTreeClassifier ||
        tree->num_features() != num_features_ || tree->num_classes() != options_.num_classes) {
      return Status::Corruption("forest snapshot: a member is not a matching Hoeffding tree");
    }
    return tree;
  };
  for (int i = 0; i < options_.n_models; ++i) {
    const pb::ForestMember& m = state.members(i);
    Member& member = members_[i];
    EDDY_ASSIGN_OR_RETURN(member.tree, restore_tree(m.tree()));
    if (m.has_background()) {
      EDDY_ASSIGN_OR_RETURN(member.background, restore_tree(m.background()));
    }
    ResetDetectors(&member);
    if (!member.warning->Load(m.warning()) || !member.drift->Load(m.drift())) {
      return Status::Corruption("forest snapshot: bad ADWIN state");
    }
    member.correct = m.correct();
    member.seen = m.seen();
    member.rng.Load(m.rng());
    member.warnings = m.warnings();
    member.drifts = m.drifts();
  }
  version_ = version;
  return Status::OK();
}

std::string AdaptiveRandomForest::ExportJson() const {
  JsonWriter json;
  json.BeginObject();
  json.Key("model");
  json.String("adaptive_random_forest_classifier");
  json.Key("version");
  json.Int(version_);
  json.Key("num_classes");
  json.Int(options_.num_classes);
  json.Key("max_features");
  json.Int(tree_options_.max_features);
  json.Key("lambda");
  json.Double(options_.lambda);
  json.Key("trees");
  json.BeginArray();
  for (const Member& member : members_) {
    json.BeginObject();
    json.Key("accuracy");
    json.Double(member.accuracy());
    json.Key("warnings");
    json.Int(member.warnings);
    json.Key("drifts");
    json.Int(member.drifts);
    json.Key("background");
    json.Bool(member.background != nullptr);
    const ModelShape shape = member.tree->Shape();
    json.Key("nodes");
    json.Int(shape.tree_nodes);
    json.Key("depth");
    json.Int(shape.tree_depth);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return json.Take();
}

Status CheckForestOptions(int num_features, const AdaptiveRandomForestOptions& o) {
  if (num_features < 1) return Status::InvalidArgument("a forest needs at least one feature");
  if (o.num_classes < 2) return Status::InvalidArgument("a forest needs num_classes >= 2");
  if (o.n_models < 1 || o.n_models > 1000)
    return Status::InvalidArgument("n_models must be in [1, 1000]");
  if (o.max_features < 0) return Status::InvalidArgument("max_features must be >= 0");
  if (!(o.lambda > 0 && o.lambda <= 100))
    return Status::InvalidArgument("lambda must be in (0, 100]");
  if (!(o.warning_delta > 0 && o.warning_delta < 1) || !(o.drift_delta > 0 && o.drift_delta < 1)) {
    return Status::InvalidArgument("warning_delta and drift_delta must be in (0, 1)");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeAdaptiveRandomForestClassifier(
    int num_features, const AdaptiveRandomForestOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckForestOptions(num_features, options));
  HoeffdingTreeOptions tree = options.tree;
  tree.num_classes = options.num_classes;
  EDDY_RETURN_IF_ERROR(MakeHoeffdingTreeClassifier(num_features, tree).status());  // checks
  auto forest = std::make_unique<AdaptiveRandomForest>(num_features, options);
  EDDY_RETURN_IF_ERROR(forest->Init());
  return std::unique_ptr<Model>(std::move(forest));
}

Result<std::unique_ptr<Model>> RestoreAdaptiveRandomForest(const pb::ForestState& state,
                                                           int64_t version) {
  const pb::ForestOptions& o = state.options();
  AdaptiveRandomForestOptions options;
  options.num_classes = o.num_classes();
  options.n_models = o.n_models();
  options.max_features = o.max_features();
  options.lambda = o.lambda();
  options.warning_delta = o.warning_delta();
  options.drift_delta = o.drift_delta();
  options.weighted_vote = o.weighted_vote();
  options.seed = o.seed();
  options.tree = LoadTreeOptions(o.tree());
  Status valid = CheckForestOptions(state.num_features(), options);
  if (!valid.ok()) return Status::Corruption("forest snapshot: " + valid.message());
  auto forest = std::make_unique<AdaptiveRandomForest>(state.num_features(), options);
  EDDY_RETURN_IF_ERROR(forest->Load(state, version));
  return std::unique_ptr<Model>(std::move(forest));
}

}  // namespace eddy::learn
