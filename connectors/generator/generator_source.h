#pragma once
// Synthetic sources for benchmarks, demos and tests (docs/generators.md).
//
// A generator source produces records from a pure function of (seed, kind,
// options, record index), so any range can be replayed, read in any split
// and by any instance with identical results. Kinds:
//   ysb             the Yahoo Streaming Benchmark ad-event stream
//   ysb_campaigns   the ad -> campaign table that stream joins against
//   regression      features and a linear target plus Gaussian noise
//   classification  labelled points around class prototypes, with drift
//   clusters        points around k centers, labelled with their cluster

#include <memory>

#include "connectors/core/source.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// Builds the generator described by `spec.generator()`. Fails with
// InvalidArgument naming the offending setting for an unknown kind, an
// unknown or malformed option, an out-of-range value or a `schema:` that
// does not match the kind's columns.
Result<std::unique_ptr<Source>> MakeGeneratorSource(const spec::SourceSpec& spec);

// The columns a generator of this kind and options produces (the planner's
// view of the source before it is opened). Same validation as above.
Result<Schema> GeneratorSchema(const spec::GeneratorSpec& spec);

}  // namespace eddy
