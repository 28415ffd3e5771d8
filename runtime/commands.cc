#include "runtime/commands.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/executor.h"
#include "runtime/job_plan.h"

namespace eddy {
namespace {

// Starts the in-process broker the first time a job asks for "embedded",
// and creates the topics jobs name on it.
class EmbeddedBrokers {
 public:
  explicit EmbeddedBrokers(EmbeddedBrokerOptions options = {}) : options_(options) {}

  Result<std::string> Resolve(const std::string& brokers, const std::string& topic, int partitions) {
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

  ConnectorContext Context() {
    ConnectorContext context;
    context.resolve_brokers = [this](const std::string& brokers, const std::string& topic,
                                     int partitions) { return Resolve(brokers, topic, partitions); };
    return context;
  }

 private:
  EmbeddedBrokerOptions options_;
  std::mutex mutex_;
  std::unique_ptr<EmbeddedBroker> broker_;
};

Result<std::unique_ptr<JobPlan>> LoadAndPlan(const std::string& job_file, ConnectorContext context) {
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadJobFile(job_file));
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

void LogBatch(const std::string& job, const BatchReport& report) {
  spdlog::info(
      "job={} batch={} in={} out={} dead={} lag={} speed={} fetch={:.0f}ms process={:.0f}ms "
      "sink={:.0f}ms",
      job, report.batch_id, report.records_in, report.records_out, report.dead_letters, report.lag,
      Rate(static_cast<double>(report.records_in), report.total_seconds), report.fetch_seconds * 1e3,
      report.process_seconds * 1e3, report.sink_seconds * 1e3);
  for (const std::string& sample : report.samples) spdlog::info("job={}   sample {}", job, sample);
}

void LogSummary(const std::string& job, const RunSummary& summary) {
  spdlog::info("job={} finished: {} batches, {} records in, {} out, {} dead letters in {:.1f}s ({})",
               job, summary.batches, summary.records_in, summary.records_out, summary.dead_letters,
               summary.seconds, Rate(static_cast<double>(summary.records_in), summary.seconds));
}

}  // namespace

int ValidateCommand(const std::string& job_file) {
  ConnectorContext context;
  // Validation connects to nothing: brokers stay as written.
  context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
    return Result<std::string>(brokers);
  };
  auto plan = LoadAndPlan(job_file, std::move(context));
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().message().c_str());
    return 1;
  }
  std::printf("%s is valid\n%s", job_file.c_str(), (*plan)->Describe().c_str());
  return 0;
}

int RunCommand(const RunCommandOptions& options, const std::atomic<bool>& stop) {
  EmbeddedBrokers brokers;
  auto plan = LoadAndPlan(options.job_file, brokers.Context());
  if (!plan.ok()) {
    spdlog::error("{}", plan.status().message());
    return 1;
  }
  const std::string job = (*plan)->job.spec.name();
  ExecutorOptions executor;
  executor.once = options.once;
  executor.stop = &stop;
  executor.threads = options.threads;
  executor.max_batches = options.max_batches;
  executor.samples_per_batch = options.progress ? 2 : 0;
  if (options.progress) executor.on_batch = [&](const BatchReport& report) { LogBatch(job, report); };
  auto summary = RunJob(**plan, executor);
  if (!summary.ok()) {
    spdlog::error("job={} failed: {}", job, summary.status().ToString());
    return 2;
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
  spdlog::info("demo: generator job\n{}", (*generator)->Describe());
  spdlog::info("demo: pipeline job\n{}", (*pipeline)->Describe());

  std::atomic<bool> generator_done{false};
  Result<RunSummary> generated = Status::Internal("generator did not run");
  std::thread generator_thread([&] {
    ExecutorOptions executor;
    executor.stop = &stop;
    generated = RunJob(**generator, executor);
    generator_done = true;
  });
  const std::string job = (*pipeline)->job.spec.name();
  ExecutorOptions executor;
  executor.stop = &stop;
  executor.drain = &generator_done;
  executor.samples_per_batch = 2;
  executor.on_batch = [&](const BatchReport& report) { LogBatch(job, report); };
  auto processed = RunJob(**pipeline, executor);
  generator_thread.join();
  if (!generated.ok()) {
    spdlog::error("demo generator failed: {}", generated.status().ToString());
    return 2;
  }
  if (!processed.ok()) {
    spdlog::error("demo pipeline failed: {}", processed.status().ToString());
    return 2;
  }
  LogSummary((*generator)->job.spec.name(), *generated);
  LogSummary(job, *processed);
  return 0;
}

}  // namespace eddy
