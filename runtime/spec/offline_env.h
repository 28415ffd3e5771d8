#pragma once
// Loading a job for a command that reads its state and connects to nothing
// (`eddy model export`, `eddy checkpoints`): the environment variables only
// its connections use need not be set. A job file that says
// `kafka: {brokers: ${BROKERS}}` then loads without BROKERS, and the command
// still fails, with the loader's message and position, when a variable it
// does need (`state.dir: ${STATE_DIR}`) is unset.

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

// Not thread-safe; lookup() may be called as often as the loader likes while
// this object lives.
class OfflineEnvironment {
 public:
  explicit OfflineEnvironment(EnvLookup env = ProcessEnvironment());
  OfflineEnvironment(const OfflineEnvironment&) = delete;
  OfflineEnvironment& operator=(const OfflineEnvironment&) = delete;

  // Answers as `env` does, except that a reference to an unset variable
  // without a default stays as written (`${BROKERS}`) instead of failing the
  // load; `${NAME:-default}` still takes its default. Remembers the names.
  const EnvLookup& lookup() const { return lookup_; }

  // For the first string field of `job` whose path `needed` accepts and that
  // kept a reference to an unset variable: the error loading with the plain
  // environment gives ("FILE:LINE:COL: PATH: environment variable 'X' is not
  // set ..."). OK when there is none.
  Status CheckNeeded(const LoadedJob& job,
                     const std::function<bool(std::string_view path)>& needed) const;

 private:
  std::shared_ptr<std::set<std::string>> unset_;  // shared with lookup_
  EnvLookup lookup_;
};

// True for a field path inside a `kafka` section (the job's defaults, a
// source's, a sink's or the dead letter's: brokers, topics, properties such
// as SASL credentials): what only a command that connects needs.
bool IsConnectionSetting(std::string_view path);

}  // namespace eddy
