#include "runtime/executor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/thread_pool.h"

namespace eddy {
namespace {

using Clock = std::chrono::steady_clock;

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
  std::vector<NodeStats> node_stats;  // per plan node
  double read_seconds = 0;
  double process_seconds = 0;
};

class Driver {
 public:
  Driver(JobPlan& plan, const ExecutorOptions& options)
      : plan_(plan), options_(options), pool_(options.threads) {}

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
      std::vector<Task> tasks = PlanTasks(latest);
      if (tasks.empty()) {
        if (options_.once || AllSourcesFinished(latest) || DrainRequested()) break;
        next_tick = batch_start + std::chrono::microseconds(plan_.trigger_interval_micros);
        SleepUntil(next_tick);
        continue;
      }
      BatchReport report;
      report.batch_id = next_batch_id_++;
      EDDY_RETURN_IF_ERROR(RunBatch(tasks, &report));
      for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
        const auto& partitions = plan_.sources[idx]->partitions();
        for (size_t part = 0; part < latest[idx].size(); ++part) {
          report.lag += std::max<int64_t>(0, latest[idx][part] - next_offsets_[idx][part]);
          report.partitions.push_back({plan_.sources[idx]->name(), partitions[part].topic,
                                       partitions[part].partition, next_offsets_[idx][part],
                                       latest[idx][part]});
        }
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
    summary.seconds = SecondsSince(started);
    return summary;
  }

 private:
  bool StopRequested() const { return options_.stop != nullptr && options_.stop->load(); }
  bool DrainRequested() const { return options_.drain != nullptr && options_.drain->load(); }

  void SleepUntil(Clock::time_point when) {
    while (!StopRequested() && Clock::now() < when) {
      std::this_thread::sleep_for(std::min<Clock::duration>(when - Clock::now(),
                                                            std::chrono::milliseconds(50)));
    }
  }

  Status Open() {
    for (auto& source : plan_.sources) {
      EDDY_RETURN_IF_ERROR(source->Open());
      EDDY_ASSIGN_OR_RETURN(auto initial, source->InitialOffsets());
      EDDY_RETURN_IF_ERROR(source->StartFrom(initial));
      next_offsets_.push_back(std::move(initial));
    }
    for (auto& sink : plan_.sinks) EDDY_RETURN_IF_ERROR(sink->Open());
    EDDY_RETURN_IF_ERROR(plan_.dead_letter->Open());
    source_node_.assign(plan_.sources.size(), 0);
    for (size_t idx = 0; idx < plan_.nodes.size(); ++idx) {
      if (plan_.nodes[idx].dag.kind == DagNode::Kind::kSource) {
        source_node_[plan_.nodes[idx].dag.index] = idx;
      }
    }
    return Status::OK();
  }

  bool AllSourcesFinished(const std::vector<std::vector<int64_t>>& latest) const {
    for (size_t idx = 0; idx < plan_.sources.size(); ++idx) {
      if (!plan_.sources[idx]->Exhausted(next_offsets_[idx], latest[idx])) return false;
    }
    return true;
  }

  std::vector<Task> PlanTasks(const std::vector<std::vector<int64_t>>& latest) const {
    std::vector<Task> tasks;
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      for (size_t part = 0; part < latest[source].size(); ++part) {
        const int64_t start = next_offsets_[source][part];
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
        const Batch& rows = task.sink_rows[sink];
        status = plan_.sinks[sink]->Write(rows, batch_id, &task.dead_letters);
        report->records_out += static_cast<int64_t>(rows.num_rows());
        for (size_t row = 0; row < rows.num_rows() && report->samples.size() < options_.samples_per_batch; ++row) {
          report->samples.push_back(plan_.sinks[sink]->name() + ": " + rows.RowToString(row));
        }
        SampleTimestamps(rows, &sampled_timestamps);
      }
      std::move(task.dead_letters.begin(), task.dead_letters.end(), std::back_inserter(dead_letters));
      task.sink_rows.clear();
      sink_seconds += SecondsSince(write_start);
    }
    workers.join();
    EDDY_RETURN_IF_ERROR(status);

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
    const auto flush_start = Clock::now();
    report->dead_letters = static_cast<int64_t>(dead_letters.size());
    if (!dead_letters.empty()) {
      for (const DeadLetter& letter : dead_letters) {
        spdlog::debug("dead letter from {} ({}/{}@{}): {}", letter.node, letter.topic,
                      letter.partition, letter.offset, letter.reason);
      }
      EDDY_RETURN_IF_ERROR(plan_.dead_letter->Write(dead_letters));
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

    for (const Task& task : tasks) {
      next_offsets_[task.source][task.range.partition_index] = task.range.end;
    }
    for (size_t source = 0; source < plan_.sources.size(); ++source) {
      plan_.sources[source]->Acknowledge(next_offsets_[source]);
    }
    return Status::OK();
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

  // Pushes one task's input through every node downstream of its source.
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
    for (size_t idx = task.source_node + 1; idx < node_count; ++idx) {
      const PlanNode& node = plan_.nodes[idx];
      if (node.dag.kind == DagNode::Kind::kSource) continue;
      bool any_input = false;
      for (size_t input : node.input_nodes) any_input |= has_output[input];
      if (!any_input) continue;
      if (node.dag.kind == DagNode::Kind::kSink) {
        const size_t input = node.input_nodes[0];
        NodeStats& sink_stats = task.node_stats[idx];
        sink_stats.rows_in = sink_stats.rows_out = static_cast<int64_t>(outputs[input].num_rows());
        sink_stats.bytes_out = static_cast<int64_t>(outputs[input].ApproximateBytes());
        task.sink_rows[node.dag.index] = plan_.nodes[input].consumers.size() == 1
                                             ? std::move(outputs[input])
                                             : outputs[input];
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
    return Status::OK();
  }

  JobPlan& plan_;
  const ExecutorOptions& options_;
  ThreadPool pool_;
  std::vector<std::vector<int64_t>> next_offsets_;  // per source, per partition
  std::vector<size_t> source_node_;                 // source spec index -> node index
  int64_t next_batch_id_ = 0;
};

}  // namespace

Result<RunSummary> RunJob(JobPlan& plan, const ExecutorOptions& options) {
  Driver driver(plan, options);
  return driver.Run();
}

}  // namespace eddy
