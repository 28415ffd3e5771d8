#pragma once
// The `eddy` subcommands, callable from main and from tests.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace eddy {

struct RunCommandOptions {
  std::string job_file;
  bool once = false;
  // At the end of the run, fire every open window (ExecutorOptions::drain_windows).
  bool drain = false;
  size_t threads = 0;
  int64_t max_batches = 0;
  // Print per-batch progress lines and sample rows.
  bool progress = true;
  // Start from this checkpoint (a chk-... directory).
  std::string from_checkpoint;
  // Prometheus endpoint, HOST:PORT; "off" or "" disables it. When the
  // address was not given explicitly, a port already in use only logs a
  // warning (several jobs on one host); an explicit one must bind.
  std::string metrics_address = "127.0.0.1:9464";
  bool metrics_address_explicit = false;
  // The web UI for this job (docs/ui.md) on HOST:PORT, loopback only; ""
  // for none.
  std::string ui_address;
  // An instance of a scaled-out job: its instances API and health probe
  // (GET /api/v1/instances, /healthz) on HOST:PORT; "" for none.
  std::string api_address;
};

struct BrokerCommandOptions {
  int port = 9092;
  int partitions = 3;
  // "name" or "name:partitions", created at start.
  std::vector<std::string> topics;
  // Write the bootstrap address here once listening (for scripts).
  std::string bootstrap_file;
};

struct DemoCommandOptions {
  std::string jobs_dir;  // holds ad-generator.yaml and ad-pipeline.yaml
  int64_t events = 300000;
  double rate = 20000;
  // Prometheus endpoint, HOST:PORT; "off" or "" disables it. When the
  // address was not given explicitly, a port already in use only logs a
  // warning (several jobs on one host); an explicit one must bind.
  std::string metrics_address = "127.0.0.1:9464";
  bool metrics_address_explicit = false;
};

// Each returns the process exit code; `stop` ends a long-running command
// cleanly after the current batch.
int RunCommand(const RunCommandOptions& options, const std::atomic<bool>& stop);
int ValidateCommand(const std::string& job_file);
// Lists a job's complete checkpoints, newest first.
int CheckpointsCommand(const std::string& job_file);
// `eddy instances`: the instances of a scaled-out job, from its status
// topic (docs/scale-out.md#the-instances-of-a-job); a table, or `json`.
int InstancesCommand(const std::string& job_file, bool json);
int BrokerCommand(const BrokerCommandOptions& options, const std::atomic<bool>& stop);
int DemoCommand(const DemoCommandOptions& options, const std::atomic<bool>& stop);

struct SqlShellOptions {
  // Kafka bootstrap servers for the session's sources and sinks, or
  // "embedded" (an in-process broker).
  std::string brokers = "embedded";
  // Statements to run instead of reading a terminal (`-e`).
  std::vector<std::string> execute;
  // Line history; default ~/.eddy_sql_history.
  std::string history_file;
  // A SELECT ends once it has read what its sources had at its start.
  bool once = false;
};

// `eddy sql`: the interactive SQL shell (runtime/cli/sql_shell.cc). Takes
// over SIGINT: Ctrl-C stops a running query, not the shell.
int SqlShellCommand(const SqlShellOptions& options);

}  // namespace eddy

namespace eddy {

// `eddy model export`: prints learning operator `op`'s model as JSON, from
// the job's state (the live database, or its newest checkpoint while the job
// runs). `key` selects a per-key model (values comma-separated).
int ModelExportCommand(const std::string& job_file, const std::string& op, const std::string& key);

}  // namespace eddy
