#include "runtime/engine/job_plan.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "operators/operator_factory.h"

namespace eddy {
namespace {

const char* KindName(const spec::SourceSpec& spec) {
  switch (spec.kind_case()) {
    case spec::SourceSpec::kKafka:
      return "kafka";
    case spec::SourceSpec::kFile:
      return "file";
    case spec::SourceSpec::kGenerator:
      return "generator";
    default:
      return "?";
  }
}

const char* KindName(const spec::SinkSpec& spec) {
  switch (spec.kind_case()) {
    case spec::SinkSpec::kKafka:
      return "kafka";
    case spec::SinkSpec::kFile:
      return "file";
    case spec::SinkSpec::kStdout:
      return "stdout";
    default:
      return "?";
  }
}

Result<SourceEventTime> PlanEventTime(const spec::EventTimeSpec& spec, const Schema& schema,
                                      const SpecErrorReporter& error_at) {
  SourceEventTime time;
  if (spec.column().empty()) {
    if (!spec.max_out_of_orderness().empty() || !spec.idle_timeout().empty()) {
      return error_at("event_time.column", "is required when event_time is set");
    }
    return time;
  }
  const auto index = schema.IndexOf(spec.column());
  if (!index) {
    return error_at("event_time.column",
                    "'" + spec.column() + "' is not a column of {" + schema.ToString() + "}");
  }
  if (schema.field(*index).type != TypeId::kTimestamp) {
    return error_at("event_time.column", "'" + spec.column() + "' must be a timestamp, it is " +
                                             std::string(TypeName(schema.field(*index).type)));
  }
  time.column = *index;
  for (auto [text, field, out] :
       {std::tuple{&spec.max_out_of_orderness(), "event_time.max_out_of_orderness",
                   &time.max_out_of_orderness},
        std::tuple{&spec.idle_timeout(), "event_time.idle_timeout", &time.idle_timeout}}) {
    if (text->empty()) continue;
    auto micros = ParseDurationMicros(*text);
    if (!micros.ok()) return error_at(field, micros.status().message());
    if (*micros < 0) return error_at(field, "must not be negative");
    *out = *micros;
  }
  return time;
}

Result<size_t> ParseBytes(const std::string& text) {
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(text, &pos);
  } catch (const std::exception&) {
    return Status::InvalidArgument("expected a size like 256MB, got '" + text + "'");
  }
  std::string unit = text.substr(pos);
  unit.erase(0, unit.find_first_not_of(' '));
  double scale = 1;
  if (unit == "" || unit == "B") {
    scale = 1;
  } else if (unit == "KB" || unit == "KiB") {
    scale = 1024.0;
  } else if (unit == "MB" || unit == "MiB") {
    scale = 1024.0 * 1024;
  } else if (unit == "GB" || unit == "GiB") {
    scale = 1024.0 * 1024 * 1024;
  } else {
    return Status::InvalidArgument("unknown size unit '" + unit + "' (use B, KB, MB or GB)");
  }
  if (number <= 0) return Status::InvalidArgument("a size must be positive, got '" + text + "'");
  return static_cast<size_t>(number * scale);
}

Status PlanStateSettings(const LoadedJob& job, JobPlan* plan) {
  const spec::StateSpec& state = job.spec.state();
  if (state.key_groups() != 0) {
    if (state.key_groups() < 1 || state.key_groups() > kMaxKeyGroups) {
      return job.ErrorAt("state.key_groups",
                         "must be between 1 and " + std::to_string(kMaxKeyGroups));
    }
    plan->key_groups = state.key_groups();
  }
  if (!state.block_cache().empty()) {
    auto bytes = ParseBytes(state.block_cache());
    if (!bytes.ok()) return job.ErrorAt("state.block_cache", bytes.status().message());
    plan->state_budget.block_cache_bytes = *bytes;
  }
  if (!state.write_buffer().empty()) {
    auto bytes = ParseBytes(state.write_buffer());
    if (!bytes.ok()) return job.ErrorAt("state.write_buffer", bytes.status().message());
    plan->state_budget.write_buffer_bytes = *bytes;
  }
  const std::string& scale_mode = job.spec.scale().mode();
  if (!scale_mode.empty() && scale_mode != "single" && scale_mode != "kafka") {
    return job.ErrorAt("scale.mode", "expected single or kafka, got '" + scale_mode + "'");
  }
  const spec::CheckpointSpec& checkpoint = job.spec.checkpoint();
  if (checkpoint.every_batches() < 0)
    return job.ErrorAt("checkpoint.every_batches", "must not be negative");
  if (checkpoint.every_batches() > 0) plan->checkpoint_every_batches = checkpoint.every_batches();
  if (!checkpoint.interval().empty()) {
    auto interval = ParseDurationMicros(checkpoint.interval());
    if (!interval.ok()) return job.ErrorAt("checkpoint.interval", interval.status().message());
    plan->checkpoint_interval_micros = *interval;
  }
  if (checkpoint.keep() < 0) return job.ErrorAt("checkpoint.keep", "must not be negative");
  if (checkpoint.keep() > 0) plan->checkpoint_keep = checkpoint.keep();
  return Status::OK();
}

}  // namespace

std::string StateDirectory(const LoadedJob& job) {
  std::filesystem::path dir = job.spec.state().dir().empty()
                                  ? std::filesystem::path("eddy-state") / job.spec.name()
                                  : std::filesystem::path(job.spec.state().dir());
  if (dir.is_relative() && job.spec.state().dir().size() > 0 && !job.base_dir.empty()) {
    dir = std::filesystem::path(job.base_dir) / dir;
  }
  return dir.lexically_normal().string();
}

Result<std::unique_ptr<JobPlan>> PlanJob(LoadedJob job, ConnectorContext context) {
  auto plan = std::make_unique<JobPlan>();
  plan->job = std::move(job);
  const LoadedJob& loaded = plan->job;
  const spec::JobSpec& spec = loaded.spec;
  if (context.shard) {
    // A shard of a scaled-out job: the caller chose its directories.
    plan->state_dir = context.state_dir;
    plan->durable_dir = context.shard->durable_dir;
    plan->fence = context.shard->fence;
  } else {
    plan->state_dir = StateDirectory(loaded);
    plan->durable_dir = plan->state_dir;
  }
  context.job_name = spec.name();
  context.base_dir = loaded.base_dir;
  context.state_dir = plan->durable_dir;
  context.kafka = spec.kafka();

  if (!spec.trigger().interval().empty()) {
    auto interval = ParseDurationMicros(spec.trigger().interval());
    if (!interval.ok()) return loaded.ErrorAt("trigger.interval", interval.status().message());
    plan->trigger_interval_micros = *interval;
  }
  if (spec.trigger().max_records_per_partition() > 0) {
    plan->max_records_per_partition = spec.trigger().max_records_per_partition();
  }
  EDDY_RETURN_IF_ERROR(PlanStateSettings(loaded, plan.get()));

  EDDY_ASSIGN_OR_RETURN(std::vector<DagNode> dag, ResolveDag(loaded));
  std::map<std::string, size_t> index_of;
  plan->sources.resize(spec.sources_size());
  plan->operators.resize(spec.operators_size());
  plan->stateful_operators.resize(spec.operators_size());
  plan->sinks.resize(spec.sinks_size());
  plan->sink_partition_by.resize(spec.sinks_size());
  plan->event_time.resize(spec.sources_size());

  for (DagNode& node : dag) {
    PlanNode planned;
    for (const std::string& input : node.inputs) planned.input_nodes.push_back(index_of.at(input));
    std::vector<Schema> input_schemas;
    std::vector<StatefulInput> stateful_inputs;
    for (size_t input : planned.input_nodes) {
      const PlanNode& upstream = plan->nodes[input];
      input_schemas.push_back(upstream.schema);
      stateful_inputs.push_back({upstream.schema, upstream.time_column, upstream.stateful});
      planned.in_task = planned.in_task && upstream.in_task;
      for (size_t source : upstream.upstream_sources) {
        if (std::find(planned.upstream_sources.begin(), planned.upstream_sources.end(), source) ==
            planned.upstream_sources.end()) {
          planned.upstream_sources.push_back(source);
        }
      }
    }
    std::sort(planned.upstream_sources.begin(), planned.upstream_sources.end());

    switch (node.kind) {
      case DagNode::Kind::kSource: {
        const std::string prefix = "sources[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field),
                                message);
        };
        EDDY_ASSIGN_OR_RETURN(plan->sources[node.index],
                              MakeSource(spec.sources(node.index), context, error_at));
        planned.schema = plan->sources[node.index]->schema();
        planned.upstream_sources = {static_cast<size_t>(node.index)};
        EDDY_ASSIGN_OR_RETURN(
            plan->event_time[node.index],
            PlanEventTime(spec.sources(node.index).event_time(), planned.schema, error_at));
        if (plan->event_time[node.index].column) {
          planned.time_column = planned.schema.field(*plan->event_time[node.index].column).name;
        }
        break;
      }
      case DagNode::Kind::kOperator: {
        const std::string prefix = "operators[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field),
                                message);
        };
        // The operator sees its inputs with defaults applied.
        spec::OperatorSpec op_spec = spec.operators(node.index);
        op_spec.clear_inputs();
        for (const std::string& input : node.inputs) op_spec.add_inputs(input);
        if (IsStateful(op_spec)) {
          EDDY_ASSIGN_OR_RETURN(plan->stateful_operators[node.index],
                                MakeStatefulOperator(op_spec, stateful_inputs, error_at));
          planned.stateful = plan->stateful_operators[node.index].get();
          planned.schema = planned.stateful->output_schema();
          planned.in_task = false;
          if (planned.stateful->needs_event_time()) {
            for (size_t source : planned.upstream_sources) {
              if (!plan->event_time[source].column) {
                return error_at("", "needs a watermark, but source '" +
                                        spec.sources(static_cast<int>(source)).name() +
                                        "' upstream has no event_time");
              }
            }
          }
          // The lookup join keeps the stream's event time, and the table
          // does not hold its watermark back. Learning operators pass their
          // input's rows through with predictions added.
          if (planned.stateful->keeps_input_time()) {
            planned.time_column = stateful_inputs[0].time_column;
            planned.upstream_sources = plan->nodes[planned.input_nodes[0]].upstream_sources;
          }
        } else {
          EDDY_ASSIGN_OR_RETURN(plan->operators[node.index],
                                MakeOperator(op_spec, input_schemas, error_at));
          planned.op = plan->operators[node.index].get();
          planned.schema = planned.op->output_schema();
          // Event time survives while a timestamp column keeps its name.
          std::optional<std::string> time = stateful_inputs[0].time_column;
          for (const StatefulInput& input : stateful_inputs) {
            if (input.time_column != time) time.reset();
          }
          if (time) {
            const auto index = planned.schema.IndexOf(*time);
            if (index && planned.schema.field(*index).type == TypeId::kTimestamp) {
              planned.time_column = time;
            }
          }
        }
        break;
      }
      case DagNode::Kind::kSink: {
        const std::string prefix = "sinks[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field),
                                message);
        };
        planned.schema = input_schemas.at(0);
        EDDY_ASSIGN_OR_RETURN(plan->sinks[node.index],
                              MakeSink(spec.sinks(node.index), planned.schema, context, error_at));
        const spec::SinkSpec& sink = spec.sinks(node.index);
        for (int idx = 0; sink.has_kafka() && idx < sink.kafka().partition_by_size(); ++idx) {
          auto keys = CompileSelectItem(sink.kafka().partition_by(idx), planned.schema);
          if (!keys.ok()) {
            return error_at("kafka.partition_by[" + std::to_string(idx) + "]",
                            keys.status().message());
          }
          for (NamedExpression& key : *keys) {
            plan->sink_partition_by[node.index].push_back(std::move(key));
          }
        }
        break;
      }
    }
    planned.dag = std::move(node);
    index_of[planned.dag.name] = plan->nodes.size();
    plan->nodes.push_back(std::move(planned));
    const PlanNode& added = plan->nodes.back();
    if (added.stateful != nullptr && added.stateful->late_schema() != nullptr) {
      // "W.late": the rows window W received too late; "P.metrics": the
      // prequential metrics of learner P after each batch.
      const bool late_rows = added.stateful->side_output_name() == "late";
      PlanNode late;
      late.dag = added.dag;
      late.dag.name = added.dag.name + "." + added.stateful->side_output_name();
      late.input_nodes = {plan->nodes.size() - 1};
      late.schema = *added.stateful->late_schema();
      late.late_of = plan->nodes.size() - 1;
      late.in_task = false;
      if (late_rows) late.time_column = stateful_inputs[0].time_column;
      late.upstream_sources = added.upstream_sources;
      index_of[late.dag.name] = plan->nodes.size();
      plan->nodes.push_back(std::move(late));
    }
  }
  for (size_t idx = 0; idx < plan->nodes.size(); ++idx) {
    for (size_t input : plan->nodes[idx].input_nodes) plan->nodes[input].consumers.push_back(idx);
  }
  auto dead_letter_error = [&](std::string_view field, std::string_view message) {
    return loaded.ErrorAt(field.empty() ? "dead_letter" : "dead_letter." + std::string(field),
                          message);
  };
  EDDY_ASSIGN_OR_RETURN(plan->dead_letter,
                        MakeDeadLetterSink(spec.dead_letter(), context, dead_letter_error));
  return plan;
}

namespace {

// What `eddy validate` calls a side output: a window's rows that came too
// late, a learner's prequential metrics.
std::string SideOutputLabel(const StatefulOperator& op) {
  const std::string name = op.side_output_name();
  if (name == "late") return "late rows";
  if (name == "metrics") return "prequential metrics";
  return "side output '" + name + "'";
}

// Splits "hog_12" into ("hog_", 12); nullopt when the name does not end in
// a number (or the number has a leading zero).
std::optional<std::pair<std::string, int64_t>> NumberedName(const std::string& name) {
  size_t digits = name.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1]))) --digits;
  if (digits == name.size() || name.size() - digits > 12) return std::nullopt;
  if (name[digits] == '0' && digits + 1 < name.size()) return std::nullopt;
  return std::make_pair(name.substr(0, digits), std::stoll(name.substr(digits)));
}

// The schema as Schema::ToString writes it, except that a run of 10 or more
// columns of one type named prefix0, prefix1, ... (an image's features)
// reads "hog_0 .. hog_1295:double (1296 columns)".
std::string PlanSchemaText(const Schema& schema) {
  constexpr size_t kShortestRun = 10;
  std::string out;
  auto field_text = [](const Field& field) {
    return field.name + ":" + std::string(TypeName(field.type)) + (field.nullable ? "?" : "");
  };
  for (size_t idx = 0; idx < schema.size();) {
    const Field& first = schema.field(idx);
    size_t end = idx + 1;
    if (auto numbered = NumberedName(first.name)) {
      while (end < schema.size()) {
        const Field& next = schema.field(end);
        auto next_numbered = NumberedName(next.name);
        if (!next_numbered || next_numbered->first != numbered->first ||
            next_numbered->second != numbered->second + static_cast<int64_t>(end - idx) ||
            next.type != first.type || next.nullable != first.nullable) {
          break;
        }
        ++end;
      }
    }
    if (!out.empty()) out += ", ";
    if (end - idx >= kShortestRun) {
      out += first.name + " .. " + field_text(schema.field(end - 1)) + " (" +
             std::to_string(end - idx) + " columns)";
      idx = end;
    } else {
      out += field_text(first);
      ++idx;
    }
  }
  return out;
}

}  // namespace

std::string JobPlan::Describe() const {
  const spec::JobSpec& spec = job.spec;
  std::string out = "job " + spec.name() + "\n";
  for (const PlanNode& node : nodes) {
    std::string line;
    std::string inputs;
    for (size_t idx = 0; idx < node.dag.inputs.size(); ++idx) {
      inputs += (idx ? ", " : "") + node.dag.inputs[idx];
    }
    switch (node.dag.kind) {
      case DagNode::Kind::kSource: {
        const spec::SourceSpec& source = spec.sources(node.dag.index);
        line = "  source   " + node.dag.name + " [" + KindName(source) + "]";
        if (source.has_kafka()) {
          std::string topics;
          for (const std::string& topic : source.kafka().topics()) {
            topics += (topics.empty() ? "" : ",") + topic;
          }
          line += " topics=" + topics;
        }
        if (source.has_generator()) line += " kind=" + source.generator().kind();
        break;
      }
      case DagNode::Kind::kOperator:
        line = "  operator " + node.dag.name + " <- " + inputs + ": ";
        if (node.late_of) {
          line += SideOutputLabel(*nodes[*node.late_of].stateful) + " of " +
                  nodes[*node.late_of].dag.name;
        } else if (node.stateful != nullptr) {
          line += node.stateful->Describe() + " [stateful]";
        } else {
          line += node.op->Describe();
        }
        break;
      case DagNode::Kind::kSink: {
        const spec::SinkSpec& sink = spec.sinks(node.dag.index);
        line = "  sink     " + node.dag.name + " <- " + inputs + " [" + KindName(sink) + "]";
        if (sink.has_kafka()) line += " topic=" + sink.kafka().topic();
        if (sink.has_file()) line += " path=" + sink.file().path();
        break;
      }
    }
    out += line + "\n";
    out += "           {" + PlanSchemaText(node.schema) + "}\n";
  }
  out += "  dead letters -> " + dead_letter->Describe() + "\n";
  return out;
}

}  // namespace eddy
