#include "runtime/engine/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "runtime/core/thread_pool.h"
#include "runtime/engine/batch_planner.h"
#include "runtime/engine/checkpointer.h"
#include "runtime/engine/clock.h"
#include "runtime/engine/job_state.h"
#include "runtime/engine/progress.h"
#include "runtime/engine/sink_writer.h"
#include "runtime/engine/source_positions.h"
#include "runtime/engine/stateful_stage.h"
#include "runtime/engine/task_runner.h"
#include "runtime/spec/secrets.h"

namespace eddy {
namespace {

// How long a job with trigger.interval 0 waits before looking for input
// again when a look found none (Spark's spark.streaming.pollingDelay).
constexpr int64_t kIdlePollMicros = 10'000;

// The micro-batch driver: runs the steps of executor.h batch after batch on
// the calling thread; tasks run on the pool.
class Driver {
 public:
  Driver(JobPlan& plan, const ExecutorOptions& options)
      : plan_(plan),
        options_(options),
        pool_(options.threads),
        stored_spec_(plan.job.spec),
        positions_(plan),
        state_(plan),
        planner_(plan, positions_, SourceNodes(plan)),
        sinks_(plan, options.samples_per_batch),
        checkpointer_(plan, state_, planner_, options.on_checkpoint) {
    // Checkpoints and the progress record keep the job spec; never its
    // passwords (the connectors already hold what they need).
    RedactSpec(&stored_spec_);
  }

  Result<RunSummary> Run();

 private:
  static std::vector<size_t> SourceNodes(const JobPlan& plan) {
    std::vector<size_t> source_node(plan.sources.size(), 0);
    for (size_t idx = 0; idx < plan.nodes.size(); ++idx) {
      const PlanNode& node = plan.nodes[idx];
      if (node.dag.kind == DagNode::Kind::kSource) source_node[node.dag.index] = idx;
    }
    return source_node;
  }

  bool StopRequested() const { return options_.stop != nullptr && options_.stop->load(); }
  bool CheckpointRequested() const {
    return options_.checkpoint_requested != nullptr && options_.checkpoint_requested->load();
  }
  bool DrainRequested() const { return options_.drain != nullptr && options_.drain->load(); }
  // Windows are what the final watermark fires; a job without any has no
  // end-of-input batch to run.
  bool HasWindows() const {
    return std::any_of(plan_.nodes.begin(), plan_.nodes.end(), [](const PlanNode& node) {
      return node.stateful != nullptr && node.stateful->kind() == "window";
    });
  }

  bool ForwardsWatermarks() const {
    return std::any_of(plan_.sinks.begin(), plan_.sinks.end(),
                       [](const auto& sink) { return sink->forwards_watermarks(); });
  }

  void SleepUntil(Clock::time_point when) {
    while (!StopRequested() && !CheckpointRequested() && Clock::now() < when) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(when - Clock::now(), std::chrono::milliseconds(50)));
    }
  }

  Status Open();
  Status AnchorShardState();
  Result<std::vector<Offsets>> LatestOffsets();
  bool AllSourcesFinished(const std::vector<Offsets>& latest) const;
  Result<int64_t> RunPlanned(PlannedTasks& planned, const std::vector<Offsets>& latest,
                             Clock::time_point batch_start, RunSummary* summary);
  Status RunBatch(std::vector<Task>& tasks, bool end_of_input, BatchReport* report);
  Status ReadAndWriteTasks(std::vector<Task>& tasks, BatchId batch_id, DeadLetters* dead_letters,
                           BatchReport* report);
  void SumNodeStats(const std::vector<Task>& tasks, BatchReport* report) const;
  Status CommitBatch(const std::vector<Task>& tasks, StateWriteBatch writes, BatchReport* report);
  void AddPositions(const std::vector<Offsets>& latest, BatchReport* report) const;
  void AddLostRecords(BatchReport* report);
  void SayWhenNoRowIsLate(const std::vector<Task>& tasks, const Watermarks& watermarks,
                          int64_t batch_id);
  Status ForwardWatermarks(const Watermarks& before, BatchId batch_id);
  bool NodeIdle(const PlanNode& node) const;
  void LogStartOffsets(size_t source, const Offsets& initial) const;
  state::CheckpointManifest Progress() const;
  void WriteCheckpoint(BatchReport* report);
  Status WriteDeferredState();

  JobPlan& plan_;
  const ExecutorOptions& options_;
  ThreadPool pool_;
  spec::JobSpec stored_spec_;  // the spec with secrets redacted
  SourcePositions positions_;
  JobState state_;
  BatchPlanner planner_;
  SinkWriter sinks_;
  Checkpointer checkpointer_;
  std::vector<NodeStats> stage_stats_;  // the batch-wide stage's, per plan node
  // Once mode: what was available when the first batch was planned.
  std::optional<std::vector<Offsets>> once_targets_;
  int64_t last_batch_id_ = 0;
  // The last committed batch was the end of input (progress.input_ended).
  bool input_ended_ = false;
  bool said_no_row_is_late_ = false;
  // Operators that keep state in memory between checkpoints
  // (StatefulOperator::DefersState), and the last batch whose deferred
  // state the live state holds.
  bool has_deferred_state_ = false;
  int64_t deferred_state_batch_ = 0;
  std::vector<int64_t> lost_reported_;  // per source: LostRecords() counted so far
  // Per sink (spec index): whether the last watermark it forwarded said
  // idle, and whether it forwarded one since the job opened.
  std::vector<uint8_t> forwarded_idle_;
  std::vector<uint8_t> forwarded_since_open_;
};

Result<RunSummary> Driver::Run() {
  EDDY_RETURN_IF_ERROR(Open());
  if (options_.on_open) {
    const auto& restored = state_.restored_from();
    options_.on_open(restored ? static_cast<int64_t>(restored->manifest.size_bytes()) : 0);
  }
  const auto started = Clock::now();
  RunSummary summary;
  // Whether the run ends its input: bounded sources exhausted, or --drain.
  bool end_input = false;
  while (!StopRequested()) {
    if (options_.max_batches > 0 && summary.batches >= options_.max_batches) break;
    if (options_.checkpoint_requested != nullptr &&
        options_.checkpoint_requested->exchange(false) && last_batch_id_ > 0) {
      BatchReport savepoint;
      WriteCheckpoint(&savepoint);
    }
    const auto batch_start = Clock::now();
    EDDY_ASSIGN_OR_RETURN(auto latest, LatestOffsets());
    // Step 1: plan the batch, or take it from the offsets log.
    EDDY_ASSIGN_OR_RETURN(PlannedTasks planned, planner_.Next(last_batch_id_, latest));
    // A batch without records still runs when the log has it, or when it
    // tells the readers of forwarded watermarks that a partition went idle.
    const bool turns_idle =
        planned.tasks.empty() && ForwardsWatermarks() && positions_.WouldTurnIdle(Clock::now());
    if (planned.tasks.empty() && !planned.end_of_input && !planned.from_log && !turns_idle) {
      const bool finished = AllSourcesFinished(latest);
      if (options_.once || finished || DrainRequested()) {
        end_input = finished || options_.drain_windows;
        break;
      }
      // Nothing to read: look again after an interval. An interval of 0 ("as
      // fast as possible", Spark's processingTime(0)) still waits a little,
      // as Spark's pollingDelay does, rather than spin on the sources.
      SleepUntil(batch_start + std::chrono::microseconds(
                                   std::max(plan_.trigger_interval_micros, kIdlePollMicros)));
      continue;
    }
    EDDY_ASSIGN_OR_RETURN(const int64_t lag, RunPlanned(planned, latest, batch_start, &summary));
    // Processing-time trigger: the next batch starts one interval after
    // this one started, or at once when this one overran.
    if (lag == 0)
      SleepUntil(batch_start + std::chrono::microseconds(plan_.trigger_interval_micros));
  }
  const bool cancelled = options_.cancel != nullptr && options_.cancel->load();
  if (cancelled) {
    // A cancel writes no checkpoint, but the live state still gets what is
    // kept in memory: it holds every committed batch, as it says.
    if (Status written = WriteDeferredState(); !written.ok()) {
      spdlog::warn("job={} deferred state not written: {}", plan_.job.spec.name(),
                   written.ToString());
    }
  }
  if (StopRequested() && !cancelled) end_input = end_input || options_.drain_windows;
  if (end_input && !input_ended_ && HasWindows()) {
    // The final watermark: one batch without records that fires every
    // window still open, logged like any batch so a crash replays it.
    const auto batch_start = Clock::now();
    EDDY_ASSIGN_OR_RETURN(auto latest, LatestOffsets());
    PlannedTasks final_batch;
    final_batch.end_of_input = true;
    EDDY_RETURN_IF_ERROR(RunPlanned(final_batch, latest, batch_start, &summary).status());
  }
  // A clean stop leaves a checkpoint of where the job stands (not a
  // cancel: the live state still holds every committed batch).
  if (checkpointer_.batches_since_checkpoint() > 0 && !cancelled) {
    BatchReport final_checkpoint;
    WriteCheckpoint(&final_checkpoint);
    if (!final_checkpoint.checkpoint_error.empty()) {
      spdlog::warn("job={} final checkpoint failed: {}", plan_.job.spec.name(),
                   final_checkpoint.checkpoint_error);
    }
  }
  summary.seconds = SecondsSince(started);
  return summary;
}

// Runs one planned batch (steps 2-7) and reports it; returns its lag.
Result<int64_t> Driver::RunPlanned(PlannedTasks& planned, const std::vector<Offsets>& latest,
                                   Clock::time_point batch_start, RunSummary* summary) {
  std::vector<Task>& tasks = planned.tasks;
  BatchReport report;
  report.batch_id = ++last_batch_id_;
  if (!planned.from_log) {
    // Step 2: log it, with the partitions that sit out of the watermark.
    positions_.DecideIdlePartitions(tasks, Clock::now());
    EDDY_RETURN_IF_ERROR(
        planner_.Log(tasks, report.batch_id, sinks_.Positions(), planned.end_of_input));
  }
  if (planned.end_of_input) {
    spdlog::info("job={} batch={} end of input: every open window fires (final watermark)",
                 plan_.job.spec.name(), report.batch_id);
  }
  report.plan_seconds = SecondsSince(batch_start);
  EDDY_RETURN_IF_ERROR(RunBatch(tasks, planned.end_of_input, &report));
  AddPositions(latest, &report);
  AddLostRecords(&report);
  report.total_seconds = SecondsSince(batch_start);
  ++summary->batches;
  summary->records_in += report.records_in;
  summary->records_out += report.records_out;
  summary->dead_letters += report.dead_letters;
  if (options_.on_batch) options_.on_batch(report);
  return report.lag;
}

// Every checkpoint holds the state operators keep in memory: it is
// committed to the live state first, then copied.
void Driver::WriteCheckpoint(BatchReport* report) {
  if (Status written = WriteDeferredState(); !written.ok()) {
    report->checkpoint_error = written.ToString();
    return;
  }
  checkpointer_.Write(Progress(), report);
}

Status Driver::WriteDeferredState() {
  if (!has_deferred_state_ || deferred_state_batch_ == last_batch_id_) return Status::OK();
  StateWriteBatch writes;
  for (const auto& [node, table] : state_.tables()) {
    StatefulOperator* op = plan_.nodes[node].stateful;
    if (op->DefersState()) EDDY_RETURN_IF_ERROR(op->WriteDeferredState(*table, &writes));
  }
  deferred_state_batch_ = last_batch_id_;
  return state_.Commit(std::move(writes), Progress());
}

Status Driver::Open() {
  for (auto& source : plan_.sources) EDDY_RETURN_IF_ERROR(source->Open());
  EDDY_RETURN_IF_ERROR(state_.Open(options_.from_checkpoint));
  last_batch_id_ = state_.last_committed_batch();
  input_ended_ = state_.resumed() && state_.resumed()->input_ended();
  // JobState::Open restored a checkpoint if the live state missed deferred
  // state: what it holds now is whole as of the last committed batch.
  deferred_state_batch_ = last_batch_id_;
  for (const PlanNode& node : plan_.nodes) {
    if (node.stateful != nullptr && node.stateful->DefersState()) has_deferred_state_ = true;
  }
  // Logged batches after the last committed one run again first.
  EDDY_RETURN_IF_ERROR(planner_.Open(state_.new_run(), last_batch_id_));
  const auto now = Clock::now();
  for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
    Source& source = *plan_.sources[idx];
    EDDY_ASSIGN_OR_RETURN(auto initial, source.InitialOffsets());
    positions_.Init(idx, initial, now);
    if (state_.resumed()) {
      positions_.Restore(idx, *state_.resumed());
    } else {
      LogStartOffsets(idx, initial);
    }
    EDDY_RETURN_IF_ERROR(source.StartFrom(positions_.NextOffsets(idx)));
  }
  for (auto& sink : plan_.sinks) EDDY_RETURN_IF_ERROR(sink->Open());
  EDDY_RETURN_IF_ERROR(plan_.dead_letter->Open());
  // Where each sink stood at the start of the first batch to run: before
  // the interrupted batch, else after the last committed one.
  const SinkPositions* start = planner_.logged()  ? &planner_.logged()->sinks()
                               : state_.resumed() ? &state_.resumed()->sinks()
                                                  : nullptr;
  EDDY_RETURN_IF_ERROR(sinks_.Recover(state_.run_id(), state_.new_run(), start));
  checkpointer_.Start(last_batch_id_);
  return AnchorShardState();
}

// A shard of a scaled-out job anchors its state in shared storage before
// its first batch: whichever instance owns the shard next restores this run
// (its run id, its start offsets) and the batches it logged, rather than
// starting a run of its own that would write every output again.
//
// So does a job with deferred state: after a crash it restores a checkpoint
// and replays the logged batches after it, so there must be one from the
// start of the run (before it, the state would be new: a new run).
Status Driver::AnchorShardState() {
  if (plan_.fence == nullptr && !has_deferred_state_) return Status::OK();
  EDDY_ASSIGN_OR_RETURN(auto newest, state_.checkpoints().Latest());
  if (newest) return Status::OK();
  EDDY_RETURN_IF_ERROR(state_.Commit(StateWriteBatch(), Progress()));
  BatchReport anchor;
  WriteCheckpoint(&anchor);
  if (!anchor.checkpointed) {
    return Status::Unavailable("job " + plan_.job.spec.name() +
                               ": the shard's first checkpoint failed: " + anchor.checkpoint_error);
  }
  return Status::OK();
}

// Once mode and a drain ask the sources what is there (the run ends when
// it is processed); a continuous job plans with what the sources know
// already, which costs no round trip and lags by at most a fetch.
Result<std::vector<Offsets>> Driver::LatestOffsets() {
  if (options_.once && once_targets_) return *once_targets_;
  const bool exact = options_.once || DrainRequested();
  std::vector<Offsets> latest;
  for (auto& source : plan_.sources) {
    EDDY_ASSIGN_OR_RETURN(auto available, exact ? source->LatestOffsets() : source->KnownOffsets());
    latest.push_back(std::move(available));
  }
  if (options_.once) once_targets_ = latest;
  return latest;
}

bool Driver::AllSourcesFinished(const std::vector<Offsets>& latest) const {
  for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
    if (!plan_.sources[idx]->Exhausted(positions_.NextOffsets(idx), latest[idx])) return false;
  }
  return true;
}

Status Driver::RunBatch(std::vector<Task>& tasks, bool end_of_input, BatchReport* report) {
  const BatchId batch_id{report->batch_id};
  sinks_.BeginBatch();
  // Steps 3 and 4: read and run the in-task stages, write their sinks.
  DeadLetters dead_letters;
  EDDY_RETURN_IF_ERROR(ReadAndWriteTasks(tasks, batch_id, &dead_letters, report));

  // Event time: this batch's watermark was fixed before it; the next one
  // counts the batch's rows.
  const Watermarks watermarks_before = positions_.watermarks();
  SayWhenNoRowIsLate(tasks, watermarks_before, report->batch_id);
  positions_.AdvanceEventTime(tasks, Clock::now());
  // The end of input runs under the final watermark, which is not kept: a
  // stream that goes on later goes on from the watermark it had.
  // (Built only for that batch: an ordinary batch allocates nothing here.)
  const Watermarks final_watermarks =
      end_of_input ? Watermarks(plan_.sources.size(), kEndOfTime) : Watermarks();

  // Step 5: the batch-wide stage.
  StateWriteBatch writes;
  StageContext context;
  context.batch_id = batch_id;
  context.watermarks_before = &watermarks_before;
  context.watermarks_after = end_of_input ? &final_watermarks : &positions_.watermarks();
  context.end_of_input = end_of_input;
  context.tables = &state_.tables();
  context.key_groups = state_.key_groups();
  context.writes = &writes;
  const auto stage_start = Clock::now();
  EDDY_RETURN_IF_ERROR(RunStatefulStage(plan_, positions_, context, tasks, sinks_, &dead_letters,
                                        report, &stage_stats_));
  report->process_seconds += SecondsSince(stage_start);
  SumNodeStats(tasks, report);

  const auto flush_start = Clock::now();
  report->dead_letters = static_cast<int64_t>(dead_letters.size());
  // The final watermark ends this run only: it is not forwarded.
  if (!end_of_input) EDDY_RETURN_IF_ERROR(ForwardWatermarks(watermarks_before, batch_id));
  EDDY_RETURN_IF_ERROR(sinks_.Finish(dead_letters, batch_id, report));
  report->sink_seconds += SecondsSince(flush_start);

  // Steps 6 and 7: commit the state with the new positions; checkpoint.
  input_ended_ = end_of_input;
  return CommitBatch(tasks, std::move(writes), report);
}

// After the batch's rows, a sink that forwards watermarks gets its input's
// new watermark when the batch moved it, while the input is idle, when it
// stops being idle, and once after the job opens (a restore cannot know
// what the run before last said). Replays forward the same, or one more
// record at the end of a batch's output, which readers take as it is.
Status Driver::ForwardWatermarks(const Watermarks& before, BatchId batch_id) {
  forwarded_idle_.resize(plan_.sinks.size(), 0);
  forwarded_since_open_.resize(plan_.sinks.size(), 0);
  for (const PlanNode& node : plan_.nodes) {
    if (node.dag.kind != DagNode::Kind::kSink) continue;
    const size_t sink = node.dag.index;
    if (!plan_.sinks[sink]->forwards_watermarks()) continue;
    const PlanNode& input = plan_.nodes[node.input_nodes.at(0)];
    const auto now = positions_.NodeWatermark(input, positions_.watermarks());
    const bool idle = NodeIdle(input);
    // An input idle from the start has no watermark, but must still say
    // it is idle, or its readers would wait for it forever.
    if (!now && !idle) continue;
    const bool moved = now != positions_.NodeWatermark(input, before);
    if (!moved && !idle && !forwarded_idle_[sink] && forwarded_since_open_[sink]) continue;
    const TimestampMicros mark = now.value_or(std::numeric_limits<TimestampMicros>::min());
    EDDY_RETURN_IF_ERROR(plan_.sinks[sink]->WriteWatermark({mark, idle}, batch_id));
    forwarded_idle_[sink] = idle;
    forwarded_since_open_[sink] = 1;
  }
  return Status::OK();
}

// Every partition of every source upstream of `node` sits out of the
// watermark.
bool Driver::NodeIdle(const PlanNode& node) const {
  for (size_t source : node.upstream_sources) {
    for (size_t part = 0; part < plan_.sources[source]->partitions().size(); ++part) {
      if (!positions_.idle(source, part)) return false;
    }
  }
  return !node.upstream_sources.empty();
}

// Workers read and process tasks while this thread hands finished tasks to
// the sinks strictly in task order: sinks overlap the rest of the batch,
// and the output order stays independent of thread timing.
Status Driver::ReadAndWriteTasks(std::vector<Task>& tasks, BatchId batch_id,
                                 DeadLetters* dead_letters, BatchReport* report) {
  std::mutex mutex;
  std::condition_variable task_done;
  std::vector<uint8_t> done(tasks.size(), 0);
  // On the pool's workers, which outlive the batch (so does their
  // thread-local scratch); this thread writes meanwhile.
  pool_.Start(tasks.size(), [&](size_t idx) {
    // A task that throws fails this batch (and so the job), never the
    // process: under `eddy serve` other jobs run on.
    Status thrown = RunCatching("task " + std::to_string(idx), [&] { RunTask(plan_, tasks[idx]); });
    if (!thrown.ok()) tasks[idx].status = std::move(thrown);
    {
      std::lock_guard<std::mutex> lock(mutex);
      done[idx] = 1;
    }
    task_done.notify_all();
  });

  Status status;
  for (size_t idx = 0; idx < tasks.size() && status.ok(); ++idx) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      task_done.wait(lock, [&] { return done[idx] != 0; });
    }
    Task& task = tasks[idx];
    status = task.status;
    if (!status.ok()) break;
    const auto write_start = Clock::now();
    report->records_in += task.range.size();
    for (size_t sink = 0; sink < plan_.sinks.size() && status.ok(); ++sink) {
      if (!task.has_sink_rows[sink]) continue;
      status = sinks_.Write(sink, task.sink_rows[sink],
                            WriteContext(batch_id, static_cast<int32_t>(idx)), &task.dead_letters,
                            report);
    }
    std::move(task.dead_letters.begin(), task.dead_letters.end(),
              std::back_inserter(*dead_letters));
    task.sink_rows.clear();
    report->sink_seconds += SecondsSince(write_start);
  }
  Status pool_status = pool_.Wait();
  if (status.ok()) status = pool_status;
  return status;
}

void Driver::SumNodeStats(const std::vector<Task>& tasks, BatchReport* report) const {
  report->nodes.resize(plan_.nodes.size());
  for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
    report->nodes[idx].name = plan_.nodes[idx].dag.name;
    report->nodes[idx].kind = plan_.nodes[idx].dag.kind;
  }
  auto add = [](const NodeStats& from, NodeStats* to) {
    to->rows_in += from.rows_in;
    to->rows_out += from.rows_out;
    to->bytes_out += from.bytes_out;
    to->dead_letters += from.dead_letters;
    to->seconds += from.seconds;
  };
  for (const Task& task : tasks) {
    report->fetch_seconds += task.read_seconds;
    report->process_seconds += task.process_seconds;
    for (size_t idx = 0; idx < task.node_stats.size(); ++idx) {
      add(task.node_stats[idx], &report->nodes[idx]);
    }
  }
  for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) add(stage_stats_[idx], &report->nodes[idx]);
}

// The batch's state changes and the positions they correspond to commit in
// one RocksDB write, after the outputs were acknowledged.
Status Driver::CommitBatch(const std::vector<Task>& tasks, StateWriteBatch writes,
                           BatchReport* report) {
  positions_.AdvanceOffsets(tasks);
  EDDY_RETURN_IF_ERROR(state_.Commit(std::move(writes), Progress()));
  for (size_t source = 0; source < plan_.sources.size(); ++source) {
    plan_.sources[source]->Acknowledge(positions_.NextOffsets(source));
  }
  for (const auto& [node, table] : state_.tables()) {
    report->state_sizes.push_back(
        {plan_.nodes[node].dag.name, table->EstimatedBytes(), table->EstimatedKeys()});
  }
  for (const PlanNode& node : plan_.nodes) {
    if (node.stateful == nullptr) continue;
    if (auto status = node.stateful->LastBatchStatus()) {
      report->operator_status.emplace_back(node.dag.name, std::move(*status));
    }
  }
  checkpointer_.BatchCommitted();
  if (checkpointer_.Due()) WriteCheckpoint(report);
  return Status::OK();
}

void Driver::AddPositions(const std::vector<Offsets>& latest, BatchReport* report) const {
  for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
    const auto& partitions = plan_.sources[idx]->partitions();
    for (size_t part = 0; part < latest[idx].size(); ++part) {
      const Offset next = positions_.next_offset(idx, part);
      report->lag += std::max<int64_t>(0, latest[idx][part] - next);
      report->partitions.push_back({plan_.sources[idx]->name(), partitions[part].topic,
                                    partitions[part].partition.value, next.value,
                                    latest[idx][part].value});
    }
    report->watermarks.emplace_back(plan_.sources[idx]->name(), positions_.watermarks()[idx]);
  }
}

// A batch that reads rows of a source with event time but no watermark yet
// (the job's first) counts every row into its windows, however old: said
// once, so a user who expected late rows in a one-batch backfill sees why.
void Driver::SayWhenNoRowIsLate(const std::vector<Task>& tasks, const Watermarks& watermarks,
                                int64_t batch_id) {
  if (said_no_row_is_late_) return;
  for (const Task& task : tasks) {
    if (!plan_.event_time[task.source].column || watermarks[task.source]) continue;
    spdlog::info(
        "job={} batch={} runs without a watermark for source {}: none of its rows are late "
        "(docs/windows.md#event-time-and-watermarks)",
        plan_.job.spec.name(), batch_id, plan_.sources[task.source]->name());
    said_no_row_is_late_ = true;
    return;
  }
}

void Driver::AddLostRecords(BatchReport* report) {
  lost_reported_.resize(plan_.sources.size(), 0);
  for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
    const int64_t lost = plan_.sources[idx]->LostRecords();
    report->lost_by_source.emplace_back(plan_.sources[idx]->name(), lost - lost_reported_[idx]);
    lost_reported_[idx] = lost;
  }
}

// A first start names the partitions that do not start at offset 0: with
// `start: earliest`, the records before were deleted by retention before
// the job ever ran, which a user should see rather than guess.
void Driver::LogStartOffsets(size_t source, const Offsets& initial) const {
  std::string starts;
  const auto& partitions = plan_.sources[source]->partitions();
  for (size_t part = 0; part < initial.size(); ++part) {
    if (initial[part].value == 0) continue;
    if (!starts.empty()) starts += ' ';
    starts += partitions[part].topic + "/" + std::to_string(partitions[part].partition.value) +
              "@" + std::to_string(initial[part].value);
  }
  if (starts.empty()) return;
  spdlog::info("job={} source={} first start: partitions not starting at offset 0: {}",
               plan_.job.spec.name(), plan_.sources[source]->name(), starts);
}

state::CheckpointManifest Driver::Progress() const {
  const SinkPositions sinks = sinks_.Positions();
  ProgressSnapshot snapshot;
  snapshot.batch_id = last_batch_id_;
  snapshot.stored_spec = &stored_spec_;
  snapshot.key_groups = state_.key_groups();
  snapshot.run_id = state_.run_id();
  snapshot.sinks = &sinks;
  snapshot.positions = &positions_;
  snapshot.input_ended = input_ended_;
  snapshot.deferred_state_batch = has_deferred_state_ ? deferred_state_batch_ : last_batch_id_;
  return MakeProgress(plan_, snapshot);
}

}  // namespace

Result<RunSummary> RunJob(JobPlan& plan, const ExecutorOptions& options) {
  Driver driver(plan, options);
  return driver.Run();
}

}  // namespace eddy
