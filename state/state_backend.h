#pragma once
// Keyed state of one job, in one RocksDB instance under the job's state
// directory. Each stateful operator owns a table (a column family); every
// key in a table is prefixed with its key group (2 bytes, big-endian), so
// state can later move between processes group by group, Flink style.
//
// Memory is bounded by construction: every StateBackend in the process
// shares one LRU block cache and one WriteBufferManager (charged to that
// cache), sized by the first StateBudget configured (SharedStateBudget).
//
// Access is batch-shaped: a stateful operator aggregates a batch in memory,
// reads the keys it touched with one MultiGet and writes them back through
// one StateWriteBatch, which the engine commits atomically together with the
// batch's offsets (meta keys) — never a get/put per record.
//
// Thread-safety: MultiGet and Scan may run concurrently; a StateWriteBatch is
// filled by one thread; Commit is called by the engine's driver thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace eddy {

struct KeyGroupId {
  uint16_t value = 0;
  auto operator<=>(const KeyGroupId&) const = default;
};

inline constexpr int kDefaultKeyGroups = 128;
inline constexpr int kMaxKeyGroups = 32768;

// The key group of a key: a stable hash of its bytes modulo `key_groups`.
// Never change the hash: stored state depends on it.
KeyGroupId KeyGroupForKey(std::string_view key, int key_groups);

struct StateBudget {
  size_t block_cache_bytes = size_t{256} << 20;
  size_t write_buffer_bytes = size_t{64} << 20;
};

// Sets the process-wide budget. Only the first call (or the first Open)
// takes effect; returns the budget in force.
StateBudget SharedStateBudget(const StateBudget& requested);

struct StateKey {
  KeyGroupId group;
  std::string_view key;  // without the key-group prefix
};

class StateBackend;

// One operator's column family.
class StateTable {
 public:
  virtual ~StateTable() = default;
  virtual const std::string& name() const = 0;
  // One value per key, nullopt where absent; a single RocksDB MultiGet.
  virtual Status MultiGet(std::span<const StateKey> keys,
                          std::vector<std::optional<std::string>>* values) const = 0;
  // Visits the keys of `group` that start with `prefix`, in key order,
  // until `visit` returns false. Keys are given without the group prefix.
  virtual Status Scan(
      KeyGroupId group, std::string_view prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) const = 0;
  // RocksDB's estimates (rocksdb.estimate-num-keys, live SST + memtable bytes).
  virtual uint64_t EstimatedKeys() const = 0;
  virtual uint64_t EstimatedBytes() const = 0;
};

// Changes to apply atomically (a rocksdb::WriteBatch).
class StateWriteBatch {
 public:
  StateWriteBatch();
  ~StateWriteBatch();
  StateWriteBatch(StateWriteBatch&&) noexcept;
  StateWriteBatch& operator=(StateWriteBatch&&) noexcept;

  void Put(const StateTable& table, KeyGroupId group, std::string_view key, std::string_view value);
  void Delete(const StateTable& table, KeyGroupId group, std::string_view key);
  // Engine metadata (source offsets, watermarks, batch id) in the default
  // column family, committed with the state it describes.
  void PutMeta(std::string_view key, std::string_view value);
  size_t Count() const;

 private:
  friend class StateBackend;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

struct StateBackendOptions {
  // The live RocksDB directory (created if missing).
  std::string dir;
  // Used when the directory is new; an existing database keeps the count it
  // was created with (a mismatch is an error).
  int key_groups = kDefaultKeyGroups;
  StateBudget budget;
  // Tables to open or create, one per stateful operator id.
  std::vector<std::string> tables;
};

class StateBackend {
 public:
  static Result<std::unique_ptr<StateBackend>> Open(const StateBackendOptions& options);
  ~StateBackend();
  StateBackend(const StateBackend&) = delete;
  StateBackend& operator=(const StateBackend&) = delete;

  int key_groups() const;
  // NotFound for a table not listed in the options.
  Result<StateTable*> table(std::string_view name);
  // Applies `batch` atomically through the WAL, without fsync: once it
  // returns the batch survives a process crash; a machine crash may lose the
  // newest commits, whole (never part of one), which then replay from the
  // offsets committed with them. CreateCheckpoint syncs the WAL. `sync`
  // fsyncs the WAL before returning, so the batch survives a machine crash.
  Status Commit(StateWriteBatch batch, bool sync = false);
  Result<std::optional<std::string>> GetMeta(std::string_view key) const;
  // A RocksDB checkpoint (hard-linked SST files, so incremental in cost) in
  // `dir`, which must not exist yet.
  Status CreateCheckpoint(const std::string& dir);
  const std::string& dir() const;

 private:
  struct Rep;
  explicit StateBackend(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace eddy
