#pragma once
// Jobs for the commands that connect to nothing: `eddy validate`,
// `eddy checkpoints`, `eddy model export`, and the first, dry plan of an
// instance of a scaled-out job.

#include <functional>
#include <string>
#include <string_view>

#include "connectors/connector_factory.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

// A connector context that leaves every brokers setting as the job wrote it
// (and so starts no embedded broker).
ConnectorContext BrokersAsWritten();

// Loads `job_file` (YAML, or SQL for *.sql) for a command that reads the
// job's state: environment variables used only where `needed` says no (the
// Kafka settings, for instance) need not be set; an unset one where it says
// yes fails as it does for `eddy run`, naming file, line and key.
Result<LoadedJob> LoadJobOffline(const std::string& job_file,
                                 const std::function<bool(std::string_view path)>& needed);

}  // namespace eddy
