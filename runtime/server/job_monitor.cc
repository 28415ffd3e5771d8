#include "runtime/server/job_monitor.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "runtime/server/job_json.h"

namespace eddy::server {
namespace {

template <typename T>
void Trim(std::deque<T>& items, size_t keep) {
  while (items.size() > keep) items.pop_front();
}

// Forwards to the job's real dead-letter sink; tells the monitor first.
class MonitoredDeadLetterSink final : public DeadLetterSink {
 public:
  MonitoredDeadLetterSink(std::unique_ptr<DeadLetterSink> inner,
                          std::shared_ptr<JobMonitor> monitor)
      : inner_(std::move(inner)), monitor_(std::move(monitor)) {}

  Status Open() override { return inner_->Open(); }
  Status Write(const DeadLetters& dead_letters, BatchId batch_id) override {
    monitor_->RecordDeadLetters(dead_letters, batch_id.value, UnixMillis());
    return inner_->Write(dead_letters, batch_id);
  }
  Status Flush() override { return inner_->Flush(); }
  std::string Describe() const override { return inner_->Describe(); }
  bool exactly_once() const override { return inner_->exactly_once(); }
  Status Recover(const SinkRecovery& recovery) override { return inner_->Recover(recovery); }
  std::string Position() const override { return inner_->Position(); }

 private:
  static int64_t UnixMillis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::unique_ptr<DeadLetterSink> inner_;
  std::shared_ptr<JobMonitor> monitor_;
};

}  // namespace

JobMonitor::JobMonitor(MonitorOptions options) : options_(options) {}

size_t JobMonitor::SourceIndexLocked(const std::string& source) {
  auto it = std::find(sources_.begin(), sources_.end(), source);
  if (it != sources_.end()) return static_cast<size_t>(it - sources_.begin());
  sources_.push_back(source);
  return sources_.size() - 1;
}

void JobMonitor::RecordRunStart() {
  std::lock_guard<std::mutex> lock(mutex_);
  run_started_ = true;
}

void JobMonitor::RecordBatch(const BatchReport& report, int64_t unix_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  Point point;
  point.batch_id = report.batch_id;
  point.unix_ms = unix_ms;
  point.records_in = report.records_in;
  point.records_out = report.records_out;
  point.dead_letters = report.dead_letters;
  point.lag = report.lag;
  point.seconds = report.total_seconds;
  point.fetch_seconds = report.fetch_seconds;
  point.process_seconds = report.process_seconds;
  point.sink_seconds = report.sink_seconds;
  point.checkpoint_seconds = report.checkpoint_seconds;
  point.nodes = report.nodes;
  point.run_start = std::exchange(run_started_, false);
  for (const auto& [source, watermark] : report.watermarks) {
    const size_t idx = SourceIndexLocked(source);
    if (point.watermark_delay_seconds.size() <= idx) point.watermark_delay_seconds.resize(idx + 1);
    if (watermark) {
      point.watermark_delay_seconds[idx] = static_cast<double>(unix_ms * 1000 - *watermark) / 1e6;
    }
  }
  for (const NodeStats& node : report.nodes) {
    NodeStats& total = totals_[node.name];
    total.rows_in += node.rows_in;
    total.rows_out += node.rows_out;
    total.bytes_out += node.bytes_out;
    total.dead_letters += node.dead_letters;
  }
  points_.push_back(std::move(point));
  Trim(points_, options_.points);

  if (report.checkpointed || !report.checkpoint_error.empty()) {
    checkpoints_.push_back({report.batch_id, unix_ms, report.checkpoint_seconds,
                            report.checkpoint_bytes, report.checkpoint_error, report.state_sizes});
    Trim(checkpoints_, options_.checkpoints);
  }
  for (const BatchReport::StateSize& size : report.state_sizes) state_sizes_[size.op] = size;
  for (const auto& [op, status] : report.operator_status) {
    auto it = std::find_if(learners_.begin(), learners_.end(),
                           [&op = op](const auto& entry) { return entry.first == op; });
    if (it == learners_.end()) {
      learners_.emplace_back(op, std::deque<LearnerPoint>{});
      it = std::prev(learners_.end());
    }
    it->second.push_back({report.batch_id, unix_ms, status});
    Trim(it->second, options_.points);
  }
}

void JobMonitor::RecordDeadLetters(const DeadLetters& letters, int64_t batch_id, int64_t unix_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  letters_total_ += static_cast<int64_t>(letters.size());
  // Only the newest can be kept: skip the rest without copying them.
  const size_t skip =
      letters.size() > options_.dead_letters ? letters.size() - options_.dead_letters : 0;
  for (size_t idx = skip; idx < letters.size(); ++idx) {
    const DeadLetter& letter = letters[idx];
    letters_.push_back({batch_id, unix_ms, letter.reason, letter.node, letter.topic,
                        letter.partition, letter.offset});
  }
  Trim(letters_, options_.dead_letters);
}

size_t JobMonitor::WindowStartLocked() const {
  // The last point that finished at least the rate window before the newest
  // one, or the oldest kept: the window's rows are those of the points after
  // it, over the time since it ended (idle time included).
  size_t start = points_.size() - 1;
  while (start > 0 && points_.back().unix_ms - points_[start].unix_ms < options_.rate_window_ms) {
    --start;
  }
  return start;
}

double JobMonitor::RecordsPerSecondLocked() const {
  if (points_.size() < 2) return 0;
  const size_t start = WindowStartLocked();
  int64_t rows = 0;
  for (size_t idx = start + 1; idx < points_.size(); ++idx) rows += points_[idx].records_in;
  const int64_t span_ms = points_.back().unix_ms - points_[start].unix_ms;
  return span_ms > 0 ? static_cast<double>(rows) * 1000.0 / static_cast<double>(span_ms) : 0;
}

double JobMonitor::RecordsPerSecond() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return RecordsPerSecondLocked();
}

std::map<std::string, std::pair<double, double>> JobMonitor::NodeRatesLocked() const {
  std::map<std::string, std::pair<double, double>> rates;
  if (points_.size() < 2) return rates;
  const size_t start = WindowStartLocked();
  for (size_t idx = start + 1; idx < points_.size(); ++idx) {
    for (const NodeStats& node : points_[idx].nodes) {
      auto& [in, out] = rates[node.name];
      in += static_cast<double>(node.rows_in);
      out += static_cast<double>(node.rows_out);
    }
  }
  const double seconds = static_cast<double>(points_.back().unix_ms - points_[start].unix_ms) / 1e3;
  for (auto& [name, rate] : rates) {
    rate.first = seconds > 0 ? rate.first / seconds : 0;
    rate.second = seconds > 0 ? rate.second / seconds : 0;
  }
  return rates;
}

void JobMonitor::WriteHistory(JsonWriter& json, int64_t since_batch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  json.BeginObject().Key("sources").BeginArray();
  for (const std::string& source : sources_) json.String(source);
  json.EndArray().Key("points").BeginArray();
  for (const Point& point : points_) {
    if (point.batch_id <= since_batch) continue;
    const double rate =
        point.seconds > 0 ? static_cast<double>(point.records_in) / point.seconds : 0;
    json.BeginObject()
        .Key("batch_id")
        .Int(point.batch_id)
        .Key("unix_ms")
        .Int(point.unix_ms)
        .Key("records_in")
        .Int(point.records_in)
        .Key("records_out")
        .Int(point.records_out)
        .Key("dead_letters")
        .Int(point.dead_letters)
        .Key("records_per_second")
        .Double(rate)
        .Key("lag")
        .Int(point.lag)
        .Key("seconds")
        .Double(point.seconds)
        .Key("fetch_seconds")
        .Double(point.fetch_seconds)
        .Key("process_seconds")
        .Double(point.process_seconds)
        .Key("sink_seconds")
        .Double(point.sink_seconds)
        .Key("checkpoint_seconds")
        .Double(point.checkpoint_seconds)
        .Key("run_start")
        .Bool(point.run_start)
        .Key("watermark_delay_seconds")
        .BeginArray();
    for (size_t idx = 0; idx < sources_.size(); ++idx) {
      if (idx < point.watermark_delay_seconds.size() && point.watermark_delay_seconds[idx]) {
        json.Double(*point.watermark_delay_seconds[idx]);
      } else {
        json.Null();
      }
    }
    json.EndArray().EndObject();
  }
  json.EndArray().Key("checkpoints").BeginArray();
  for (const Checkpoint& checkpoint : checkpoints_) {
    json.BeginObject()
        .Key("batch_id")
        .Int(checkpoint.batch_id)
        .Key("unix_ms")
        .Int(checkpoint.unix_ms)
        .Key("seconds")
        .Double(checkpoint.seconds)
        .Key("bytes")
        .Int(static_cast<int64_t>(checkpoint.bytes))
        .Key("error")
        .String(checkpoint.error)
        .Key("state")
        .BeginArray();
    for (const BatchReport::StateSize& size : checkpoint.state_sizes) {
      json.BeginObject()
          .Key("operator")
          .String(size.op)
          .Key("bytes")
          .Int(static_cast<int64_t>(size.bytes))
          .Key("estimated_keys")
          .Int(static_cast<int64_t>(size.estimated_keys))
          .EndObject();
    }
    json.EndArray().EndObject();
  }
  json.EndArray().Key("learners").BeginArray();
  for (const auto& [op, learner_points] : learners_) {
    json.BeginObject().Key("operator").String(op).Key("points").BeginArray();
    for (const LearnerPoint& point : learner_points) {
      if (point.batch_id <= since_batch) continue;
      json.BeginObject()
          .Key("batch_id")
          .Int(point.batch_id)
          .Key("unix_ms")
          .Int(point.unix_ms)
          .Key("figures")
          .BeginObject();
      for (const auto& [name, value] : point.status.figures) json.Key(name).Double(value);
      json.EndObject().Key("series").BeginObject();
      for (const auto& [name, values] : point.status.series) {
        json.Key(name).BeginArray();
        for (double value : values) json.Double(value);
        json.EndArray();
      }
      json.EndObject().EndObject();
    }
    json.EndArray().EndObject();
  }
  json.EndArray().EndObject();
}

void JobMonitor::WriteOperators(JsonWriter& json) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto rates = NodeRatesLocked();
  json.BeginObject().Key("batch_id");
  if (points_.empty()) {
    json.Null();
  } else {
    json.Int(points_.back().batch_id);
  }
  json.Key("nodes").BeginArray();
  if (!points_.empty()) {
    for (const NodeStats& node : points_.back().nodes) {
      auto rate = rates.find(node.name);
      const NodeStats& total = totals_.at(node.name);
      json.BeginObject()
          .Key("name")
          .String(node.name)
          .Key("kind")
          .String(DagKindName(node.kind))
          .Key("rows_in")
          .Int(node.rows_in)
          .Key("rows_out")
          .Int(node.rows_out)
          .Key("bytes_out")
          .Int(node.bytes_out)
          .Key("dead_letters")
          .Int(node.dead_letters)
          .Key("rows_in_per_second")
          .Double(rate == rates.end() ? 0 : rate->second.first)
          .Key("rows_out_per_second")
          .Double(rate == rates.end() ? 0 : rate->second.second)
          .Key("total_rows_in")
          .Int(total.rows_in)
          .Key("total_rows_out")
          .Int(total.rows_out)
          .Key("total_dead_letters")
          .Int(total.dead_letters)
          // The executor does not time nodes one by one (yet): null, so the
          // UI says so instead of guessing.
          .Key("seconds_per_batch")
          .Null()
          .Key("state_bytes");
      auto state = state_sizes_.find(node.name);
      if (state == state_sizes_.end()) {
        json.Null();
      } else {
        json.Int(static_cast<int64_t>(state->second.bytes));
      }
      json.EndObject();
    }
  }
  json.EndArray().EndObject();
}

void JobMonitor::WriteDeadLetters(JsonWriter& json) const {
  std::lock_guard<std::mutex> lock(mutex_);
  json.BeginObject().Key("total").Int(letters_total_).Key("dead_letters").BeginArray();
  for (auto it = letters_.rbegin(); it != letters_.rend(); ++it) {
    json.BeginObject()
        .Key("batch_id")
        .Int(it->batch_id)
        .Key("unix_ms")
        .Int(it->unix_ms)
        .Key("node")
        .String(it->node)
        .Key("reason")
        .String(it->reason)
        .Key("topic")
        .String(it->topic)
        .Key("partition")
        .Int(it->partition)
        .Key("offset")
        .Int(it->offset)
        .EndObject();
  }
  json.EndArray().EndObject();
}

std::unique_ptr<DeadLetterSink> MonitorDeadLetters(std::unique_ptr<DeadLetterSink> inner,
                                                   std::shared_ptr<JobMonitor> monitor) {
  return std::make_unique<MonitoredDeadLetterSink>(std::move(inner), std::move(monitor));
}

}  // namespace eddy::server
