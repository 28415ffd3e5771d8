#include "runtime/spec/job_dag.h"

#include <algorithm>
#include <map>
#include <set>

#include "runtime/spec/yaml_to_proto.h"

namespace eddy {
namespace {

struct NodeRef {
  DagNode::Kind kind;
  int index;
  std::string path;  // "sources[0]", "operators[2]", "sinks[1]"
};

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (size_t idx = 0; idx < names.size(); ++idx) {
    if (idx > 0) out += ", ";
    out += names[idx];
  }
  return out;
}

std::string Indexed(std::string_view list, int index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

class DagResolver {
 public:
  explicit DagResolver(const LoadedJob& job) : job_(job), spec_(job.spec) {}

  Result<std::vector<DagNode>> Resolve() {
    EDDY_RETURN_IF_ERROR(IndexNames());
    std::vector<std::vector<std::string>> operator_inputs(spec_.operators_size());
    for (int idx = 0; idx < spec_.operators_size(); ++idx) {
      EDDY_ASSIGN_OR_RETURN(operator_inputs[idx], OperatorInputs(idx));
    }
    EDDY_ASSIGN_OR_RETURN(std::vector<int> operator_order, OrderOperators(operator_inputs));

    std::vector<DagNode> nodes;
    nodes.reserve(spec_.sources_size() + spec_.operators_size() + spec_.sinks_size());
    for (int idx = 0; idx < spec_.sources_size(); ++idx) {
      nodes.push_back(DagNode{spec_.sources(idx).name(), DagNode::Kind::kSource, idx, {}});
    }
    for (int idx : operator_order) {
      nodes.push_back(DagNode{spec_.operators(idx).name(), DagNode::Kind::kOperator, idx,
                              std::move(operator_inputs[idx])});
    }
    for (int idx = 0; idx < spec_.sinks_size(); ++idx) {
      EDDY_ASSIGN_OR_RETURN(std::string input, SinkInput(idx));
      nodes.push_back(DagNode{spec_.sinks(idx).name(), DagNode::Kind::kSink, idx, {input}});
    }
    return nodes;
  }

 private:
  Status AddName(const std::string& name, DagNode::Kind kind, int index, std::string path) {
    auto [it, inserted] = nodes_.emplace(name, NodeRef{kind, index, path});
    if (!inserted) {
      return job_.ErrorAt(path + ".name",
                          "name '" + name + "' is already used by " + it->second.path +
                              " (sources, operators and sinks share one namespace)");
    }
    return Status::OK();
  }

  Status IndexNames() {
    for (int idx = 0; idx < spec_.sources_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(
          AddName(spec_.sources(idx).name(), DagNode::Kind::kSource, idx, Indexed("sources", idx)));
      upstream_names_.push_back(spec_.sources(idx).name());
    }
    for (int idx = 0; idx < spec_.operators_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(AddName(spec_.operators(idx).name(), DagNode::Kind::kOperator, idx,
                                   Indexed("operators", idx)));
      upstream_names_.push_back(spec_.operators(idx).name());
    }
    for (int idx = 0; idx < spec_.sinks_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(
          AddName(spec_.sinks(idx).name(), DagNode::Kind::kSink, idx, Indexed("sinks", idx)));
    }
    return Status::OK();
  }

  // "W.late", the late output of window operator W, and "P.metrics", the
  // metrics output of prequential operator P, stand for W and P in the
  // graph; any other name stands for itself.
  std::string BaseName(const std::string& name) const {
    for (const std::string_view suffix :
         {std::string_view(".late"), std::string_view(".metrics")}) {
      if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
      const std::string base = name.substr(0, name.size() - suffix.size());
      auto it = nodes_.find(base);
      if (it == nodes_.end() || it->second.kind != DagNode::Kind::kOperator) continue;
      const spec::OperatorSpec& op = spec_.operators(it->second.index);
      if (suffix == ".late" ? op.has_window() : op.has_prequential()) return base;
    }
    return name;
  }

  // Checks that `name` (written at `path`) is a source or an operator.
  Status CheckUpstream(const std::string& input, const std::string& path) const {
    const std::string name = BaseName(input);
    auto it = nodes_.find(name);
    if (it == nodes_.end()) {
      std::string message =
          "unknown input '" + name + "' (known nodes: " + Join(upstream_names_) + ")";
      if (auto suggestion = ClosestName(name, upstream_names_)) {
        message += "; did you mean '" + *suggestion + "'?";
      }
      return job_.ErrorAt(path, message);
    }
    if (it->second.kind == DagNode::Kind::kSink) {
      return job_.ErrorAt(path, "input '" + name +
                                    "' is a sink; inputs must be sources or "
                                    "operators (known nodes: " +
                                    Join(upstream_names_) + ")");
    }
    return Status::OK();
  }

  std::string SourceNames() const {
    std::vector<std::string> names;
    for (const auto& source : spec_.sources()) names.push_back(source.name());
    return Join(names);
  }

  Result<std::vector<std::string>> OperatorInputs(int idx) const {
    const spec::OperatorSpec& op = spec_.operators(idx);
    const std::string path = Indexed("operators", idx);
    std::vector<std::string> inputs;
    const bool defaulted = op.inputs_size() == 0;
    if (!defaulted) {
      for (int input_idx = 0; input_idx < op.inputs_size(); ++input_idx) {
        const std::string& input = op.inputs(input_idx);
        const std::string input_path = Indexed(path + ".inputs", input_idx);
        EDDY_RETURN_IF_ERROR(CheckUpstream(input, input_path));
        if (std::find(inputs.begin(), inputs.end(), input) != inputs.end()) {
          return job_.ErrorAt(input_path, "input '" + input + "' is listed twice");
        }
        inputs.push_back(input);
      }
    } else if (idx > 0) {
      inputs.push_back(spec_.operators(idx - 1).name());
    } else if (spec_.sources_size() == 1) {
      inputs.push_back(spec_.sources(0).name());
    } else {
      return job_.ErrorAt(path, "operator '" + op.name() + "' has no inputs and the job has " +
                                    std::to_string(spec_.sources_size()) + " sources (" +
                                    SourceNames() + "): name its inputs with `inputs:`");
    }

    const std::string inputs_path = path + ".inputs";
    const std::string got = std::to_string(inputs.size()) + " (" + Join(inputs) +
                            (defaulted ? ", by default" : "") + ")";
    switch (op.kind_case()) {
      case spec::OperatorSpec::kUnion:
        if (inputs.size() < 2) {
          return job_.ErrorAt(inputs_path, "a union needs at least two inputs, got " + got);
        }
        break;
      case spec::OperatorSpec::kFilter:
      case spec::OperatorSpec::kSelect:
      case spec::OperatorSpec::kImageFeatures:
        if (inputs.size() != 1) {
          return job_.ErrorAt(
              inputs_path,
              std::string("a ") +
                  (op.kind_case() == spec::OperatorSpec::kFilter   ? "filter"
                   : op.kind_case() == spec::OperatorSpec::kSelect ? "select"
                                                                   : "image_features") +
                  " takes exactly one input, got " + got + "; combine streams with a union first");
        }
        break;
      case spec::OperatorSpec::kWindow:
      case spec::OperatorSpec::kAggregate:
      case spec::OperatorSpec::kLearn:
      case spec::OperatorSpec::kPredict:
      case spec::OperatorSpec::kPrequential:
        if (inputs.size() != 1) {
          const char* kind = op.has_window()      ? "window"
                             : op.has_aggregate() ? "aggregate"
                             : op.has_learn()     ? "learn"
                             : op.has_predict()   ? "predict"
                                                  : "prequential";
          return job_.ErrorAt(inputs_path, std::string("a ") + kind +
                                               " takes exactly one input, got " + got +
                                               "; combine streams with a union first");
        }
        break;
      case spec::OperatorSpec::kLookupJoin:
        if (inputs.size() != 2) {
          return job_.ErrorAt(
              inputs_path, "a lookup_join takes two inputs, the stream then the table, got " + got);
        }
        break;
      case spec::OperatorSpec::KIND_NOT_SET:
        return job_.ErrorAt(path, "operator '" + op.name() +
                                      "' has no kind: set one of filter, select, union, window, "
                                      "aggregate, lookup_join, learn, predict, prequential, "
                                      "image_features");
    }
    return inputs;
  }

  Result<std::string> SinkInput(int idx) const {
    const spec::SinkSpec& sink = spec_.sinks(idx);
    const std::string path = Indexed("sinks", idx);
    if (!sink.input().empty()) {
      EDDY_RETURN_IF_ERROR(CheckUpstream(sink.input(), path + ".input"));
      return sink.input();
    }
    if (spec_.operators_size() > 0) return spec_.operators(spec_.operators_size() - 1).name();
    if (spec_.sources_size() == 1) return spec_.sources(0).name();
    return job_.ErrorAt(path, "sink '" + sink.name() + "' has no input and the job has " +
                                  std::to_string(spec_.sources_size()) +
                                  " sources and no operators (" + SourceNames() +
                                  "): name one with `input:`");
  }

  // Kahn's algorithm over operator-to-operator edges, always taking the
  // ready operator listed first so that a file already in order keeps it.
  Result<std::vector<int>> OrderOperators(
      const std::vector<std::vector<std::string>>& operator_inputs) const {
    const int count = spec_.operators_size();
    std::vector<int> pending(count, 0);
    std::vector<std::vector<int>> consumers(count);
    for (int idx = 0; idx < count; ++idx) {
      for (const std::string& input : operator_inputs[idx]) {
        const NodeRef& ref = nodes_.at(BaseName(input));
        if (ref.kind != DagNode::Kind::kOperator) continue;
        ++pending[idx];
        consumers[ref.index].push_back(idx);
      }
    }
    std::set<int> ready;
    for (int idx = 0; idx < count; ++idx) {
      if (pending[idx] == 0) ready.insert(idx);
    }
    std::vector<int> order;
    order.reserve(count);
    while (!ready.empty()) {
      const int idx = *ready.begin();
      ready.erase(ready.begin());
      order.push_back(idx);
      for (int consumer : consumers[idx]) {
        if (--pending[consumer] == 0) ready.insert(consumer);
      }
    }
    if (static_cast<int>(order.size()) == count) return order;
    return CycleError(operator_inputs, pending);
  }

  // Every operator Kahn's algorithm left over reads another left-over one,
  // so walking inputs from any of them must come back on itself.
  Status CycleError(const std::vector<std::vector<std::string>>& operator_inputs,
                    const std::vector<int>& pending) const {
    int start = 0;
    while (pending[start] == 0) ++start;
    std::vector<int> walk;
    std::map<int, size_t> position;
    int current = start;
    while (!position.count(current)) {
      position[current] = walk.size();
      walk.push_back(current);
      for (const std::string& input : operator_inputs[current]) {
        const NodeRef& ref = nodes_.at(BaseName(input));
        if (ref.kind == DagNode::Kind::kOperator && pending[ref.index] > 0) {
          current = ref.index;
          break;
        }
      }
    }
    // walk[k + 1] feeds walk[k]: reverse to list the cycle in data-flow order,
    // starting from the operator listed first in the file.
    std::vector<int> cycle(walk.begin() + static_cast<std::ptrdiff_t>(position[current]),
                           walk.end());
    std::reverse(cycle.begin(), cycle.end());
    std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
    std::string text;
    for (int idx : cycle) text += spec_.operators(idx).name() + " -> ";
    text += spec_.operators(cycle.front()).name();
    return job_.ErrorAt(Indexed("operators", cycle.front()) + ".inputs",
                        "inputs form a cycle: " + text);
  }

  const LoadedJob& job_;
  const spec::JobSpec& spec_;
  std::map<std::string, NodeRef, std::less<>> nodes_;
  std::vector<std::string> upstream_names_;  // sources then operators, in file order
};

}  // namespace

Result<std::vector<DagNode>> ResolveDag(const LoadedJob& job) { return DagResolver(job).Resolve(); }

}  // namespace eddy
