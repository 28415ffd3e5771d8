#pragma once
// Stdout sink: prints each batch's rows, one encoded record per line in the
// sink's format (json by default), for demos and debugging. With
// `stdout.max_rows` > 0 at most that many rows of each batch are printed,
// followed by a "... N more" line.

#include <cstdio>
#include <memory>

#include "connectors/core/sink.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// `out` must outlive the sink; tests pass a temporary file.
Result<std::unique_ptr<Sink>> MakeStdoutSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                             std::FILE* out = stdout);

}  // namespace eddy
