#pragma once
// Pieces the Kafka benchmarks share: planning and running a job given as
// YAML text against the in-process broker, the raw librdkafka
// consume -> produce loop they are compared with, and the YSB jobs
// (generator fill and the YSB query) that ysb_bench and exactly_once_bench
// both run. Errors end the benchmark (Die): a benchmark that failed has no
// figure to print.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"

namespace eddy::bench {

using Clock = std::chrono::steady_clock;

// Prints "bench: what" to stderr, kills the processes the benchmark
// started (Adopt), and exits with 1.
[[noreturn]] void Die(const std::string& what);
// A child process (a broker, an instance) that Die kills: exit runs no
// destructors, and a child left running holds ports and cores.
void Adopt(pid_t pid);
void Disown(pid_t pid);

// Wall-clock time, microseconds since the epoch (comparable with event time).
int64_t WallMicros();

// Every Kafka connector of a job planned with this context talks to
// `bootstrap`, whatever brokers its YAML names.
ConnectorContext BrokerContext(const std::string& bootstrap);

// Loads and plans `yaml`; dies with the YAML on error.
std::unique_ptr<JobPlan> PlanOrDie(const std::string& yaml, const std::string& bootstrap);

// Runs `plan` with `options`; dies on error.
RunSummary RunOrDie(JobPlan& plan, const ExecutorOptions& options);

// Where the wall time of a RunJob went: opening (sources, state, sink
// recovery: until ExecutorOptions::on_open), the batches (their
// total_seconds), and the rest (the once-mode end offsets asked before the
// first batch, the final checkpoint).
struct RunTimes {
  double open_seconds = 0;
  double batch_seconds = 0;
  double other_seconds = 0;
  int64_t batches = 0;
};

// Plans and runs `yaml` in once mode; returns the wall time of RunJob in
// seconds and sets *records_in (and *times, if given). EDDY_BENCH_VERBOSE=1
// prints every batch.
double RunJobText(const std::string& yaml, const std::string& bootstrap, int64_t* records_in,
                  RunTimes* times = nullptr);

// The baseline: consumes `expected` records from partitions
// [0, input_partitions) of `input` and produces each one's bytes unchanged
// to partition (input partition % output_partitions) of `output`, with the
// client settings the engine uses. Returns seconds.
double RawLoop(const std::string& bootstrap, const std::string& input, int input_partitions,
               const std::string& output, int output_partitions, int64_t expected);

double Best(const std::vector<double>& values);
double Median(std::vector<double> values);
// The q-quantile (0..1) by nearest rank; 0 for none.
double Percentile(std::vector<double> values, double q);

// Bytes of the regular files under `dir` (what `du --apparent-size` says).
uint64_t DirBytes(const std::filesystem::path& dir);
// "1,20,300" -> {1, 20, 300} (command-line lists).
std::vector<int64_t> ParseList(const char* text);

// Removes `dir` and returns it: each job gets fresh state.
std::string FreshDir(const std::string& dir);

// A generator -> Kafka job writing `count` events of generator `kind` to
// `topic` with `partitions` partitions. rate 0: as fast as possible, in
// large producer batches (the mock broker returns one producer batch per
// partition per fetch, shared/KAFKA-NOTES.md, so small batches would bind
// the measured readers); otherwise `rate` events/s, event time from
// `start_time` on, sent at once (linger 5 ms).
struct GeneratorJobOptions {
  std::string name;
  std::string kind = "ysb";
  int64_t count = 0;  // 0: the generator's own size (ysb_campaigns)
  double rate = 0;
  std::string start_time;  // empty: the generator's default
  int partitions = 1;
  std::string topic;
  uint64_t seed = 7;
  std::string state_dir;
};
std::string GeneratorJobYaml(const GeneratorJobOptions& options);

// The YSB query: JSON ysb events from `input` -> filter event_type = 'view'
// -> select ad_id, event_time -> lookup_join ad_id -> campaign_id (table from
// the topic ysb-campaigns) -> tumbling 10 s window per campaign_id,
// count(*) -> JSON to `output`.
struct YsbJobOptions {
  std::string name;
  std::string input;
  std::string output;
  std::string trigger;  // YAML flow map, e.g. "{ interval: 1ms, max_records_per_partition: 4000 }"
  int checkpoint_every = 1;
  std::string state_dir;
  // The Kafka sink's `delivery:` (empty: the default, exactly_once).
  std::string delivery;
  // Also write every projected row (ad_id, event_time, campaign_id) to this
  // topic (empty: no such sink). The window output is ~100 rows per 10 s, too
  // few to show what a sink costs per record.
  std::string rows_output;
};
std::string YsbJobYaml(const YsbJobOptions& options);

}  // namespace eddy::bench
