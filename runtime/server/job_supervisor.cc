#include "runtime/server/job_supervisor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <thread>

#include "runtime/engine/job_plan.h"
#include "runtime/spec/secrets.h"
#include "runtime/sql/sql.h"
#include "state/checkpoint_store.h"

namespace eddy::server {
namespace {

// `status` with its message replaced.
Status SameCode(const Status& status, std::string message) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(std::move(message));
    case StatusCode::kNotFound:
      return Status::NotFound(std::move(message));
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists(std::move(message));
    case StatusCode::kIOError:
      return Status::IOError(std::move(message));
    case StatusCode::kUnavailable:
      return Status::Unavailable(std::move(message));
    case StatusCode::kCorruption:
      return Status::Corruption(std::move(message));
    case StatusCode::kCancelled:
      return Status::Cancelled(std::move(message));
    case StatusCode::kUnimplemented:
      return Status::Unimplemented(std::move(message));
    case StatusCode::kDataLoss:
      return Status::DataLoss(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<LoadedJob> LoadRecordJob(const JobRecord& record, const std::string& job_dir) {
  EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadAnyJobText(record.job_text(), record.file_name()));
  // The server owns where state lives, so two jobs never share it whatever
  // their files say.
  job.spec.mutable_state()->set_dir((std::filesystem::path(job_dir) / "state").string());
  job.base_dir = job_dir;
  return job;
}

JobSupervisor::JobSupervisor(JobRecord record, SupervisorOptions options)
    : options_(std::move(options)), record_(std::move(record)) {
  snapshot_.state = record_.state().empty() ? kSubmitted : record_.state();
  snapshot_.last_error = record_.last_error();
  // The newest checkpoint on disk, so a restarted server shows it at once.
  CheckpointStore store(
      (std::filesystem::path(options_.job_dir) / "state" / "checkpoints").string(), 0);
  auto latest = store.Latest();
  if (latest.ok() && *latest) {
    snapshot_.last_checkpoint = (*latest)->path;
    snapshot_.last_checkpoint_batch = (*latest)->manifest.batch_id();
    snapshot_.last_checkpoint_unix_ms = (*latest)->manifest.created_unix_ms();
  }
}

JobSupervisor::~JobSupervisor() { Shutdown(); }

void JobSupervisor::JoinThread() {
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void JobSupervisor::Start(const std::string& from_checkpoint) {
  JoinThread();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.set_desired_state(kRunning);
    // Kept in the record until the run has restored it, so a server killed
    // before then starts from the same checkpoint again.
    record_.set_resume_from(
        from_checkpoint.empty() ? "" : std::filesystem::path(from_checkpoint).filename().string());
    snapshot_.consecutive_failures = 0;
  }
  stop_ = false;
  cancel_ = false;
  shutdown_ = false;
  savepoint_ = false;
  active_ = true;
  // Visible at once to whoever asked; the thread persists it.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.state = kRunning;
  }
  thread_ = std::thread([this, from_checkpoint] { Loop(from_checkpoint); });
}

void JobSupervisor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.set_desired_state(kStopped);
  }
  // The state first: once the flag is set the thread may end at any moment
  // and record STOPPED, which must not be overwritten.
  if (active_) {
    SetState(kStopping);
  } else {
    SetState(EndedState(kStopped));
  }
  stop_ = true;
  wake_.notify_all();
}

void JobSupervisor::Cancel() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    record_.set_desired_state(kCancelled);
  }
  if (active_) {
    SetState(kCancelling);
  } else {
    SetState(EndedState(kCancelled));
  }
  cancel_ = true;
  stop_ = true;
  wake_.notify_all();
}

std::string JobSupervisor::EndedState(const std::string& requested) const {
  // An ended job keeps its state (STOPPED, FINISHED, ...), except that a
  // failed one becomes what was asked; either way the new desired state is
  // persisted.
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshot_.state == kFailed ? requested : snapshot_.state;
}

void JobSupervisor::Shutdown() {
  shutdown_ = true;
  stop_ = true;
  wake_.notify_all();
  JoinThread();
}

bool JobSupervisor::RequestSavepoint() {
  if (!active_ || stop_) return false;
  savepoint_ = true;
  return true;
}

bool JobSupervisor::Active() const { return active_; }

JobSnapshot JobSupervisor::Snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  JobSnapshot out = snapshot_;
  out.record = record_;
  out.savepoint_pending = savepoint_;
  out.records_per_second = monitor_->RecordsPerSecond();
  return out;
}

void JobSupervisor::SetState(const std::string& state, const std::string& error) {
  JobRecord copy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.state = state;
    if (!error.empty()) snapshot_.last_error = error;
    record_.set_state(state);
    record_.set_last_error(snapshot_.last_error);
    copy = record_;
  }
  if (options_.persist) options_.persist(copy);
}

std::string JobSupervisor::ResumePathLocked() const {
  if (record_.resume_from().empty()) return "";
  return (std::filesystem::path(options_.job_dir) / "state" / "checkpoints" / record_.resume_from())
      .string();
}

void JobSupervisor::Loop(std::string from_checkpoint) {
  const std::string id = record_.id();
  while (true) {
    SetState(kRunning);
    int64_t batches = 0;
    Status status = RunOnce(from_checkpoint, &batches);
    from_checkpoint.clear();
    if (batches == 0 && !status.ok() && !stop_) {
      // The run may have failed before restoring the checkpoint; a restart
      // restores it again.
      std::lock_guard<std::mutex> lock(mutex_);
      from_checkpoint = ResumePathLocked();
    }
    if (shutdown_) {
      // The server is going down: the job resumes when it comes back, so
      // its stored state says what it was doing, not STOPPED.
      spdlog::info("job={} server shutdown: stopped after the current batch", id);
      if (!status.ok()) SetState(kFailed, status.ToString());
      break;
    }
    std::string desired;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      desired = record_.desired_state();
    }
    if (stop_) {
      const bool cancelled = desired == kCancelled;
      SetState(cancelled ? kCancelled : kStopped, status.ok() ? "" : status.ToString());
      spdlog::info("job={} {}", id, cancelled ? "cancelled" : "stopped with a final checkpoint");
      break;
    }
    if (status.ok()) {
      // Bounded sources (files, generators with a count) end by themselves.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        record_.set_desired_state(kFinished);
      }
      SetState(kFinished);
      spdlog::info("job={} finished: its sources are exhausted", id);
      break;
    }
    int64_t failures = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (batches > 0) snapshot_.consecutive_failures = 0;
      failures = ++snapshot_.consecutive_failures;
    }
    const RestartPolicy& policy = options_.restart;
    if (policy.max_attempts > 0 && failures > policy.max_attempts) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        record_.set_desired_state(kFailed);
      }
      SetState(kFailed, status.ToString());
      spdlog::error("job={} failed {} times in a row; not restarting (resume it when fixed)", id,
                    failures);
      break;
    }
    // Exponential back-off: initial, 2x, 4x ... capped.
    auto delay = policy.initial_delay;
    for (int64_t idx = 1; idx < failures && delay < policy.max_delay; ++idx) delay *= 2;
    delay = std::min(delay, policy.max_delay);
    SetState(kFailed, status.ToString());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      snapshot_.next_restart_unix_ms = UnixMillisNow() + delay.count();
    }
    SetState(kRestarting);
    spdlog::warn("job={} failed; restart {} in {} ms", id, failures, delay.count());
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, delay, [this] { return stop_.load(); });
    snapshot_.next_restart_unix_ms = 0;
    if (stop_) {
      const bool cancelled = record_.desired_state() == kCancelled;
      lock.unlock();
      if (!shutdown_) SetState(cancelled ? kCancelled : kStopped);
      break;
    }
    ++snapshot_.restarts;
  }
  active_ = false;
}

Status JobSupervisor::RunOnce(const std::string& from_checkpoint, int64_t* batches) {
  const std::string id = record_.id();
  std::error_code ec;
  std::filesystem::create_directories(options_.job_dir, ec);
  auto job = LoadRecordJob(record_, options_.job_dir);
  if (!job.ok()) return job.status();
  const std::vector<std::string> secrets = SecretValues(job->spec);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.started_unix_ms = UnixMillisNow();
    snapshot_.batches = 0;
  }
  auto plan = PlanJob(std::move(job).value(), options_.context);
  if (!plan.ok()) return SameCode(plan.status(), Scrub(plan.status().message(), secrets));
  JobPlan& planned = **plan;
  // The connectors hold their own copies of the settings by now; what stays
  // in the plan is what checkpoints store and the API shows.
  RedactSpec(&planned.job.spec);
  // The UI shows the last dead letters' reasons (not their data).
  planned.dead_letter = MonitorDeadLetters(std::move(planned.dead_letter), monitor_);
  monitor_->RecordRunStart();

  JobMetrics* metrics = options_.metrics != nullptr ? &options_.metrics->ForJob(id) : nullptr;
  if (metrics != nullptr) {
    metrics->SetTriggerInterval(static_cast<double>(planned.trigger_interval_micros) / 1e6);
  }
  ExecutorOptions executor;
  executor.stop = &stop_;
  executor.cancel = &cancel_;
  executor.threads = options_.threads;
  executor.from_checkpoint = from_checkpoint;
  executor.checkpoint_requested = &savepoint_;
  executor.on_batch = [this, metrics, batches](const BatchReport& report) {
    if (metrics != nullptr) metrics->RecordBatch(report);
    monitor_->RecordBatch(report, UnixMillisNow());
    std::optional<JobRecord> restored;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!record_.resume_from().empty()) {
        // A batch after the checkpoint is committed: the live state is
        // where to resume from now.
        record_.clear_resume_from();
        restored = record_;
      }
    }
    if (restored && options_.persist) options_.persist(*restored);
    std::lock_guard<std::mutex> lock(mutex_);
    ++*batches;
    ++snapshot_.batches;
    snapshot_.records_in += report.records_in;
    snapshot_.records_out += report.records_out;
    snapshot_.dead_letters += report.dead_letters;
    snapshot_.last_batch = report;
    snapshot_.last_batch->samples.clear();  // data values stay out of the API
    snapshot_.last_batch->latency_samples.clear();
    snapshot_.last_batch_unix_ms = UnixMillisNow();
  };
  executor.on_checkpoint = [this](const std::string& path, int64_t batch_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_.last_checkpoint = path;
    snapshot_.last_checkpoint_batch = batch_id;
    snapshot_.last_checkpoint_unix_ms = UnixMillisNow();
  };
  spdlog::info("job={} starting{}{}", id, from_checkpoint.empty() ? "" : " from checkpoint ",
               from_checkpoint);
  Status status;
  try {
    auto summary = RunJob(planned, executor);
    status = summary.status();
  } catch (const std::exception& e) {
    status = Status::Internal(std::string("uncaught exception: ") + e.what());
  } catch (...) {
    status = Status::Internal("uncaught exception of an unknown type");
  }
  if (!status.ok()) {
    status = SameCode(status, Scrub(status.message(), secrets));
    spdlog::error("job={} failed error=\"{}\"", id, status.ToString());
    // The failed run's Kafka clients may take for ever to close when the
    // brokers are gone (a consumer waits for its group coordinator); the
    // job's state is already closed and its failed batch will be replayed,
    // so they are closed off this thread and the restart does not wait.
    std::thread([doomed = std::move(plan).value()]() mutable { doomed.reset(); }).detach();
  }
  return status;
}

}  // namespace eddy::server
