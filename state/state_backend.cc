#include "state/state_backend.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>

#include "runtime/core/hash.h"

namespace eddy {
namespace {

// ---------------------------------------------------------------------------
// Process-wide memory budget: one block cache and one write buffer manager
// (charged to that cache) for every StateBackend and column family, so the
// process's RocksDB memory is about block_cache_bytes however many jobs,
// tables and key groups there are.

struct SharedResources {
  std::mutex mu;
  std::optional<StateBudget> budget;  // fixed by the first caller
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};

SharedResources& Shared() {
  static SharedResources resources;
  return resources;
}

StateBudget FixBudgetLocked(SharedResources& shared, const StateBudget& requested) {
  if (!shared.budget) shared.budget = requested;
  return *shared.budget;
}

// Returns the shared cache and write buffer manager, creating them from the
// budget in force (fixing it to `requested` if nobody has yet).
std::pair<std::shared_ptr<rocksdb::Cache>, std::shared_ptr<rocksdb::WriteBufferManager>>
SharedCacheAndWriteBuffers(const StateBudget& requested) {
  SharedResources& shared = Shared();
  std::lock_guard<std::mutex> lock(shared.mu);
  const StateBudget budget = FixBudgetLocked(shared, requested);
  if (!shared.cache) {
    shared.cache = rocksdb::NewLRUCache(budget.block_cache_bytes);
    shared.write_buffers =
        std::make_shared<rocksdb::WriteBufferManager>(budget.write_buffer_bytes, shared.cache);
  }
  return {shared.cache, shared.write_buffers};
}

// ---------------------------------------------------------------------------

// Meta key (default column family) holding the key-group count, as decimal
// text. Engine meta keys must not start with "__eddy/".
constexpr std::string_view kKeyGroupsMetaKey = "__eddy/key_groups";

constexpr size_t kGroupPrefixBytes = 2;

inline void EncodeGroup(KeyGroupId group, char out[kGroupPrefixBytes]) {
  out[0] = static_cast<char>(group.value >> 8);
  out[1] = static_cast<char>(group.value & 0xFF);
}

inline rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string msg = std::string(context) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(std::move(msg));
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsAborted()) {
    return Status::IOError(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

rocksdb::CompressionType PickCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType preferred :
       {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), preferred) != supported.end())
      return preferred;
  }
  return rocksdb::kNoCompression;
}

// RocksDB's informational log, sent to Eddy's log instead of a LOG file in
// the state directory: once a LOG write fails (a full disk), the next one
// trips an assertion in RocksDB 7.8's WritableFileWriter and the process
// aborts instead of reporting the error.
class RocksDbLogger : public rocksdb::Logger {
 public:
  // Errors only: RocksDB's warnings include routine notes (e.g. "File
  // Deletions Disabled, but already disabled" at every checkpoint).
  RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::ERROR_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || level == rocksdb::InfoLogLevel::HEADER_LEVEL) return;
    char text[1024];
    std::vsnprintf(text, sizeof(text), format, ap);
    spdlog::error("rocksdb: {}", text);
  }
};

rocksdb::DBOptions MakeDbOptions(std::shared_ptr<rocksdb::WriteBufferManager> write_buffers) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Bounded file descriptors (and table-reader memory) per database.
  options.max_open_files = 512;
  options.write_buffer_manager = std::move(write_buffers);
  // Flush on close so a reopen does not replay a long WAL.
  options.avoid_flush_during_shutdown = false;
  options.max_background_jobs = 2;
  options.info_log = std::make_shared<RocksDbLogger>();
  options.keep_log_file_num = 4;
  options.max_log_file_size = size_t{8} << 20;
  return options;
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t write_buffer_bytes) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in (and are charged to) the shared cache
  // rather than growing unbounded with the number of SST files.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions options;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = PickCompression();
  options.level_compaction_dynamic_level_bytes = true;
  // The write buffer manager bounds the total; this only keeps one table
  // from holding the whole budget in a single memtable.
  options.write_buffer_size =
      std::clamp<size_t>(write_buffer_bytes / 4, size_t{1} << 20, size_t{64} << 20);
  return options;
}

struct CfHandleDeleter {
  rocksdb::DB* db = nullptr;
  void operator()(rocksdb::ColumnFamilyHandle* handle) const {
    if (db != nullptr && handle != nullptr)
      db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
};
using CfHandle = std::unique_ptr<rocksdb::ColumnFamilyHandle, CfHandleDeleter>;

class RocksStateTable final : public StateTable {
 public:
  RocksStateTable(std::string name, rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                  const void* owner)
      : name_(std::move(name)), db_(db), cf_(cf), owner_(owner) {}

  const std::string& name() const override { return name_; }
  rocksdb::ColumnFamilyHandle* cf() const { return cf_; }
  const void* owner() const { return owner_; }

  Status MultiGet(std::span<const StateKey> keys,
                  std::vector<std::optional<std::string>>* values) const override {
    values->clear();
    values->resize(keys.size());
    if (keys.empty()) return Status::OK();
    // One buffer for every prefixed key; slices are taken after it stops
    // growing.
    size_t total = 0;
    for (const StateKey& k : keys) total += kGroupPrefixBytes + k.key.size();
    std::string buffer;
    buffer.reserve(total);
    for (const StateKey& k : keys) {
      char prefix[kGroupPrefixBytes];
      EncodeGroup(k.group, prefix);
      buffer.append(prefix, kGroupPrefixBytes);
      buffer.append(k.key);
    }
    std::vector<rocksdb::Slice> slices;
    slices.reserve(keys.size());
    size_t offset = 0;
    for (const StateKey& k : keys) {
      const size_t size = kGroupPrefixBytes + k.key.size();
      slices.emplace_back(buffer.data() + offset, size);
      offset += size;
    }
    std::vector<rocksdb::PinnableSlice> pinned(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), cf_, keys.size(), slices.data(), pinned.data(),
                  statuses.data(), /*sorted_input=*/false);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].ok()) {
        (*values)[i].emplace(pinned[i].data(), pinned[i].size());
      } else if (!statuses[i].IsNotFound()) {
        return FromRocks(statuses[i], "MultiGet in state table " + name_);
      }
    }
    return Status::OK();
  }

  Status Scan(KeyGroupId group, std::string_view prefix,
              const std::function<bool(std::string_view, std::string_view)>& visit) const override {
    std::string lower(kGroupPrefixBytes, '\0');
    EncodeGroup(group, lower.data());
    lower.append(prefix);
    // The exclusive upper bound: the smallest key greater than every key
    // starting with `lower`. The group's first byte is < 0x80 (groups are
    // below 32768), so a successor always exists.
    std::string upper = lower;
    while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xFF) upper.pop_back();
    if (upper.empty()) return Status::Internal("state key prefix has no successor");
    upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);

    const rocksdb::Slice upper_slice = ToSlice(upper);
    rocksdb::ReadOptions read_options;
    read_options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, cf_));
    for (it->Seek(ToSlice(lower)); it->Valid(); it->Next()) {
      std::string_view key = ToView(it->key());
      key.remove_prefix(kGroupPrefixBytes);
      if (!visit(key, ToView(it->value()))) break;
    }
    if (!it->status().ok()) return FromRocks(it->status(), "Scan of state table " + name_);
    return Status::OK();
  }

  uint64_t EstimatedKeys() const override {
    uint64_t keys = 0;
    if (!db_->GetIntProperty(cf_, "rocksdb.estimate-num-keys", &keys)) return 0;
    return keys;
  }

  uint64_t EstimatedBytes() const override {
    uint64_t live = 0;
    uint64_t memtables = 0;
    if (!db_->GetIntProperty(cf_, "rocksdb.estimate-live-data-size", &live)) live = 0;
    if (!db_->GetIntProperty(cf_, "rocksdb.cur-size-all-mem-tables", &memtables)) memtables = 0;
    return live + memtables;
  }

 private:
  std::string name_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  const void* owner_;  // the StateBackend::Rep that opened the table
};

}  // namespace

KeyGroupId KeyGroupForKey(std::string_view key, int key_groups) {
  // REQUIRES: 1 <= key_groups <= kMaxKeyGroups (checked by StateBackend::Open).
  // XXH64 (seed 0) of the key bytes, modulo the key-group count: stored
  // state is laid out by it, so it never changes (runtime/core/hash.h).
  if (key_groups <= 1) return KeyGroupId{0};
  return KeyGroupId{static_cast<uint16_t>(XxHash64(key) % static_cast<uint64_t>(key_groups))};
}

StateBudget SharedStateBudget(const StateBudget& requested) {
  SharedResources& shared = Shared();
  std::lock_guard<std::mutex> lock(shared.mu);
  return FixBudgetLocked(shared, requested);
}

// ---------------------------------------------------------------------------
// StateWriteBatch

struct StateWriteBatch::Rep {
  rocksdb::WriteBatch batch;
  // The backend the batch's tables belong to; a batch must not mix backends.
  const void* owner = nullptr;
  // The first misuse (a foreign table, a failed append); Commit returns it.
  Status error;

  void SetError(Status s) {
    if (error.ok()) error = std::move(s);
  }
  const RocksStateTable* Check(const StateTable& table) {
    const auto* rocks = dynamic_cast<const RocksStateTable*>(&table);
    if (rocks == nullptr) {
      SetError(Status::InvalidArgument("state table " + table.name() +
                                       " was not opened by a StateBackend"));
      return nullptr;
    }
    if (owner == nullptr) owner = rocks->owner();
    if (owner != rocks->owner()) {
      SetError(Status::InvalidArgument("write batch mixes tables of two state backends (table " +
                                       table.name() + ")"));
      return nullptr;
    }
    return rocks;
  }
};

StateWriteBatch::StateWriteBatch() : rep_(std::make_unique<Rep>()) {}
StateWriteBatch::~StateWriteBatch() = default;
StateWriteBatch::StateWriteBatch(StateWriteBatch&&) noexcept = default;
StateWriteBatch& StateWriteBatch::operator=(StateWriteBatch&&) noexcept = default;

void StateWriteBatch::Put(const StateTable& table, KeyGroupId group, std::string_view key,
                          std::string_view value) {
  const RocksStateTable* rocks = rep_->Check(table);
  if (rocks == nullptr) return;
  char prefix[kGroupPrefixBytes];
  EncodeGroup(group, prefix);
  // Key parts are copied into the batch: no per-put concatenation.
  const rocksdb::Slice key_parts[2] = {rocksdb::Slice(prefix, kGroupPrefixBytes), ToSlice(key)};
  const rocksdb::Slice value_part = ToSlice(value);
  rocksdb::Status s = rep_->batch.Put(rocks->cf(), rocksdb::SliceParts(key_parts, 2),
                                      rocksdb::SliceParts(&value_part, 1));
  if (!s.ok()) rep_->SetError(FromRocks(s, "Put into state table " + table.name()));
}

void StateWriteBatch::Delete(const StateTable& table, KeyGroupId group, std::string_view key) {
  const RocksStateTable* rocks = rep_->Check(table);
  if (rocks == nullptr) return;
  char prefix[kGroupPrefixBytes];
  EncodeGroup(group, prefix);
  const rocksdb::Slice key_parts[2] = {rocksdb::Slice(prefix, kGroupPrefixBytes), ToSlice(key)};
  rocksdb::Status s = rep_->batch.Delete(rocks->cf(), rocksdb::SliceParts(key_parts, 2));
  if (!s.ok()) rep_->SetError(FromRocks(s, "Delete from state table " + table.name()));
}

void StateWriteBatch::PutMeta(std::string_view key, std::string_view value) {
  // Null column family: the default one.
  rocksdb::Status s = rep_->batch.Put(ToSlice(key), ToSlice(value));
  if (!s.ok()) rep_->SetError(FromRocks(s, "PutMeta " + std::string(key)));
}

size_t StateWriteBatch::Count() const { return rep_ ? rep_->batch.Count() : 0; }

// ---------------------------------------------------------------------------
// StateBackend

struct StateBackend::Rep {
  std::string dir;
  int key_groups = 0;
  // Declared before the handles and tables so it is destroyed after them.
  std::unique_ptr<rocksdb::DB> db;
  CfHandle default_cf;
  std::vector<CfHandle> other_cfs;  // opened because they exist, not exposed
  std::map<std::string, std::unique_ptr<RocksStateTable>, std::less<>> tables;
  std::vector<CfHandle> table_cfs;

  ~Rep() {
    tables.clear();
    table_cfs.clear();
    other_cfs.clear();
    default_cf.reset();
    if (db) db->Close().PermitUncheckedError();
    db.reset();
  }
};

StateBackend::StateBackend(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
StateBackend::~StateBackend() = default;

Result<std::unique_ptr<StateBackend>> StateBackend::Open(const StateBackendOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("state backend: empty directory");
  if (options.key_groups < 1 || options.key_groups > kMaxKeyGroups) {
    return Status::InvalidArgument("state backend " + options.dir + ": key_groups " +
                                   std::to_string(options.key_groups) + " is outside [1, " +
                                   std::to_string(kMaxKeyGroups) + "]");
  }
  for (size_t i = 0; i < options.tables.size(); ++i) {
    const std::string& name = options.tables[i];
    if (name.empty() || name == rocksdb::kDefaultColumnFamilyName) {
      return Status::InvalidArgument("state backend " + options.dir + ": invalid table name '" +
                                     name + "'");
    }
    if (std::find(options.tables.begin(), options.tables.begin() + i, name) !=
        options.tables.begin() + i) {
      return Status::InvalidArgument("state backend " + options.dir + ": table " + name +
                                     " listed twice");
    }
  }

  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec)
    return Status::IOError("cannot create state directory " + options.dir + ": " + ec.message());

  auto [cache, write_buffers] = SharedCacheAndWriteBuffers(options.budget);
  const StateBudget budget = SharedStateBudget(options.budget);
  const rocksdb::DBOptions db_options = MakeDbOptions(write_buffers);
  const rocksdb::ColumnFamilyOptions cf_options = MakeCfOptions(cache, budget.write_buffer_bytes);

  // Every existing column family must be opened; requested ones are added.
  std::vector<std::string> cf_names;
  if (std::filesystem::exists(std::filesystem::path(options.dir) / "CURRENT", ec)) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, options.dir, &cf_names);
    if (!s.ok()) return FromRocks(s, "listing column families of " + options.dir);
  }
  if (std::find(cf_names.begin(), cf_names.end(), rocksdb::kDefaultColumnFamilyName) ==
      cf_names.end()) {
    cf_names.insert(cf_names.begin(), rocksdb::kDefaultColumnFamilyName);
  }
  for (const std::string& name : options.tables) {
    if (std::find(cf_names.begin(), cf_names.end(), name) == cf_names.end())
      cf_names.push_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(cf_names.size());
  for (const std::string& name : cf_names) descriptors.emplace_back(name, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle*> raw_handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, options.dir, descriptors, &raw_handles, &raw_db);
  if (!s.ok()) return FromRocks(s, "opening state database " + options.dir);

  auto rep = std::make_unique<Rep>();
  rep->dir = options.dir;
  rep->db.reset(raw_db);
  const CfHandleDeleter deleter{raw_db};
  for (size_t i = 0; i < raw_handles.size(); ++i) {
    CfHandle handle(raw_handles[i], deleter);
    const std::string& name = cf_names[i];
    if (name == rocksdb::kDefaultColumnFamilyName) {
      rep->default_cf = std::move(handle);
    } else if (std::find(options.tables.begin(), options.tables.end(), name) !=
               options.tables.end()) {
      rep->tables.emplace(name,
                          std::make_unique<RocksStateTable>(name, raw_db, handle.get(), rep.get()));
      rep->table_cfs.push_back(std::move(handle));
    } else {
      rep->other_cfs.push_back(std::move(handle));
    }
  }

  // The key-group count is fixed when the database is created.
  rocksdb::PinnableSlice stored;
  s = rep->db->Get(rocksdb::ReadOptions(), rep->default_cf.get(), ToSlice(kKeyGroupsMetaKey),
                   &stored);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    s = rep->db->Put(write_options, rep->default_cf.get(), ToSlice(kKeyGroupsMetaKey),
                     std::to_string(options.key_groups));
    if (!s.ok()) return FromRocks(s, "recording key groups in " + options.dir);
    rep->key_groups = options.key_groups;
  } else if (!s.ok()) {
    return FromRocks(s, "reading key groups of " + options.dir);
  } else {
    const std::string_view text = ToView(stored);
    int stored_groups = 0;
    auto [end, errc] = std::from_chars(text.data(), text.data() + text.size(), stored_groups);
    if (errc != std::errc() || end != text.data() + text.size() || stored_groups < 1 ||
        stored_groups > kMaxKeyGroups) {
      return Status::Corruption("state database " + options.dir +
                                " has an invalid key-group count '" + std::string(text) + "'");
    }
    if (stored_groups != options.key_groups) {
      return Status::InvalidArgument("state database " + options.dir + " was created with " +
                                     std::to_string(stored_groups) + " key groups, but " +
                                     std::to_string(options.key_groups) + " were requested");
    }
    rep->key_groups = stored_groups;
  }
  return std::unique_ptr<StateBackend>(new StateBackend(std::move(rep)));
}

int StateBackend::key_groups() const { return rep_->key_groups; }

const std::string& StateBackend::dir() const { return rep_->dir; }

Result<StateTable*> StateBackend::table(std::string_view name) {
  auto it = rep_->tables.find(name);
  if (it == rep_->tables.end()) {
    return Status::NotFound("state table " + std::string(name) + " is not open in " + rep_->dir);
  }
  return static_cast<StateTable*>(it->second.get());
}

Status StateBackend::Commit(StateWriteBatch batch, bool sync) {
  if (!batch.rep_) return Status::InvalidArgument("commit of a moved-from state write batch");
  if (!batch.rep_->error.ok()) return batch.rep_->error;
  if (batch.rep_->owner != nullptr && batch.rep_->owner != rep_.get()) {
    return Status::InvalidArgument("write batch holds tables of another state backend than " +
                                   rep_->dir);
  }
  if (batch.rep_->batch.Count() == 0) return Status::OK();
  // WAL on, no fsync: atomic, and durable across a process crash; a machine
  // crash may lose the newest commits, which replay from the source offsets
  // stored with them (docs/checkpoints.md, "Durability").
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  rocksdb::Status s = rep_->db->Write(write_options, &batch.rep_->batch);
  if (!s.ok()) return FromRocks(s, "committing state in " + rep_->dir);
  return Status::OK();
}

Result<std::optional<std::string>> StateBackend::GetMeta(std::string_view key) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s =
      rep_->db->Get(rocksdb::ReadOptions(), rep_->default_cf.get(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading meta key " + std::string(key) + " in " + rep_->dir);
  return std::optional<std::string>(std::string(ToView(value)));
}

Status StateBackend::CreateCheckpoint(const std::string& dir) {
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(dir, ec).string();
  if (ec) return Status::IOError("checkpoint path " + dir + ": " + ec.message());
  // Make every commit so far durable in the live database too.
  rocksdb::Status s = rep_->db->FlushWAL(/*sync=*/true);
  if (!s.ok()) return FromRocks(s, "syncing the WAL of " + rep_->dir);
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  s = rocksdb::Checkpoint::Create(rep_->db.get(), &raw_checkpoint);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  if (!s.ok()) return FromRocks(s, "preparing a checkpoint of " + rep_->dir);
  // log_size_for_flush = 0: always flush memtables first, so the checkpoint
  // is SST files (hard links) plus a small MANIFEST, not a long WAL copy.
  s = checkpoint->CreateCheckpoint(absolute, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocks(s, "checkpoint of " + rep_->dir + " into " + absolute);
  return Status::OK();
}

}  // namespace eddy
