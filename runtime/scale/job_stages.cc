#include "runtime/scale/job_stages.h"

#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "runtime/engine/job_plan.h"

namespace eddy {
namespace {

using ColumnSet = std::set<std::string>;

// The column a key or select item names as it is ("user", "user AS
// user"), if it is one.
std::optional<std::string> BareColumn(const std::string& item) {
  static const std::regex kBare(R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$)");
  static const std::regex kSelfAlias(R"(^\s*([A-Za-z_][A-Za-z0-9_]*)\s+[Aa][Ss]\s+\1\s*$)");
  std::smatch match;
  if (std::regex_match(item, match, kBare) || std::regex_match(item, match, kSelfAlias)) {
    return match[1].str();
  }
  return std::nullopt;
}

// The name a key item's column has in the operator's output.
std::string OutputName(const std::string& item) {
  static const std::regex kAlias(R"(^.*\s[Aa][Ss]\s+([A-Za-z_][A-Za-z0-9_]*)\s*$)");
  if (auto bare = BareColumn(item)) return *bare;
  std::smatch match;
  if (std::regex_match(item, match, kAlias)) return match[1].str();
  return item;
}

// The key items of a keyed operator that owns state per key; nullopt for
// an operator without keyed state. An empty key (a window over all rows, a
// learner with one model) is a key too: all rows must meet in one shard.
// `predict` reads the models of the learner it names, so its key is that
// learner's.
std::optional<std::vector<std::string>> StateKey(const spec::JobSpec& spec,
                                                 const spec::OperatorSpec& op) {
  auto items = [](const auto& repeated) {
    return std::vector<std::string>(repeated.begin(), repeated.end());
  };
  switch (op.kind_case()) {
    case spec::OperatorSpec::kWindow:
      return items(op.window().key());
    case spec::OperatorSpec::kAggregate:
      return items(op.aggregate().key());
    case spec::OperatorSpec::kLearn:
      return items(op.learn().per_key());
    case spec::OperatorSpec::kPrequential:
      return items(op.prequential().per_key());
    case spec::OperatorSpec::kLookupJoin:
      return std::vector<std::string>{op.lookup_join().key()};
    case spec::OperatorSpec::kPredict:
      for (const spec::OperatorSpec& other : spec.operators()) {
        if (other.name() == op.predict().from() && other.has_learn()) {
          return items(other.learn().per_key());
        }
      }
      return std::vector<std::string>{};
    default:
      return std::nullopt;
  }
}

// True when rows partitioned by `partitioning` already have every key of
// `key` in one partition: each partitioning column is a bare key column.
bool CoPartitioned(const std::optional<ColumnSet>& partitioning,
                   const std::vector<std::string>& key) {
  if (!partitioning || partitioning->empty()) return false;
  ColumnSet bare;
  for (const std::string& item : key) {
    if (auto column = BareColumn(item)) bare.insert(*column);
  }
  return std::includes(bare.begin(), bare.end(), partitioning->begin(), partitioning->end());
}

// How the rows of a select's output are partitioned, given its input's.
std::optional<ColumnSet> AfterSelect(const spec::SelectSpec& select,
                                     const std::optional<ColumnSet>& input) {
  if (!input) return std::nullopt;
  ColumnSet kept;
  for (const std::string& item : select.columns()) {
    if (item == "*") return input;
    if (auto column = BareColumn(item); column && input->count(*column)) kept.insert(*column);
  }
  if (kept != *input) return std::nullopt;
  return input;
}

// One input of a split operator, written to a topic partitioned by `key`.
struct RepartitionedInput {
  size_t input = 0;  // plan node index
  std::vector<std::string> key;
  std::string topic;
  std::string sink;  // the upstream stage's sink writing the topic
};

// A split: keyed operator `op` reads its inputs through topics, one each.
// A keyed operator has one; a lookup join two, the stream first (whose
// topic leads the stage) and the table, both routed by key group so that
// a key's stream rows and table rows meet in one partition number.
struct Repartition {
  size_t op = 0;  // plan node index
  int stage = 0;  // the stage `op` starts
  std::vector<RepartitionedInput> inputs;
};

class StageSplitter {
 public:
  StageSplitter(const LoadedJob& job, const JobPlan& plan) : job_(job), plan_(plan) {}

  Result<std::vector<JobStage>> Split();

 private:
  Status AssignStages();
  Status AssignOperator(size_t index);
  Status AssignLookupJoin(size_t index);
  JobStage BuildStage(int stage) const;
  spec::SourceSpec RepartitionSource(const RepartitionedInput& input) const;
  spec::SinkSpec RepartitionSink(const RepartitionedInput& input) const;
  Status ErrorAtOperator(size_t index, const std::string& message) const {
    return job_.ErrorAt("operators[" + std::to_string(plan_.nodes[index].dag.index) + "]", message);
  }

  const LoadedJob& job_;
  const JobPlan& plan_;
  std::vector<int> stage_of_;                           // per plan node
  std::vector<std::optional<ColumnSet>> partitioning_;  // per plan node
  std::vector<Repartition> splits_;                     // split k starts stage k + 1
};

Status StageSplitter::AssignStages() {
  const spec::JobSpec& spec = job_.spec;
  stage_of_.assign(plan_.nodes.size(), 0);
  partitioning_.assign(plan_.nodes.size(), std::nullopt);
  for (size_t index = 0; index < plan_.nodes.size(); ++index) {
    const PlanNode& node = plan_.nodes[index];
    if (node.late_of) {
      stage_of_[index] = stage_of_[*node.late_of];
      continue;
    }
    switch (node.dag.kind) {
      case DagNode::Kind::kSource: {
        const auto& declared = spec.sources(node.dag.index).kafka().partitioned_by();
        for (int idx = 0; idx < declared.size(); ++idx) {
          if (!node.schema.IndexOf(declared[idx])) {
            return job_.ErrorAt("sources[" + std::to_string(node.dag.index) +
                                    "].kafka.partitioned_by[" + std::to_string(idx) + "]",
                                "no column '" + declared[idx] + "' in the source's schema");
          }
        }
        if (!declared.empty()) partitioning_[index] = ColumnSet(declared.begin(), declared.end());
        break;
      }
      case DagNode::Kind::kSink:
        stage_of_[index] = stage_of_[node.input_nodes.at(0)];
        break;
      case DagNode::Kind::kOperator:
        EDDY_RETURN_IF_ERROR(AssignOperator(index));
        break;
    }
  }
  return Status::OK();
}

Status StageSplitter::AssignOperator(size_t index) {
  const PlanNode& node = plan_.nodes[index];
  const spec::OperatorSpec& op = job_.spec.operators(node.dag.index);
  if (op.has_lookup_join()) return AssignLookupJoin(index);
  const int stage = stage_of_[node.input_nodes.at(0)];
  for (size_t input : node.input_nodes) {
    if (stage_of_[input] != stage) {
      return ErrorAtOperator(index, "reads from both sides of a repartition (input '" +
                                        plan_.nodes[input].dag.name +
                                        "'), which a scaled-out job does not support yet");
    }
  }
  const std::optional<ColumnSet>& input = partitioning_[node.input_nodes[0]];
  stage_of_[index] = stage;
  const auto key = StateKey(job_.spec, op);
  if (!key) {
    if (op.has_filter() || op.has_image_features()) partitioning_[index] = input;
    if (op.has_select()) partitioning_[index] = AfterSelect(op.select(), input);
    if (op.has_union_()) {
      partitioning_[index] = input;
      for (size_t other : node.input_nodes) {
        if (partitioning_[other] != input) partitioning_[index].reset();
      }
    }
    return Status::OK();
  }
  if (op.has_predict()) {
    for (size_t other = 0; other < index; ++other) {
      if (plan_.nodes[other].dag.name == op.predict().from() && stage_of_[other] != stage) {
        return ErrorAtOperator(index, "reads the models of '" + op.predict().from() +
                                          "', which runs in another stage (after a "
                                          "repartition): not supported yet");
      }
    }
  }
  if (CoPartitioned(input, *key)) {
    partitioning_[index] = input;  // rows pass through, or keyed by a superset
    return Status::OK();
  }
  if (op.has_predict()) {
    return ErrorAtOperator(index,
                           "predict in a scaled-out job needs its input partitioned by the key "
                           "of the learner it reads: declare kafka.partitioned_by on the source "
                           "(repartitioning a predict away from its models is not supported)");
  }
  const std::string& name = node.dag.name;
  splits_.push_back({index,
                     static_cast<int>(splits_.size()) + 1,
                     {{node.input_nodes[0], *key, RepartitionTopic(job_.spec.name(), name),
                       name + ".repartition"}}});
  stage_of_[index] = splits_.back().stage;
  ColumnSet keyed;
  for (const std::string& item : *key) keyed.insert(OutputName(item));
  if (!keyed.empty()) partitioning_[index] = keyed;
  return Status::OK();
}

// A lookup join keeps its place when both of its inputs are already
// partitioned by their keys in one stage (the stream by `key`, the table by
// `table_key`). Otherwise both go through topics into a stage of the join's
// own, as Kafka Streams repartitions both sides of a KStream-KTable join
// that are not co-partitioned: rows declared partitioned by the producer's
// partitioner do not follow the key-group mapping the other side's
// repartition topic uses, so one side alone cannot be routed to meet them.
Status StageSplitter::AssignLookupJoin(size_t index) {
  const PlanNode& node = plan_.nodes[index];
  const spec::LookupJoinSpec& join = job_.spec.operators(node.dag.index).lookup_join();
  if (node.input_nodes.size() != 2) return Status::OK();  // the planner refused it already
  const size_t stream = node.input_nodes[0];
  const size_t table = node.input_nodes[1];
  if (stage_of_[stream] == stage_of_[table] && CoPartitioned(partitioning_[stream], {join.key()}) &&
      CoPartitioned(partitioning_[table], {join.table_key()})) {
    stage_of_[index] = stage_of_[stream];
    partitioning_[index] = partitioning_[stream];
    return Status::OK();
  }
  if (stream == table) {
    return ErrorAtOperator(index, "a lookup join whose stream and table are the same input ('" +
                                      plan_.nodes[stream].dag.name +
                                      "') cannot be repartitioned in a scaled-out job");
  }
  const std::string& name = node.dag.name;
  const std::string& job = job_.spec.name();
  splits_.push_back({index,
                     static_cast<int>(splits_.size()) + 1,
                     {{stream, {join.key()}, RepartitionTopic(job, name), name + ".repartition"},
                      {table,
                       {join.table_key()},
                       TableRepartitionTopic(job, name),
                       name + ".table.repartition"}}});
  stage_of_[index] = splits_.back().stage;
  if (auto column = BareColumn(join.key())) partitioning_[index] = ColumnSet{*column};
  return Status::OK();
}

spec::SourceSpec StageSplitter::RepartitionSource(const RepartitionedInput& from) const {
  const spec::JobSpec& spec = job_.spec;
  const PlanNode& input = plan_.nodes[from.input];
  spec::SourceSpec source;
  source.set_name(input.dag.name);
  spec::KafkaSourceSpec* kafka = source.mutable_kafka();
  const spec::KafkaSourceSpec& leading = spec.sources(0).kafka();
  kafka->set_brokers(leading.brokers());
  kafka->add_topics(from.topic);
  kafka->set_partitions(leading.partitions());
  *kafka->mutable_properties() = leading.properties();
  for (const std::string& item : from.key) {
    if (auto column = BareColumn(item)) kafka->add_partitioned_by(*column);
  }
  source.mutable_format()->set_type("json");
  for (const Field& field : input.schema.fields()) {
    spec::ColumnSpec* column = source.add_schema();
    column->set_name(field.name);
    column->set_type(std::string(TypeName(field.type)));
    column->set_nullable(field.nullable);
  }
  if (input.time_column) {
    // The rows keep their event time; the watermark is the upstream
    // shards' own, forwarded through the topic (upstream_watermarks), so
    // there is no bound to take off again. A partition of the topic that
    // hears nothing for the loosest idle timeout of the sources upstream
    // sits out of the watermark.
    spec::EventTimeSpec* event_time = source.mutable_event_time();
    event_time->set_column(*input.time_column);
    kafka->set_upstream_watermarks(true);
    int64_t idle = -1;
    for (size_t upstream : input.upstream_sources) {
      const spec::EventTimeSpec& declared = spec.sources(static_cast<int>(upstream)).event_time();
      const SourceEventTime& planned = plan_.event_time[upstream];
      if (planned.idle_timeout > idle) {
        idle = planned.idle_timeout;
        event_time->set_idle_timeout(declared.idle_timeout());
      }
    }
  }
  return source;
}

spec::SinkSpec StageSplitter::RepartitionSink(const RepartitionedInput& from) const {
  const spec::JobSpec& spec = job_.spec;
  spec::SinkSpec sink;
  sink.set_name(from.sink);
  sink.set_input(plan_.nodes[from.input].dag.name);
  spec::KafkaSinkSpec* kafka = sink.mutable_kafka();
  const spec::KafkaSourceSpec& leading = spec.sources(0).kafka();
  kafka->set_brokers(leading.brokers());
  kafka->set_topic(from.topic);
  kafka->set_partitions(leading.partitions());
  // The key is encoded from its values and types alone (key_codec.h), and
  // a lookup join's key and table key have one type: a stream row and the
  // table row of its key fall in one key group, so one partition.
  for (const std::string& item : from.key) kafka->add_partition_by(item);
  kafka->set_forward_watermarks(plan_.nodes[from.input].time_column.has_value());
  sink.mutable_format()->set_type("json");
  return sink;
}

JobStage StageSplitter::BuildStage(int stage) const {
  const spec::JobSpec& spec = job_.spec;
  JobStage out;
  out.job = job_;
  spec::JobSpec& staged = out.job.spec;
  staged.clear_sources();
  staged.clear_operators();
  staged.clear_sinks();
  if (stage == 0) {
    *staged.mutable_sources() = spec.sources();
    out.leading_topic = spec.sources(0).kafka().topics(0);
    out.dir = "shards";
  } else {
    const Repartition& split = splits_[static_cast<size_t>(stage) - 1];
    out.starts_at = plan_.nodes[split.op].dag.name;
    for (const RepartitionedInput& input : split.inputs) {
      *staged.add_sources() = RepartitionSource(input);
      out.repartition_topics.push_back(input.topic);
    }
    out.leading_topic = staged.sources(0).kafka().topics(0);
    out.dir = "stages/" + out.starts_at + "/shards";
  }
  for (size_t index = 0; index < plan_.nodes.size(); ++index) {
    const PlanNode& node = plan_.nodes[index];
    if (stage_of_[index] != stage || node.late_of) continue;
    if (node.dag.kind == DagNode::Kind::kOperator) {
      spec::OperatorSpec* op = staged.add_operators();
      *op = spec.operators(node.dag.index);
      op->clear_inputs();
      for (const std::string& input : node.dag.inputs) op->add_inputs(input);
    } else if (node.dag.kind == DagNode::Kind::kSink) {
      spec::SinkSpec* sink = staged.add_sinks();
      *sink = spec.sinks(node.dag.index);
      sink->set_input(node.dag.inputs.at(0));
    }
  }
  for (const Repartition& split : splits_) {
    for (const RepartitionedInput& input : split.inputs) {
      if (stage_of_[input.input] == stage) *staged.add_sinks() = RepartitionSink(input);
    }
  }
  // Stage paths no longer match the file's lines: name the stage instead.
  if (stage > 0) {
    out.job.locations.clear();
    out.job.error_hook = [file = job_.file, starts_at = out.starts_at](std::string_view path,
                                                                       std::string_view message) {
      return Status::InvalidArgument(file + ": the stage from '" + starts_at +
                                     "': " + std::string(path) + ": " + std::string(message));
    };
  }
  return out;
}

Result<std::vector<JobStage>> StageSplitter::Split() {
  EDDY_RETURN_IF_ERROR(AssignStages());
  std::vector<JobStage> stages;
  if (splits_.empty()) {
    JobStage only;
    only.job = job_;
    only.leading_topic = job_.spec.sources(0).kafka().topics(0);
    only.dir = "shards";
    stages.push_back(std::move(only));
    return stages;
  }
  for (int stage = 0; stage <= static_cast<int>(splits_.size()); ++stage) {
    stages.push_back(BuildStage(stage));
  }
  return stages;
}

}  // namespace

std::string RepartitionTopic(const std::string& job, const std::string& op) {
  return job + "." + op + ".repartition";
}

std::string TableRepartitionTopic(const std::string& job, const std::string& op) {
  return job + "." + op + ".table.repartition";
}

Result<std::vector<JobStage>> SplitIntoStages(const LoadedJob& job,
                                              const ConnectorContext& context) {
  EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(job, context));
  StageSplitter splitter(job, *plan);
  return splitter.Split();
}

}  // namespace eddy
