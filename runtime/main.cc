// eddy: the command-line entry point. Parses flags and dispatches to the
// commands in runtime/commands.h; everything else lives in the libraries.

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <unistd.h>

#include "runtime/commands.h"

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
  run_cmd->add_option("job", run.job_file, "Job definition (YAML)")->required()->check(CLI::ExistingFile);
  run_cmd->add_flag("--once", run.once,
                    "Process everything available at start, then exit (backfills, tests)");
  run_cmd->add_option("--threads", run.threads, "Worker threads (default: one per core)");
  run_cmd->add_option("--max-batches", run.max_batches, "Stop after this many batches");
  run_cmd->add_option("--from-checkpoint", run.from_checkpoint,
                      "Start from this checkpoint directory (see `eddy checkpoints`)");
  bool quiet = false;
  run_cmd->add_flag("--quiet", quiet, "No per-batch progress lines");
  constexpr char kMetricsHelp[] =
      "Prometheus endpoint HOST:PORT serving /metrics (0.0.0.0:9464 for all interfaces); "
      "off disables it";
  auto* run_metrics = run_cmd->add_option("--metrics-address", run.metrics_address, kMetricsHelp)
                          ->capture_default_str();

  std::string validate_file;
  auto* validate_cmd = app.add_subcommand("validate", "Check a job file and print its DAG");
  validate_cmd->add_option("job", validate_file, "Job definition (YAML)")->required();

  std::string checkpoints_file;
  auto* checkpoints_cmd = app.add_subcommand("checkpoints", "List a job's checkpoints, newest first");
  checkpoints_cmd->add_option("job", checkpoints_file, "Job definition (YAML)")->required();

  eddy::BrokerCommandOptions broker;
  auto* broker_cmd = app.add_subcommand("broker", "Run an embedded Kafka broker on localhost");
  broker_cmd->add_option("--port", broker.port, "Bootstrap port")->capture_default_str();
  broker_cmd->add_option("--partitions", broker.partitions,
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
  auto* model_export_cmd =
      model_cmd->add_subcommand("export", "Print a learning operator's model as JSON, from the job's state");
  model_export_cmd->add_option("job", model_job, "Job definition (YAML)")->required()->check(CLI::ExistingFile);
  model_export_cmd->add_option("operator", model_operator, "The learn or prequential operator")->required();
  model_export_cmd->add_option("--key", model_key, "Per-key models: the key (values comma-separated)");

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
  if (*checkpoints_cmd) return eddy::CheckpointsCommand(checkpoints_file);
  if (*model_export_cmd) return eddy::ModelExportCommand(model_job, model_operator, model_key);
  if (*broker_cmd) return eddy::BrokerCommand(broker, g_stop);
  demo.metrics_address_explicit = demo_metrics->count() > 0;
  if (*demo_cmd) return eddy::DemoCommand(demo, g_stop);
  return 1;
}
