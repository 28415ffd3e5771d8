#pragma once
// Descriptor-driven mapping of a YAML document onto a protobuf message, the
// engine of the job-file loader (runtime/spec/job_spec_loader.h). Nothing in it is
// specific to spec::JobSpec: mapping keys are field names, scalars are
// converted by field type, and the conveniences listed in
// runtime/spec/job_spec.proto (field-1 shorthand, single-scalar lists, bare keys
// for empty messages) apply to every message type.
//
// Every error is InvalidArgument "FILE:LINE:COL: PATH: MESSAGE" with the
// position of the offending key or value.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec_loader.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace google::protobuf {
class FieldDescriptor;
class Message;
}  // namespace google::protobuf

namespace eddy {

using LocationMap = std::map<std::string, SourceLocation, std::less<>>;

// Fields the engine sets in the specs it derives (the stages of a
// scaled-out job), which a job file or SQL statement cannot: they are
// unknown keys there and left out of "expected one of" lists.
bool IsInternalField(const google::protobuf::FieldDescriptor* field);

// Fills `message` from `node` (a mapping, or a shorthand form). Records the
// position of every field set in `locations`, keyed by its path
// ("sources[0].kafka.topics[1]"); the document itself is recorded as "".
// `file` only labels positions. May leave `message` partly filled on error.
// Catches no yaml-cpp exceptions: the caller owns that boundary.
Status YamlToProto(const YAML::Node& node, const std::string& file, const EnvLookup& env,
                   google::protobuf::Message* message, LocationMap* locations);

// Converts `text` by the type of scalar `field` of `message` (integers,
// numbers, booleans as YAML writes them, enum names, strings as they are) and
// sets it, or appends it when `add` (a repeated field). Returns what is wrong
// with the text, e.g. "expected an integer, got 'x'", or nullopt once set.
// Shared by every front end that fills a spec from text (YAML, SQL).
std::optional<std::string> SetFieldFromText(std::string text,
                                            const google::protobuf::FieldDescriptor* field,
                                            bool add, google::protobuf::Message* message);

// What an EnvLookup answers for an unset variable whose references without
// a default should stay as written (`${NAME}`) instead of failing the load
// (OfflineEnvironment, runtime/spec/offline_env.h). No real value equals it:
// it starts with a NUL byte.
inline constexpr std::string_view kKeepReference{"\0keep-reference", 15};

// Replaces `${VAR}` and `${VAR:-default}` (default also when VAR is empty,
// as in the shell) anywhere in `text`; `$${` stands for a literal `${`. The
// error names the variable but carries no position.
Result<std::string> SubstituteEnv(std::string_view text, const EnvLookup& env);
// "environment variable 'NAME' is not set (write ${NAME:-default} ...)".
std::string UnsetVariableMessage(std::string_view name);

// InvalidArgument "FILE:LINE:COL: PATH: MESSAGE"; the position is left out
// when unknown (line 0) and the path when empty.
Status PositionedError(const SourceLocation& location, std::string_view path,
                       std::string_view message);

// The candidate closest to `word` by edit distance (case-insensitive,
// transpositions count as one edit), if close enough to be a likely typo.
std::optional<std::string> ClosestName(std::string_view word,
                                       const std::vector<std::string>& candidates);

}  // namespace eddy
