// Fashion-MNIST through Kafka, end to end: the example jobs of jobs/ as
// they are written, on the in-process embedded broker over TCP.
//
//   1. jobs/fashion-mnist-producer.yaml writes the images (PNG in protobuf
//      records) into the 16-partition fashion-mnist topic;
//   2. each consumer job (fashion-mnist-hog-mlp, -hog-forest, -pixels-sgd)
//      reads the whole topic in once mode, fresh state each: decode, feature
//      extraction, prequential learning; its metrics sink goes to a file;
//   3. a reference run of the HOG job with the learner replaced by a filter
//      that drops every row: what decoding and HOG alone cost.
// Prints, per job, images/s (images / wall time of RunJob, opening
// included) and the one-pass prequential accuracy from the last metrics row.
//
//   build/tests/bench/image_bench [--images 70000] [--jobs hog-mlp,hog-forest,pixels-sgd]
// Run from the repository root (it reads jobs/).

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/sql/sql.h"
#include "tests/bench/bench_util.h"

namespace eddy::bench {
namespace {

struct Figures {
  double seconds = 0;
  int64_t images = 0;
  int64_t batches = 0;
  std::string last_metrics;  // the metrics sink's last row (JSON)
};

class ImageBench {
 public:
  ImageBench(EmbeddedBroker* broker, int64_t images, std::string dir)
      : broker_(broker), images_(images), dir_(std::move(dir)) {}

  // Runs jobs/`name`.yaml once; `change` edits its spec first.
  Figures Run(const std::string& name, const std::function<void(spec::JobSpec*)>& change) {
    const std::map<std::string, std::string> vars = {{"IMAGES", std::to_string(images_)},
                                                     {"KAFKA_BROKERS", "embedded"}};
    EnvLookup env = [vars](std::string_view var) -> std::optional<std::string> {
      auto it = vars.find(std::string(var));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    auto job = LoadAnyJobFile("jobs/" + name + ".yaml", env);
    if (!job.ok()) Die(job.status().ToString() + " (run from the repository root)");
    job->spec.mutable_state()->set_dir(FreshDir(dir_ + "/state-" + name));
    const std::string metrics = dir_ + "/" + name + ".metrics.jsonl";
    std::filesystem::remove(metrics);
    for (spec::SinkSpec& sink : *job->spec.mutable_sinks()) {
      if (!sink.has_stdout()) continue;
      sink.clear_kind();
      sink.mutable_file()->set_path(metrics);
    }
    if (change) change(&job->spec);
    ConnectorContext context;
    EmbeddedBroker* broker = broker_;
    context.resolve_brokers = [broker](const std::string& brokers, const std::string& topic,
                                       int partitions) -> Result<std::string> {
      if (brokers != "embedded") return brokers;
      if (!topic.empty()) EDDY_RETURN_IF_ERROR(broker->CreateTopic(topic, partitions));
      return broker->bootstrap();
    };
    auto plan = PlanJob(std::move(job).value(), context);
    if (!plan.ok()) Die(plan.status().ToString());
    ExecutorOptions options;
    options.once = true;
    Figures figures;
    options.on_batch = [&figures](const BatchReport&) { ++figures.batches; };
    const auto start = Clock::now();
    RunSummary summary = RunOrDie(**plan, options);
    figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    figures.images = summary.records_in;
    std::ifstream in(metrics);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) figures.last_metrics = line;
    }
    return figures;
  }

 private:
  EmbeddedBroker* broker_;
  int64_t images_;
  std::string dir_;
};

double Figure(const std::string& json, const char* name) {
  if (json.empty()) return 0;
  simdjson::dom::parser parser;
  simdjson::dom::element row;
  if (parser.parse(json).get(row) != simdjson::SUCCESS) return 0;
  double value = 0;
  if (row[name].get(value) != simdjson::SUCCESS) return 0;
  return value;
}

int Main(int argc, char** argv) {
  int64_t images = 70'000;
  std::vector<std::string> jobs = {"hog-mlp", "hog-forest", "pixels-sgd"};
  for (int idx = 1; idx < argc; ++idx) {
    const std::string arg = argv[idx];
    if (arg == "--images" && idx + 1 < argc) {
      images = std::stoll(argv[++idx]);
    } else if (arg == "--jobs" && idx + 1 < argc) {
      jobs.clear();
      std::stringstream list(argv[++idx]);
      for (std::string name; std::getline(list, name, ',');) jobs.push_back(name);
    } else {
      Die("usage: image_bench [--images N] [--jobs hog-mlp,hog-forest,pixels-sgd,hog-only]");
    }
  }
  spdlog::set_level(spdlog::level::warn);
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) Die(broker.status().ToString());
  const std::string dir = FreshDir(std::filesystem::temp_directory_path() / "eddy-image-bench");
  ImageBench bench(broker->get(), images, dir);

  const Figures produced = bench.Run("fashion-mnist-producer", {});
  std::printf("producer: %lld images into Kafka in %.2f s (%.0f images/s)\n",
              static_cast<long long>(produced.images), produced.seconds,
              produced.images / produced.seconds);
  std::printf(
      "\n| job | images | batches | seconds | images/s | prequential accuracy | last "
      "1,000 |\n|---|---|---|---|---|---|---|\n");
  for (const std::string& job : jobs) {
    Figures figures;
    if (job == "hog-only") {
      // The HOG job without its learner: a filter that keeps no row.
      figures = bench.Run("fashion-mnist-hog-mlp", [](spec::JobSpec* spec) {
        spec::OperatorSpec* learner = spec->mutable_operators(1);
        learner->clear_kind();
        learner->set_filter("index < 0");
        learner->set_name("drop");
        spec->mutable_sinks(0)->set_input("drop");
      });
    } else {
      figures = bench.Run("fashion-mnist-" + job, {});
    }
    std::printf("| %s | %lld | %lld | %.2f | %.0f | %.4f | %.3f |\n", job.c_str(),
                static_cast<long long>(figures.images), static_cast<long long>(figures.batches),
                figures.seconds, figures.images / figures.seconds,
                Figure(figures.last_metrics, "accuracy"),
                Figure(figures.last_metrics, "window_accuracy"));
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace eddy::bench

int main(int argc, char** argv) { return eddy::bench::Main(argc, argv); }
