#pragma once
// File sink: appends each row as one encoded record per line (json by
// default, csv or raw) to a file, creating it and its parent directories.
// A csv sink with `format.header` writes the header line first when the file
// is new or empty. Flush makes everything written durable (fflush + fsync).

#include <memory>
#include <string>

#include "connectors/core/sink.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// `spec.file().path` is resolved against `base_dir` when relative. Fails for
// a missing path, a format that cannot be written as lines (protobuf) or
// one that cannot encode `input_schema`.
Result<std::unique_ptr<Sink>> MakeFileSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                           const std::string& base_dir);

}  // namespace eddy
