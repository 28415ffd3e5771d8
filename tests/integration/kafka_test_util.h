#pragma once
// Helpers for tests that talk to a broker over TCP: produce with a plain
// librdkafka producer, read a whole topic back with a plain consumer, run
// the eddy binary as a separate process.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace eddy::testing {

struct TestRecord {
  int32_t partition = 0;
  std::optional<std::string> key;
  std::string value;
  std::map<std::string, std::string> headers;
  int64_t offset = -1;

  bool operator==(const TestRecord& other) const {
    return partition == other.partition && key == other.key && value == other.value;
  }
};

// Produces `records` to their partitions, in order, and waits for delivery.
void ProduceRecords(const std::string& bootstrap, const std::string& topic,
                    const std::vector<TestRecord>& records);

// Every record of every partition of `topic`, partition by partition, each
// in offset order.
std::vector<TestRecord> ConsumeAll(const std::string& bootstrap, const std::string& topic);

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell, capturing its output.
ProcessResult RunShell(const std::string& command);

// Runs build/eddy with `args`.
ProcessResult RunEddy(const std::string& args);

// Starts build/eddy with `args` in the background, its stdout and stderr
// appended to `log`; returns its pid (for kill and WaitForExit).
int SpawnEddy(const std::vector<std::string>& args, const std::string& log);

// Waits for `pid`; its exit code, or 128 + the signal that ended it.
int WaitForExit(int pid);

// As SpawnEddy, but the job runs with RLIMIT_FSIZE = `max_file_bytes` and
// SIGXFSZ ignored, so a write that would grow any file past the limit fails
// with EFBIG: a disk that fills up, for a process running as root. Its
// output reaches `log` through a pipe (the log itself is not limited). The
// pid returned is a relay that copies the output and exits with the job's
// exit code (WaitForExit works on it; signals sent to it do not reach the job).
int SpawnEddyWithFileSizeLimit(const std::vector<std::string>& args, const std::string& log,
                               int64_t max_file_bytes);

// The exit code as WaitForExit gives it if `pid` has exited, else nullopt
// (and `pid` keeps running).
std::optional<int> ExitedWithin(int pid, int timeout_ms);

// How often `text` occurs in the file at `path` (0 if it does not exist).
int CountInFile(const std::string& path, const std::string& text);

// Polls the file at `path` until `text` occurs `count` times in it; false
// after `timeout_ms` without.
bool WaitForLogCount(const std::string& path, const std::string& text, int count,
                     int timeout_ms = 30000);

// A fresh directory under the system temp directory.
std::string MakeTempDir(const std::string& prefix);

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

}  // namespace eddy::testing
