// eddy: the command-line entry point. Parses flags and dispatches to the
// commands in runtime/cli/commands.h; everything else lives in the libraries.

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdlib>

#include "runtime/cli/commands.h"
#include "runtime/server/client.h"
#include "runtime/server/server.h"
#include "runtime/spec/job_spec_loader.h"

#ifndef EDDY_JOBS_DIR
#define EDDY_JOBS_DIR "jobs"
#endif

namespace {

std::atomic<bool> g_stop{false};

// First SIGINT/SIGTERM: finish the current batch and exit cleanly. Second:
// leave at once.
void OnSignal(int) {
  if (g_stop.exchange(true)) {
    constexpr char kMessage[] = "\nsecond signal: exiting without finishing the batch\n";
    (void)!::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    std::_Exit(130);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Eddy: a stream processing engine with online learning, on Kafka"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();

  eddy::RunCommandOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a job file");
  run_cmd->add_option("job", run.job_file, "Job definition (YAML, or SQL: *.sql)")
      ->required()
      ->check(CLI::ExistingFile);
  run_cmd->add_flag("--once", run.once,
                    "Process everything available at start, then exit (backfills, tests)");
  run_cmd->add_flag("--drain", run.drain,
                    "When the run ends (--once, or SIGTERM/Ctrl-C), fire every open window "
                    "under a final watermark, as Flink's stop --drain (jobs whose sources are "
                    "all bounded do so when they are exhausted)");
  run_cmd->add_option("--threads", run.threads, "Worker threads (default: one per core)");
  run_cmd->add_option("--max-batches", run.max_batches, "Stop after this many batches");
  run_cmd->add_option("--from-checkpoint", run.from_checkpoint,
                      "Start from this checkpoint directory (see `eddy checkpoints`)");
  run_cmd->add_option("--ui", run.ui_address,
                      "Serve the web UI for this job on HOST:PORT (loopback only, no tokens; "
                      "port 0: any free port)");
  run_cmd->add_option("--api-address", run.api_address,
                      "An instance of a scaled-out job: serve GET /api/v1/instances and /healthz "
                      "on HOST:PORT (read-only, no tokens; 0.0.0.0:PORT for all interfaces)");
  bool quiet = false;
  run_cmd->add_flag("--quiet", quiet, "No per-batch progress lines");
  constexpr char kMetricsHelp[] =
      "Prometheus endpoint HOST:PORT serving /metrics (0.0.0.0:9464 for all interfaces); "
      "off disables it";
  auto* run_metrics = run_cmd->add_option("--metrics-address", run.metrics_address, kMetricsHelp)
                          ->capture_default_str();

  std::string validate_file;
  auto* validate_cmd = app.add_subcommand("validate", "Check a job file and print its DAG");
  validate_cmd->add_option("job", validate_file, "Job definition (YAML, or SQL: *.sql)")
      ->required();

  std::string checkpoints_file;
  auto* checkpoints_cmd =
      app.add_subcommand("checkpoints", "List a job's checkpoints, newest first");
  checkpoints_cmd->add_option("job", checkpoints_file, "Job definition (YAML, or SQL: *.sql)")
      ->required();

  std::string instances_file;
  bool instances_json = false;
  auto* instances_cmd = app.add_subcommand(
      "instances", "Show the instances of a scaled-out job, from its status topic");
  instances_cmd->add_option("job", instances_file, "Job definition (YAML, or SQL: *.sql)")
      ->required()
      ->check(CLI::ExistingFile);
  instances_cmd->add_flag("--json", instances_json, "Print JSON instead of a table");

  eddy::BrokerCommandOptions broker;
  auto* broker_cmd = app.add_subcommand("broker", "Run an embedded Kafka broker on localhost");
  broker_cmd->add_option("--port", broker.port, "Bootstrap port")->capture_default_str();
  broker_cmd
      ->add_option("--partitions", broker.partitions,
                   "Partitions of topics created without a count")
      ->capture_default_str();
  broker_cmd->add_option("--topic", broker.topics, "Topic to create: NAME or NAME:PARTITIONS");
  broker_cmd->add_option("--bootstrap-file", broker.bootstrap_file,
                         "Write the bootstrap address to this file once listening");

  eddy::DemoCommandOptions demo;
  demo.jobs_dir = EDDY_JOBS_DIR;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Generate ad events into an embedded broker and run the ad pipeline on them");
  demo_cmd->add_option("--events", demo.events, "Events to generate")->capture_default_str();
  demo_cmd->add_option("--rate", demo.rate, "Events per second")->capture_default_str();
  demo_cmd->add_option("--jobs-dir", demo.jobs_dir, "Where the demo's job files are")
      ->capture_default_str();
  auto* demo_metrics = demo_cmd->add_option("--metrics-address", demo.metrics_address, kMetricsHelp)
                           ->capture_default_str();

  std::string model_job, model_operator, model_key;
  auto* model_cmd = app.add_subcommand("model", "Inspect the models of learning operators");
  model_cmd->require_subcommand(1);
  auto* model_export_cmd = model_cmd->add_subcommand(
      "export", "Print a learning operator's model as JSON, from the job's state");
  model_export_cmd->add_option("job", model_job, "Job definition (YAML, or SQL: *.sql)")
      ->required()
      ->check(CLI::ExistingFile);
  model_export_cmd->add_option("operator", model_operator, "The learn or prequential operator")
      ->required();
  model_export_cmd->add_option("--key", model_key,
                               "Per-key models: the key (values comma-separated)");

  eddy::SqlShellOptions sql_shell;
  auto* sql_cmd = app.add_subcommand(
      "sql", "Interactive SQL shell: define sources, run live queries (docs/sql.md)");
  sql_cmd->add_option("--brokers", sql_shell.brokers, "Kafka bootstrap servers, or embedded")
      ->envname("KAFKA_BROKERS")
      ->capture_default_str();
  sql_cmd->add_option("-e,--execute", sql_shell.execute,
                      "Run this statement (repeatable) instead of reading the terminal");
  sql_cmd->add_option("--history", sql_shell.history_file,
                      "History file (default ~/.eddy_sql_history)");
  sql_cmd->add_flag("--once", sql_shell.once,
                    "A query ends once it has read what was available at its start");

  // The job server (docs/server.md) and the commands that talk to it.
  eddy::server::ServeOptions serve;
  std::string restart_delay = "1s", restart_max_delay = "60s";
  auto* serve_cmd =
      app.add_subcommand("serve", "Run the job server: a REST API that runs many jobs");
  serve_cmd->add_option("--data-dir", serve.data_dir, "Job registry and every job's state")
      ->capture_default_str();
  serve_cmd->add_option("--address", serve.address, "HOST:PORT of the API (port 0: any free port)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--token-file", serve.token_file,
                   "Lines of 'TOKEN ROLE' (role: read or admin); mode 600")
      ->required();
  serve_cmd->add_option("--tls-cert", serve.tls_cert,
                        "PEM certificate: serve HTTPS (with --tls-key)");
  serve_cmd->add_option("--tls-key", serve.tls_key, "PEM private key of --tls-cert");
  auto* serve_metrics =
      serve_cmd->add_option("--metrics-address", serve.metrics_address, kMetricsHelp)
          ->capture_default_str();
  serve_cmd->add_option("--restart-delay", restart_delay, "First back-off after a job fails")
      ->capture_default_str();
  serve_cmd
      ->add_option("--restart-max-delay", restart_max_delay,
                   "Longest back-off (it doubles per failure)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--restart-attempts", serve.restart.max_attempts,
                   "Failures in a row before a job stays FAILED (0: never give up)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--job-threads", serve.job_threads, "Worker threads per job (0: one per core)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-body-bytes", serve.max_body_bytes, "Larger requests are refused (413)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--request-timeout", serve.request_timeout_seconds,
                   "Seconds to read or write a request before giving up")
      ->capture_default_str();
  serve_cmd->add_option("--address-file", serve.address_file,
                        "Write the bound HOST:PORT here once listening (scripts, tests)");

  eddy::server::ClientOptions client;
  auto add_client_flags = [&client](CLI::App* cmd) {
    cmd->add_option("--server", client.server, "Server URL, http(s)://HOST:PORT")
        ->envname("EDDY_SERVER")
        ->capture_default_str();
    cmd->add_option("--token-file", client.token_file,
                    "File holding the bearer token (or set EDDY_TOKEN)")
        ->envname("EDDY_TOKEN_FILE");
    cmd->add_option("--ca-cert", client.ca_cert, "CA certificate to verify an https server")
        ->envname("EDDY_CA_CERT");
    cmd->add_flag("--json", client.json, "Print the API's JSON instead of a table");
  };
  std::string submit_file, job_id, resume_checkpoint;
  int wait_seconds = 0;
  auto* submit_cmd =
      app.add_subcommand("submit", "Submit a job file to the server (validated first)");
  submit_cmd->add_option("job", submit_file, "Job definition (YAML, or SQL: *.sql)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* jobs_cmd = app.add_subcommand("jobs", "List the server's jobs");
  auto* status_cmd = app.add_subcommand("status", "Show one job on the server");
  auto* stop_cmd =
      app.add_subcommand("stop", "Stop a job after its batch, with a final checkpoint");
  auto* cancel_cmd =
      app.add_subcommand("cancel", "Cancel a job after its batch; not resumed on restart");
  auto* resume_cmd = app.add_subcommand("resume", "Run a stopped, cancelled or failed job again");
  auto* savepoint_cmd =
      app.add_subcommand("savepoint", "Checkpoint a running job at its next batch");
  auto* delete_cmd = app.add_subcommand("delete", "Delete an ended job and its state");
  for (CLI::App* cmd : {submit_cmd, jobs_cmd, status_cmd, stop_cmd, cancel_cmd, resume_cmd,
                        savepoint_cmd, delete_cmd}) {
    add_client_flags(cmd);
  }
  for (CLI::App* cmd : {status_cmd, stop_cmd, cancel_cmd, resume_cmd, savepoint_cmd, delete_cmd}) {
    cmd->add_option("id", job_id, "Job id (its name)")->required();
  }
  for (CLI::App* cmd : {stop_cmd, cancel_cmd}) {
    cmd->add_option("--wait", wait_seconds,
                    "Wait up to this many seconds (max 60) for the job to end");
  }
  resume_cmd->add_option("--checkpoint", resume_checkpoint,
                         "Resume from this checkpoint (chk-... name)");

  CLI11_PARSE(app, argc, argv);

  // One line per event: UTC ISO 8601 time, level, then key=value fields
  // (docs/metrics.md, "Logs").
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(log_level));
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  if (*run_cmd) {
    run.progress = !quiet;
    run.metrics_address_explicit = run_metrics->count() > 0;
    return eddy::RunCommand(run, g_stop);
  }
  if (*validate_cmd) return eddy::ValidateCommand(validate_file);
  if (*sql_cmd) return eddy::SqlShellCommand(sql_shell);
  if (*serve_cmd) {
    for (auto [text, target] : {std::pair{&restart_delay, &serve.restart.initial_delay},
                                std::pair{&restart_max_delay, &serve.restart.max_delay}}) {
      auto micros = eddy::ParseDurationMicros(*text);
      if (!micros.ok()) {
        spdlog::error("{}", micros.status().message());
        return 1;
      }
      *target = std::chrono::milliseconds(*micros / 1000);
    }
    serve.metrics_address_explicit = serve_metrics->count() > 0;
    return eddy::server::ServeCommand(serve, g_stop);
  }
  if (*submit_cmd) return eddy::server::SubmitCommand(client, submit_file);
  if (*jobs_cmd) return eddy::server::JobsCommand(client);
  if (*status_cmd) return eddy::server::StatusCommand(client, job_id);
  if (*stop_cmd) return eddy::server::StopCommand(client, job_id, wait_seconds);
  if (*cancel_cmd) return eddy::server::CancelCommand(client, job_id, wait_seconds);
  if (*resume_cmd) return eddy::server::ResumeCommand(client, job_id, resume_checkpoint);
  if (*savepoint_cmd) return eddy::server::SavepointCommand(client, job_id);
  if (*delete_cmd) return eddy::server::DeleteCommand(client, job_id);
  if (*checkpoints_cmd) return eddy::CheckpointsCommand(checkpoints_file);
  if (*instances_cmd) return eddy::InstancesCommand(instances_file, instances_json);
  if (*model_export_cmd) return eddy::ModelExportCommand(model_job, model_operator, model_key);
  if (*broker_cmd) return eddy::BrokerCommand(broker, g_stop);
  demo.metrics_address_explicit = demo_metrics->count() > 0;
  if (*demo_cmd) return eddy::DemoCommand(demo, g_stop);
  return 1;
}
