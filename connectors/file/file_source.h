#pragma once
// File source: a file of records, one per line (JSON lines, CSV rows or raw
// lines, by the source's format), read as a single partition whose offsets
// are 0-based line numbers. With `format.header` the first line is a header:
// it is skipped and data line numbers start after it.
//
// The file may grow while the job runs (appends only): LatestOffsets scans
// what was appended and counts complete lines; the index of line start
// positions lets Read seek straight to a range. A last line without a
// newline is counted at once on the first scan (the file as the job found
// it), later only once it has stayed the same between two LatestOffsets
// calls, so a writer caught mid-line is not read half-way. Empty lines are
// skipped but still take an offset, so offsets always equal line numbers.
// The source is bounded: it never produces more than LatestOffsets says.

#include <memory>
#include <string>

#include "connectors/core/source.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// `spec.file().path` is resolved against `base_dir` when relative. Fails
// for a missing path or a format that is not line-based (protobuf). A
// missing file is reported by Open().
Result<std::unique_ptr<Source>> MakeFileSource(const spec::SourceSpec& spec,
                                               const std::string& base_dir);

}  // namespace eddy
