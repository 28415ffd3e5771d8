#pragma once
// The job file's reference, generated from its schema: the comments of
// runtime/spec/job_spec.proto become the tables of docs/job-file.md, so the
// documentation lists every key the loader accepts and cannot drift from it.
//
// The comments exist only in the .proto source (compiled-in descriptors
// carry no source info), so SpecReference parses that file itself with
// protobuf's compiler (google::protobuf::compiler::Importer) rather than
// reading the descriptor linked into eddy_spec. It needs no build step and
// always sees the file as it is on disk.
//
// Comment conventions (docs/job-file.md renders them):
//  - every field's leading comment is its description (required: see
//    Undocumented());
//  - a line starting with "Default:" begins the field's default, which runs
//    to the end of the comment and fills the table's default column;
//  - in a message's comment, a blank comment line starts a new paragraph,
//    lines starting with "- " are list items, and lines indented by two
//    more spaces are a code block (an example).
//
// Thread-safety: a SpecReference is immutable after Load.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {

// The command that rewrites the generated block of docs/job-file.md.
inline constexpr std::string_view kRegenerateJobFileReference =
    "cmake --build build --target job-file-reference";
inline constexpr std::string_view kJobSpecProto = "runtime/spec/job_spec.proto";
inline constexpr std::string_view kJobSpecMessage = "eddy.spec.JobSpec";

// The generated block sits between a line starting with the begin marker and
// a line holding the end marker.
inline constexpr std::string_view kReferenceBeginMarker = "<!-- BEGIN GENERATED REFERENCE";
inline constexpr std::string_view kReferenceEndMarker = "<!-- END GENERATED REFERENCE -->";

class SpecReference {
 public:
  // Parses `proto_path` (relative to `source_root`, where its imports are
  // looked up too) and finds `root_message` (fully qualified) in it.
  static Result<SpecReference> Load(const std::string& source_root,
                                    const std::string& proto_path = std::string(kJobSpecProto),
                                    const std::string& root_message = std::string(kJobSpecMessage));

  SpecReference(SpecReference&&) noexcept;
  SpecReference& operator=(SpecReference&&) noexcept;
  ~SpecReference();

  // One Markdown section per message reachable from the root message, in
  // the order a reader meets them (depth first, in field order): what YAML
  // path it sits at, its comment, and a table of its keys.
  std::string Markdown() const;

  // "eddy.spec.StateSpec.key_groups has no comment in
  // runtime/spec/job_spec.proto" for every field of a reachable message
  // without a leading comment, in Markdown()'s order.
  std::vector<std::string> Undocumented() const;

 private:
  struct Rep;
  explicit SpecReference(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

// The lines between the begin and end markers of `document` (the markers
// excluded), or InvalidArgument naming what is missing.
Result<std::string> GeneratedBlockOf(std::string_view document);

// `document` with the lines between its markers replaced by `block`.
Result<std::string> ReplaceGeneratedBlock(std::string_view document, std::string_view block);

}  // namespace eddy
