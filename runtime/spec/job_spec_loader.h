#pragma once
// Loads a job file: YAML -> spec::JobSpec, with every field's file position
// kept so that any later error (a type error in an expression, an unknown
// input) can name file, line and key.
//
// The mapping is driven by the protobuf descriptor of spec::JobSpec: YAML keys
// are field names, unknown keys are errors listing the expected ones, scalar
// types are checked, and `${VAR}` / `${VAR:-default}` in scalar values are
// replaced from the environment before conversion.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

// Returns the value of an environment variable, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// Looks variables up in the process environment.
EnvLookup ProcessEnvironment();

class LoadedJob {
 public:
  spec::JobSpec spec;
  std::string file;      // as given to LoadJobFile, or the name passed to LoadJobText
  std::string base_dir;  // directory relative paths in the job resolve against

  // Position of the field at `path`, e.g. "sources[0].kafka.topics[1]" or
  // "operators[2].filter"; falls back to the nearest enclosing field that
  // has one.
  SourceLocation Locate(std::string_view path) const;
  // InvalidArgument "FILE:LINE:COL: PATH: MESSAGE".
  Status ErrorAt(std::string_view path, std::string_view message) const;

  // Filled by the loader: field path -> position.
  std::map<std::string, SourceLocation, std::less<>> locations;

  // Set by a front end that is not YAML (runtime/sql: jobs written in SQL):
  // turns an error at a spec field path into the error the user sees, in
  // the terms and positions of the text they wrote. ErrorAt defers to it.
  std::function<Status(std::string_view path, std::string_view message)> error_hook;
};

Result<LoadedJob> LoadJobFile(const std::string& path, const EnvLookup& env = ProcessEnvironment());
// The text of a job file (NotFound / IOError naming it), for any front end.
Result<std::string> ReadJobFileText(const std::string& path);
Result<LoadedJob> LoadJobText(std::string_view yaml, const std::string& file_name,
                              const EnvLookup& env = ProcessEnvironment());

// Checks what needs no schema: a name; at least one source and one sink;
// exactly one kind per source/sink/operator; unique node names; inputs that
// name existing nodes; no cycles; durations that parse; known format types
// and column types. Applied by LoadJob* before returning.
Status ValidateJobStructure(const LoadedJob& job);

// "500ms", "1s", "2.5s", "5m", "1h", "250us" -> microseconds.
Result<int64_t> ParseDurationMicros(std::string_view text);

}  // namespace eddy
