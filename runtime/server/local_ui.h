#pragma once
// `eddy run --ui ADDRESS`: the web UI (docs/ui.md) for the one job an
// `eddy run` process runs, on its own HTTP listener. It answers the same
// API paths the pages use on `eddy serve` (one job in the list; its DAG,
// history, operators, checkpoints, dead letters and file; stop, cancel and
// savepoint) from the run's plan and batch reports. There are no tokens —
// it is for local use — so it listens on loopback addresses only.
//
// Lifecycle: Start before RunJob, wire the hooks into ExecutorOptions,
// destroy after RunJob returns (the listener stops with it).
// Thread-safety: the hooks are called from the executor's thread, the
// handlers run on the listener's; a mutex guards what both touch.

#include <atomic>
#include <memory>
#include <string>

#include "runtime/core/status.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"

namespace eddy::server {

struct LocalUiOptions {
  // HOST:PORT; HOST must be a loopback address (127.x.x.x, ::1, localhost).
  // Port 0 picks a free one.
  std::string address;
  // The job file as given, shown on the page.
  std::string job_text;
  std::string file_name;
};

class LocalUi {
 public:
  // Listens at once. Wraps `plan`'s dead-letter sink so the page shows the
  // last dead letters' reasons; `plan` must outlive the LocalUi.
  static Result<std::unique_ptr<LocalUi>> Start(const LocalUiOptions& options, JobPlan& plan);
  virtual ~LocalUi() = default;

  // The bound port.
  virtual int port() const = 0;
  // Points `executor`'s stop, cancel and savepoint flags and its on_batch
  // and on_checkpoint hooks at the UI (chaining an on_batch already set);
  // `external_stop` (the process' signal flag) still stops the job.
  virtual void Attach(ExecutorOptions& executor, const std::atomic<bool>& external_stop) = 0;
  // The run ended: FINISHED, STOPPED, CANCELLED or FAILED with `error`.
  virtual void SetEnded(const std::string& state, const std::string& error) = 0;
};

}  // namespace eddy::server
