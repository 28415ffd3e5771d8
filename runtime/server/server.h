#pragma once
// `eddy serve`: a long-lived process that runs many jobs, each isolated in
// its own JobSupervisor, with a JSON REST API under /api/v1/ (docs/server.md,
// docs/openapi.yaml), a durable job registry under the data directory, bearer
// tokens with read and admin roles, and optional TLS.

#include <atomic>
#include <cstddef>
#include <string>

#include "runtime/server/job_supervisor.h"

namespace eddy::server {

struct ServeOptions {
  // Registry, per-job state and the lock file live here.
  std::string data_dir = "eddy-server";
  // HOST:PORT the API listens on; port 0 picks a free one.
  std::string address = "127.0.0.1:8089";
  // Lines of "TOKEN ROLE" (role: read or admin). Required.
  std::string token_file;
  // Both or neither: serve HTTPS with this PEM certificate and key.
  std::string tls_cert;
  std::string tls_key;
  // Prometheus endpoint for every job's series ("off" disables it).
  std::string metrics_address = "127.0.0.1:9464";
  bool metrics_address_explicit = false;
  RestartPolicy restart;
  // Worker threads per job (0: one per hardware thread).
  size_t job_threads = 0;
  // Larger request bodies are refused with 413.
  size_t max_body_bytes = 1 << 20;
  // Socket read and write timeout per request.
  int request_timeout_seconds = 10;
  // Written with the bound HOST:PORT once the API listens (scripts, tests).
  std::string address_file;
};

// Runs until `stop` is set, then stops every job after its current batch
// (each keeps its desired state, so the next start resumes it). Returns the
// process exit code.
int ServeCommand(const ServeOptions& options, const std::atomic<bool>& stop);

}  // namespace eddy::server
