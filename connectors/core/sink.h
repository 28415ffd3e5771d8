#pragma once
// Sink: where a job writes the rows of one DAG node.
//
// Per micro-batch the engine calls Write once per task output, in a fixed
// order, from one thread, then Flush. Rows reach the destination in Write
// order, so a deterministic batch gives deterministic output.
//
// Exactly-once (docs/exactly-once.md): a batch may run again after a crash
// or a restore, with the same rows in the same Write calls. After Open the
// engine calls Recover once with what the job's state knows; a sink that
// gives exactly-once delivery uses it to drop, on the rewrite, what the
// earlier run already delivered (Kafka: from the partitions' tails; a file:
// by truncating it to its length before the batch).
//
// Thread-safety: called from the engine's driver thread only.

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"

namespace eddy {

// Which batch and task a Write belongs to. Converts from a BatchId, for
// callers outside the engine's task loop.
struct WriteContext {
  WriteContext(BatchId batch, int32_t task_index = -1)
      : batch_id(batch), task(task_index) {}  // NOLINT
  BatchId batch_id;
  int32_t task;  // the writing task; -1: the batch-wide (stateful) stage
  // When the sink routes by key group (a Kafka sink's partition_by): the
  // key group of each row, of `key_group_count`; kNoKeyGroup for a row
  // whose key failed (already a dead letter, not to be written).
  const std::vector<uint16_t>* key_groups = nullptr;
  int key_group_count = 0;
};

inline constexpr uint16_t kNoKeyGroup = 0xFFFF;

// What the job's state holds for a sink when it starts.
struct SinkRecovery {
  std::string job;  // the job's name
  std::string run;  // created with the job's state; stable across restarts and restores
  // The state (and so the run) was created now: nothing of it was written.
  bool new_run = false;
  // The sink's Position() as of the start of the first batch to run
  // (empty when the state has none).
  std::string position;
};

// The event time a sink forwards to the readers of what it writes: a
// stage of a scaled-out job to the next, through a repartition topic
// (docs/scale-out.md#event-time-across-stages).
struct ForwardedWatermark {
  TimestampMicros watermark = 0;
  // The writer's input is idle (no records for its idle_timeout): readers
  // leave it out of their watermark until it writes again.
  bool idle = false;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const std::string& name() const = 0;
  // Connects / opens files. Bounded wait.
  virtual Status Open() = 0;
  // Queues `batch`'s rows for writing. Rows that cannot be encoded (a key
  // expression that fails, say) go to `dead_letters`.
  virtual Status Write(const Batch& batch, const WriteContext& context,
                       DeadLetters* dead_letters) = 0;
  // Returns once everything written so far is durable (acknowledged by the
  // broker, flushed to the file), or the first delivery error.
  virtual Status Flush() = 0;
  // Records written since creation.
  virtual int64_t records_written() const = 0;

  // True when a batch that runs again is delivered once (see above).
  virtual bool exactly_once() const { return false; }
  // Called once after Open, before the first Write.
  virtual Status Recover(const SinkRecovery& recovery) {
    (void)recovery;
    return Status::OK();
  }
  // Where the sink stands after Flush, recorded with each batch (a file's
  // length); empty for sinks that need nothing recorded.
  virtual std::string Position() const { return {}; }

  // True when the sink forwards its input's watermark: the engine then
  // calls WriteWatermark after a batch's rows whenever the batch moved it.
  // Deterministic like the rows: a batch that runs again forwards the same.
  virtual bool forwards_watermarks() const { return false; }
  virtual Status WriteWatermark(const ForwardedWatermark& mark, BatchId batch) {
    (void)mark;
    (void)batch;
    return Status::OK();
  }
};

// Where dead letters go: a Kafka topic (original bytes as value, the reason
// and origin in headers) or a JSON-lines file.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status Open() = 0;
  virtual Status Write(const DeadLetters& dead_letters, BatchId batch_id) = 0;
  virtual Status Flush() = 0;
  virtual std::string Describe() const = 0;
  // As for Sink.
  virtual bool exactly_once() const { return false; }
  virtual Status Recover(const SinkRecovery& recovery) {
    (void)recovery;
    return Status::OK();
  }
  virtual std::string Position() const { return {}; }
};

}  // namespace eddy
