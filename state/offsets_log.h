#pragma once
// The offsets log: the write-ahead record of every planned batch — its
// offset range per source partition, its processing-time decisions and the
// sinks' positions before it (state::PlannedBatch) — written durably before
// the batch runs, as Spark's offsets/ log. A batch that runs again (after a
// crash, or after a restore from an older checkpoint) runs as first planned,
// so its outputs are the same records and exactly-once sinks can skip what
// already landed (docs/exactly-once.md).
//
// Layout: DIR/<batch id, 12 digits>, each a serialized PlannedBatch,
// published by write-temp, fsync, rename, fsync DIR. It lives beside the
// RocksDB state, not in it, so it survives a restore of the state from a
// checkpoint.
//
// Thread-safety: one writer (the engine's driver).

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/core/status.h"
#include "state/checkpoint.pb.h"

namespace eddy {

class OffsetsLog {
 public:
  explicit OffsetsLog(std::string dir) : dir_(std::move(dir)) {}

  // Durably records `planned`, replacing an entry of the same batch id.
  Status Append(const state::PlannedBatch& planned);
  // Durably records `planned` only if no entry of its batch id exists
  // (link(2), atomic on POSIX file systems): AlreadyExists otherwise. A
  // shard of a scaled-out job plans this way, so an instance that lost its
  // partition cannot replace what the new owner planned and ran.
  Status AppendNew(const state::PlannedBatch& planned);
  // The entry for `batch_id`; nullopt when there is none.
  Result<std::optional<state::PlannedBatch>> Read(int64_t batch_id) const;
  // Removes the entries of batches before `batch_id` (those no checkpoint
  // kept can replay) and temporaries left by a crash. REQUIRES: no Append
  // in progress (one writer).
  Status TruncateBefore(int64_t batch_id);

 private:
  Status PrepareDir();

  std::string dir_;
  bool dir_ready_ = false;
};

}  // namespace eddy
