#include "state/checkpoint_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace eddy {
namespace {

namespace fs = std::filesystem;

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "eddy-checkpoint-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    db_dir_ = (root_ / "db").string();
    checkpoints_dir_ = (root_ / "checkpoints").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::unique_ptr<StateBackend> Open(const std::string& dir) {
    StateBackendOptions options;
    options.dir = dir;
    options.key_groups = 16;
    options.tables = {"agg"};
    auto backend = StateBackend::Open(options);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(backend).value() : nullptr;
  }

  static void Put(StateBackend& backend, const std::string& key, const std::string& value,
                  const std::string& offset = "") {
    StateWriteBatch batch;
    batch.Put(*backend.table("agg").value(), KeyGroupForKey(key, backend.key_groups()), key, value);
    if (!offset.empty()) batch.PutMeta("offset", offset);
    ASSERT_TRUE(backend.Commit(std::move(batch)).ok());
  }

  static std::string Get(StateBackend& backend, const std::string& key) {
    std::vector<std::optional<std::string>> values;
    const StateKey state_key{KeyGroupForKey(key, backend.key_groups()), key};
    Status s = backend.table("agg").value()->MultiGet({&state_key, 1}, &values);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return values.size() == 1 && values[0] ? *values[0] : "<absent>";
  }

  static state::CheckpointManifest Manifest(int64_t batch_id) {
    state::CheckpointManifest manifest;
    manifest.set_batch_id(batch_id);
    manifest.set_job_name("orders-per-minute");
    state::SourcePosition* source = manifest.add_sources();
    source->set_source("orders");
    source->set_watermark(1'700'000'000'000'000 + batch_id);
    state::PartitionPosition* partition = source->add_partitions();
    partition->set_topic("orders");
    partition->set_partition(2);
    partition->set_next_offset(1000 + batch_id);
    state::OperatorSignature* op = manifest.add_operators();
    op->set_id("per_minute");
    op->set_kind("window");
    op->set_signature("tumble(1m) key=customer");
    return manifest;
  }

  // Names in `dir`, sorted.
  static std::vector<std::string> Entries(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::vector<int64_t> BatchIds(const std::vector<CheckpointInfo>& infos) {
    std::vector<int64_t> ids;
    for (const CheckpointInfo& info : infos) ids.push_back(info.manifest.batch_id());
    return ids;
  }

  fs::path root_;
  std::string db_dir_;
  std::string checkpoints_dir_;
};

// RocksDB's checkpoint_test shape: checkpoint, overwrite, restore, expect
// the old values.
TEST_F(CheckpointStoreTest, RestoreReturnsTheCheckpointedValues) {
  CheckpointStore store(checkpoints_dir_, 3);
  CheckpointInfo info;
  {
    auto backend = Open(db_dir_);
    ASSERT_NE(backend, nullptr);
    Put(*backend, "alice", "old", "10");
    Put(*backend, "bob", "old");
    auto written = store.Write(*backend, Manifest(1));
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    info = *written;
    EXPECT_EQ(info.path, (fs::path(checkpoints_dir_) / "chk-000000000001").string());

    Put(*backend, "alice", "new", "20");
    Put(*backend, "carol", "new");
    EXPECT_EQ(Get(*backend, "alice"), "new");
  }

  const std::string restored_dir = (root_ / "restored" / "db").string();
  ASSERT_TRUE(CheckpointStore::RestoreInto(info, restored_dir).ok());
  {
    auto restored = Open(restored_dir);
    ASSERT_NE(restored, nullptr);
    EXPECT_EQ(Get(*restored, "alice"), "old");
    EXPECT_EQ(Get(*restored, "bob"), "old");
    EXPECT_EQ(Get(*restored, "carol"), "<absent>");
    EXPECT_EQ(restored->GetMeta("offset")->value_or("<absent>"), "10");
    // Writing to the restored database must not change the checkpoint.
    Put(*restored, "alice", "changed after restore", "30");
  }

  // Restore over the live directory, which holds newer data.
  ASSERT_TRUE(CheckpointStore::RestoreInto(info, db_dir_).ok());
  auto live = Open(db_dir_);
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(Get(*live, "alice"), "old");
  EXPECT_EQ(Get(*live, "carol"), "<absent>");
  EXPECT_EQ(live->GetMeta("offset")->value_or("<absent>"), "10");
  EXPECT_FALSE(fs::exists(db_dir_ + ".restore-tmp"));
}

TEST_F(CheckpointStoreTest, ManifestFieldsRoundTrip) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  Put(*backend, "k", "v");
  CheckpointStore store(checkpoints_dir_, 2);
  auto written = store.Write(*backend, Manifest(42));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->path, (fs::path(checkpoints_dir_) / "chk-000000000042").string());

  auto read = CheckpointStore::Read(written->path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const state::CheckpointManifest& m = read->manifest;
  EXPECT_EQ(read->path, written->path);
  EXPECT_EQ(m.batch_id(), 42);
  EXPECT_EQ(m.format_version(), 1);
  EXPECT_EQ(m.job_name(), "orders-per-minute");
  EXPECT_EQ(m.key_groups(), 16);
  EXPECT_EQ(m.rocksdb_dir(), "rocksdb");
  EXPECT_GT(m.created_unix_ms(), 1'600'000'000'000);
  ASSERT_EQ(m.sources_size(), 1);
  EXPECT_EQ(m.sources(0).source(), "orders");
  EXPECT_EQ(m.sources(0).watermark(), 1'700'000'000'000'042);
  ASSERT_EQ(m.sources(0).partitions_size(), 1);
  EXPECT_EQ(m.sources(0).partitions(0).topic(), "orders");
  EXPECT_EQ(m.sources(0).partitions(0).partition(), 2);
  EXPECT_EQ(m.sources(0).partitions(0).next_offset(), 1042);
  EXPECT_FALSE(m.sources(0).partitions(0).has_max_event_time());
  ASSERT_EQ(m.operators_size(), 1);
  EXPECT_EQ(m.operators(0).signature(), "tumble(1m) key=customer");

  // size_bytes is the sum of the RocksDB checkpoint's files.
  uint64_t total = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(written->path) / "rocksdb")) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  EXPECT_GT(m.size_bytes(), 0u);
  EXPECT_EQ(m.size_bytes(), total);
  EXPECT_EQ(written->manifest.SerializeAsString(), m.SerializeAsString());
  EXPECT_EQ(Entries(written->path), (std::vector<std::string>{"MANIFEST", "rocksdb"}));
}

TEST_F(CheckpointStoreTest, ListIsNewestFirstAndKeepsTheNewest) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  CheckpointStore store(checkpoints_dir_, 3);
  auto empty = store.List();
  ASSERT_TRUE(empty.ok());  // no directory yet
  EXPECT_TRUE(empty->empty());
  auto none = store.Latest();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  for (int64_t id = 1; id <= 5; ++id) {
    Put(*backend, "k", "v" + std::to_string(id));
    auto written = store.Write(*backend, Manifest(id));
    ASSERT_TRUE(written.ok()) << written.status().ToString();
  }
  auto list = store.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(BatchIds(*list), (std::vector<int64_t>{5, 4, 3}));
  EXPECT_EQ(Entries(checkpoints_dir_),
            (std::vector<std::string>{"chk-000000000003", "chk-000000000004", "chk-000000000005"}));
  auto latest = store.Latest();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->manifest.batch_id(), 5);
  EXPECT_EQ((*latest)->path, (fs::path(checkpoints_dir_) / "chk-000000000005").string());

  // Batch ids order numerically, beyond the zero padding too.
  ASSERT_TRUE(store.Write(*backend, Manifest(1'000'000'000'000)).ok());
  EXPECT_EQ(BatchIds(store.List().value()), (std::vector<int64_t>{1'000'000'000'000, 5, 4}));
}

TEST_F(CheckpointStoreTest, WritingAnOlderBatchIdNeverPrunesTheNewCheckpoint) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  CheckpointStore store(checkpoints_dir_, 2);
  ASSERT_TRUE(store.Write(*backend, Manifest(10)).ok());
  ASSERT_TRUE(store.Write(*backend, Manifest(11)).ok());
  ASSERT_TRUE(store.Write(*backend, Manifest(3)).ok());
  EXPECT_EQ(BatchIds(store.List().value()), (std::vector<int64_t>{11, 3}));
}

// A job rewound to an older checkpoint replays later batches and writes
// their checkpoints again: the new one replaces the old.
TEST_F(CheckpointStoreTest, ExistingBatchIdIsReplaced) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  CheckpointStore store(checkpoints_dir_, 3);
  Put(*backend, "k", "first");
  ASSERT_TRUE(store.Write(*backend, Manifest(7)).ok());
  Put(*backend, "k", "second");
  auto again = store.Write(*backend, Manifest(7));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Entries(checkpoints_dir_), (std::vector<std::string>{"chk-000000000007"}));

  auto list = store.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const std::string restored = (root_ / "restored").string();
  ASSERT_TRUE(CheckpointStore::RestoreInto(list->front(), restored).ok());
  auto reopened = Open(restored);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Get(*reopened, "k"), "second");
}

TEST_F(CheckpointStoreTest, IncompleteDirectoriesAreIgnoredThenRemoved) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  CheckpointStore store(checkpoints_dir_, 5);
  ASSERT_TRUE(store.Write(*backend, Manifest(1)).ok());

  const fs::path dir(checkpoints_dir_);
  // A crash while staging, a chk- directory without MANIFEST and one whose
  // MANIFEST does not parse.
  fs::create_directories(dir / ".tmp-chk-000000000009" / "rocksdb");
  std::ofstream(dir / ".tmp-chk-000000000009" / "rocksdb" / "000001.sst") << "partial";
  fs::create_directories(dir / "chk-000000000007" / "rocksdb");
  fs::create_directories(dir / "chk-000000000008" / "rocksdb");
  std::ofstream(dir / "chk-000000000008" / "MANIFEST") << "\xff\xff\xff\xff";
  // Not ours: left alone.
  std::ofstream(dir / "README") << "hands off";

  auto list = store.List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(BatchIds(*list), (std::vector<int64_t>{1}));

  ASSERT_TRUE(store.Write(*backend, Manifest(2)).ok());
  EXPECT_EQ(Entries(checkpoints_dir_),
            (std::vector<std::string>{"README", "chk-000000000001", "chk-000000000002"}));
  EXPECT_EQ(BatchIds(store.List().value()), (std::vector<int64_t>{2, 1}));
}

TEST_F(CheckpointStoreTest, ReadReportsMissingAndCorruptManifests) {
  const fs::path dir(checkpoints_dir_);
  fs::create_directories(dir / "chk-000000000001" / "rocksdb");
  auto missing = CheckpointStore::Read((dir / "chk-000000000001").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("chk-000000000001"));

  std::ofstream(dir / "chk-000000000001" / "MANIFEST") << "\xff\xff\xff\xff garbage";
  auto corrupt = CheckpointStore::Read((dir / "chk-000000000001").string());
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(corrupt.status().message(), ::testing::HasSubstr("MANIFEST"));

  // Parses, but names another batch than its directory.
  state::CheckpointManifest other;
  other.set_format_version(1);
  other.set_batch_id(2);
  other.set_rocksdb_dir("rocksdb");
  std::ofstream(dir / "chk-000000000001" / "MANIFEST", std::ios::trunc | std::ios::binary)
      << other.SerializeAsString();
  EXPECT_EQ(CheckpointStore::Read((dir / "chk-000000000001").string()).status().code(),
            StatusCode::kCorruption);

  EXPECT_EQ(CheckpointStore::Read((dir / "chk-000000000099").string()).status().code(),
            StatusCode::kNotFound);
}

TEST_F(CheckpointStoreTest, RejectsNegativeBatchIds) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  CheckpointStore store(checkpoints_dir_, 3);
  EXPECT_EQ(store.Write(*backend, Manifest(-1)).status().code(), StatusCode::kInvalidArgument);
}

// A checkpoint shares SST files with the live database (hard links), and a
// restore shares them with the checkpoint.
TEST_F(CheckpointStoreTest, SstFilesAreHardLinked) {
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  const std::string value(1000, 'x');
  StateWriteBatch batch;
  StateTable* table = backend->table("agg").value();
  for (int i = 0; i < 2000; ++i) {  // ~2 MB
    const std::string key = "key-" + std::to_string(i);
    batch.Put(*table, KeyGroupForKey(key, backend->key_groups()), key, value);
  }
  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  CheckpointStore store(checkpoints_dir_, 3);
  auto written = store.Write(*backend, Manifest(1));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_GT(written->manifest.size_bytes(), 10'000u);  // compressed 'x's, but real files

  auto max_links = [](const fs::path& dir) {
    nlink_t max = 0;
    int ssts = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() != ".sst") continue;
      struct stat st;
      EXPECT_EQ(::stat(entry.path().c_str(), &st), 0);
      max = std::max(max, st.st_nlink);
      ++ssts;
    }
    EXPECT_GT(ssts, 0) << dir;
    return max;
  };
  EXPECT_GE(max_links(fs::path(written->path) / "rocksdb"), 2u);

  const std::string restored = (root_ / "restored").string();
  ASSERT_TRUE(CheckpointStore::RestoreInto(*written, restored).ok());
  EXPECT_GE(max_links(restored), 3u);  // live db, checkpoint, restored copy
  // Files RocksDB may append to or rewrite (MANIFEST-*, CURRENT, OPTIONS-*,
  // WALs) are copies, so the restored database cannot change the checkpoint.
  int mutable_files = 0;
  for (const auto& entry : fs::directory_iterator(restored)) {
    if (entry.path().extension() == ".sst") continue;
    struct stat st;
    ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << entry.path();
    ++mutable_files;
  }
  EXPECT_GE(mutable_files, 2);  // at least CURRENT and MANIFEST-*
  auto reopened = Open(restored);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(Get(*reopened, "key-1999"), value);
  EXPECT_EQ(reopened->table("agg").value()->EstimatedKeys(), 2000u);
}

TEST_F(CheckpointStoreTest, RestoreOfAMissingCheckpointFailsAndKeepsTheLiveDirectory) {
  {
    auto backend = Open(db_dir_);
    ASSERT_NE(backend, nullptr);
    Put(*backend, "k", "live");
  }
  CheckpointInfo bogus;
  bogus.path = (root_ / "nowhere" / "chk-000000000001").string();
  bogus.manifest.set_rocksdb_dir("rocksdb");
  Status s = CheckpointStore::RestoreInto(bogus, db_dir_);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("nowhere"));
  auto backend = Open(db_dir_);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(Get(*backend, "k"), "live");
}

}  // namespace
}  // namespace eddy
