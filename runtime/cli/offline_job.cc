#include "runtime/cli/offline_job.h"

#include "runtime/spec/offline_env.h"
#include "runtime/sql/sql.h"

namespace eddy {

ConnectorContext BrokersAsWritten() {
  ConnectorContext context;
  context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
    return Result<std::string>(brokers);
  };
  return context;
}

Result<LoadedJob> LoadJobOffline(const std::string& job_file,
                                 const std::function<bool(std::string_view path)>& needed) {
  OfflineEnvironment env;
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadAnyJobFile(job_file, env.lookup()));
  EDDY_RETURN_IF_ERROR(env.CheckNeeded(job, needed));
  return job;
}

}  // namespace eddy
