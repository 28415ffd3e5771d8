#pragma once
// One submitted job's life in the server: a thread that plans and runs the
// job with the micro-batch executor, catches whatever ends a run (a Status,
// or an exception from a bug), and restarts it with exponential back-off.
// Each job has its own plan, connectors, thread pool and state directory,
// so a job that fails touches no other.
//
// States (docs/server.md): SUBMITTED -> RUNNING -> (STOPPING -> STOPPED |
// CANCELLING -> CANCELLED | FAILED -> RESTARTING -> RUNNING ... | FINISHED).
// FAILED is also final once the restart attempts are used up.
//   stop:   finish the current batch, write a final checkpoint (a savepoint
//           to resume from), end.
//   cancel: finish the current batch and end; the run is not kept as a
//           savepoint and the job is not resumed on server restart.
//
// Thread-safety: every public method may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector_factory.h"
#include "runtime/engine/executor.h"
#include "runtime/metrics/metrics.h"
#include "runtime/server/job_monitor.h"
#include "runtime/server/job_record.pb.h"

namespace eddy::server {

struct RestartPolicy {
  std::chrono::milliseconds initial_delay{1000};
  std::chrono::milliseconds max_delay{60000};
  // Consecutive failed runs before the job stays FAILED; 0 = never give up.
  // A run that completed a batch resets the count.
  int max_attempts = 10;
};

struct SupervisorOptions {
  RestartPolicy restart;
  // Broker resolution ("embedded") shared by the server's jobs.
  ConnectorContext context;
  // Feeds the job's series; may be null.
  MetricsRegistry* metrics = nullptr;
  // The job's own directory; its state goes to <job_dir>/state.
  std::string job_dir;
  size_t threads = 0;
  // Called (from the job's thread) whenever the record's desired or observed
  // state changes, to persist it.
  std::function<void(const JobRecord&)> persist;
};

// What GET /api/v1/jobs/{id} shows. Secrets never reach it: the error text
// is scrubbed of the job's secret values.
struct JobSnapshot {
  JobRecord record;
  std::string state;
  std::string last_error;
  int64_t restarts = 0;  // runs started after a failure, since submit or server start
  int64_t consecutive_failures = 0;
  int64_t next_restart_unix_ms = 0;  // while RESTARTING
  int64_t started_unix_ms = 0;       // of the current run
  int64_t batches = 0;               // in the current run
  std::optional<BatchReport> last_batch;
  int64_t last_batch_unix_ms = 0;
  std::string last_checkpoint;  // chk-... directory
  int64_t last_checkpoint_batch = -1;
  int64_t last_checkpoint_unix_ms = 0;
  int64_t records_in = 0;  // since server start
  int64_t records_out = 0;
  int64_t dead_letters = 0;
  bool savepoint_pending = false;
  double records_per_second = 0;  // over the monitor's rate window
};

class JobSupervisor {
 public:
  JobSupervisor(JobRecord record, SupervisorOptions options);
  ~JobSupervisor();
  JobSupervisor(const JobSupervisor&) = delete;
  JobSupervisor& operator=(const JobSupervisor&) = delete;

  // Runs the job (desired state RUNNING), from `from_checkpoint` (a chk-...
  // path) if given, else from its latest state. REQUIRES: !Active().
  void Start(const std::string& from_checkpoint = "");
  // Ends the run after the current batch with a final checkpoint; desired
  // state STOPPED.
  void Stop();
  // Ends the run after the current batch; desired state CANCELLED.
  void Cancel();
  // Server shutdown: like Stop, but the desired state stays as it is, so
  // the job resumes when the server starts again. Waits for the thread.
  void Shutdown();
  // Asks for a checkpoint at the next batch boundary. False when not running.
  bool RequestSavepoint();
  // A thread is running (or waiting to restart) the job.
  bool Active() const;
  JobSnapshot Snapshot() const;
  // The job's recent history for the UI; lives as long as the supervisor,
  // or longer for a request that still holds it.
  std::shared_ptr<const JobMonitor> monitor() const { return monitor_; }

 private:
  void Loop(std::string from_checkpoint);
  // One run: plan, then RunJob. Returns the run's outcome and how many
  // batches it completed.
  Status RunOnce(const std::string& from_checkpoint, int64_t* batches);
  void SetState(const std::string& state, const std::string& error = "");
  // The state an ended job shows after a stop or cancel request.
  std::string EndedState(const std::string& requested) const;
  void JoinThread();
  // The chk-... path the record asks to resume from, or "". REQUIRES: mutex_.
  std::string ResumePathLocked() const;

  const SupervisorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  JobRecord record_;
  JobSnapshot snapshot_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cancel_{false};  // with stop_: no final checkpoint
  std::atomic<bool> shutdown_{false};
  std::atomic<bool> savepoint_{false};
  std::atomic<bool> active_{false};
  const std::shared_ptr<JobMonitor> monitor_ = std::make_shared<JobMonitor>();
  std::thread thread_;
};

// "SUBMITTED", "RUNNING", ... as stored and shown.
inline constexpr char kSubmitted[] = "SUBMITTED";
inline constexpr char kRunning[] = "RUNNING";
inline constexpr char kStopping[] = "STOPPING";
inline constexpr char kStopped[] = "STOPPED";
inline constexpr char kCancelling[] = "CANCELLING";
inline constexpr char kCancelled[] = "CANCELLED";
inline constexpr char kFailed[] = "FAILED";
inline constexpr char kRestarting[] = "RESTARTING";
inline constexpr char kFinished[] = "FINISHED";

// Loads `record`'s job file as the server runs it: state under
// `job_dir`/state, relative paths against `job_dir`. Errors are the loader's
// FILE:LINE:COL messages.
Result<LoadedJob> LoadRecordJob(const JobRecord& record, const std::string& job_dir);

int64_t UnixMillisNow();

}  // namespace eddy::server
