#pragma once
// Source: a partitioned, replayable input read in offset ranges.
//
// The engine owns positions: it asks a source what is available
// (LatestOffsets), decides each batch's range per partition, and reads
// exactly that range (Read). Replaying the same range yields the same rows
// in the same order, which is what makes batches deterministic.
//
// Offsets are per partition, the Kafka offset for Kafka, the line number for
// files and the record index for generators. A range is [start, end).
//
// Thread-safety: Read may be called concurrently for different partitions;
// every other method is called from the engine's driver thread only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// One offset per partition of a source, in the order of Source::partitions().
using Offsets = std::vector<Offset>;

struct SourcePartition {
  std::string topic;  // Kafka topic; the source's name for file and generator sources
  PartitionId partition;
};

struct PartitionRange {
  size_t partition_index = 0;  // into Source::partitions()
  Offset start;
  Offset end;  // exclusive
  int64_t size() const { return end - start; }
};

// A watermark that a writer upstream forwarded through the source's
// records (ForwardedWatermark, connectors/core/sink.h).
struct UpstreamWatermark {
  int32_t upstream = 0;  // which writer: [0, upstream_writers())
  TimestampMicros watermark = 0;
  bool idle = false;
};

class Source {
 public:
  virtual ~Source() = default;

  virtual const std::string& name() const = 0;
  virtual const Schema& schema() const = 0;
  // Connects and discovers partitions. A source that cannot reach its
  // backend fails here after a bounded wait, with a clear Status.
  virtual Status Open() = 0;
  // REQUIRES: Open() succeeded. Fixed for the life of the source.
  virtual const std::vector<SourcePartition>& partitions() const = 0;
  // Where each partition starts when the job has no saved position
  // (earliest, latest or a timestamp for Kafka).
  virtual Result<Offsets> InitialOffsets() = 0;
  // Positions the source so that the next Read of each partition starts at
  // `next_offsets` (from InitialOffsets or a checkpoint). Called once before
  // the first batch; a Read whose range starts elsewhere seeks by itself.
  virtual Status StartFrom(const Offsets& next_offsets) {
    (void)next_offsets;
    return Status::OK();
  }
  // The end (exclusive) of what can be read now, per partition.
  virtual Result<Offsets> LatestOffsets() = 0;
  // LatestOffsets as far as the source knows without asking its backend
  // (Kafka: the high watermarks its consumer's fetches brought back), so a
  // continuous job plans a batch without a round trip. It may lag behind
  // LatestOffsets by a fetch, never run ahead of it. The default asks.
  virtual Result<Offsets> KnownOffsets() { return LatestOffsets(); }
  // True when the source has an end (a generator with a count, a file); an
  // unbounded source (Kafka) returns false.
  virtual bool IsBounded() const { return false; }
  // True when a job positioned at `next_offsets` has read everything the
  // source will ever produce; `latest` is what LatestOffsets() just returned.
  // The default suits sources whose LatestOffsets() is their end.
  virtual bool Exhausted(const Offsets& next_offsets, const Offsets& latest) const {
    return IsBounded() && next_offsets == latest;
  }
  // Reads exactly the records of `range`, appending decoded rows (with
  // source metadata) to `out` and undecodable records to `dead_letters`.
  // Blocks until the range is complete, `cancel` becomes true, or the
  // source's timeout passes (Unavailable).
  virtual Status Read(const PartitionRange& range, const std::atomic<bool>& cancel, Batch* out,
                      DeadLetters* dead_letters) = 0;
  // Records that Reads found deleted before they were read (Kafka's
  // retention) and skipped, since the source opened. A source set to fail
  // on lost input fails the Read instead (StatusCode::kDataLoss).
  virtual int64_t LostRecords() const { return 0; }
  // How many upstream writers forward watermarks into every partition; 0
  // when the records carry none. Then the event time of a partition is the
  // smallest of its writers' watermarks, not its rows' (SourcePositions).
  virtual int32_t upstream_writers() const { return 0; }
  // The newest watermark of each upstream writer that the last Read of
  // `partition_index` found in its range, in writer order. Called by the
  // thread that made that Read, right after it.
  virtual std::vector<UpstreamWatermark> TakeUpstreamWatermarks(size_t partition_index) {
    (void)partition_index;
    return {};
  }
  // Tells the source that every partition has been processed up to
  // `next_offsets` (for Kafka: committed to the group for lag tools).
  virtual void Acknowledge(const Offsets& next_offsets) { (void)next_offsets; }
};

}  // namespace eddy
