#pragma once
// The CLI side of the server: `eddy submit`, `eddy jobs`, `eddy status`,
// `eddy stop`, `eddy cancel`, `eddy resume`, `eddy savepoint` and
// `eddy delete` call the REST API (docs/server.md) and print a table, or the
// API's JSON with --json.
//
// Exit codes: 0 success; 1 the server refused the request (4xx: bad job
// file, unknown job, conflict, no permission); 2 the server could not be
// reached or failed (5xx).

#include <string>

namespace eddy::server {

struct ClientOptions {
  // http://HOST:PORT or https://HOST:PORT (default from EDDY_SERVER).
  std::string server = "http://127.0.0.1:8089";
  // The bearer token, or a file whose first token is used (EDDY_TOKEN,
  // EDDY_TOKEN_FILE). The token is never accepted as a flag: flags show in
  // `ps`.
  std::string token_file;
  // PEM CA certificate to verify an https server with (else the system's).
  std::string ca_cert;
  bool json = false;
  int timeout_seconds = 30;
};

int SubmitCommand(const ClientOptions& options, const std::string& job_file);
int JobsCommand(const ClientOptions& options);
int StatusCommand(const ClientOptions& options, const std::string& id);
// `wait_seconds` > 0: wait that long for the job to end before answering.
int StopCommand(const ClientOptions& options, const std::string& id, int wait_seconds);
int CancelCommand(const ClientOptions& options, const std::string& id, int wait_seconds);
// `checkpoint`: a chk-... name from `GET .../checkpoints`, or "" for the
// latest state.
int ResumeCommand(const ClientOptions& options, const std::string& id,
                  const std::string& checkpoint);
int SavepointCommand(const ClientOptions& options, const std::string& id);
int DeleteCommand(const ClientOptions& options, const std::string& id);

}  // namespace eddy::server
