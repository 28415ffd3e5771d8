// Leveraging bagging (Bifet, Holmes & Pfahringer 2010, "Leveraging Bagging
// for Evolving Data Streams"; river's LeveragingBaggingClassifier, MOA's
// LeveragingBag) over any classifier of this library.
//
// n_models copies of a base classifier. Per row, in order:
//  * predict: the members' class probabilities, summed and normalized (the
//    average when each sums to 1); the class is the argmax;
//  * learn (rows that are learned): every member i first predicts the row
//    (its 0/1 error), then learns it with weight k ~ Poisson(w) drawn from
//    its own counter-based RNG — a Hoeffding tree takes k as the row's
//    weight (MOA's setWeight(k)), other models learn the row k times
//    (river's loop); then the error goes into the member's ADWIN. When an
//    ADWIN detects a change and its error estimate rose, a change is
//    flagged; after all members, if one was flagged, the member with the
//    highest error estimate is replaced by a fresh copy of the base model
//    and its ADWIN reset (MOA's rule; river updates its detectors with the
//    correctness instead, which replaces the best member).
// The error is the member's test-then-train error (predicted before it
// learns the row), where MOA and river predict again after learning: the
// honest estimate, and one prediction per member per row instead of two.
//
// Parallelism: the replacement couples the members only at the rows where a
// change is flagged, and then only the replaced member. So in a call every
// member walks all the rows on its own (on the thread pool when there is
// one), recording per row its vote, its error estimate, its RNG counter and
// whether it flagged a change; then the rows are scanned in order: at the
// first flagged row r the worst member by the recorded estimates is replaced
// (its RNG rewound to its row-r counter), walks rows r+1.. again alone, and
// the scan goes on from r+1. The others' rows after r did not depend on the
// replaced member, so the result is the row-by-row algorithm's bit for bit,
// with or without a pool; the cost is one member re-walking the rest of the
// call per change.
//
// Determinism: member i's RNG is seeded from (seed, i) and advances only on
// its Poisson draws; it, the members, their ADWINs and the base model are in
// the snapshot, so a restored model predicts and learns bit-identically.

#include <algorithm>
#include <cmath>
#include <numeric>

#include "operators/models/adwin.h"
#include "operators/models/model.h"
#include "operators/models/model.pb.h"
#include "operators/models/model_internal.h"
#include "runtime/core/thread_pool.h"

namespace eddy::learn {
namespace {

struct Member {
  std::unique_ptr<Model> model;
  std::unique_ptr<Adwin> adwin;
  CounterRng rng;
  int64_t replacements = 0;
  PredictionColumns scratch;  // a one-row prediction (models other than the tree)
};

// What a member did in a call, row by row.
struct MemberRun {
  RowMatrix votes;                    // its class probabilities (prequential only)
  std::vector<double> estimation;     // its ADWIN's error estimate after the row
  std::vector<uint64_t> rng_counter;  // its RNG's counter after the row
  std::vector<uint8_t> change;        // the row flagged a change
};

const char* KindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinear:
      return "sgd_classifier";
    case ModelKind::kHoeffdingTreeClassifier:
      return "hoeffding_tree";
    case ModelKind::kHoeffdingAdaptiveTreeClassifier:
      return "hoeffding_adaptive_tree";
    case ModelKind::kAdaptiveRandomForestClassifier:
      return "adaptive_random_forest";
    case ModelKind::kMlp:
      return "mlp_classifier";
    default:
      return "other";
  }
}

class LeveragingBagging final : public Model {
 public:
  LeveragingBagging(const LeveragingBaggingOptions& options, pb::ModelSnapshot base,
                    int num_features, int num_classes)
      : options_(options),
        base_(std::move(base)),
        num_features_(num_features),
        num_classes_(num_classes) {}

  // A fresh ensemble (Load fills the members instead).
  Status Init() {
    members_.resize(options_.n_models);
    for (int i = 0; i < options_.n_models; ++i) {
      members_[i].rng = CounterRng(EnsembleMemberSeed(options_.seed, i));
      EDDY_RETURN_IF_ERROR(Reset(&members_[i]));
    }
    return Status::OK();
  }

  ModelKind kind() const override { return ModelKind::kLeveragingBaggingClassifier; }
  Task task() const override { return Task::kClassification; }
  int num_features() const override { return num_features_; }
  int num_classes() const override { return num_classes_; }

  Status Learn(const FeatureMatrix& x, std::span<const double> y,
               const std::vector<uint8_t>* mask) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes_, true));
    return Run(x, y, mask, nullptr);
  }

  Status Predict(const FeatureMatrix& x, PredictionColumns* out) const override {
    EDDY_RETURN_IF_ERROR(ValidatePredictInput(x, num_features_));
    RowMatrix votes = RowMatrix::Zero(x.rows(), num_classes_);
    PredictionColumns member_out;
    for (const Member& member : members_) {
      EDDY_RETURN_IF_ERROR(member.model->Predict(x, &member_out));
      votes += member_out.probabilities;
    }
    VotesToPredictions(votes, num_classes_, out);
    return Status::OK();
  }

  Status Prequential(const FeatureMatrix& x, std::span<const double> y,
                     const std::vector<uint8_t>* mask, PredictionColumns* out) override {
    EDDY_RETURN_IF_ERROR(ValidateLearnInput(x, y, mask, num_features_, num_classes_, true));
    return Run(x, y, mask, out);
  }

  Status Snapshot(pb::ModelSnapshot* out) const override;
  std::string ExportJson() const override;
  ModelShape Shape() const override {
    return EnsembleShape(members_,
                         [](const Member& member) -> const Model& { return *member.model; });
  }
  Status Load(const pb::LeveragingBaggingState& state, int64_t version);

 private:
  // A fresh copy of the base model and a fresh ADWIN; the RNG goes on.
  Status Reset(Member* member) const {
    EDDY_ASSIGN_OR_RETURN(member->model, Model::Restore(base_));
    member->adwin = std::make_unique<Adwin>(options_.adwin_delta);
    return Status::OK();
  }

  bool fast_tree(const Member& member) const {
    return member.model->kind() == ModelKind::kHoeffdingTreeClassifier;
  }

  // One row's class probabilities by `member`, before it learns the row.
  Status MemberProbabilities(Member* member, const FeatureMatrix& x, Eigen::Index row,
                             double* proba) const {
    if (fast_tree(*member)) {
      TreeProbabilitiesBeforeLearning(member->model.get(), x.row(row).data(), proba);
      return Status::OK();
    }
    EDDY_RETURN_IF_ERROR(member->model->Predict(x.row(row), &member->scratch));
    for (int c = 0; c < num_classes_; ++c) proba[c] = member->scratch.probabilities(0, c);
    return Status::OK();
  }

  Status MemberLearn(Member* member, const FeatureMatrix& x, Eigen::Index row, int label,
                     int k) const {
    if (fast_tree(*member)) {
      TreeLearnOne(member->model.get(), x.row(row).data(), label, k);
      return Status::OK();
    }
    const double target = label;
    for (int i = 0; i < k; ++i) {
      EDDY_RETURN_IF_ERROR(member->model->Learn(x.row(row), std::span<const double>(&target, 1)));
    }
    return Status::OK();
  }

  // Learn (out == nullptr) or Prequential: the members walk the rows on their
  // own, then the flagged rows are resolved in order (see the top).
  Status Run(const FeatureMatrix& x, std::span<const double> y, const std::vector<uint8_t>* mask,
             PredictionColumns* out) {
    const int n = static_cast<int>(members_.size());
    const Eigen::Index rows = x.rows();
    std::vector<MemberRun> runs(n);
    std::vector<Eigen::Index> from(n, 0);
    std::vector<int> pending(n);
    std::iota(pending.begin(), pending.end(), 0);
    Eigen::Index scan = 0;
    while (true) {
      EDDY_RETURN_IF_ERROR(RunMembers(pending, from, x, y, mask, out != nullptr, &runs));
      pending.clear();
      Eigen::Index row = scan;
      for (; row < rows; ++row) {
        bool flagged = false;
        for (const MemberRun& run : runs) flagged = flagged || run.change[row] != 0;
        if (flagged) break;
      }
      if (row == rows) break;
      scan = row + 1;
      const int worst = Worst(runs, row);
      if (worst < 0) continue;
      Member& member = members_[worst];
      EDDY_RETURN_IF_ERROR(Reset(&member));
      member.rng = CounterRng(member.rng.seed(), runs[worst].rng_counter[row]);
      ++member.replacements;
      ++changes_;
      if (row + 1 < rows) {
        from[worst] = row + 1;
        pending.push_back(worst);
      }
    }
    if (out != nullptr) {
      RowMatrix votes = RowMatrix::Zero(rows, num_classes_);
      for (const MemberRun& run : runs) votes += run.votes;  // member order
      VotesToPredictions(votes, num_classes_, out);
    }
    bool changed = false;
    for (Eigen::Index row = 0; row < rows && !changed; ++row) changed = RowSelected(mask, row);
    if (changed) ++version_;
    return Status::OK();
  }

  // Members `which` over rows from[i].., on the thread pool when there is one.
  Status RunMembers(const std::vector<int>& which, const std::vector<Eigen::Index>& from,
                    const FeatureMatrix& x, std::span<const double> y,
                    const std::vector<uint8_t>* mask, bool votes, std::vector<MemberRun>* runs) {
    std::vector<Status> statuses(which.size());
    auto task = [&](size_t j) {
      const int i = which[j];
      statuses[j] = RunMember(&members_[i], from[i], x, y, mask, votes, &(*runs)[i]);
    };
    if (pool_ != nullptr && which.size() > 1) {
      EDDY_RETURN_IF_ERROR(pool_->Run(which.size(), task));
    } else {
      for (size_t j = 0; j < which.size(); ++j) task(j);
    }
    for (const Status& status : statuses) EDDY_RETURN_IF_ERROR(status);
    return Status::OK();
  }

  // One member over rows [from, end), in order: its vote, its error, the
  // Poisson weight, learning and its ADWIN; all recorded in `run`.
  Status RunMember(Member* member, Eigen::Index from, const FeatureMatrix& x,
                   std::span<const double> y, const std::vector<uint8_t>* mask, bool votes,
                   MemberRun* run) const {
    const Eigen::Index rows = x.rows();
    if (from == 0) {
      if (votes) run->votes.setZero(rows, num_classes_);
      run->estimation.assign(rows, 0.0);
      run->rng_counter.assign(rows, 0);
      run->change.assign(rows, 0);
    }
    std::vector<double> proba(num_classes_);
    for (Eigen::Index row = from; row < rows; ++row) {
      const bool learns = RowSelected(mask, row);
      run->change[row] = 0;
      if (learns || votes) {
        EDDY_RETURN_IF_ERROR(MemberProbabilities(member, x, row, proba.data()));
        if (votes) {
          for (int c = 0; c < num_classes_; ++c) run->votes(row, c) = proba[c];
        }
      }
      if (learns) {
        const int label = static_cast<int>(y[row]);
        const int predicted =
            static_cast<int>(std::max_element(proba.begin(), proba.end()) - proba.begin());
        const int k = Poisson(poisson_limit_, &member->rng);
        if (k > 0) EDDY_RETURN_IF_ERROR(MemberLearn(member, x, row, label, k));
        const double before = member->adwin->estimation();
        if (member->adwin->Update(predicted == label ? 0.0 : 1.0) &&
            member->adwin->estimation() > before) {
          run->change[row] = 1;
        }
      }
      run->estimation[row] = member->adwin->estimation();
      run->rng_counter[row] = member->rng.counter();
    }
    return Status::OK();
  }

  // The member with the highest error estimate after `row` (the first of
  // equals); -1 when every estimate is 0 (MOA's rule).
  static int Worst(const std::vector<MemberRun>& runs, Eigen::Index row) {
    int worst = -1;
    double highest = 0;
    for (int i = 0; i < static_cast<int>(runs.size()); ++i) {
      if (runs[i].estimation[row] > highest) {
        highest = runs[i].estimation[row];
        worst = i;
      }
    }
    return worst;
  }

  const LeveragingBaggingOptions options_;
  const pb::ModelSnapshot base_;
  const int num_features_;
  const int num_classes_;
  const double poisson_limit_ = std::exp(-options_.w);
  std::vector<Member> members_;
  int64_t changes_ = 0;
};

Status LeveragingBagging::Snapshot(pb::ModelSnapshot* out) const {
  out->Clear();
  out->set_format_version(1);
  out->set_version(version_);
  pb::LeveragingBaggingState* state = out->mutable_leveraging_bagging();
  state->set_n_models(options_.n_models);
  state->set_w(options_.w);
  state->set_adwin_delta(options_.adwin_delta);
  state->set_seed(options_.seed);
  *state->mutable_base() = base_;
  state->set_changes(changes_);
  for (const Member& member : members_) {
    pb::LeveragingBaggingMember* m = state->add_members();
    EDDY_RETURN_IF_ERROR(member.model->Snapshot(m->mutable_model()));
    member.adwin->Save(m->mutable_adwin());
    member.rng.Save(m->mutable_rng());
    m->set_replacements(member.replacements);
  }
  return Status::OK();
}

Status LeveragingBagging::Load(const pb::LeveragingBaggingState& state, int64_t version) {
  if (state.members_size() != options_.n_models) {
    return Status::Corruption("leveraging bagging snapshot: expected " +
                              std::to_string(options_.n_models) + " members, got " +
                              std::to_string(state.members_size()));
  }
  EDDY_ASSIGN_OR_RETURN(auto base, Model::Restore(base_));
  members_.resize(options_.n_models);
  for (int i = 0; i < options_.n_models; ++i) {
    const pb::LeveragingBaggingMember& m = state.members(i);
    Member& member = members_[i];
    EDDY_ASSIGN_OR_RETURN(member.model, Model::Restore(m.model()));
    if (member.model->kind() != base->kind() || member.model->num_features() != num_features_ ||
        member.model->num_classes() != num_classes_) {
      return Status::Corruption("leveraging bagging snapshot: a member does not match the base");
    }
    member.adwin = std::make_unique<Adwin>(options_.adwin_delta);
    if (!member.adwin->Load(m.adwin())) {
      return Status::Corruption("leveraging bagging snapshot: bad ADWIN state");
    }
    member.rng.Load(m.rng());
    member.replacements = m.replacements();
  }
  changes_ = state.changes();
  version_ = version;
  return Status::OK();
}

std::string LeveragingBagging::ExportJson() const {
  JsonWriter json;
  json.BeginObject();
  json.Key("model");
  json.String("leveraging_bagging");
  json.Key("version");
  json.Int(version_);
  json.Key("base");
  json.String(KindName(members_.front().model->kind()));
  json.Key("num_classes");
  json.Int(num_classes_);
  json.Key("w");
  json.Double(options_.w);
  json.Key("adwin_delta");
  json.Double(options_.adwin_delta);
  json.Key("changes");
  json.Int(changes_);
  json.Key("members");
  json.BeginArray();
  for (const Member& member : members_) {
    json.BeginObject();
    json.Key("error");
    json.Double(member.adwin->estimation());
    json.Key("adwin_width");
    json.Int(member.adwin->width());
    json.Key("replacements");
    json.Int(member.replacements);
    const ModelShape shape = member.model->Shape();
    if (shape.tree_nodes > 0) {
      json.Key("nodes");
      json.Int(shape.tree_nodes);
      json.Key("depth");
      json.Int(shape.tree_depth);
    }
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  return json.Take();
}

Status CheckOptions(const LeveragingBaggingOptions& o) {
  if (o.n_models < 1 || o.n_models > 1000)
    return Status::InvalidArgument("models must be in [1, 1000]");
  if (!(o.w > 0 && o.w <= 100)) return Status::InvalidArgument("w must be in (0, 100]");
  if (!(o.adwin_delta > 0 && o.adwin_delta < 1))
    return Status::InvalidArgument("adwin_delta must be in (0, 1)");
  return Status::OK();
}

Status CheckBase(const Model& base) {
  if (base.task() != Task::kClassification || base.num_classes() < 2) {
    return Status::InvalidArgument("leveraging bagging needs a classifier as its base model");
  }
  if (base.kind() == ModelKind::kLeveragingBaggingClassifier) {
    return Status::InvalidArgument("leveraging bagging cannot bag itself");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> MakeLeveragingBaggingClassifier(
    const Model& base, const LeveragingBaggingOptions& options) {
  EDDY_RETURN_IF_ERROR(CheckOptions(options));
  EDDY_RETURN_IF_ERROR(CheckBase(base));
  pb::ModelSnapshot snapshot;
  EDDY_RETURN_IF_ERROR(base.Snapshot(&snapshot));
  snapshot.set_version(0);
  auto model = std::make_unique<LeveragingBagging>(options, std::move(snapshot),
                                                   base.num_features(), base.num_classes());
  EDDY_RETURN_IF_ERROR(model->Init());
  return std::unique_ptr<Model>(std::move(model));
}

Result<std::unique_ptr<Model>> RestoreLeveragingBagging(const pb::LeveragingBaggingState& state,
                                                        int64_t version) {
  LeveragingBaggingOptions options;
  options.n_models = state.n_models();
  options.w = state.w();
  options.adwin_delta = state.adwin_delta();
  options.seed = state.seed();
  Status valid = CheckOptions(options);
  if (!valid.ok()) return Status::Corruption("leveraging bagging snapshot: " + valid.message());
  if (state.base().model_case() == pb::ModelSnapshot::kLeveragingBagging) {
    return Status::Corruption("leveraging bagging snapshot: the base is a leveraging bagging");
  }
  EDDY_ASSIGN_OR_RETURN(auto base, Model::Restore(state.base()));
  valid = CheckBase(*base);
  if (!valid.ok()) return Status::Corruption("leveraging bagging snapshot: " + valid.message());
  auto model = std::make_unique<LeveragingBagging>(options, state.base(), base->num_features(),
                                                   base->num_classes());
  EDDY_RETURN_IF_ERROR(model->Load(state, version));
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace eddy::learn
