#pragma once
// How code that compiles one part of a job spec reports an error at a field
// of that part, so the message carries the job file's line and key.

#include <functional>
#include <string_view>

#include "runtime/core/status.h"

namespace eddy {

// Reports an error at `field`, relative to the part being compiled (e.g.
// "filter", "select.columns[2]", "kafka.key"; empty for the part itself), and
// returns the Status to propagate.
using SpecErrorReporter = std::function<Status(std::string_view field, std::string_view message)>;

}  // namespace eddy
