#pragma once
// Sink: where a job writes the rows of one DAG node.
//
// Per micro-batch the engine calls Write once per task output, in a fixed
// order, from one thread, then Flush. Rows reach the destination in Write
// order, so a deterministic batch gives deterministic output.
//
// Thread-safety: called from the engine's driver thread only.

#include <memory>
#include <string>

#include "runtime/batch.h"
#include "runtime/dead_letter.h"
#include "runtime/status.h"
#include "runtime/types.h"

namespace eddy {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual const std::string& name() const = 0;
  // Connects / opens files. Bounded wait.
  virtual Status Open() = 0;
  // Queues `batch`'s rows for writing. Rows that cannot be encoded (a key
  // expression that fails, say) go to `dead_letters`.
  virtual Status Write(const Batch& batch, BatchId batch_id, DeadLetters* dead_letters) = 0;
  // Returns once everything written so far is durable (acknowledged by the
  // broker, flushed to the file), or the first delivery error.
  virtual Status Flush() = 0;
  // Records written since creation.
  virtual int64_t records_written() const = 0;
};

// Where dead letters go: a Kafka topic (original bytes as value, the reason
// and origin in headers) or a JSON-lines file.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual Status Open() = 0;
  virtual Status Write(const DeadLetters& dead_letters) = 0;
  virtual Status Flush() = 0;
  virtual std::string Describe() const = 0;
};

}  // namespace eddy
