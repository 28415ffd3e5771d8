#include "runtime/spec/job_spec_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "runtime/core/types.h"
#include "runtime/spec/job_dag.h"
#include "runtime/spec/yaml_to_proto.h"

namespace eddy {
namespace {

constexpr std::string_view kNameRule = "letters, digits, '.', '_' and '-'";

bool IsValidName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
  });
}

std::string Indexed(std::string_view list, int index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

std::string BaseDirOf(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  return dir.empty() ? "." : dir;
}

// Checks of one job, each failing with the most precise path it can name.
class StructureValidator {
 public:
  explicit StructureValidator(const LoadedJob& job) : job_(job), spec_(job.spec) {}

  Status Validate() {
    if (spec_.name().empty()) {
      return job_.ErrorAt("name", "the job needs a name (" + std::string(kNameRule) + ")");
    }
    if (!IsValidName(spec_.name())) {
      return job_.ErrorAt(
          "name", "invalid job name '" + spec_.name() + "' (use " + std::string(kNameRule) + ")");
    }
    if (spec_.sources_size() == 0) {
      return job_.ErrorAt("sources", "the job needs at least one source");
    }
    if (spec_.sinks_size() == 0) {
      return job_.ErrorAt("sinks", "the job needs at least one sink");
    }
    for (int idx = 0; idx < spec_.sources_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(CheckSource(idx));
    }
    for (int idx = 0; idx < spec_.operators_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(CheckOperator(idx));
    }
    for (int idx = 0; idx < spec_.sinks_size(); ++idx) {
      EDDY_RETURN_IF_ERROR(CheckSink(idx));
    }
    EDDY_RETURN_IF_ERROR(ResolveDag(job_).status());
    EDDY_RETURN_IF_ERROR(CheckTrigger());
    return CheckDeadLetter();
  }

 private:
  Status CheckName(const std::string& name, const std::string& path, std::string_view what) {
    if (name.empty()) {
      return job_.ErrorAt(path, std::string("every ") + std::string(what) + " needs a name (" +
                                    std::string(kNameRule) + ")");
    }
    if (!IsValidName(name)) {
      return job_.ErrorAt(path + ".name",
                          "invalid name '" + name + "' (use " + std::string(kNameRule) + ")");
    }
    return Status::OK();
  }

  Status CheckNonNegative(int64_t value, const std::string& path) {
    if (value < 0) return job_.ErrorAt(path, "must be 0 or more, got " + std::to_string(value));
    return Status::OK();
  }

  Status CheckSource(int idx) {
    const spec::SourceSpec& source = spec_.sources(idx);
    const std::string path = Indexed("sources", idx);
    EDDY_RETURN_IF_ERROR(CheckName(source.name(), path, "source"));
    switch (source.kind_case()) {
      case spec::SourceSpec::kKafka: {
        const spec::KafkaSourceSpec& kafka = source.kafka();
        if (kafka.topics_size() == 0) {
          return job_.ErrorAt(path + ".kafka",
                              "a kafka source needs at least one topic (topics: [name, ...])");
        }
        for (int topic_idx = 0; topic_idx < kafka.topics_size(); ++topic_idx) {
          if (kafka.topics(topic_idx).empty()) {
            return job_.ErrorAt(Indexed(path + ".kafka.topics", topic_idx), "empty topic name");
          }
        }
        EDDY_RETURN_IF_ERROR(CheckNonNegative(kafka.partitions(), path + ".kafka.partitions"));
        break;
      }
      case spec::SourceSpec::kFile:
        if (source.file().path().empty()) {
          return job_.ErrorAt(path + ".file", "a file source needs a path");
        }
        break;
      case spec::SourceSpec::kGenerator:
        EDDY_RETURN_IF_ERROR(CheckGenerator(source.generator(), path + ".generator"));
        break;
      case spec::SourceSpec::KIND_NOT_SET:
        return job_.ErrorAt(
            path, "source '" + source.name() + "' has no kind: set one of kafka, file, generator");
    }
    EDDY_RETURN_IF_ERROR(CheckFormat(source.format(), path + ".format"));
    const std::string& type = source.format().type();
    const bool schema_required = source.kind_case() != spec::SourceSpec::kGenerator &&
                                 (type.empty() || type == "json" || type == "csv");
    if (schema_required && source.schema_size() == 0) {
      return job_.ErrorAt(path, "source '" + source.name() + "' reads format " +
                                    (type.empty() ? std::string("json") : type) +
                                    " and needs a schema: list its columns under `schema:`");
    }
    return CheckSchema(source, path + ".schema");
  }

  Status CheckGenerator(const spec::GeneratorSpec& generator, const std::string& path) {
    // As connectors/generator/generator_source.cc registers them.
    static const std::vector<std::string> kKinds = {
        "ysb", "ysb_campaigns", "regression", "classification", "clusters",
        "sea", "agrawal",       "random_rbf", "hyperplane",     "fashion_mnist"};
    const std::string kinds =
        "ysb, ysb_campaigns, regression, classification, clusters, sea, agrawal, random_rbf, "
        "hyperplane, fashion_mnist";
    if (generator.kind().empty()) {
      return job_.ErrorAt(path, "a generator needs a kind (one of: " + kinds + ")");
    }
    if (std::find(kKinds.begin(), kKinds.end(), generator.kind()) == kKinds.end()) {
      std::string message =
          "unknown generator kind '" + generator.kind() + "' (expected one of: " + kinds + ")";
      if (auto suggestion = ClosestName(generator.kind(), kKinds)) {
        message += "; did you mean '" + *suggestion + "'?";
      }
      return job_.ErrorAt(path + ".kind", message);
    }
    EDDY_RETURN_IF_ERROR(CheckNonNegative(generator.count(), path + ".count"));
    if (!(generator.rate() >= 0) || std::isinf(generator.rate())) {
      return job_.ErrorAt(path + ".rate",
                          "must be a finite number of records per second, 0 or "
                          "more, got " +
                              std::to_string(generator.rate()));
    }
    return CheckNonNegative(generator.partitions(), path + ".partitions");
  }

  Status CheckFormat(const spec::FormatSpec& format, const std::string& path) {
    const std::string& type = format.type();
    if (!type.empty() && type != "json" && type != "csv" && type != "protobuf" && type != "raw") {
      std::string message =
          "unknown format '" + type + "' (expected one of: json, csv, protobuf, raw)";
      if (auto suggestion = ClosestName(type, {"json", "csv", "protobuf", "raw"})) {
        message += "; did you mean '" + *suggestion + "'?";
      }
      return job_.ErrorAt(path + ".type", message);
    }
    if (type == "csv" && format.delimiter().size() > 1) {
      return job_.ErrorAt(
          path + ".delimiter",
          "the csv delimiter must be a single character, got '" + format.delimiter() + "'");
    }
    if (type == "protobuf") {
      if (format.proto_file().empty()) {
        return job_.ErrorAt(path,
                            "format protobuf needs proto_file (the .proto file, relative "
                            "to the job file)");
      }
      if (format.message().empty()) {
        return job_.ErrorAt(path,
                            "format protobuf needs message (the fully qualified message "
                            "name, e.g. shop.Order)");
      }
    }
    return Status::OK();
  }

  Status CheckSchema(const spec::SourceSpec& source, const std::string& path) {
    std::set<std::string, std::less<>> names;
    for (int idx = 0; idx < source.schema_size(); ++idx) {
      const spec::ColumnSpec& column = source.schema(idx);
      const std::string column_path = Indexed(path, idx);
      if (column.name().empty()) return job_.ErrorAt(column_path, "a column needs a name");
      if (!names.insert(column.name()).second) {
        return job_.ErrorAt(column_path + ".name",
                            "column '" + column.name() + "' is declared twice");
      }
      if (column.type().empty()) {
        return job_.ErrorAt(column_path, "column '" + column.name() +
                                             "' needs a type (bool, int64, double, string or "
                                             "timestamp)");
      }
      if (!ParseTypeName(column.type())) {
        return job_.ErrorAt(column_path + ".type",
                            "unknown type '" + column.type() + "' for column '" + column.name() +
                                "' (expected bool, int64, double, string or timestamp)");
      }
    }
    return Status::OK();
  }

  Status CheckOperator(int idx) {
    const spec::OperatorSpec& op = spec_.operators(idx);
    const std::string path = Indexed("operators", idx);
    EDDY_RETURN_IF_ERROR(CheckName(op.name(), path, "operator"));
    switch (op.kind_case()) {
      case spec::OperatorSpec::kFilter:
        if (op.filter().empty()) {
          return job_.ErrorAt(path + ".filter", "empty filter expression");
        }
        break;
      case spec::OperatorSpec::kSelect:
        if (op.select().columns_size() == 0) {
          return job_.ErrorAt(path + ".select", "a select needs at least one column");
        }
        for (int column_idx = 0; column_idx < op.select().columns_size(); ++column_idx) {
          if (op.select().columns(column_idx).empty()) {
            return job_.ErrorAt(Indexed(path + ".select.columns", column_idx),
                                "empty select column");
          }
        }
        break;
      case spec::OperatorSpec::kUnion:
      case spec::OperatorSpec::kWindow:
      case spec::OperatorSpec::kAggregate:
      case spec::OperatorSpec::kLookupJoin:
      case spec::OperatorSpec::kLearn:
      case spec::OperatorSpec::kPredict:
      case spec::OperatorSpec::kPrequential:
      case spec::OperatorSpec::kImageFeatures:
        // Checked when the operator is compiled, against its input schema.
        break;
      case spec::OperatorSpec::KIND_NOT_SET:
        return job_.ErrorAt(path, "operator '" + op.name() +
                                      "' has no kind: set one of filter, select, union, window, "
                                      "aggregate, lookup_join, learn, predict, prequential, "
                                      "image_features");
    }
    return Status::OK();
  }

  Status CheckSink(int idx) {
    const spec::SinkSpec& sink = spec_.sinks(idx);
    const std::string path = Indexed("sinks", idx);
    EDDY_RETURN_IF_ERROR(CheckName(sink.name(), path, "sink"));
    switch (sink.kind_case()) {
      case spec::SinkSpec::kKafka:
        if (sink.kafka().topic().empty()) {
          return job_.ErrorAt(path + ".kafka", "a kafka sink needs a topic");
        }
        EDDY_RETURN_IF_ERROR(
            CheckNonNegative(sink.kafka().partitions(), path + ".kafka.partitions"));
        break;
      case spec::SinkSpec::kFile:
        if (sink.file().path().empty()) {
          return job_.ErrorAt(path + ".file", "a file sink needs a path");
        }
        break;
      case spec::SinkSpec::kStdout:
        EDDY_RETURN_IF_ERROR(CheckNonNegative(sink.stdout().max_rows(), path + ".stdout.max_rows"));
        break;
      case spec::SinkSpec::KIND_NOT_SET:
        return job_.ErrorAt(
            path, "sink '" + sink.name() + "' has no kind: set one of kafka, file, stdout");
    }
    return CheckFormat(sink.format(), path + ".format");
  }

  Status CheckTrigger() {
    const spec::TriggerSpec& trigger = spec_.trigger();
    if (!trigger.interval().empty()) {
      Result<int64_t> micros = ParseDurationMicros(trigger.interval());
      // 0 is allowed: the next batch starts as soon as one ends.
      if (!micros.ok()) return job_.ErrorAt("trigger.interval", micros.status().message());
    }
    return CheckNonNegative(trigger.max_records_per_partition(),
                            "trigger.max_records_per_partition");
  }

  Status CheckDeadLetter() {
    const spec::DeadLetterSpec& dead_letter = spec_.dead_letter();
    if (dead_letter.has_file() && dead_letter.file().path().empty()) {
      return job_.ErrorAt("dead_letter.file", "a dead-letter file needs a path");
    }
    if (dead_letter.has_kafka()) {
      return CheckNonNegative(dead_letter.kafka().partitions(), "dead_letter.kafka.partitions");
    }
    return Status::OK();
  }

  const LoadedJob& job_;
  const spec::JobSpec& spec_;
};

struct DurationUnit {
  std::string_view name;
  int64_t micros;
};

constexpr DurationUnit kDurationUnits[] = {
    {"us", 1},
    {"\xC2\xB5s", 1},
    {"ms", 1000},
    {"s", 1000000},
    {"m", 60LL * 1000000},
    {"h", 3600LL * 1000000},
    {"d", 86400LL * 1000000},
};

Status DurationError(std::string_view text, std::string_view problem) {
  return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                 "': " + std::string(problem) +
                                 " (expected a number and a unit: us, ms, s, m, h or d, e.g. "
                                 "500ms, 2.5s, 1h30m)");
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const std::string key(name);
    const char* value = std::getenv(key.c_str());
    if (value != nullptr) return std::string(value);
    // Secrets from files (Docker's and Kubernetes' convention): when NAME is
    // unset and NAME_FILE names a readable file, NAME is the file's content
    // without its final line break. The value never has to be in the
    // environment of the process or in the job file.
    const char* path = std::getenv((key + "_FILE").c_str());
    if (path == nullptr) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!content.empty() && content.back() == '\n') content.pop_back();
    if (!content.empty() && content.back() == '\r') content.pop_back();
    return content;
  };
}

SourceLocation LoadedJob::Locate(std::string_view path) const {
  std::string_view prefix = path;
  while (true) {
    auto it = locations.find(prefix);
    if (it != locations.end()) {
      SourceLocation found = it->second;
      found.file = file;
      return found;
    }
    if (prefix.empty()) break;
    const size_t cut = prefix.find_last_of(".[");
    prefix = cut == std::string_view::npos ? std::string_view() : prefix.substr(0, cut);
  }
  return SourceLocation{file, 0, 0};
}

Status LoadedJob::ErrorAt(std::string_view path, std::string_view message) const {
  if (error_hook) return error_hook(path, message);
  return PositionedError(Locate(path), path, message);
}

Result<LoadedJob> LoadJobText(std::string_view yaml, const std::string& file_name,
                              const EnvLookup& env) {
  LoadedJob job;
  job.file = file_name;
  job.base_dir = BaseDirOf(file_name);
  // yaml-cpp reports every problem by exception; none may cross this
  // function, so each becomes an InvalidArgument with the file position.
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    if (documents.size() > 1) {
      const YAML::Mark mark = documents[1].Mark();
      return PositionedError(SourceLocation{file_name, mark.line + 1, mark.column + 1}, "",
                             "the job file holds more than one YAML document (a '---' line); "
                             "write one job per file");
    }
    YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
    if (!root.IsDefined() || root.IsNull()) {
      return Status::InvalidArgument(file_name +
                                     ": the job file is empty; it needs at least name, "
                                     "sources and sinks");
    }
    if (!root.IsMap()) {
      return PositionedError(
          SourceLocation{file_name, root.Mark().line + 1, root.Mark().column + 1}, "",
          std::string("the job file must be a mapping of keys (name, "
                      "sources, operators, sinks, ...), got a ") +
              (root.IsSequence() ? "list" : "single value"));
    }
    EDDY_RETURN_IF_ERROR(YamlToProto(root, file_name, env, &job.spec, &job.locations));
  } catch (const YAML::Exception& e) {
    SourceLocation location{file_name, 0, 0};
    if (!e.mark.is_null() && e.mark.line >= 0) {
      location.line = e.mark.line + 1;
      location.column = e.mark.column + 1;
    }
    return PositionedError(location, "", "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(file_name + ": cannot load the job file: " + e.what());
  }
  EDDY_RETURN_IF_ERROR(ValidateJobStructure(job));
  return job;
}

Result<LoadedJob> LoadJobFile(const std::string& path, const EnvLookup& env) {
  EDDY_ASSIGN_OR_RETURN(std::string text, ReadJobFileText(path));
  return LoadJobText(text, path, env);
}

Result<std::string> ReadJobFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    std::string message = "cannot read job file '" + path + "': " + std::strerror(error);
    if (error == ENOENT) return Status::NotFound(std::move(message));
    return Status::IOError(std::move(message));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read job file '" + path + "'");
  return text.str();
}

Status ValidateJobStructure(const LoadedJob& job) { return StructureValidator(job).Validate(); }

Result<int64_t> ParseDurationMicros(std::string_view text) {
  const std::string_view original = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) return DurationError(original, "empty");
  if (text.front() == '-') return DurationError(original, "durations cannot be negative");
  if (text.front() == '+') text.remove_prefix(1);

  __int128 total = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    // One component: digits, an optional fraction, a unit ("1h30m" has two).
    const size_t int_start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    const std::string_view int_digits = text.substr(int_start, pos - int_start);
    std::string_view frac_digits;
    if (pos < text.size() && text[pos] == '.') {
      const size_t frac_start = ++pos;
      while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
      frac_digits = text.substr(frac_start, pos - frac_start);
    }
    if (int_digits.empty() && frac_digits.empty()) {
      return DurationError(original, "expected a number");
    }
    const size_t unit_start = pos;
    while (pos < text.size() && !std::isdigit(static_cast<unsigned char>(text[pos])) &&
           text[pos] != '.' && !std::isspace(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    }
    const std::string_view unit_text = text.substr(unit_start, pos - unit_start);
    if (unit_text.empty()) return DurationError(original, "missing unit");
    const DurationUnit* unit = nullptr;
    for (const DurationUnit& candidate : kDurationUnits) {
      if (candidate.name == unit_text) unit = &candidate;
    }
    if (unit == nullptr) {
      return DurationError(original, "unknown unit '" + std::string(unit_text) + "'");
    }
    // Exact arithmetic in 128 bits: 2.5s is 2500000us, not 2499999.
    __int128 whole = 0;
    for (char digit : int_digits) {
      whole = whole * 10 + (digit - '0');
      if (whole > std::numeric_limits<int64_t>::max()) {
        return DurationError(original, "too large");
      }
    }
    total += whole * unit->micros;
    __int128 fraction = 0;
    __int128 scale = 1;
    for (char digit : frac_digits.substr(0, 18)) {
      fraction = fraction * 10 + (digit - '0');
      scale *= 10;
    }
    total += (fraction * unit->micros + scale / 2) / scale;
    if (total > std::numeric_limits<int64_t>::max()) return DurationError(original, "too large");
  }
  return static_cast<int64_t>(total);
}

}  // namespace eddy
