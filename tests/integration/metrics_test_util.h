#pragma once
// Helpers for the tests that run `eddy run` with its metrics endpoint next to
// a real Prometheus server: free ports, child processes, HTTP, the
// Prometheus query API, and pulling metric names out of PromQL.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace eddy::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// A child process with stdout and stderr in a log file; stopped (SIGTERM,
// then SIGKILL after a few seconds) when destroyed.
class ChildProcess {
 public:
  ChildProcess(const std::string& binary, const std::vector<std::string>& args,
               const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool Running();
  // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code
  // (128 + signal when killed), or -1 if it had to be killed.
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(10));
  const std::string& log_path() const { return log_path_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string log_path_;
};

// GET http://127.0.0.1:PORT/PATH (path with its query string); nullopt on
// a connection error or a non-200 answer.
std::optional<std::string> HttpGet(int port, const std::string& path);

// Polls `ready` every 200 ms until it returns true or `timeout` passes.
bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// One element of an instant-vector answer from /api/v1/query.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Runs an instant query against Prometheus on `port`; nullopt when the query
// failed (the error is appended to `error` if given).
std::optional<std::vector<PromSample>> PromQuery(int port, const std::string& query,
                                                 std::string* error = nullptr);

// Metric names an exposition exports: every `# TYPE` family, plus
// NAME_bucket/_sum/_count for histograms and summaries.
std::set<std::string> ExportedNames(const std::string& exposition);

// The series only an instance of a scaled-out job exports
// (docs/scale-out.md): the dashboard test accepts them in queries because
// ScaleOutTest checks that a live instance exports every one.
inline const std::set<std::string> kInstanceSeries = {
    "eddy_instance_partitions", "eddy_instance_partition_moves_total",
    "eddy_instance_rebalances_total", "eddy_instance_restore_seconds_bucket",
    "eddy_instance_restored_bytes_total"};

// Metric names a PromQL expression selects: identifiers that are not
// functions, keywords, label names (in {}, by(), without(), on(),
// ignoring(), group_left/right()), durations, strings or Grafana variables.
std::set<std::string> MetricNamesIn(const std::string& promql);

// The current time as an ISO 8601 UTC timestamp (second precision).
std::string IsoNow();

}  // namespace eddy::testing
