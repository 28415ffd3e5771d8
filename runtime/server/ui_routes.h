#pragma once
// The web UI (docs/ui.md) on the server's HTTP(S) listener: the embedded
// pages under /ui/, and the API endpoints that only the pages need beyond
// server.cc's (docs/openapi.yaml): who am I, and each job's history,
// per-operator figures, last dead letters and job file, read from its
// JobMonitor. The pages reach the engine through the API alone, with the
// same tokens (the pages themselves hold no data and need none).
//
// Thread-safety: the handlers run on httplib's worker threads; `find` must
// be safe to call from any of them.

#include <httplib.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "runtime/server/auth.h"
#include "runtime/server/job_monitor.h"
#include "runtime/server/job_record.pb.h"

namespace eddy::server {

// What the UI endpoints read of one job.
struct UiJob {
  JobRecord record;
  std::shared_ptr<const JobMonitor> monitor;
};
using FindUiJob = std::function<std::optional<UiJob>(const std::string& id)>;

// `json` as the answer with `status`, never cached (a newline ends it).
void ReplyJson(httplib::Response& res, int status, const std::string& json);

// Registers GET /, /ui/... and the UI's API endpoints. `auth` null means no
// tokens are configured (local use): every caller is admin and the pages
// ask for no token.
void RegisterUi(httplib::Server& http, const TokenAuth* auth, FindUiJob find);

}  // namespace eddy::server
