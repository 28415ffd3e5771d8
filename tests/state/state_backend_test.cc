#include "state/state_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace eddy {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "eddy-state-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<StateBackend> OpenOrDie(const std::string& dir, std::vector<std::string> tables,
                                        int key_groups = kDefaultKeyGroups) {
  StateBackendOptions options;
  options.dir = dir;
  options.key_groups = key_groups;
  options.tables = std::move(tables);
  auto backend = StateBackend::Open(options);
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  if (!backend.ok()) return nullptr;
  return std::move(backend).value();
}

StateTable* TableOrDie(StateBackend& backend, std::string_view name) {
  auto table = backend.table(name);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return table.ok() ? table.value() : nullptr;
}

// Values of `keys` in `group`, "<absent>" where missing.
std::vector<std::string> Get(const StateTable& table, KeyGroupId group,
                             const std::vector<std::string>& keys) {
  std::vector<StateKey> state_keys;
  for (const std::string& key : keys) state_keys.push_back(StateKey{group, key});
  std::vector<std::optional<std::string>> values;
  Status s = table.MultiGet(state_keys, &values);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(values.size(), keys.size());
  std::vector<std::string> out;
  for (const auto& value : values) out.push_back(value ? *value : "<absent>");
  return out;
}

// "key=value" for every visited key, in visit order.
std::vector<std::string> ScanAll(const StateTable& table, KeyGroupId group, std::string_view prefix,
                                 size_t limit = SIZE_MAX) {
  std::vector<std::string> seen;
  Status s = table.Scan(group, prefix, [&](std::string_view key, std::string_view value) {
    seen.push_back(std::string(key) + "=" + std::string(value));
    return seen.size() < limit;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return seen;
}

// --- Key groups -----------------------------------------------------------

// The hash is XXH64 with seed 0. These are the published reference values
// XXH64("") = 0xEF46DB3751D8E999, XXH64("a") = 0xD24EC4F1A98C6E5B,
// XXH64("abc") = 0x44BC2CF5AD770999 and XXH64("Nobody inspects the
// spammish repetition") = 0xFBCEA83C8A378BF1 (a 39-byte input: the 32-byte
// stripe path) reduced modulo the group count. They pin the key-group
// layout of stored state forever.
TEST(KeyGroupTest, MatchesXxh64ReferenceValues) {
  EXPECT_EQ(KeyGroupForKey("", 32768).value, 27033);
  EXPECT_EQ(KeyGroupForKey("a", 32768).value, 28251);
  EXPECT_EQ(KeyGroupForKey("abc", 32768).value, 2457);
  EXPECT_EQ(KeyGroupForKey("Nobody inspects the spammish repetition", 32768).value, 3057);

  EXPECT_EQ(KeyGroupForKey("", 128).value, 25);
  EXPECT_EQ(KeyGroupForKey("a", 128).value, 91);
  EXPECT_EQ(KeyGroupForKey("abc", 128).value, 25);
  EXPECT_EQ(KeyGroupForKey("Nobody inspects the spammish repetition", 128).value, 113);

  // Non-power-of-two counts use the full 64-bit hash.
  EXPECT_EQ(KeyGroupForKey("", 100).value, 21);
  EXPECT_EQ(KeyGroupForKey("a", 100).value, 55);
  EXPECT_EQ(KeyGroupForKey("abc", 100).value, 49);
  EXPECT_EQ(KeyGroupForKey("Nobody inspects the spammish repetition", 100).value, 13);
}

TEST(KeyGroupTest, PinnedValuesForTypicalKeys) {
  EXPECT_EQ(KeyGroupForKey("user-42", 128).value, 1);
  EXPECT_EQ(KeyGroupForKey("user-42", 32768).value, 31873);
  EXPECT_EQ(KeyGroupForKey("user-42", 100).value, 69);
  // Same bytes, same group, however the view was made.
  const std::string owned = "user-42";
  EXPECT_EQ(KeyGroupForKey(owned, 128), KeyGroupForKey(std::string_view("user-42xyz", 7), 128));
}

TEST(KeyGroupTest, InRangeAndSpreadsOverAllGroups) {
  constexpr int kGroups = 128;
  std::vector<int> counts(kGroups, 0);
  for (int i = 0; i < 10000; ++i) {
    const KeyGroupId group = KeyGroupForKey("key-" + std::to_string(i), kGroups);
    ASSERT_LT(group.value, kGroups);
    ++counts[group.value];
  }
  for (int g = 0; g < kGroups; ++g) {
    // 10000/128 = 78 on average; an empty or grossly overfull group means a
    // broken hash.
    EXPECT_GT(counts[g], 30) << "group " << g;
    EXPECT_LT(counts[g], 140) << "group " << g;
  }
  EXPECT_EQ(KeyGroupForKey("anything", 1).value, 0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_LT(KeyGroupForKey(std::to_string(i), kMaxKeyGroups).value, kMaxKeyGroups);
  }
}

// --- Shared budget ----------------------------------------------------------

// Exits 0 when the first SharedStateBudget call fixes the budget and a
// second call with other numbers returns the first.
void CheckFirstBudgetWinsAndExit() {
  const StateBudget first{size_t{32} << 20, size_t{8} << 20};
  const StateBudget second{size_t{512} << 20, size_t{128} << 20};
  const StateBudget a = SharedStateBudget(first);
  const StateBudget b = SharedStateBudget(second);
  const bool ok = a.block_cache_bytes == first.block_cache_bytes &&
                  a.write_buffer_bytes == first.write_buffer_bytes &&
                  b.block_cache_bytes == first.block_cache_bytes &&
                  b.write_buffer_bytes == first.write_buffer_bytes;
  std::exit(ok ? 0 : 1);
}

// Runs in a re-executed child process (threadsafe death-test style), where
// no other test has fixed the process-wide budget yet.
TEST(SharedStateBudgetDeathTest, FirstCallFixesTheBudget) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(CheckFirstBudgetWinsAndExit(), ::testing::ExitedWithCode(0), "");
}

TEST(SharedStateBudgetTest, LaterRequestsAndOpensDoNotChangeIt) {
  const StateBudget fixed = SharedStateBudget(StateBudget{size_t{16} << 20, size_t{4} << 20});
  TempDir tmp;
  StateBackendOptions options;
  options.dir = tmp.Sub("db");
  options.budget = StateBudget{size_t{1} << 30, size_t{1} << 29};
  options.tables = {"t"};
  auto backend = StateBackend::Open(options);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  const StateBudget after = SharedStateBudget(StateBudget{1, 1});
  EXPECT_EQ(after.block_cache_bytes, fixed.block_cache_bytes);
  EXPECT_EQ(after.write_buffer_bytes, fixed.write_buffer_bytes);
}

// --- StateBackend -------------------------------------------------------------

TEST(StateBackendTest, PutMultiGetDeleteAcrossTablesAndGroups) {
  TempDir tmp;
  auto backend = OpenOrDie(tmp.Sub("db"), {"counts", "sums"});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->key_groups(), kDefaultKeyGroups);
  StateTable* counts = TableOrDie(*backend, "counts");
  StateTable* sums = TableOrDie(*backend, "sums");
  ASSERT_NE(counts, nullptr);
  ASSERT_NE(sums, nullptr);
  EXPECT_EQ(counts->name(), "counts");
  EXPECT_EQ(sums->name(), "sums");

  const KeyGroupId g1{1}, g2{2}, g127{127};
  StateWriteBatch batch;
  batch.Put(*counts, g1, "alice", "3");
  batch.Put(*counts, g1, "bob", "5");
  batch.Put(*counts, g127, "carol", "7");
  batch.Put(*sums, g1, "alice", "30.5");
  batch.Put(*sums, g2, "", "empty key");
  batch.Put(*counts, g1, std::string("nul\0key", 7), std::string("v\0v", 3));
  EXPECT_EQ(batch.Count(), 6u);
  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());

  EXPECT_EQ(Get(*counts, g1, {"alice", "bob", "carol", "dave", std::string("nul\0key", 7)}),
            (std::vector<std::string>{"3", "5", "<absent>", "<absent>", std::string("v\0v", 3)}));
  // A key lives in one group only.
  EXPECT_EQ(Get(*counts, g2, {"alice", "bob"}), (std::vector<std::string>{"<absent>", "<absent>"}));
  EXPECT_EQ(Get(*counts, g127, {"carol", "alice"}), (std::vector<std::string>{"7", "<absent>"}));
  // Tables are separate.
  EXPECT_EQ(Get(*sums, g1, {"alice", "bob"}), (std::vector<std::string>{"30.5", "<absent>"}));
  EXPECT_EQ(Get(*sums, g2, {""}), (std::vector<std::string>{"empty key"}));

  // The same key twice in one MultiGet.
  EXPECT_EQ(Get(*counts, g1, {"bob", "bob"}), (std::vector<std::string>{"5", "5"}));
  // Empty input.
  std::vector<std::optional<std::string>> values{std::string("stale")};
  ASSERT_TRUE(counts->MultiGet({}, &values).ok());
  EXPECT_TRUE(values.empty());

  StateWriteBatch updates;
  updates.Delete(*counts, g1, "alice");
  updates.Put(*counts, g1, "bob", "6");
  updates.Delete(*counts, g2, "bob");  // absent: a no-op
  ASSERT_TRUE(backend->Commit(std::move(updates)).ok());
  EXPECT_EQ(Get(*counts, g1, {"alice", "bob"}), (std::vector<std::string>{"<absent>", "6"}));
  EXPECT_EQ(Get(*sums, g1, {"alice"}), (std::vector<std::string>{"30.5"}));
}

TEST(StateBackendTest, ScanVisitsOneGroupsPrefixInKeyOrderAndStopsEarly) {
  TempDir tmp;
  auto backend = OpenOrDie(tmp.Sub("db"), {"t"});
  ASSERT_NE(backend, nullptr);
  StateTable* t = TableOrDie(*backend, "t");
  const KeyGroupId g3{3}, g4{4}, g2{2};
  StateWriteBatch batch;
  for (const char* key : {"b/2", "a/3", "a/1", "ab", "a/2", "a", "a/"}) batch.Put(*t, g3, key, key);
  batch.Put(*t, g4, "a/0", "other group");
  batch.Put(*t, g2, "a/9", "other group");
  batch.Put(*t, g3, "\xff\x01", "ff01");
  batch.Put(*t, g3, "\xff\xff", "ffff");
  batch.Put(*t, g4, "\xff", "other group");
  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());

  EXPECT_EQ(ScanAll(*t, g3, "a/"),
            (std::vector<std::string>{"a/=a/", "a/1=a/1", "a/2=a/2", "a/3=a/3"}));
  EXPECT_EQ(ScanAll(*t, g3, "a/", 2), (std::vector<std::string>{"a/=a/", "a/1=a/1"}));
  EXPECT_EQ(ScanAll(*t, g3, ""),
            (std::vector<std::string>{"a=a", "a/=a/", "a/1=a/1", "a/2=a/2", "a/3=a/3", "ab=ab",
                                      "b/2=b/2", "\xff\x01=ff01", "\xff\xff=ffff"}));
  // A prefix ending in 0xFF bytes still stops at the group's end.
  EXPECT_EQ(ScanAll(*t, g3, "\xff"), (std::vector<std::string>{"\xff\x01=ff01", "\xff\xff=ffff"}));
  EXPECT_EQ(ScanAll(*t, g3, "\xff\xff"), (std::vector<std::string>{"\xff\xff=ffff"}));
  EXPECT_EQ(ScanAll(*t, g3, "c"), std::vector<std::string>{});
  EXPECT_EQ(ScanAll(*t, KeyGroupId{5}, ""), std::vector<std::string>{});
}

TEST(StateBackendTest, MetaKeysCommitWithState) {
  TempDir tmp;
  auto backend = OpenOrDie(tmp.Sub("db"), {"t"});
  ASSERT_NE(backend, nullptr);
  StateTable* t = TableOrDie(*backend, "t");
  auto absent = backend->GetMeta("offsets/orders/0");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  StateWriteBatch batch;
  batch.Put(*t, KeyGroupId{9}, "k", "v");
  batch.PutMeta("offsets/orders/0", "1234");
  batch.PutMeta("batch_id", "17");
  EXPECT_EQ(batch.Count(), 3u);
  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  auto offset = backend->GetMeta("offsets/orders/0");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->value_or("<absent>"), "1234");
  EXPECT_EQ(backend->GetMeta("batch_id")->value_or("<absent>"), "17");
  // Meta keys are not in any table.
  EXPECT_EQ(Get(*t, KeyGroupId{0}, {"batch_id"}), (std::vector<std::string>{"<absent>"}));
}

TEST(StateBackendTest, CommitAppliesAWholeBatchAtOnce) {
  TempDir tmp;
  auto backend = OpenOrDie(tmp.Sub("db"), {"t"});
  ASSERT_NE(backend, nullptr);
  StateTable* t = TableOrDie(*backend, "t");
  constexpr int kKeys = 5000;
  std::vector<std::string> keys;
  StateWriteBatch batch;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back("k" + std::to_string(i));
    batch.Put(*t, KeyGroupForKey(keys.back(), backend->key_groups()), keys.back(),
              "v" + std::to_string(i));
  }
  batch.PutMeta("batch_id", "1");
  EXPECT_EQ(batch.Count(), static_cast<size_t>(kKeys + 1));

  std::vector<StateKey> state_keys;
  for (const std::string& key : keys)
    state_keys.push_back(StateKey{KeyGroupForKey(key, backend->key_groups()), key});
  std::vector<std::optional<std::string>> values;
  ASSERT_TRUE(t->MultiGet(state_keys, &values).ok());
  int visible = 0;
  for (const auto& v : values) visible += v.has_value();
  EXPECT_EQ(visible, 0);  // nothing before Commit

  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  ASSERT_TRUE(t->MultiGet(state_keys, &values).ok());
  ASSERT_EQ(values.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(values[i].has_value()) << keys[i];
    EXPECT_EQ(*values[i], "v" + std::to_string(i));
  }
  EXPECT_EQ(t->EstimatedKeys(), static_cast<uint64_t>(kKeys));
  EXPECT_GT(t->EstimatedBytes(), static_cast<uint64_t>(kKeys) * 4);

  // An empty batch commits trivially.
  EXPECT_TRUE(backend->Commit(StateWriteBatch()).ok());
}

TEST(StateBackendTest, EstimatesGrowWithData) {
  TempDir tmp;
  auto backend = OpenOrDie(tmp.Sub("db"), {"t"});
  ASSERT_NE(backend, nullptr);
  StateTable* t = TableOrDie(*backend, "t");
  EXPECT_EQ(t->EstimatedKeys(), 0u);
  // An empty memtable still holds its first arena block.
  const uint64_t empty_bytes = t->EstimatedBytes();
  EXPECT_LT(empty_bytes, 64u << 10);
  StateWriteBatch batch;
  for (int i = 0; i < 1000; ++i)
    batch.Put(*t, KeyGroupId{7}, "key" + std::to_string(i), std::string(100, 'v'));
  ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  EXPECT_EQ(t->EstimatedKeys(), 1000u);
  EXPECT_GT(t->EstimatedBytes(), empty_bytes + 100'000);
}

TEST(StateBackendTest, ReopenKeepsDataAndKeyGroupCount) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  {
    auto backend = OpenOrDie(dir, {"t"}, /*key_groups=*/64);
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->key_groups(), 64);
    StateWriteBatch batch;
    batch.Put(*TableOrDie(*backend, "t"), KeyGroupId{63}, "k", "v");
    batch.PutMeta("m", "1");
    ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  }
  {
    auto backend = OpenOrDie(dir, {"t"}, /*key_groups=*/64);
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->key_groups(), 64);
    EXPECT_EQ(backend->dir(), dir);
    EXPECT_EQ(Get(*TableOrDie(*backend, "t"), KeyGroupId{63}, {"k"}),
              (std::vector<std::string>{"v"}));
    EXPECT_EQ(backend->GetMeta("m")->value_or("<absent>"), "1");
  }
  StateBackendOptions options;
  options.dir = dir;
  options.key_groups = 128;
  options.tables = {"t"};
  auto mismatch = StateBackend::Open(options);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(mismatch.status().message(), ::testing::HasSubstr("created with 64 key groups"));
  EXPECT_THAT(mismatch.status().message(), ::testing::HasSubstr("128 were requested"));
  EXPECT_THAT(mismatch.status().message(), ::testing::HasSubstr(dir));
  // The failed open released the database: it opens again.
  EXPECT_NE(OpenOrDie(dir, {"t"}, 64), nullptr);
}

TEST(StateBackendTest, TablesAppearOnReopenAndUnlistedOnesAreKept) {
  TempDir tmp;
  const std::string dir = tmp.Sub("db");
  {
    auto backend = OpenOrDie(dir, {"a"});
    ASSERT_NE(backend, nullptr);
    StateWriteBatch batch;
    batch.Put(*TableOrDie(*backend, "a"), KeyGroupId{1}, "k", "in a");
    ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
    auto missing = backend->table("b");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  }
  {
    // "a" exists but is not requested: opened (RocksDB requires it), not exposed.
    auto backend = OpenOrDie(dir, {"b"});
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(backend->table("a").status().code(), StatusCode::kNotFound);
    StateTable* b = TableOrDie(*backend, "b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(Get(*b, KeyGroupId{1}, {"k"}), (std::vector<std::string>{"<absent>"}));
    StateWriteBatch batch;
    batch.Put(*b, KeyGroupId{1}, "k", "in b");
    ASSERT_TRUE(backend->Commit(std::move(batch)).ok());
  }
  auto backend = OpenOrDie(dir, {"a", "b"});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(Get(*TableOrDie(*backend, "a"), KeyGroupId{1}, {"k"}),
            (std::vector<std::string>{"in a"}));
  EXPECT_EQ(Get(*TableOrDie(*backend, "b"), KeyGroupId{1}, {"k"}),
            (std::vector<std::string>{"in b"}));
}

TEST(StateBackendTest, RejectsBadOptions) {
  TempDir tmp;
  StateBackendOptions options;
  options.dir = tmp.Sub("db");
  options.key_groups = 0;
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.key_groups = kMaxKeyGroups + 1;
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.key_groups = kMaxKeyGroups;
  options.tables = {"x", "x"};
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.tables = {"default"};
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.tables = {""};
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
  options.dir = "";
  options.tables = {"x"};
  EXPECT_EQ(StateBackend::Open(options).status().code(), StatusCode::kInvalidArgument);
}

class FakeTable final : public StateTable {
 public:
  const std::string& name() const override { return name_; }
  Status MultiGet(std::span<const StateKey>,
                  std::vector<std::optional<std::string>>*) const override {
    return Status::OK();
  }
  Status Scan(KeyGroupId, std::string_view,
              const std::function<bool(std::string_view, std::string_view)>&) const override {
    return Status::OK();
  }
  uint64_t EstimatedKeys() const override { return 0; }
  uint64_t EstimatedBytes() const override { return 0; }

 private:
  std::string name_ = "fake";
};

TEST(StateBackendTest, CommitRejectsForeignTables) {
  TempDir tmp;
  auto one = OpenOrDie(tmp.Sub("one"), {"t"});
  auto two = OpenOrDie(tmp.Sub("two"), {"t"});
  ASSERT_NE(one, nullptr);
  ASSERT_NE(two, nullptr);

  StateWriteBatch fake_batch;
  FakeTable fake;
  fake_batch.Put(fake, KeyGroupId{0}, "k", "v");
  Status s = one->Commit(std::move(fake_batch));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("fake"));

  StateWriteBatch other;
  other.Put(*TableOrDie(*two, "t"), KeyGroupId{0}, "k", "v");
  EXPECT_EQ(one->Commit(std::move(other)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Get(*TableOrDie(*one, "t"), KeyGroupId{0}, {"k"}),
            (std::vector<std::string>{"<absent>"}));
  EXPECT_EQ(Get(*TableOrDie(*two, "t"), KeyGroupId{0}, {"k"}),
            (std::vector<std::string>{"<absent>"}));
}

}  // namespace
}  // namespace eddy
