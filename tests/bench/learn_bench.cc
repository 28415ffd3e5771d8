// Learning throughput of every model, three ways, in one run:
//
//  1. model API: Model::Learn over 1,000-row blocks (--block) of generated rows
//     (10 and 100 features), single thread; only the Learn calls are timed;
//  2. job path: a job (generator -> learn -> filter that drops every row ->
//     file sink) with one worker thread, next to the same job
//     without the learner. The learner's own rate inside the job is its rows
//     over the time the job spent in the operator (BatchReport's per-node
//     seconds: feature encoding from batch columns, validation, the model,
//     state writes, the output columns), next to the rate the difference
//     of the two jobs' per-row times gives (noisier: the generator costs
//     most of both);
//  3. end to end through Kafka on the embedded broker: a generator job fills
//     a topic with SEA records (JSON), then a job reads it, runs a
//     prequential operator and writes every prediction to another topic
//     (JSON), next to the same job without the operator (decode + encode
//     passthrough), all worker threads.
//
//   build/tests/bench/learn_bench [--rows N] [--e2e-rows N] [--rounds R] [--block B]
//                                 [--widths 10,100] [--models a,b,...]
//                                 [--skip-job] [--skip-e2e]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/generator/generator_source.h"
#include "connectors/kafka/embedded_broker.h"
#include "operators/models/model.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;
using learn::Model;
using learn::RowMatrix;

constexpr int kInputPartitions = 64;
constexpr int kOutputPartitions = 8;
constexpr const char* kStateRoot = "/tmp/eddy-learn-bench";

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void Die(const Status& status) {
  std::fprintf(stderr, "%s\n", status.ToString().c_str());
  std::exit(1);
}

// What each model learns from: the generator kind and options that give
// `d` features and a label of the right task.
struct ModelCase {
  std::string model;  // the operator's model name
  std::string kind;   // generator kind
  std::function<std::map<std::string, std::string>(int d)> options;
  std::string job_options;  // the operator's `options:` in YAML flow style
  std::function<std::unique_ptr<Model>(int d)> make;
};

std::unique_ptr<Model> Check(Result<std::unique_ptr<Model>> model) {
  if (!model.ok()) Die(model.status());
  return std::move(model).value();
}

std::vector<ModelCase> Cases() {
  const auto regression = [](int d) {
    return std::map<std::string, std::string>{{"features", std::to_string(d)}, {"noise", "0.1"}};
  };
  const auto rbf = [](int d) {
    return std::map<std::string, std::string>{{"features", std::to_string(d)}};
  };
  const auto blobs = [](int d) {
    return std::map<std::string, std::string>{{"features", std::to_string(d)}, {"k", "5"}};
  };
  learn::LinearModelOptions logistic;
  logistic.loss = learn::LinearLoss::kLogistic;
  return {
      {"sgd_regressor", "regression", regression, "{}",
       [](int d) { return Check(learn::MakeLinearModel(d, {})); }},
      {"sgd_classifier", "random_rbf", rbf, "{classes: 2}",
       [logistic](int d) { return Check(learn::MakeLinearModel(d, logistic)); }},
      {"kmeans", "clusters", blobs, "{k: 5}",
       [](int d) {
         learn::KMeansOptions options;
         options.k = 5;
         return Check(learn::MakeStreamingKMeans(d, options));
       }},
      {"hoeffding_tree", "random_rbf", rbf, "{classes: 2}",
       [](int d) { return Check(learn::MakeHoeffdingTreeClassifier(d, {})); }},
      {"hoeffding_adaptive_tree", "random_rbf", rbf, "{classes: 2}",
       [](int d) { return Check(learn::MakeHoeffdingAdaptiveTreeClassifier(d, {})); }},
      {"hoeffding_tree_regressor", "regression", regression, "{}",
       [](int d) { return Check(learn::MakeHoeffdingTreeRegressor(d, {})); }},
      {"adaptive_random_forest", "random_rbf", rbf, "{classes: 2}",
       [](int d) { return Check(learn::MakeAdaptiveRandomForestClassifier(d, {})); }},
      {"mlp_classifier", "random_rbf", rbf, "{classes: 2}",
       [](int d) { return Check(learn::MakeMlp(d, {})); }},
      {"leveraging_bagging", "random_rbf", rbf, "{classes: 2}",
       [](int d) {
         const auto base = Check(learn::MakeHoeffdingTreeClassifier(d, {}));
         return Check(learn::MakeLeveragingBaggingClassifier(*base, {}));
       }},
  };
}

// Records [first, first + rows) of a generator as (x0..x{d-1}, label).
void Generate(Source* source, int64_t first, int64_t rows, int d, RowMatrix* x,
              std::vector<double>* y) {
  std::atomic<bool> cancel{false};
  Batch batch;
  DeadLetters dead;
  Status status = source->Read({0, first, first + rows}, cancel, &batch, &dead);
  if (!status.ok()) Die(status);
  x->resize(rows, d);
  for (int j = 0; j < d; ++j) {
    std::span<const double> column = batch.column(2 + static_cast<size_t>(j)).doubles();
    for (int64_t row = 0; row < rows; ++row) (*x)(row, j) = column[static_cast<size_t>(row)];
  }
  y->resize(static_cast<size_t>(rows));
  const Column& label = batch.column(2 + static_cast<size_t>(d));
  for (int64_t row = 0; row < rows; ++row) {
    (*y)[static_cast<size_t>(row)] =
        label.type() == TypeId::kDouble
            ? label.GetDouble(static_cast<size_t>(row))
            : static_cast<double>(label.GetInt64(static_cast<size_t>(row)));
  }
}

// 1. Rows per second of Model::Learn alone.
double ModelApiRate(const ModelCase& c, int d, int64_t rows, int64_t block) {
  spec::SourceSpec spec;
  spec.set_name("gen");
  spec.mutable_generator()->set_kind(c.kind);
  spec.mutable_generator()->set_seed(1);
  for (const auto& [name, value] : c.options(d)) {
    (*spec.mutable_generator()->mutable_options())[name] = value;
  }
  auto source = MakeGeneratorSource(spec);
  if (!source.ok()) Die(source.status());
  if (Status status = (*source)->Open(); !status.ok()) Die(status);
  std::unique_ptr<Model> model = c.make(d);
  constexpr int64_t kChunk = 100000;
  RowMatrix x;
  std::vector<double> y;
  double seconds = 0;
  for (int64_t first = 0; first < rows; first += kChunk) {
    const int64_t chunk = std::min(kChunk, rows - first);
    Generate(source->get(), first, chunk, d, &x, &y);
    const auto start = Clock::now();
    for (int64_t begin = 0; begin < chunk; begin += block) {
      const int64_t n = std::min(block, chunk - begin);
      Status status =
          model->Learn(x.middleRows(begin, n),
                       std::span<const double>(y.data() + begin, static_cast<size_t>(n)));
      if (!status.ok()) Die(status);
    }
    seconds += Since(start);
  }
  return static_cast<double>(rows) / seconds;
}

ConnectorContext Context(const std::string& bootstrap) {
  ConnectorContext context;
  context.resolve_brokers = [bootstrap](const std::string&, const std::string&, int) {
    return Result<std::string>(bootstrap);
  };
  return context;
}

// Runs a job given as YAML in once mode; returns seconds, sets records_in
// and, when given, the seconds spent in each batch-wide node by name.
double RunJobText(const std::string& yaml, const std::string& bootstrap, size_t threads,
                  int64_t* records_in, std::map<std::string, double>* node_seconds = nullptr) {
  auto job = LoadJobText(yaml, "learn-bench.yaml");
  if (!job.ok()) Die(job.status());
  auto plan = PlanJob(std::move(job).value(), Context(bootstrap));
  if (!plan.ok()) Die(plan.status());
  ExecutorOptions options;
  options.once = true;
  options.threads = threads;
  if (node_seconds != nullptr) {
    options.on_batch = [node_seconds](const BatchReport& report) {
      for (const NodeStats& node : report.nodes) (*node_seconds)[node.name] += node.seconds;
    };
  }
  const auto start = Clock::now();
  auto summary = RunJob(**plan, options);
  const double seconds = Since(start);
  if (!summary.ok()) Die(summary.status());
  *records_in = summary->records_in;
  return seconds;
}

std::string FeatureList(int d) {
  std::string list = "[";
  for (int j = 0; j < d; ++j) list += (j > 0 ? ", x" : "x") + std::to_string(j);
  return list + "]";
}

std::string GeneratorYaml(const ModelCase& c, int d, int64_t rows) {
  std::string options;
  for (const auto& [name, value] : c.options(d)) {
    options += (options.empty() ? "" : ", ") + name + ": " + value;
  }
  return "sources:\n"
         "  - name: gen\n"
         "    generator: { kind: " +
         c.kind + ", count: " + std::to_string(rows) + ", seed: 1, options: {" + options + "} }\n";
}

// 2. The job path: seconds per row with and without the learner.
struct JobRates {
  double with_learner = 0;
  double without = 0;
  double operator_rate = 0;  // rows over the time spent in the learner
};

JobRates JobPathRates(const ModelCase& c, int d, int64_t rows, int run) {
  const std::string state = std::string(kStateRoot) + "/job-" + std::to_string(run);
  // The filter drops every row, so the file stays empty (/dev/null cannot
  // be fsynced, which the file sink does per batch).
  const std::string tail =
      "sinks:\n"
      "  - name: out\n"
      "    file: { path: " +
      state +
      "-out.jsonl }\n"
      "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n";
  const std::string learner = "name: bench-learn\n" + GeneratorYaml(c, d, rows) +
                              "operators:\n"
                              "  - name: fit\n"
                              "    learn:\n"
                              "      model: " +
                              c.model +
                              "\n"
                              "      features: " +
                              FeatureList(d) + "\n" +
                              (c.model == "kmeans" ? "" : "      label: label\n") +
                              "      options: " + c.job_options +
                              "\n"
                              "  - name: none\n"
                              "    filter: model_version < 0\n" +
                              tail + "state: { dir: " + state + "-learn }\n";
  const std::string baseline = "name: bench-base\n" + GeneratorYaml(c, d, rows) +
                               "operators:\n"
                               "  - name: none\n"
                               "    filter: x0 < -1e300\n" +
                               tail + "state: { dir: " + state + "-base }\n";
  JobRates rates;
  int64_t in = 0;
  std::map<std::string, double> node_seconds;
  rates.with_learner = static_cast<double>(rows) / RunJobText(learner, "", 1, &in, &node_seconds);
  if (in != rows) Die(Status::Internal("learn job read " + std::to_string(in) + " rows"));
  rates.operator_rate = static_cast<double>(rows) / node_seconds["fit"];
  rates.without = static_cast<double>(rows) / RunJobText(baseline, "", 1, &in);
  if (in != rows) Die(Status::Internal("baseline job read " + std::to_string(in) + " rows"));
  return rates;
}

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// 3. End to end through Kafka.
void EndToEnd(int64_t rows, int rounds) {
  auto broker = EmbeddedBroker::Start({});
  if (!broker.ok()) Die(broker.status());
  const std::string bootstrap = (*broker)->bootstrap();
  if (Status status = (*broker)->CreateTopic("learn-in", kInputPartitions); !status.ok()) {
    Die(status);
  }
  int64_t filled = 0;
  const double fill_seconds = RunJobText(
      "name: learn-bench-fill\n"
      "sources:\n"
      "  - name: sea\n"
      "    generator: { kind: sea, count: " +
          std::to_string(rows) + ", seed: 1, partitions: " + std::to_string(kInputPartitions) +
          " }\n" +
          "sinks:\n"
          "  - name: out\n"
          "    kafka:\n"
          "      topic: learn-in\n"
          "      properties: { linger.ms: \"500\", batch.size: \"4000000\", "
          "batch.num.messages: \"100000\" }\n"
          "    format: json\n"
          "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
          "state: { dir: " +
          std::string(kStateRoot) + "/fill }\n",
      bootstrap, 0, &filled);
  std::printf("filled learn-in with %lld SEA records (JSON) in %.2fs\n",
              static_cast<long long>(filled), fill_seconds);

  const std::string source =
      "sources:\n"
      "  - name: sea\n"
      "    kafka: { topics: [learn-in] }\n"
      "    format: json\n"
      "    schema:\n"
      "      - { name: id, type: int64 }\n"
      "      - { name: event_time, type: timestamp }\n"
      "      - { name: x0, type: double }\n"
      "      - { name: x1, type: double }\n"
      "      - { name: x2, type: double }\n"
      "      - { name: label, type: int64 }\n";
  const auto prequential = [](const std::string& model, const std::string& options) {
    return "operators:\n"
           "  - name: preq\n"
           "    prequential:\n"
           "      model: " +
           model +
           "\n"
           "      features: [x0, x1, x2]\n"
           "      label: label\n"
           "      options: " +
           options + "\n";
  };
  struct Variant {
    std::string name;
    std::string operators;
  };
  const std::vector<Variant> variants = {
      {"passthrough (json decode+encode)", ""},
      {"prequential sgd_classifier", prequential("sgd_classifier", "{classes: 2}")},
      {"prequential hoeffding_tree", prequential("hoeffding_tree", "{classes: 2}")},
      {"prequential hoeffding_adaptive_tree",
       prequential("hoeffding_adaptive_tree", "{classes: 2}")},
      {"prequential adaptive_random_forest", prequential("adaptive_random_forest", "{classes: 2}")},
      {"prequential mlp_classifier", prequential("mlp_classifier", "{classes: 2}")},
      {"prequential leveraging_bagging", prequential("leveraging_bagging", "{classes: 2}")},
  };
  // Rounds interleave the variants so that a noisy neighbour on the shared
  // machine hits them alike; each figure is the best round.
  std::vector<double> best(variants.size(), 0.0);
  int job_counter = 0;
  for (int round = 0; round < rounds; ++round) {
    for (size_t v = 0; v < variants.size(); ++v) {
      const int n = job_counter++;
      const std::string topic = "learn-out-" + std::to_string(n);
      (*broker)->CreateTopic(topic, kOutputPartitions).IgnoreError();
      const std::string yaml = "name: learn-bench-e2e-" + std::to_string(n) + "\n" + source +
                               variants[v].operators +
                               "sinks:\n"
                               "  - name: out\n"
                               "    kafka: { topic: " +
                               topic +
                               " }\n"
                               "    format: json\n"
                               "trigger: { interval: 1ms, max_records_per_partition: 100000 }\n"
                               "state: { dir: " +
                               std::string(kStateRoot) + "/e2e-" + std::to_string(n) + " }\n";
      int64_t in = 0;
      const double seconds = RunJobText(yaml, bootstrap, 0, &in);
      if (in != filled) {
        Die(Status::Internal(variants[v].name + " read " + std::to_string(in) + " of " +
                             std::to_string(filled)));
      }
      best[v] = std::max(best[v], static_cast<double>(in) / seconds);
    }
  }
  std::printf("\n%-40s %12s %8s\n", "Kafka -> prequential -> Kafka (SEA)", "rows/s", "vs pass");
  for (size_t v = 0; v < variants.size(); ++v) {
    std::printf("%-40s %12.0f %7.0f%%\n", variants[v].name.c_str(), best[v],
                100.0 * best[v] / best[0]);
  }
  std::printf("(best of %d rounds, %lld records, all worker threads)\n", rounds,
              static_cast<long long>(filled));
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) {
  using namespace eddy;
  int64_t rows = 1000000;
  int64_t e2e_rows = -1;
  int rounds = 2;
  int64_t block = 1000;
  std::vector<int> widths = {10, 100};
  std::vector<std::string> models;
  bool skip_job = false, skip_e2e = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--rows" && has_value) {
      rows = std::atoll(argv[++i]);
    } else if (arg == "--e2e-rows" && has_value) {
      e2e_rows = std::atoll(argv[++i]);
    } else if (arg == "--widths" && has_value) {
      widths.clear();
      for (const std::string& w : Split(argv[++i])) widths.push_back(std::atoi(w.c_str()));
    } else if (arg == "--models" && has_value) {
      models = Split(argv[++i]);
    } else if (arg == "--block" && has_value) {
      block = std::clamp<int64_t>(std::atoll(argv[++i]), 1, 100000);
    } else if (arg == "--rounds" && has_value) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--skip-job") {
      skip_job = true;
    } else if (arg == "--skip-e2e") {
      skip_e2e = true;
    } else {
      std::fprintf(stderr,
                   "usage: learn_bench [--rows N] [--e2e-rows N] [--rounds R] [--block B] "
                   "[--widths 10,100] [--models a,b] [--skip-job] [--skip-e2e]\n");
      return 1;
    }
  }
  if (e2e_rows < 0) e2e_rows = rows;
  std::error_code ignored;
  std::filesystem::remove_all(kStateRoot, ignored);

  std::printf("%-26s %4s %14s %14s %14s %14s %14s %6s\n", "model", "d", "API rows/s", "job rows/s",
              "job w/o learn", "by difference", "learner in job", "x API");
  int run = 0;
  for (const ModelCase& c : Cases()) {
    if (!models.empty() && std::find(models.begin(), models.end(), c.model) == models.end()) {
      continue;
    }
    for (int d : widths) {
      const double api = ModelApiRate(c, d, rows, block);
      if (skip_job) {
        std::printf("%-26s %4d %14.0f\n", c.model.c_str(), d, api);
      } else {
        const JobRates job = JobPathRates(c, d, rows, run++);
        // Per-row cost of the learner inside the job: the difference of the
        // two jobs' per-row times.
        const double learn_only = 1.0 / (1.0 / job.with_learner - 1.0 / job.without);
        std::printf("%-26s %4d %14.0f %14.0f %14.0f %14.0f %14.0f %6.2f\n", c.model.c_str(), d, api,
                    job.with_learner, job.without, learn_only, job.operator_rate,
                    job.operator_rate / api);
      }
      std::fflush(stdout);
    }
  }
  std::printf("(%lld rows per figure; single thread; API = Model::Learn over %lld-row blocks)\n",
              static_cast<long long>(rows), static_cast<long long>(block));
  if (!skip_e2e) EndToEnd(e2e_rows, rounds);
  std::filesystem::remove_all(kStateRoot, ignored);
  return 0;
}
