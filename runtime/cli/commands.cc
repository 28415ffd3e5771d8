#include "runtime/cli/commands.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "runtime/cli/embedded_brokers.h"
#include "runtime/cli/offline_job.h"
#include "runtime/core/host_port.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/metrics/metrics.h"
#include "runtime/scale/instance_reader.h"
#include "runtime/scale/scaled_job.h"
#include "runtime/server/instance_api.h"
#include "runtime/server/json_writer.h"
#include "runtime/server/local_ui.h"
#include "runtime/sql/sql.h"
#include "state/checkpoint_store.h"

namespace eddy {

Result<std::string> EmbeddedBrokers::Resolve(const std::string& brokers, const std::string& topic,
                                             int partitions) {
  if (brokers != "embedded") return brokers;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!broker_) {
    EDDY_ASSIGN_OR_RETURN(broker_, EmbeddedBroker::Start(options_));
    spdlog::info("embedded Kafka broker listening at {} (in memory; kcat -b {} -L)",
                 broker_->bootstrap(), broker_->bootstrap());
  }
  if (!topic.empty()) EDDY_RETURN_IF_ERROR(broker_->CreateTopic(topic, partitions));
  return broker_->bootstrap();
}

ConnectorContext EmbeddedBrokers::Context() {
  ConnectorContext context;
  context.resolve_brokers = [this](const std::string& brokers, const std::string& topic,
                                   int partitions) { return Resolve(brokers, topic, partitions); };
  return context;
}

namespace {

Result<std::unique_ptr<JobPlan>> LoadAndPlan(const std::string& job_file,
                                             ConnectorContext context) {
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadAnyJobFile(job_file));
  return PlanJob(std::move(job), std::move(context));
}

std::string Rate(double records, double seconds) {
  if (seconds <= 0) return "-";
  const double rate = records / seconds;
  char buf[32];
  if (rate >= 1e6) {
    std::snprintf(buf, sizeof(buf), "%.2fM/s", rate / 1e6);
  } else if (rate >= 1e3) {
    std::snprintf(buf, sizeof(buf), "%.1fk/s", rate / 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.0f/s", rate);
  }
  return buf;
}

// A duration for people: milliseconds below 10 s, then seconds, then hours.
std::string Duration(double seconds) {
  char buf[32];
  if (seconds < 10) {
    std::snprintf(buf, sizeof(buf), "%.0fms", seconds * 1e3);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof(buf), "%.0fs", seconds);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1fh", seconds / 3600);
  }
  return buf;
}

// One key=value line per batch, readable as it scrolls by and parseable
// (logfmt) by log shippers. p50/p99 are the batch's end-to-end latency.
void LogBatch(const std::string& job, const BatchReport& report) {
  std::string latency;
  if (!report.latency_samples.empty()) {
    std::vector<double> samples = report.latency_samples;
    latency =
        " p50=" + Duration(Quantile(samples, 0.5)) + " p99=" + Duration(Quantile(samples, 0.99));
  }
  spdlog::info(
      "job={} batch={} in={} out={} late={} dead={} lag={} rate={} took={} plan={} fetch={} "
      "process={} sink={}{}",
      job, report.batch_id, report.records_in, report.records_out, report.late_records,
      report.dead_letters, report.lag,
      Rate(static_cast<double>(report.records_in), report.total_seconds),
      Duration(report.total_seconds), Duration(report.plan_seconds), Duration(report.fetch_seconds),
      Duration(report.process_seconds), Duration(report.sink_seconds), latency);
  for (const std::string& sample : report.samples) {
    spdlog::info("job={} batch={} sample {}", job, report.batch_id, sample);
  }
}

// The per-batch callback: metrics (if any), then the progress line (if
// wanted). Returns an empty function when there is nothing to do, so the
// executor skips the call.
std::function<void(const BatchReport&)> OnBatch(const JobPlan& plan, MetricsRegistry* metrics,
                                                bool progress) {
  const std::string& job = plan.job.spec.name();
  JobMetrics* job_metrics = metrics != nullptr ? &metrics->ForJob(job) : nullptr;
  if (job_metrics != nullptr) {
    job_metrics->SetTriggerInterval(static_cast<double>(plan.trigger_interval_micros) / 1e6);
  }
  if (job_metrics == nullptr && !progress) return {};
  return [job, job_metrics, progress](const BatchReport& report) {
    if (job_metrics != nullptr) job_metrics->RecordBatch(report);
    if (progress) LogBatch(job, report);
  };
}

// A command that could not start logs why and exits 1 when its arguments
// are at fault (a restart will not help: systemd's RestartPreventExitStatus)
// or 2 when its surroundings are (a port in use, a broker down).
int CouldNotStart(const Status& status) {
  spdlog::error("{}", status.message());
  return status.code() == StatusCode::kInvalidArgument ? 1 : 2;
}

constexpr char kMetricsHint[] =
    "pass --metrics-address HOST:PORT (port 0 picks a free one), or off";

// The metrics endpoint, or null when disabled. An address that was not
// asked for explicitly may be taken (another Eddy on the host): that is a
// warning, not a reason to refuse to run the job.
Result<std::unique_ptr<MetricsRegistry>> OpenMetrics(const std::string& address, bool required) {
  if (MetricsDisabled(address)) return std::unique_ptr<MetricsRegistry>();
  auto metrics = StartMetrics(address);
  if (!metrics.ok()) {
    const Status& status = metrics.status();
    if (required) {
      return status.code() == StatusCode::kInvalidArgument
                 ? status
                 : Status::Unavailable(status.message() + "; " + kMetricsHint);
    }
    spdlog::warn("metrics disabled reason=\"{}\" hint=\"{}\"", status.message(), kMetricsHint);
    return std::unique_ptr<MetricsRegistry>();
  }
  spdlog::info("metrics listening url=http://{}:{}/metrics", address.substr(0, address.rfind(':')),
               (*metrics)->port());
  return metrics;
}

void LogSummary(const std::string& job, const RunSummary& summary) {
  spdlog::info("job={} finished batches={} in={} out={} dead={} seconds={:.1f} rate={}", job,
               summary.batches, summary.records_in, summary.records_out, summary.dead_letters,
               summary.seconds, Rate(static_cast<double>(summary.records_in), summary.seconds));
}

}  // namespace

int ValidateCommand(const std::string& job_file) {
  // Validation connects to nothing: brokers stay as written.
  auto plan = LoadAndPlan(job_file, BrokersAsWritten());
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().message().c_str());
    return 1;
  }
  if (IsScaledOut((*plan)->job.spec)) {
    if (auto settings = CheckScaleSettings((*plan)->job); !settings.ok()) {
      std::fprintf(stderr, "%s\n", settings.status().message().c_str());
      return 1;
    }
  }
  std::printf("%s is valid\n%s", job_file.c_str(), (*plan)->Describe().c_str());
  return 0;
}

int CheckpointsCommand(const std::string& job_file) {
  // The listing needs the job's name and state directory, nothing else.
  auto job = LoadJobOffline(job_file, [](std::string_view path) {
    return path == "name" || path.substr(0, 6) == "state.";
  });
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", job.status().message().c_str());
    return 1;
  }
  const std::string dir = StateDirectory(*job) + "/checkpoints";
  CheckpointStore store(dir, 0);
  auto checkpoints = store.List();
  if (!checkpoints.ok()) {
    std::fprintf(stderr, "%s\n", checkpoints.status().ToString().c_str());
    return 1;
  }
  if (checkpoints->empty()) {
    std::printf("no checkpoints in %s\n", dir.c_str());
    return 0;
  }
  std::printf("%-8s %-24s %12s  %s\n", "BATCH", "CREATED (UTC)", "SIZE", "PATH");
  for (const CheckpointInfo& checkpoint : *checkpoints) {
    const auto& manifest = checkpoint.manifest;
    std::printf("%-8lld %-24s %12llu  %s\n", static_cast<long long>(manifest.batch_id()),
                FormatTimestamp(manifest.created_unix_ms() * 1000).substr(0, 19).c_str(),
                static_cast<unsigned long long>(manifest.size_bytes()), checkpoint.path.c_str());
  }
  return 0;
}

namespace {

// `eddy run --ui`: the web UI for this one job, or null without --ui.
Result<std::unique_ptr<server::LocalUi>> StartUi(const RunCommandOptions& options, JobPlan& plan) {
  if (options.ui_address.empty()) return std::unique_ptr<server::LocalUi>();
  std::ifstream in(options.job_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  server::LocalUiOptions ui_options;
  ui_options.address = options.ui_address;
  ui_options.job_text = std::move(text);
  ui_options.file_name = options.job_file;
  EDDY_ASSIGN_OR_RETURN(auto ui, server::LocalUi::Start(ui_options, plan));
  const std::string host = options.ui_address.substr(0, options.ui_address.rfind(':'));
  spdlog::info("web UI url=http://{}:{}/ui/jobs/{}", host, ui->port(), plan.job.spec.name());
  return ui;
}

}  // namespace

int InstancesCommand(const std::string& job_file, bool json) {
  // The status topic needs the job's name and its leading source's Kafka
  // settings; the variables of an instance (HOSTNAME, STATE_DIR) need not
  // be set where the command runs.
  auto job = LoadJobOffline(job_file, [](std::string_view path) {
    return path == "name" || path.starts_with("kafka.") || path.starts_with("sources[0].kafka.");
  });
  if (!job.ok()) {
    std::fprintf(stderr, "%s\n", job.status().message().c_str());
    return 1;
  }
  if (!IsScaledOut(job->spec)) {
    std::fprintf(stderr,
                 "%s: job '%s' is not scaled out (scale.mode kafka): it runs as one process, "
                 "see `eddy status` for a job on a server\n",
                 job_file.c_str(), job->spec.name().c_str());
    return 1;
  }
  if (auto settings = CheckScaleSettings(*job); !settings.ok()) {
    std::fprintf(stderr, "%s\n", settings.status().message().c_str());
    return 1;
  }
  const std::string topic = InstanceStatusTopic(job->spec.name());
  auto instances = ReadInstances(InstanceStatusClient(*job), topic);
  if (!instances.ok()) {
    std::fprintf(stderr, "%s\n", instances.status().message().c_str());
    return 2;
  }
  if (json) {
    std::printf("%s\n", InstancesToJson(job->spec.name(), topic, *instances).c_str());
    return 0;
  }
  if (instances->empty()) {
    std::printf("no instance of %s has written to %s yet\n", job->spec.name().c_str(),
                topic.c_str());
    return 0;
  }
  std::printf("%-20s %-9s %-32s %9s %9s %10s  %s\n", "INSTANCE", "STATE", "PARTITIONS", "BATCHES",
              "LAG", "LAST SEEN", "ADDRESS");
  for (const InstanceView& view : *instances) {
    std::string partitions = DescribePartitions(view.owned);
    if (!view.stale.empty()) partitions += " (stale: " + DescribePartitions(view.stale) + ")";
    const InstanceStatus& status = view.status;
    const std::string address = !status.api_address.empty()       ? status.api_address
                                : !status.metrics_address.empty() ? status.metrics_address
                                                                  : "-";
    std::printf("%-20s %-9s %-32s %9lld %9lld %10s  %s\n", status.instance.c_str(),
                view.state.c_str(), partitions.c_str(), static_cast<long long>(status.batches),
                static_cast<long long>(status.lag),
                (Duration(static_cast<double>(view.age_ms) / 1e3) + " ago").c_str(),
                address.c_str());
  }
  return 0;
}

namespace {

// HOST:PORT that other machines can use: a wildcard host (0.0.0.0, ::)
// becomes this machine's name.
std::string AdvertisedAddress(const std::string& address, int port) {
  auto parsed = ParseHostPort(address);
  std::string host = parsed.ok() ? parsed->host : "";
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0' ? name : "localhost";
  }
  return host + ":" + std::to_string(port);
}

// This instance's last status record, for /healthz.
class InstanceHealth {
 public:
  void Record(const InstanceStatus& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_ = status;
    recorded_ = std::chrono::steady_clock::now();
    seen_ = true;
  }
  // Healthy while the group member's heartbeats (one per sixth of the
  // session timeout) keep coming and the instance has not stopped: the
  // same rule by which readers call an instance lost.
  std::pair<bool, std::string> Check() const {
    std::lock_guard<std::mutex> lock(mutex_);
    server::JsonWriter json;
    json.BeginObject();
    if (!seen_) {
      json.Key("status").String("starting").EndObject();
      return {false, json.str()};
    }
    const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - recorded_);
    const bool healthy =
        last_.state != "stopped" && silent.count() <= kLostAfterSessions * last_.session_timeout_ms;
    json.Key("status")
        .String(healthy                    ? "ok"
                : last_.state == "stopped" ? "stopped"
                                           : "silent")
        .Key("instance")
        .String(last_.instance)
        .Key("state")
        .String(last_.state)
        .Key("generation")
        .Int(last_.generation)
        .Key("partitions")
        .Raw(PartitionsToJson(last_.partitions))
        .Key("last_heartbeat_ms_ago")
        .Int(silent.count())
        .EndObject();
    return {healthy, json.str()};
  }

 private:
  mutable std::mutex mutex_;
  InstanceStatus last_;
  std::chrono::steady_clock::time_point recorded_;
  bool seen_ = false;
};

// `eddy run` of a job with scale.mode kafka: this process is one instance.
int RunScaledCommand(const LoadedJob& job, const RunCommandOptions& options,
                     const std::atomic<bool>& stop) {
  if (options.once || options.max_batches > 0 || !options.from_checkpoint.empty() ||
      !options.ui_address.empty()) {
    spdlog::error(
        "job={}: --once, --max-batches, --from-checkpoint and --ui are for a single-process "
        "job; an instance of a scaled-out job runs until stopped (--api-address serves its "
        "instances and health)",
        job.spec.name());
    return 1;
  }
  // Plan once without connecting, so a bad job fails here with its position.
  auto plan = PlanJob(job, BrokersAsWritten());
  if (!plan.ok()) {
    spdlog::error("{}", plan.status().message());
    return 1;
  }
  if (auto settings = CheckScaleSettings(job); !settings.ok()) {
    spdlog::error("{}", settings.status().message());
    return 1;
  }
  auto metrics = OpenMetrics(options.metrics_address, options.metrics_address_explicit);
  if (!metrics.ok()) return CouldNotStart(metrics.status());
  JobMetrics* job_metrics = *metrics != nullptr ? &(*metrics)->ForJob(job.spec.name()) : nullptr;
  if (job_metrics != nullptr) {
    job_metrics->SetTriggerInterval(static_cast<double>((*plan)->trigger_interval_micros) / 1e6);
  }
  ScaledRunOptions scaled;
  if (*metrics != nullptr) {
    scaled.metrics_address = AdvertisedAddress(options.metrics_address, (*metrics)->port());
  }
  InstanceHealth health;
  std::unique_ptr<server::InstanceApi> api;
  if (!options.api_address.empty()) {
    const KafkaClientConfig client = InstanceStatusClient(job);
    const std::string topic = InstanceStatusTopic(job.spec.name());
    server::InstanceApiOptions api_options;
    api_options.address = options.api_address;
    api_options.instances = [client, topic, name = job.spec.name()]() -> Result<std::string> {
      EDDY_ASSIGN_OR_RETURN(auto instances, ReadInstances(client, topic));
      return InstancesToJson(name, topic, instances);
    };
    api_options.health = [&health] { return health.Check(); };
    auto started = server::InstanceApi::Start(std::move(api_options));
    if (!started.ok()) return CouldNotStart(started.status());
    api = std::move(started).value();
    scaled.api_address = AdvertisedAddress(options.api_address, api->port());
    const std::string host = options.api_address.substr(0, options.api_address.rfind(':'));
    spdlog::info("instances API url=http://{}:{}/api/v1/instances health=/healthz", host,
                 api->port());
  }
  scaled.on_status = [&health](const InstanceStatus& status) { health.Record(status); };
  std::mutex report_mutex;  // shards report from their own threads
  scaled.stop = &stop;
  scaled.threads_per_shard = options.threads > 0 ? options.threads : 1;
  scaled.on_batch = [&](const std::string& shard, const BatchReport& report) {
    std::lock_guard<std::mutex> lock(report_mutex);
    if (job_metrics != nullptr) job_metrics->RecordBatch(report);
    // job=NAME shard=P batch=...: each shard numbers its own batches.
    if (options.progress) LogBatch(job.spec.name() + " shard=" + shard, report);
  };
  std::set<std::string> owned;
  scaled.on_event = [&](const InstanceEvent& event) {
    std::lock_guard<std::mutex> lock(report_mutex);
    InstanceChange change = InstanceChange::kAssigned;
    switch (event.kind) {
      case InstanceEvent::Kind::kAssigned:
        owned.insert(event.shard);
        break;
      case InstanceEvent::Kind::kRevoked:
        owned.erase(event.shard);
        change = InstanceChange::kRevoked;
        break;
      case InstanceEvent::Kind::kFenced:
        owned.erase(event.shard);
        change = InstanceChange::kFenced;
        break;
      case InstanceEvent::Kind::kRestored:
        change = InstanceChange::kRestored;
        break;
      case InstanceEvent::Kind::kRebalanced:
        change = InstanceChange::kRebalanced;
        break;
    }
    if (job_metrics != nullptr) {
      job_metrics->RecordInstanceChange(change, static_cast<int64_t>(owned.size()), event.seconds,
                                        event.bytes);
    }
  };
  // The instances share a real broker (CheckScaleSettings): no embedded one.
  Status status = RunScaledJob(job, BrokersAsWritten(), scaled);
  if (!status.ok()) {
    spdlog::error("job={} failed error=\"{}\"", job.spec.name(), status.ToString());
    spdlog::shutdown();
    std::_Exit(2);
  }
  spdlog::info("job={} instance stopped", job.spec.name());
  return 0;
}

}  // namespace

int RunCommand(const RunCommandOptions& options, const std::atomic<bool>& stop) {
  auto loaded = LoadAnyJobFile(options.job_file);
  if (!loaded.ok()) {
    spdlog::error("{}", loaded.status().message());
    return 1;
  }
  if (IsScaledOut(loaded->spec)) return RunScaledCommand(*loaded, options, stop);
  if (!options.api_address.empty()) {
    spdlog::error(
        "job={}: --api-address serves the instances of a scaled-out job (scale.mode kafka); "
        "a single-process job has --ui",
        loaded->spec.name());
    return 1;
  }
  EmbeddedBrokers brokers;
  auto plan = PlanJob(std::move(loaded).value(), brokers.Context());
  if (!plan.ok()) {
    spdlog::error("{}", plan.status().message());
    return 1;
  }
  const std::string job = (*plan)->job.spec.name();
  auto metrics = OpenMetrics(options.metrics_address, options.metrics_address_explicit);
  if (!metrics.ok()) return CouldNotStart(metrics.status());
  ExecutorOptions executor;
  executor.once = options.once;
  executor.drain_windows = options.drain;
  executor.stop = &stop;
  executor.threads = options.threads;
  executor.max_batches = options.max_batches;
  executor.from_checkpoint = options.from_checkpoint;
  executor.samples_per_batch = options.progress ? 2 : 0;
  executor.on_batch = OnBatch(**plan, metrics->get(), options.progress);
  auto ui = StartUi(options, **plan);
  if (!ui.ok()) return CouldNotStart(ui.status());
  if (*ui != nullptr) (*ui)->Attach(executor, stop);
  auto summary = RunJob(**plan, executor);
  if (!summary.ok()) {
    spdlog::error("job={} failed error=\"{}\"", job, summary.status().ToString());
    // The job's state is closed; its Kafka clients are not, and closing them
    // may wait for ever when the brokers are gone (a consumer with an
    // offset commit in flight waits for a coordinator). Nothing they hold
    // matters any more: the failed batch is replayed on restart.
    spdlog::shutdown();
    std::_Exit(2);
  }
  LogSummary(job, *summary);
  return 0;
}

int BrokerCommand(const BrokerCommandOptions& options, const std::atomic<bool>& stop) {
  EmbeddedBrokerOptions broker_options;
  broker_options.port = options.port;
  broker_options.default_partitions = options.partitions;
  auto broker = EmbeddedBroker::Start(broker_options);
  if (!broker.ok()) {
    spdlog::error("{}", broker.status().ToString());
    return 1;
  }
  for (const std::string& topic : options.topics) {
    const size_t colon = topic.rfind(':');
    std::string name = topic;
    int partitions = 0;
    if (colon != std::string::npos) {
      name = topic.substr(0, colon);
      try {
        partitions = std::stoi(topic.substr(colon + 1));
      } catch (const std::exception&) {
        spdlog::error("--topic {}: expected NAME or NAME:PARTITIONS", topic);
        return 1;
      }
    }
    if (Status status = (*broker)->CreateTopic(name, partitions); !status.ok()) {
      spdlog::error("{}", status.ToString());
      return 1;
    }
    spdlog::info("created topic {} ({} partitions)", name,
                 partitions > 0 ? partitions : options.partitions);
  }
  spdlog::info("Kafka broker listening at {} (embedded, in memory); Ctrl-C stops it",
               (*broker)->bootstrap());
  if (!options.bootstrap_file.empty()) {
    std::ofstream(options.bootstrap_file) << (*broker)->bootstrap() << "\n";
  }
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("broker stopped");
  return 0;
}

int DemoCommand(const DemoCommandOptions& options, const std::atomic<bool>& stop) {
  EmbeddedBrokers brokers;
  auto generator_job = LoadJobFile(options.jobs_dir + "/ad-generator.yaml");
  if (!generator_job.ok()) {
    spdlog::error("{}", generator_job.status().message());
    return 1;
  }
  // The demo's size and pace come from the command line.
  for (spec::SourceSpec& source : *generator_job->spec.mutable_sources()) {
    if (!source.has_generator()) continue;
    source.mutable_generator()->set_count(options.events);
    source.mutable_generator()->set_rate(options.rate);
  }
  auto generator = PlanJob(std::move(generator_job).value(), brokers.Context());
  if (!generator.ok()) {
    spdlog::error("{}", generator.status().message());
    return 1;
  }
  auto pipeline = LoadAndPlan(options.jobs_dir + "/ad-pipeline.yaml", brokers.Context());
  if (!pipeline.ok()) {
    spdlog::error("{}", pipeline.status().message());
    return 1;
  }
  auto metrics = OpenMetrics(options.metrics_address, options.metrics_address_explicit);
  if (!metrics.ok()) return CouldNotStart(metrics.status());
  spdlog::info("demo: generator job\n{}", (*generator)->Describe());
  spdlog::info("demo: pipeline job\n{}", (*pipeline)->Describe());

  std::atomic<bool> generator_done{false};
  Result<RunSummary> generated = Status::Internal("generator did not run");
  std::thread generator_thread([&] {
    ExecutorOptions executor;
    executor.stop = &stop;
    executor.on_batch = OnBatch(**generator, metrics->get(), /*progress=*/false);
    generated = RunJob(**generator, executor);
    generator_done = true;
  });
  const std::string job = (*pipeline)->job.spec.name();
  ExecutorOptions executor;
  executor.stop = &stop;
  executor.drain = &generator_done;
  executor.samples_per_batch = 2;
  executor.on_batch = OnBatch(**pipeline, metrics->get(), /*progress=*/true);
  auto processed = RunJob(**pipeline, executor);
  generator_thread.join();
  if (!generated.ok()) {
    spdlog::error("job={} failed error=\"{}\"", (*generator)->job.spec.name(),
                  generated.status().ToString());
    return 2;
  }
  if (!processed.ok()) {
    spdlog::error("job={} failed error=\"{}\"", job, processed.status().ToString());
    return 2;
  }
  LogSummary((*generator)->job.spec.name(), *generated);
  LogSummary(job, *processed);
  return 0;
}

}  // namespace eddy
