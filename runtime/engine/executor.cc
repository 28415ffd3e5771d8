#include "runtime/engine/executor.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

#include "runtime/core/thread_pool.h"
#include "runtime/engine/progress.h"
#include "runtime/spec/secrets.h"
#include "state/checkpoint_store.h"
#include "state/offsets_log.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

// The dead-letter sink's name in sink positions and eddy.sink headers.
constexpr char kDeadLetterSinkName[] = "dead_letter";

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One source partition's share of a batch.
struct Task {
  size_t source = 0;  // spec index
  size_t source_node = 0;
  PartitionRange range;
  Status status;
  Batch input;
  DeadLetters dead_letters;
  // Per sink (spec index): the rows this task hands to it.
  std::vector<Batch> sink_rows;
  std::vector<bool> has_sink_rows;
  // Per plan node: rows of in-task nodes that once-per-batch nodes read.
  std::vector<Batch> boundary;
  std::vector<bool> has_boundary;
  std::vector<NodeStats> node_stats;  // per plan node
  std::optional<TimestampMicros> max_event_time;
  double read_seconds = 0;
  double process_seconds = 0;
};

// Where one source partition stands.
struct PartitionState {
  int64_t next_offset = 0;
  std::optional<TimestampMicros> max_event_time;
  Clock::time_point last_active;
};

class Driver {
 public:
  Driver(JobPlan& plan, const ExecutorOptions& options)
      : plan_(plan), options_(options), pool_(options.threads), stored_spec_(plan.job.spec) {
    // Checkpoints and the progress record keep the job spec; never its
    // passwords (the connectors already hold what they need).
    RedactSpec(&stored_spec_);
  }

  Result<RunSummary> Run() {
    EDDY_RETURN_IF_ERROR(Open());
    const auto started = Clock::now();
    RunSummary summary;
    std::vector<std::vector<int64_t>> once_targets;
    if (options_.once) {
      for (auto& source : plan_.sources) {
        EDDY_ASSIGN_OR_RETURN(auto latest, source->LatestOffsets());
        once_targets.push_back(std::move(latest));
      }
    }
    auto next_tick = Clock::now();
    while (!StopRequested()) {
      if (options_.max_batches > 0 && summary.batches >= options_.max_batches) break;
      if (options_.checkpoint_requested != nullptr &&
          options_.checkpoint_requested->exchange(false) && last_batch_id_ > 0) {
        BatchReport savepoint;
        WriteCheckpoint(&savepoint);
      }
      const auto batch_start = Clock::now();
      std::vector<std::vector<int64_t>> latest;
      for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
        if (options_.once) {
          latest.push_back(once_targets[idx]);
        } else {
          EDDY_ASSIGN_OR_RETURN(auto available, plan_.sources[idx]->LatestOffsets());
          latest.push_back(std::move(available));
        }
      }
      // Batches already in the offsets log (one a crash interrupted, or
      // those after a restored checkpoint) run again first, as they were
      // planned; otherwise the next batch is planned and logged before it
      // runs (docs/exactly-once.md).
      EDDY_RETURN_IF_ERROR(LoadLoggedBatch());
      const bool replaying = planned_.has_value();
      std::vector<Task> tasks;
      if (replaying) {
        EDDY_ASSIGN_OR_RETURN(tasks, TasksFromPlan(*planned_));
        planned_.reset();
      } else {
        tasks = PlanTasks(latest);
      }
      if (tasks.empty()) {
        if (options_.once || AllSourcesFinished(latest) || DrainRequested()) break;
        next_tick = batch_start + std::chrono::microseconds(plan_.trigger_interval_micros);
        SleepUntil(next_tick);
        continue;
      }
      BatchReport report;
      report.batch_id = ++last_batch_id_;
      if (!replaying) {
        DecideIdlePartitions(tasks);
        EDDY_RETURN_IF_ERROR(LogPlannedBatch(tasks, report.batch_id));
      }
      EDDY_RETURN_IF_ERROR(RunBatch(tasks, &report));
      for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
        const auto& partitions = plan_.sources[idx]->partitions();
        for (size_t part = 0; part < latest[idx].size(); ++part) {
          const int64_t next = positions_[idx][part].next_offset;
          report.lag += std::max<int64_t>(0, latest[idx][part] - next);
          report.partitions.push_back({plan_.sources[idx]->name(), partitions[part].topic,
                                       partitions[part].partition, next, latest[idx][part]});
        }
        report.watermarks.emplace_back(plan_.sources[idx]->name(), watermarks_[idx]);
      }
      report.total_seconds = SecondsSince(batch_start);
      ++summary.batches;
      summary.records_in += report.records_in;
      summary.records_out += report.records_out;
      summary.dead_letters += report.dead_letters;
      if (options_.on_batch) options_.on_batch(report);
      // Processing-time trigger: the next batch starts one interval after
      // this one started, or at once when this one overran.
      next_tick = batch_start + std::chrono::microseconds(plan_.trigger_interval_micros);
      if (report.lag == 0) SleepUntil(next_tick);
    }
    // A clean stop leaves a checkpoint of where the job stands (not a
    // cancel: the live state still holds every committed batch).
    const bool cancelled = options_.cancel != nullptr && options_.cancel->load();
    if (batches_since_checkpoint_ > 0 && !cancelled) {
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

 private:
  bool StopRequested() const { return options_.stop != nullptr && options_.stop->load(); }
  bool CheckpointRequested() const {
    return options_.checkpoint_requested != nullptr && options_.checkpoint_requested->load();
  }
  bool DrainRequested() const { return options_.drain != nullptr && options_.drain->load(); }

  void SleepUntil(Clock::time_point when) {
    while (!StopRequested() && !CheckpointRequested() && Clock::now() < when) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(when - Clock::now(), std::chrono::milliseconds(50)));
    }
  }

  Status Open() {
    for (auto& source : plan_.sources) EDDY_RETURN_IF_ERROR(source->Open());
    EDDY_RETURN_IF_ERROR(OpenState());
    const auto now = Clock::now();
    positions_.resize(plan_.sources.size());
    watermarks_.assign(plan_.sources.size(), std::nullopt);
    for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
      Source& source = *plan_.sources[idx];
      EDDY_ASSIGN_OR_RETURN(auto initial, source.InitialOffsets());
      positions_[idx].resize(initial.size());
      for (size_t part = 0; part < initial.size(); ++part) {
        positions_[idx][part].next_offset = initial[part];
        positions_[idx][part].last_active = now;
      }
      if (resumed_) RestorePosition(idx, *resumed_);
      std::vector<int64_t> next;
      for (const PartitionState& state : positions_[idx]) next.push_back(state.next_offset);
      EDDY_RETURN_IF_ERROR(source.StartFrom(next));
    }
    for (auto& sink : plan_.sinks) EDDY_RETURN_IF_ERROR(sink->Open());
    EDDY_RETURN_IF_ERROR(plan_.dead_letter->Open());
    idle_.resize(plan_.sources.size());
    for (size_t idx = 0; idx < plan_.sources.size(); ++idx)
      idle_[idx].assign(positions_[idx].size(), false);
    EDDY_RETURN_IF_ERROR(RecoverSinks());
    source_node_.assign(plan_.sources.size(), 0);
    for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
      const PlanNode& node = plan_.nodes[idx];
      if (node.dag.kind == DagNode::Kind::kSource) source_node_[node.dag.index] = idx;
      if (node.stateful != nullptr) {
        EDDY_ASSIGN_OR_RETURN(tables_[idx], state_->table(node.dag.name));
      }
    }
    last_checkpoint_ = Clock::now();
    return Status::OK();
  }

  // Opens the job's RocksDB state: from --from-checkpoint, else the live
  // database (which holds every committed batch), else the newest usable
  // checkpoint; and checks that the stored state fits the job.
  Status OpenState() {
    const std::string db_dir = (std::filesystem::path(plan_.state_dir) / "db").string();
    checkpoints_ = std::make_unique<CheckpointStore>(
        (std::filesystem::path(plan_.state_dir) / "checkpoints").string(), plan_.checkpoint_keep);
    std::error_code ec;
    if (!options_.from_checkpoint.empty()) {
      EDDY_ASSIGN_OR_RETURN(CheckpointInfo checkpoint,
                            CheckpointStore::Read(options_.from_checkpoint));
      EDDY_RETURN_IF_ERROR(OpenFromCheckpoint(checkpoint, db_dir));
    } else if (std::filesystem::exists(std::filesystem::path(db_dir) / "CURRENT", ec)) {
      Status opened = OpenBackend(db_dir);
      if (!opened.ok() && opened.code() == StatusCode::kCorruption) {
        spdlog::warn("job={} live state in {} is unusable ({}); restoring the newest checkpoint",
                     plan_.job.spec.name(), db_dir, opened.ToString());
        state_.reset();
        EDDY_RETURN_IF_ERROR(OpenNewestCheckpoint(db_dir));
      } else {
        EDDY_RETURN_IF_ERROR(opened);
      }
    } else {
      EDDY_RETURN_IF_ERROR(OpenNewestCheckpoint(db_dir));
    }
    if (!state_) EDDY_RETURN_IF_ERROR(OpenBackend(db_dir));
    EDDY_ASSIGN_OR_RETURN(auto progress, ReadProgress());
    if (progress) {
      EDDY_RETURN_IF_ERROR(CheckCompatible(plan_, *progress));
      last_batch_id_ = progress->batch_id();
      resumed_ = std::move(progress);
      spdlog::info("job={} resuming after batch {}", plan_.job.spec.name(), last_batch_id_);
    }
    return OpenRunAndPlannedBatch();
  }

  // The run id identifies this job's output; it is created with the state
  // and restored with it. Logged batches after the last committed one run
  // again first.
  Status OpenRunAndPlannedBatch() {
    offsets_log_ =
        std::make_unique<OffsetsLog>((std::filesystem::path(plan_.state_dir) / "offsets").string());
    EDDY_ASSIGN_OR_RETURN(auto run, state_->GetMeta(kRunIdKey));
    if (run) {
      run_id_ = *run;
    } else {
      // New state is a new run: a log left by another run does not apply.
      EDDY_RETURN_IF_ERROR(offsets_log_->TruncateBefore(std::numeric_limits<int64_t>::max()));
      run_id_ = NewRunId();
      StateWriteBatch writes;
      writes.PutMeta(kRunIdKey, run_id_);
      EDDY_RETURN_IF_ERROR(state_->Commit(std::move(writes), /*sync=*/true));
    }
    replay_logged_ = true;
    return LoadLoggedBatch();
  }

  // The logged plan of the next batch, while the log has one.
  Status LoadLoggedBatch() {
    if (!replay_logged_ || planned_) return Status::OK();
    EDDY_ASSIGN_OR_RETURN(planned_, offsets_log_->Read(last_batch_id_ + 1));
    if (!planned_) {
      replay_logged_ = false;  // the log ends here; later batches are new
      return Status::OK();
    }
    spdlog::info("job={} batch {} is in the offsets log: running it again over the same offsets",
                 plan_.job.spec.name(), planned_->batch_id());
    return Status::OK();
  }

  static std::string NewRunId() {
    std::random_device random;
    const uint64_t id = (static_cast<uint64_t>(random()) << 32) ^ random();
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(id));
    return text;
  }

  // Where each sink stood at the start of the first batch to run: before
  // the interrupted batch, else after the last committed one.
  std::string SinkPositionAtStart(const std::string& sink) const {
    const auto* positions = planned_ ? &planned_->sinks() : resumed_ ? &resumed_->sinks() : nullptr;
    if (positions == nullptr) return {};
    for (const state::SinkPosition& position : *positions) {
      if (position.sink() == sink) return position.position();
    }
    return {};
  }

  Status RecoverSinks() {
    SinkRecovery recovery;
    recovery.job = plan_.job.spec.name();
    recovery.run = run_id_;
    for (auto& sink : plan_.sinks) {
      recovery.position = SinkPositionAtStart(sink->name());
      EDDY_RETURN_IF_ERROR(sink->Recover(recovery).WithContext("sink '" + sink->name() + "'"));
    }
    recovery.position = SinkPositionAtStart(kDeadLetterSinkName);
    EDDY_RETURN_IF_ERROR(plan_.dead_letter->Recover(recovery).WithContext("dead-letter sink"));
    std::vector<std::string> at_least_once;
    for (const auto& sink : plan_.sinks) {
      if (!sink->exactly_once()) at_least_once.push_back(sink->name());
    }
    if (!plan_.dead_letter->exactly_once()) at_least_once.push_back(kDeadLetterSinkName);
    if (!at_least_once.empty()) {
      spdlog::info("job={} at-least-once sinks (a batch that runs again writes to them again): {}",
                   plan_.job.spec.name(), fmt::join(at_least_once, ", "));
    }
    return Status::OK();
  }

  template <typename Positions>
  void AddSinkPositions(Positions* out) const {
    for (const auto& sink : plan_.sinks) {
      std::string position = sink->Position();
      if (position.empty()) continue;
      state::SinkPosition* added = out->Add();
      added->set_sink(sink->name());
      added->set_position(std::move(position));
    }
    std::string position = plan_.dead_letter->Position();
    if (position.empty()) return;
    state::SinkPosition* added = out->Add();
    added->set_sink(kDeadLetterSinkName);
    added->set_position(std::move(position));
  }

  // Marks the partitions that sit out of their source's watermark in the
  // next batch: no records in it, and none for the idle timeout.
  void DecideIdlePartitions(const std::vector<Task>& tasks) {
    const auto now = Clock::now();
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      const int64_t timeout = plan_.event_time[source].idle_timeout;
      for (size_t part = 0; part < positions_[source].size(); ++part) {
        idle_[source][part] = timeout > 0 && now - positions_[source][part].last_active >=
                                                 std::chrono::microseconds(timeout);
      }
    }
    for (const Task& task : tasks) idle_[task.source][task.range.partition_index] = false;
  }

  // The offsets log: batch `batch_id`'s ranges and idle decisions, durable
  // before it runs.
  Status LogPlannedBatch(const std::vector<Task>& tasks, int64_t batch_id) {
    state::PlannedBatch planned;
    planned.set_batch_id(batch_id);
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      state::PlannedSource* planned_source = planned.add_sources();
      planned_source->set_source(plan_.sources[source]->name());
      const auto& partitions = plan_.sources[source]->partitions();
      for (size_t part = 0; part < partitions.size(); ++part) {
        state::PlannedRange* range = planned_source->add_partitions();
        range->set_topic(partitions[part].topic);
        range->set_partition(partitions[part].partition);
        range->set_start(positions_[source][part].next_offset);
        range->set_end(positions_[source][part].next_offset);
        range->set_idle(idle_[source][part]);
      }
    }
    for (const Task& task : tasks) {
      planned.mutable_sources(static_cast<int>(task.source))
          ->mutable_partitions(static_cast<int>(task.range.partition_index))
          ->set_end(task.range.end);
    }
    AddSinkPositions(planned.mutable_sinks());
    return offsets_log_->Append(planned);
  }

  // The tasks and idle decisions of a logged batch.
  Result<std::vector<Task>> TasksFromPlan(const state::PlannedBatch& planned) {
    std::vector<Task> tasks;
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      const auto& partitions = plan_.sources[source]->partitions();
      for (const state::PlannedSource& planned_source : planned.sources()) {
        if (planned_source.source() != plan_.sources[source]->name()) continue;
        for (const state::PlannedRange& range : planned_source.partitions()) {
          for (size_t part = 0; part < partitions.size(); ++part) {
            if (partitions[part].topic != range.topic() ||
                partitions[part].partition != range.partition()) {
              continue;
            }
            if (range.start() != positions_[source][part].next_offset) {
              return Status::Corruption(
                  "planned batch " + std::to_string(planned.batch_id()) + " reads " +
                  range.topic() + "/" + std::to_string(range.partition()) + " from offset " +
                  std::to_string(range.start()) + ", but the job's state is at " +
                  std::to_string(positions_[source][part].next_offset));
            }
            idle_[source][part] = range.idle();
            if (range.end() <= range.start()) continue;
            Task task;
            task.source = source;
            task.source_node = source_node_[source];
            task.range = {part, range.start(), range.end()};
            tasks.push_back(std::move(task));
          }
        }
      }
    }
    // Task order is plan order: by source, then partition.
    std::sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
      return std::tie(a.source, a.range.partition_index) <
             std::tie(b.source, b.range.partition_index);
    });
    return tasks;
  }

  Status OpenBackend(const std::string& db_dir) {
    StateBackendOptions options;
    options.dir = db_dir;
    options.key_groups = plan_.key_groups;
    options.budget = plan_.state_budget;
    for (const PlanNode& node : plan_.nodes) {
      if (node.stateful != nullptr) options.tables.push_back(node.dag.name);
    }
    EDDY_ASSIGN_OR_RETURN(state_, StateBackend::Open(options));
    return Status::OK();
  }

  Result<std::optional<state::CheckpointManifest>> ReadProgress() const {
    EDDY_ASSIGN_OR_RETURN(auto stored, state_->GetMeta(kProgressKey));
    if (!stored) return std::optional<state::CheckpointManifest>();
    state::CheckpointManifest progress;
    if (!progress.ParseFromString(*stored)) {
      return Status::Corruption("job state in " + state_->dir() + ": unreadable progress record");
    }
    return std::optional<state::CheckpointManifest>(std::move(progress));
  }

  // Restores `checkpoint` as the live state and checks that it holds the
  // batch its manifest names.
  Status OpenFromCheckpoint(const CheckpointInfo& checkpoint, const std::string& db_dir) {
    state_.reset();
    EDDY_RETURN_IF_ERROR(CheckpointStore::RestoreInto(checkpoint, db_dir));
    EDDY_RETURN_IF_ERROR(OpenBackend(db_dir));
    auto progress = ReadProgress();
    Status status = progress.status();
    if (status.ok() && (!*progress || (*progress)->batch_id() != checkpoint.manifest.batch_id())) {
      status = Status::Corruption("its state does not hold batch " +
                                  std::to_string(checkpoint.manifest.batch_id()));
    }
    if (!status.ok()) {
      state_.reset();
      return status;
    }
    spdlog::info("job={} restored state from checkpoint {} (batch {})", plan_.job.spec.name(),
                 checkpoint.path, checkpoint.manifest.batch_id());
    return Status::OK();
  }

  // Tries the complete checkpoints newest first; a damaged one is logged and
  // skipped, and so are half-written ones.
  Status OpenNewestCheckpoint(const std::string& db_dir) {
    EDDY_ASSIGN_OR_RETURN(auto checkpoints, checkpoints_->List());
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(
             std::filesystem::path(plan_.state_dir) / "checkpoints", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("chk-", 0) != 0 && name.rfind(".tmp-chk-", 0) != 0) continue;
      const bool complete = std::any_of(checkpoints.begin(), checkpoints.end(), [&](const auto& c) {
        return std::filesystem::path(c.path).filename() == entry.path().filename();
      });
      if (!complete) {
        spdlog::warn("job={} ignoring incomplete checkpoint {} (no readable manifest)",
                     plan_.job.spec.name(), entry.path().string());
      }
    }
    for (size_t idx = 0; idx < checkpoints.size(); ++idx) {
      Status opened = OpenFromCheckpoint(checkpoints[idx], db_dir);
      if (opened.ok()) return Status::OK();
      spdlog::warn("job={} checkpoint {} is unusable ({}); falling back to {}",
                   plan_.job.spec.name(), checkpoints[idx].path, opened.ToString(),
                   idx + 1 < checkpoints.size() ? checkpoints[idx + 1].path : "an empty state");
      std::filesystem::remove_all(db_dir, ec);
    }
    return Status::OK();
  }

  void RestorePosition(size_t source, const state::CheckpointManifest& progress) {
    const std::string& name = plan_.sources[source]->name();
    const auto& partitions = plan_.sources[source]->partitions();
    for (const state::SourcePosition& position : progress.sources()) {
      if (position.source() != name) continue;
      if (position.has_watermark()) watermarks_[source] = position.watermark();
      for (const state::PartitionPosition& stored : position.partitions()) {
        for (size_t part = 0; part < partitions.size(); ++part) {
          if (partitions[part].topic != stored.topic() ||
              partitions[part].partition != stored.partition()) {
            continue;
          }
          positions_[source][part].next_offset = stored.next_offset();
          if (stored.has_max_event_time())
            positions_[source][part].max_event_time = stored.max_event_time();
        }
      }
    }
  }

  bool AllSourcesFinished(const std::vector<std::vector<int64_t>>& latest) const {
    for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
      std::vector<int64_t> next;
      for (const PartitionState& state : positions_[idx]) next.push_back(state.next_offset);
      if (!plan_.sources[idx]->Exhausted(next, latest[idx])) return false;
    }
    return true;
  }

  std::vector<Task> PlanTasks(const std::vector<std::vector<int64_t>>& latest) const {
    std::vector<Task> tasks;
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      for (size_t part = 0; part < latest[source].size(); ++part) {
        const int64_t start = positions_[source][part].next_offset;
        const int64_t end = std::min(latest[source][part], start + plan_.max_records_per_partition);
        if (end <= start) continue;
        Task task;
        task.source = source;
        task.source_node = source_node_[source];
        task.range = {part, start, end};
        tasks.push_back(std::move(task));
      }
    }
    return tasks;
  }

  // Reads and processes one task; runs on a worker thread.
  void RunTask(Task& task) {
    static const std::atomic<bool> kNeverCancel{false};
    const auto read_start = Clock::now();
    Source& source = *plan_.sources[task.source];
    task.input = Batch(source.schema());
    task.status = source.Read(task.range, kNeverCancel, &task.input, &task.dead_letters);
    // Decoders do not know which node they serve.
    for (DeadLetter& letter : task.dead_letters) {
      if (letter.node.empty()) letter.node = source.name();
    }
    task.read_seconds = SecondsSince(read_start);
    if (!task.status.ok()) return;
    if (const auto& column = plan_.event_time[task.source].column) {
      const Column& times = task.input.column(*column);
      for (size_t row = 0; row < times.size(); ++row) {
        if (times.IsNull(row)) continue;
        if (!task.max_event_time || times.GetInt64(row) > *task.max_event_time) {
          task.max_event_time = times.GetInt64(row);
        }
      }
    }
    const auto process_start = Clock::now();
    task.status = ProcessTask(task);
    task.process_seconds = SecondsSince(process_start);
  }

  Status RunBatch(std::vector<Task>& tasks, BatchReport* report) {
    // Workers read and process tasks while this thread hands finished tasks
    // to the sinks strictly in task order: sinks overlap the rest of the
    // batch, and the output order stays independent of thread timing.
    std::mutex mutex;
    std::condition_variable task_done;
    std::vector<uint8_t> done(tasks.size(), 0);
    std::thread workers([&] {
      pool_.Run(tasks.size(), [&](size_t idx) {
        RunTask(tasks[idx]);
        {
          std::lock_guard<std::mutex> lock(mutex);
          done[idx] = 1;
        }
        task_done.notify_all();
      });
    });

    const BatchId batch_id{report->batch_id};
    DeadLetters dead_letters;
    std::vector<int64_t> sampled_timestamps;
    Status status;
    double sink_seconds = 0;
    for (size_t idx = 0; idx < tasks.size() && status.ok(); ++idx) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        task_done.wait(lock, [&] { return done[idx] != 0; });
      }
      Task& task = tasks[idx];
      status = task.status;
      if (!status.ok()) break;
      const auto write_start = Clock::now();
      report->records_in += static_cast<int64_t>(task.range.end - task.range.start);
      for (size_t sink = 0; sink < plan_.sinks.size() && status.ok(); ++sink) {
        if (!task.has_sink_rows[sink]) continue;
        status =
            WriteSink(sink, task.sink_rows[sink], WriteContext(batch_id, static_cast<int32_t>(idx)),
                      &task.dead_letters, report, &sampled_timestamps);
      }
      std::move(task.dead_letters.begin(), task.dead_letters.end(),
                std::back_inserter(dead_letters));
      task.sink_rows.clear();
      sink_seconds += SecondsSince(write_start);
    }
    workers.join();
    EDDY_RETURN_IF_ERROR(status);

    // Event time: this batch's watermark was fixed before it; the next one
    // counts the batch's rows.
    std::vector<std::optional<TimestampMicros>> watermark_before = watermarks_;
    const auto now = Clock::now();
    for (const Task& task : tasks) {
      PartitionState& partition = positions_[task.source][task.range.partition_index];
      if (task.range.end > task.range.start) partition.last_active = now;
      if (task.max_event_time &&
          (!partition.max_event_time || *task.max_event_time > *partition.max_event_time)) {
        partition.max_event_time = task.max_event_time;
      }
    }
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      const auto next = ComputeWatermark(source);
      if (next && (!watermarks_[source] || *next > *watermarks_[source]))
        watermarks_[source] = next;
    }

    StateWriteBatch writes;
    const auto stage_start = Clock::now();
    EDDY_RETURN_IF_ERROR(RunStatefulStage(tasks, watermark_before, batch_id, &writes, &dead_letters,
                                          report, &sampled_timestamps));
    report->process_seconds += SecondsSince(stage_start);

    report->nodes.resize(plan_.nodes.size());
    for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
      report->nodes[idx].name = plan_.nodes[idx].dag.name;
      report->nodes[idx].kind = plan_.nodes[idx].dag.kind;
    }
    for (const Task& task : tasks) {
      report->fetch_seconds += task.read_seconds;
      report->process_seconds += task.process_seconds;
      for (size_t idx = 0; idx < task.node_stats.size(); ++idx) {
        report->nodes[idx].rows_in += task.node_stats[idx].rows_in;
        report->nodes[idx].rows_out += task.node_stats[idx].rows_out;
        report->nodes[idx].bytes_out += task.node_stats[idx].bytes_out;
        report->nodes[idx].dead_letters += task.node_stats[idx].dead_letters;
      }
    }
    for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
      report->nodes[idx].rows_in += stage_stats_[idx].rows_in;
      report->nodes[idx].rows_out += stage_stats_[idx].rows_out;
      report->nodes[idx].bytes_out += stage_stats_[idx].bytes_out;
      report->nodes[idx].dead_letters += stage_stats_[idx].dead_letters;
    }

    const auto flush_start = Clock::now();
    report->dead_letters = static_cast<int64_t>(dead_letters.size());
    if (!dead_letters.empty()) {
      for (const DeadLetter& letter : dead_letters) {
        spdlog::debug("dead letter from {} ({}/{}@{}): {}", letter.node, letter.topic,
                      letter.partition, letter.offset, letter.reason);
      }
      EDDY_RETURN_IF_ERROR(plan_.dead_letter->Write(dead_letters, batch_id));
    }
    for (auto& sink : plan_.sinks) EDDY_RETURN_IF_ERROR(sink->Flush());
    EDDY_RETURN_IF_ERROR(plan_.dead_letter->Flush());
    report->sink_seconds = sink_seconds + SecondsSince(flush_start);
    const int64_t now_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    for (int64_t timestamp : sampled_timestamps) {
      report->latency_samples.push_back(static_cast<double>(now_micros - timestamp) / 1e6);
    }

    // The batch's state changes and the positions they correspond to commit
    // in one RocksDB write, after the outputs were acknowledged.
    for (const Task& task : tasks) {
      positions_[task.source][task.range.partition_index].next_offset = task.range.end;
    }
    writes.PutMeta(kProgressKey, Progress().SerializeAsString());
    EDDY_RETURN_IF_ERROR(state_->Commit(std::move(writes)));
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      std::vector<int64_t> next;
      for (const PartitionState& state : positions_[source]) next.push_back(state.next_offset);
      plan_.sources[source]->Acknowledge(next);
    }
    for (const auto& [node, table] : tables_) {
      report->state_sizes.push_back(
          {plan_.nodes[node].dag.name, table->EstimatedBytes(), table->EstimatedKeys()});
    }
    for (const PlanNode& node : plan_.nodes) {
      if (node.stateful == nullptr) continue;
      if (auto status = node.stateful->LastBatchStatus()) {
        report->operator_status.emplace_back(node.dag.name, std::move(*status));
      }
    }
    ++batches_since_checkpoint_;
    const bool interval_due = plan_.checkpoint_interval_micros > 0 &&
                              Clock::now() - last_checkpoint_ >=
                                  std::chrono::microseconds(plan_.checkpoint_interval_micros);
    if (batches_since_checkpoint_ >= plan_.checkpoint_every_batches || interval_due) {
      WriteCheckpoint(report);
    }
    return Status::OK();
  }

  Status WriteSink(size_t sink, const Batch& rows, const WriteContext& context,
                   DeadLetters* dead_letters, BatchReport* report,
                   std::vector<int64_t>* sampled_timestamps) {
    EDDY_RETURN_IF_ERROR(plan_.sinks[sink]->Write(rows, context, dead_letters));
    report->records_out += static_cast<int64_t>(rows.num_rows());
    for (size_t row = 0;
         row < rows.num_rows() && report->samples.size() < options_.samples_per_batch; ++row) {
      report->samples.push_back(plan_.sinks[sink]->name() + ": " + rows.RowToString(row));
    }
    SampleTimestamps(rows, sampled_timestamps);
    return Status::OK();
  }

  // A source's watermark: the smallest partition watermark (largest event
  // time seen less the out-of-orderness bound), leaving out the partitions
  // the batch's plan marked idle; nullopt while a partition that is not
  // idle has delivered no event time yet.
  std::optional<TimestampMicros> ComputeWatermark(size_t source) const {
    const SourceEventTime& time = plan_.event_time[source];
    if (!time.column) return std::nullopt;
    std::optional<TimestampMicros> lowest, highest;
    bool all_idle = true;
    for (size_t part = 0; part < positions_[source].size(); ++part) {
      const PartitionState& partition = positions_[source][part];
      const bool idle = idle_[source][part];
      std::optional<TimestampMicros> mark;
      if (partition.max_event_time) mark = *partition.max_event_time - time.max_out_of_orderness;
      if (mark && (!highest || *mark > *highest)) highest = mark;
      if (idle) continue;
      all_idle = false;
      if (!mark) return std::nullopt;
      if (!lowest || *mark < *lowest) lowest = mark;
    }
    return all_idle ? highest : lowest;
  }

  std::optional<TimestampMicros> NodeWatermark(
      const PlanNode& node, const std::vector<std::optional<TimestampMicros>>& watermarks) const {
    std::optional<TimestampMicros> result;
    for (size_t source : node.upstream_sources) {
      if (!watermarks[source]) return std::nullopt;
      if (!result || *watermarks[source] < *result) result = watermarks[source];
    }
    return result;
  }

  // Runs the nodes that see the whole batch: stateful operators and what
  // depends on them, over the tasks' rows in task order.
  Status RunStatefulStage(std::vector<Task>& tasks,
                          const std::vector<std::optional<TimestampMicros>>& watermark_before,
                          BatchId batch_id, StateWriteBatch* writes, DeadLetters* dead_letters,
                          BatchReport* report, std::vector<int64_t>* sampled_timestamps) {
    const size_t node_count = plan_.nodes.size();
    stage_stats_.assign(node_count, NodeStats());
    std::vector<Batch> outputs(node_count);
    auto input_rows = [&](size_t input) -> Result<Batch> {
      if (!plan_.nodes[input].in_task) return outputs[input];
      Batch all(plan_.nodes[input].schema);
      for (Task& task : tasks) {
        if (task.has_boundary.empty() || !task.has_boundary[input]) continue;
        EDDY_RETURN_IF_ERROR(all.Append(task.boundary[input]));
      }
      return all;
    };
    for (size_t idx = 0; idx < node_count; ++idx) {
      const PlanNode& node = plan_.nodes[idx];
      if (node.in_task || node.late_of) continue;
      NodeStats& stats = stage_stats_[idx];
      if (node.dag.kind == DagNode::Kind::kSink) {
        EDDY_ASSIGN_OR_RETURN(Batch rows, input_rows(node.input_nodes[0]));
        stats.rows_in = stats.rows_out = static_cast<int64_t>(rows.num_rows());
        if (rows.num_rows() > 0) {
          EDDY_RETURN_IF_ERROR(
              WriteSink(node.dag.index, rows, batch_id, dead_letters, report, sampled_timestamps));
        }
        continue;
      }
      std::vector<Batch> inputs;
      for (size_t input : node.input_nodes) {
        EDDY_ASSIGN_OR_RETURN(Batch rows, input_rows(input));
        stats.rows_in += static_cast<int64_t>(rows.num_rows());
        inputs.push_back(std::move(rows));
      }
      Batch out(node.schema);
      const size_t dead_before = dead_letters->size();
      if (node.stateful != nullptr) {
        StatefulBatchContext context;
        context.batch_id = batch_id.value;
        context.watermark = NodeWatermark(node, watermark_before);
        context.next_watermark = NodeWatermark(node, watermarks_);
        context.table = tables_.at(idx);
        context.writes = writes;
        context.key_groups = state_->key_groups();
        Batch late;
        const PlanNode* late_node = idx + 1 < node_count && plan_.nodes[idx + 1].late_of == idx
                                        ? &plan_.nodes[idx + 1]
                                        : nullptr;
        if (late_node != nullptr) late = Batch(late_node->schema);
        EDDY_RETURN_IF_ERROR(node.stateful->ProcessBatch(context, inputs, &out, &late, dead_letters)
                                 .WithContext("operator '" + node.dag.name + "'"));
        if (late_node != nullptr) {
          if (node.stateful->side_output_name() == "late") {
            report->late_records += static_cast<int64_t>(late.num_rows());
          }
          stage_stats_[idx + 1].rows_in = stage_stats_[idx + 1].rows_out =
              static_cast<int64_t>(late.num_rows());
          outputs[idx + 1] = std::move(late);
        }
      } else {
        for (size_t input = 0; input < inputs.size(); ++input) {
          EDDY_RETURN_IF_ERROR(node.op->Process(input, inputs[input], &out, dead_letters)
                                   .WithContext("operator '" + node.dag.name + "'"));
        }
      }
      stats.rows_out = static_cast<int64_t>(out.num_rows());
      stats.bytes_out = static_cast<int64_t>(out.ApproximateBytes());
      stats.dead_letters = static_cast<int64_t>(dead_letters->size() - dead_before);
      outputs[idx] = std::move(out);
    }
    return Status::OK();
  }

  state::CheckpointManifest Progress() const {
    state::CheckpointManifest progress;
    progress.set_format_version(1);
    progress.set_batch_id(last_batch_id_);
    progress.set_job_name(plan_.job.spec.name());
    progress.set_job_hash(JobHash(stored_spec_));
    *progress.mutable_job() = stored_spec_;
    progress.set_key_groups(state_->key_groups());
    progress.set_run_id(run_id_);
    AddSinkPositions(progress.mutable_sinks());
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      state::SourcePosition* position = progress.add_sources();
      position->set_source(plan_.sources[source]->name());
      if (watermarks_[source]) position->set_watermark(*watermarks_[source]);
      const auto& partitions = plan_.sources[source]->partitions();
      for (size_t part = 0; part < partitions.size(); ++part) {
        state::PartitionPosition* stored = position->add_partitions();
        stored->set_topic(partitions[part].topic);
        stored->set_partition(partitions[part].partition);
        stored->set_next_offset(positions_[source][part].next_offset);
        if (positions_[source][part].max_event_time) {
          stored->set_max_event_time(*positions_[source][part].max_event_time);
        }
      }
    }
    for (const PlanNode& node : plan_.nodes) {
      if (node.stateful == nullptr) continue;
      state::OperatorSignature* signature = progress.add_operators();
      signature->set_id(node.dag.name);
      signature->set_kind(node.stateful->kind());
      signature->set_signature(node.stateful->Signature());
    }
    return progress;
  }

  void WriteCheckpoint(BatchReport* report) {
    const auto started = Clock::now();
    state::CheckpointManifest manifest = Progress();
    manifest.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
    auto written = checkpoints_->Write(*state_, std::move(manifest));
    report->checkpoint_seconds = SecondsSince(started);
    if (!written.ok()) {
      // The job goes on: its live state is intact and the next checkpoint
      // may succeed; the failure is reported and counted.
      report->checkpoint_error = written.status().ToString();
      spdlog::warn("job={} checkpoint after batch {} failed: {}", plan_.job.spec.name(),
                   last_batch_id_, report->checkpoint_error);
      return;
    }
    report->checkpointed = true;
    report->checkpoint_bytes = written->manifest.size_bytes();
    batches_since_checkpoint_ = 0;
    last_checkpoint_ = Clock::now();
    if (options_.on_checkpoint) options_.on_checkpoint(written->path, written->manifest.batch_id());
    // The log keeps the batches after the oldest checkpoint kept: those a
    // restore may run again.
    auto kept = checkpoints_->List();
    if (kept.ok() && !kept->empty()) {
      Status truncated = offsets_log_->TruncateBefore(kept->back().manifest.batch_id() + 1);
      if (!truncated.ok()) spdlog::warn("job={} {}", plan_.job.spec.name(), truncated.ToString());
    }
  }

  // Up to ~1000 source timestamps per batch, spread evenly over the rows.
  static void SampleTimestamps(const Batch& rows, std::vector<int64_t>* out) {
    const Column& timestamps = rows.meta().timestamp;
    if (timestamps.size() == 0 || out->size() >= 1000) return;
    const size_t step = std::max<size_t>(1, timestamps.size() / 100);
    for (size_t row = 0; row < timestamps.size() && out->size() < 1000; row += step) {
      if (!timestamps.IsNull(row)) out->push_back(timestamps.GetInt64(row));
    }
  }

  // Pushes one task's input through the in-task nodes downstream of its
  // source, keeping what once-per-batch nodes will read.
  Status ProcessTask(Task& task) {
    const size_t node_count = plan_.nodes.size();
    task.node_stats.assign(node_count, NodeStats());
    {
      NodeStats& source_stats = task.node_stats[task.source_node];
      source_stats.rows_in = task.range.end - task.range.start;
      source_stats.rows_out = static_cast<int64_t>(task.input.num_rows());
      source_stats.bytes_out = static_cast<int64_t>(task.input.ApproximateBytes());
      source_stats.dead_letters = static_cast<int64_t>(task.dead_letters.size());
    }
    std::vector<Batch> outputs(node_count);
    std::vector<bool> has_output(node_count, false);
    outputs[task.source_node] = std::move(task.input);
    has_output[task.source_node] = true;
    task.sink_rows.assign(plan_.sinks.size(), Batch());
    task.has_sink_rows.assign(plan_.sinks.size(), false);
    task.boundary.assign(node_count, Batch());
    task.has_boundary.assign(node_count, false);
    for (size_t idx = task.source_node + 1; idx < node_count; ++idx) {
      const PlanNode& node = plan_.nodes[idx];
      if (node.dag.kind == DagNode::Kind::kSource || !node.in_task) continue;
      bool any_input = false;
      for (size_t input : node.input_nodes) any_input |= has_output[input];
      if (!any_input) continue;
      if (node.dag.kind == DagNode::Kind::kSink) {
        const size_t input = node.input_nodes[0];
        NodeStats& sink_stats = task.node_stats[idx];
        sink_stats.rows_in = sink_stats.rows_out = static_cast<int64_t>(outputs[input].num_rows());
        sink_stats.bytes_out = static_cast<int64_t>(outputs[input].ApproximateBytes());
        task.sink_rows[node.dag.index] = outputs[input];
        task.has_sink_rows[node.dag.index] = true;
        continue;
      }
      Batch out(node.schema);
      NodeStats& stats = task.node_stats[idx];
      const size_t dead_before = task.dead_letters.size();
      for (size_t input_idx = 0; input_idx < node.input_nodes.size(); ++input_idx) {
        const size_t input = node.input_nodes[input_idx];
        if (!has_output[input]) continue;
        stats.rows_in += static_cast<int64_t>(outputs[input].num_rows());
        EDDY_RETURN_IF_ERROR(node.op->Process(input_idx, outputs[input], &out, &task.dead_letters)
                                 .WithContext("operator '" + node.dag.name + "'"));
      }
      stats.rows_out = static_cast<int64_t>(out.num_rows());
      stats.bytes_out = static_cast<int64_t>(out.ApproximateBytes());
      stats.dead_letters = static_cast<int64_t>(task.dead_letters.size() - dead_before);
      outputs[idx] = std::move(out);
      has_output[idx] = true;
    }
    // Rows that once-per-batch nodes read from this task.
    for (size_t idx = 0; idx < node_count; ++idx) {
      if (!has_output[idx] || !plan_.nodes[idx].in_task) continue;
      for (size_t consumer : plan_.nodes[idx].consumers) {
        if (plan_.nodes[consumer].in_task) continue;
        task.boundary[idx] = outputs[idx];
        task.has_boundary[idx] = true;
        break;
      }
    }
    return Status::OK();
  }

  JobPlan& plan_;
  const ExecutorOptions& options_;
  ThreadPool pool_;
  spec::JobSpec stored_spec_;  // the spec with secrets redacted
  std::unique_ptr<StateBackend> state_;
  std::unique_ptr<CheckpointStore> checkpoints_;
  std::optional<state::CheckpointManifest> resumed_;
  std::map<size_t, StateTable*> tables_;                    // node index -> its table
  std::vector<std::vector<PartitionState>> positions_;      // per source, per partition
  std::vector<std::optional<TimestampMicros>> watermarks_;  // per source
  std::vector<size_t> source_node_;                         // source spec index -> node index
  std::vector<NodeStats> stage_stats_;
  int64_t last_batch_id_ = 0;
  std::string run_id_;
  std::unique_ptr<OffsetsLog> offsets_log_;
  // The logged batch to run next, if any; replay_logged_ while the log may
  // hold more after it.
  std::optional<state::PlannedBatch> planned_;
  bool replay_logged_ = false;
  // Per source, per partition: left out of the watermark in this batch.
  std::vector<std::vector<bool>> idle_;
  int64_t batches_since_checkpoint_ = 0;
  Clock::time_point last_checkpoint_;
};

}  // namespace

Result<RunSummary> RunJob(JobPlan& plan, const ExecutorOptions& options) {
  Driver driver(plan, options);
  return driver.Run();
}

}  // namespace eddy
