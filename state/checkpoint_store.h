#pragma once
// Durable, atomic checkpoints of a job's state directory.
//
// Layout (docs/checkpoints.md): STATE_DIR/checkpoints/chk-<batch id, 12
// digits>/ holding rocksdb/ (a RocksDB checkpoint: hard links) and MANIFEST
// (a CheckpointManifest, written last and fsynced). A checkpoint is staged in
// .tmp-chk-<id>, then renamed and the parent directory fsynced (RocksDB's
// checkpoint_impl.cc shape): a crash at any point leaves either no
// checkpoint or a complete one. Incomplete and temporary directories are
// ignored by List and removed by RemoveLeftovers and the next Write.
//
// Thread-safety: one writer (the engine's driver); List/Read anywhere.

#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "state/checkpoint.pb.h"
#include "state/state_backend.h"

namespace eddy {

struct CheckpointInfo {
  std::string path;  // the chk-... directory
  state::CheckpointManifest manifest;
};

class CheckpointStore {
 public:
  // `dir` is STATE_DIR/checkpoints; `keep` complete checkpoints are retained.
  CheckpointStore(std::string dir, int keep);

  // Writes a checkpoint of `backend` described by `manifest` (whose batch_id
  // names it; rocksdb_dir and size_bytes are filled in), then removes the
  // oldest beyond `keep`. An existing checkpoint of the same batch id (left
  // by a run the job was rewound from) is replaced.
  Result<CheckpointInfo> Write(StateBackend& backend, state::CheckpointManifest manifest);
  // Removes what interrupted writes left: staging (.tmp-) directories and
  // chk- directories without a readable manifest. Write does it first too;
  // the writer calls this at start so that leftovers go even when no
  // checkpoint follows. OK when `dir` does not exist.
  Status RemoveLeftovers();
  // Complete checkpoints, newest first.
  Result<std::vector<CheckpointInfo>> List() const;
  Result<std::optional<CheckpointInfo>> Latest() const;
  // Reads the checkpoint at `path` (a chk-... directory); Corruption when
  // its manifest is missing or does not parse.
  static Result<CheckpointInfo> Read(const std::string& path);
  // Replaces `live_db_dir` with the checkpoint's RocksDB files: SST files
  // hard-linked where the file system allows, else copied; the files RocksDB
  // rewrites (MANIFEST-*, CURRENT, OPTIONS-*, WALs) always copied, so the
  // restored database never changes the checkpoint. REQUIRES: no
  // StateBackend has `live_db_dir` open.
  static Status RestoreInto(const CheckpointInfo& checkpoint, const std::string& live_db_dir);

 private:
  std::string dir_;
  int keep_;
};

}  // namespace eddy
