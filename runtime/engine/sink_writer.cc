#include "runtime/engine/sink_writer.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "state/state_backend.h"

namespace eddy {
namespace {

// Longest sample row a progress line shows.
constexpr size_t kMaxSampleBytes = 400;

// `row` fit for a terminal: bytes that are control characters or not
// UTF-8 text (a PNG in a string column) as \xNN, cut after
// kMaxSampleBytes with the full length noted (a row of 1,296 features).
std::string PrintableSample(const std::string& row) {
  std::string out;
  size_t idx = 0;
  while (idx < row.size() && out.size() < kMaxSampleBytes) {
    const auto byte = static_cast<unsigned char>(row[idx]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xe  ? 3
                    : (byte >> 3) == 0x1e ? 4
                                          : 0;
    for (size_t next = 1; length > 1 && next < length; ++next) {
      if (idx + next >= row.size() || (static_cast<unsigned char>(row[idx + next]) >> 6) != 0x2) {
        length = 0;
      }
    }
    if (length == 0 || byte < 0x20 || byte == 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
      ++idx;
      continue;
    }
    out.append(row, idx, length);
    idx += length;
  }
  if (idx < row.size()) out += "... (" + std::to_string(row.size()) + " bytes)";
  return out;
}

// The sink `name`'s position in `positions`; empty when it has none.
std::string PositionOf(const SinkPositions* positions, const std::string& name) {
  if (positions == nullptr) return {};
  for (const state::SinkPosition& position : *positions) {
    if (position.sink() == name) return position.position();
  }
  return {};
}

// Up to ~1000 source timestamps per batch, spread evenly over the rows.
void SampleTimestamps(const Batch& rows, std::vector<int64_t>* out) {
  const Column& timestamps = rows.meta().timestamp;
  if (timestamps.size() == 0 || out->size() >= 1000) return;
  const size_t step = std::max<size_t>(1, timestamps.size() / 100);
  for (size_t row = 0; row < timestamps.size() && out->size() < 1000; row += step) {
    if (!timestamps.IsNull(row)) out->push_back(timestamps.GetInt64(row));
  }
}

}  // namespace

Status SinkWriter::Recover(const std::string& run_id, bool new_run, const SinkPositions* start) {
  SinkRecovery recovery;
  recovery.job = plan_.job.spec.name();
  recovery.run = run_id;
  recovery.new_run = new_run;
  for (auto& sink : plan_.sinks) {
    recovery.position = PositionOf(start, sink->name());
    EDDY_RETURN_IF_ERROR(sink->Recover(recovery).WithContext("sink '" + sink->name() + "'"));
  }
  recovery.position = PositionOf(start, kDeadLetterSinkName);
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

SinkPositions SinkWriter::Positions() const {
  SinkPositions out;
  auto add = [&](const std::string& name, std::string position) {
    if (position.empty()) return;
    state::SinkPosition* added = out.Add();
    added->set_sink(name);
    added->set_position(std::move(position));
  };
  for (const auto& sink : plan_.sinks) add(sink->name(), sink->Position());
  add(kDeadLetterSinkName, plan_.dead_letter->Position());
  return out;
}

int64_t SinkWriter::RecordsWritten() const {
  int64_t written = 0;
  for (const auto& sink : plan_.sinks) written += sink->records_written();
  return written;
}

void SinkWriter::BeginBatch() {
  sampled_timestamps_.clear();
  written_before_batch_ = RecordsWritten();
}

Status SinkWriter::Write(size_t sink, const Batch& rows, const WriteContext& context,
                         DeadLetters* dead_letters, BatchReport* report) {
  EDDY_RETURN_IF_ERROR(CheckFence(plan_.fence.get()));
  if (plan_.sink_partition_by[sink].empty()) {
    EDDY_RETURN_IF_ERROR(plan_.sinks[sink]->Write(rows, context, dead_letters));
  } else {
    ComputeKeyGroups(sink, rows, dead_letters);
    WriteContext routed = context;
    routed.key_groups = &key_groups_;
    routed.key_group_count = plan_.key_groups;
    EDDY_RETURN_IF_ERROR(plan_.sinks[sink]->Write(rows, routed, dead_letters));
  }
  for (size_t row = 0; row < rows.num_rows() && report->samples.size() < samples_per_batch_;
       ++row) {
    report->samples.push_back(plan_.sinks[sink]->name() + ": " +
                              PrintableSample(rows.RowToString(row)));
  }
  SampleTimestamps(rows, &sampled_timestamps_);
  return Status::OK();
}

void SinkWriter::ComputeKeyGroups(size_t sink, const Batch& rows, DeadLetters* dead_letters) {
  std::vector<RowError> errors;
  std::vector<Column> keys;
  for (const NamedExpression& key : plan_.sink_partition_by[sink]) {
    keys.push_back(key.expression->Evaluate(rows, &errors));
  }
  // Encoded exactly as the keyed operators encode their keys, so a row
  // lands in the partition that owns the key group its state will use.
  key_groups_.resize(rows.num_rows());
  std::string encoded;
  for (size_t row = 0; row < rows.num_rows(); ++row) {
    encoded.clear();
    EncodeKey(keys, row, &encoded);
    key_groups_[row] = KeyGroupForKey(encoded, plan_.key_groups).value;
  }
  const std::string& name = plan_.sinks[sink]->name();
  for (const RowError& error : errors) {
    if (key_groups_[error.row] == kNoKeyGroup) continue;
    key_groups_[error.row] = kNoKeyGroup;
    dead_letters->push_back(RowDeadLetter(rows, error.row, name, error.reason));
  }
}

Status SinkWriter::Finish(const DeadLetters& dead_letters, BatchId batch_id, BatchReport* report) {
  EDDY_RETURN_IF_ERROR(CheckFence(plan_.fence.get()));
  if (!dead_letters.empty()) {
    for (const DeadLetter& letter : dead_letters) {
      spdlog::debug("dead letter from {} ({}/{}@{}): {}", letter.node, letter.topic,
                    letter.partition, letter.offset, letter.reason);
    }
    EDDY_RETURN_IF_ERROR(plan_.dead_letter->Write(dead_letters, batch_id));
  }
  for (auto& sink : plan_.sinks) EDDY_RETURN_IF_ERROR(sink->Flush());
  EDDY_RETURN_IF_ERROR(plan_.dead_letter->Flush());
  report->records_out = RecordsWritten() - written_before_batch_;
  const int64_t now_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  for (int64_t timestamp : sampled_timestamps_) {
    report->latency_samples.push_back(static_cast<double>(now_micros - timestamp) / 1e6);
  }
  return Status::OK();
}

}  // namespace eddy
