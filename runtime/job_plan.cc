#include "runtime/job_plan.h"

#include <filesystem>
#include <map>

namespace eddy {
namespace {

const char* KindName(const spec::SourceSpec& spec) {
  switch (spec.kind_case()) {
    case spec::SourceSpec::kKafka: return "kafka";
    case spec::SourceSpec::kFile: return "file";
    case spec::SourceSpec::kGenerator: return "generator";
    default: return "?";
  }
}

const char* KindName(const spec::SinkSpec& spec) {
  switch (spec.kind_case()) {
    case spec::SinkSpec::kKafka: return "kafka";
    case spec::SinkSpec::kFile: return "file";
    case spec::SinkSpec::kStdout: return "stdout";
    default: return "?";
  }
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
  plan->state_dir = StateDirectory(loaded);
  context.job_name = spec.name();
  context.base_dir = loaded.base_dir;
  context.state_dir = plan->state_dir;
  context.kafka = spec.kafka();

  if (!spec.trigger().interval().empty()) {
    auto interval = ParseDurationMicros(spec.trigger().interval());
    if (!interval.ok()) return loaded.ErrorAt("trigger.interval", interval.status().message());
    plan->trigger_interval_micros = *interval;
  }
  if (spec.trigger().max_records_per_partition() > 0) {
    plan->max_records_per_partition = spec.trigger().max_records_per_partition();
  }

  EDDY_ASSIGN_OR_RETURN(std::vector<DagNode> dag, ResolveDag(loaded));
  std::map<std::string, size_t> index_of;
  plan->sources.resize(spec.sources_size());
  plan->operators.resize(spec.operators_size());
  plan->sinks.resize(spec.sinks_size());

  for (DagNode& node : dag) {
    PlanNode planned;
    for (const std::string& input : node.inputs) planned.input_nodes.push_back(index_of.at(input));
    std::vector<Schema> input_schemas;
    for (size_t input : planned.input_nodes) input_schemas.push_back(plan->nodes[input].schema);

    switch (node.kind) {
      case DagNode::Kind::kSource: {
        const std::string prefix = "sources[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field), message);
        };
        EDDY_ASSIGN_OR_RETURN(plan->sources[node.index],
                              MakeSource(spec.sources(node.index), context, error_at));
        planned.schema = plan->sources[node.index]->schema();
        break;
      }
      case DagNode::Kind::kOperator: {
        const std::string prefix = "operators[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field), message);
        };
        // The operator sees its inputs with defaults applied.
        spec::OperatorSpec op_spec = spec.operators(node.index);
        op_spec.clear_inputs();
        for (const std::string& input : node.inputs) op_spec.add_inputs(input);
        EDDY_ASSIGN_OR_RETURN(plan->operators[node.index],
                              MakeOperator(op_spec, input_schemas, error_at));
        planned.op = plan->operators[node.index].get();
        planned.schema = planned.op->output_schema();
        break;
      }
      case DagNode::Kind::kSink: {
        const std::string prefix = "sinks[" + std::to_string(node.index) + "]";
        auto error_at = [&](std::string_view field, std::string_view message) {
          return loaded.ErrorAt(field.empty() ? prefix : prefix + "." + std::string(field), message);
        };
        planned.schema = input_schemas.at(0);
        EDDY_ASSIGN_OR_RETURN(plan->sinks[node.index],
                              MakeSink(spec.sinks(node.index), planned.schema, context, error_at));
        break;
      }
    }
    planned.dag = std::move(node);
    index_of[planned.dag.name] = plan->nodes.size();
    plan->nodes.push_back(std::move(planned));
  }
  for (size_t idx = 0; idx < plan->nodes.size(); ++idx) {
    for (size_t input : plan->nodes[idx].input_nodes) plan->nodes[input].consumers.push_back(idx);
  }
  auto dead_letter_error = [&](std::string_view field, std::string_view message) {
    return loaded.ErrorAt(field.empty() ? "dead_letter" : "dead_letter." + std::string(field), message);
  };
  EDDY_ASSIGN_OR_RETURN(plan->dead_letter,
                        MakeDeadLetterSink(spec.dead_letter(), context, dead_letter_error));
  return plan;
}

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
        line = "  operator " + node.dag.name + " <- " + inputs + ": " + node.op->Describe();
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
    out += "           {" + node.schema.ToString() + "}\n";
  }
  out += "  dead letters -> " + dead_letter->Describe() + "\n";
  return out;
}

}  // namespace eddy
