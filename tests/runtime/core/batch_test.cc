#include "runtime/core/batch.h"

#include <gtest/gtest.h>

#include <Eigen/Core>

namespace eddy {
namespace {

TEST(Column, AppendsTypedValuesAndNulls) {
  Column ints(TypeId::kInt64);
  ints.AppendInt64(7);
  EXPECT_FALSE(ints.MayHaveNulls());  // no validity bytes until the first null
  ints.AppendNull();
  ints.AppendInt64(-3);
  ASSERT_EQ(ints.size(), 3u);
  EXPECT_EQ(ints.GetInt64(0), 7);
  EXPECT_TRUE(ints.IsNull(1));
  EXPECT_FALSE(ints.IsNull(2));
  EXPECT_EQ(ints.GetInt64(2), -3);
  EXPECT_EQ(ints.NullCount(), 1u);
  EXPECT_EQ(ints.ValueToString(1), "NULL");
}

TEST(Column, StringsShareOneBufferAndAreBinarySafe) {
  Column strings(TypeId::kString);
  strings.AppendString("ab");
  strings.AppendString(std::string_view("\0x", 2));
  strings.AppendString("");
  ASSERT_EQ(strings.size(), 3u);
  EXPECT_EQ(strings.GetString(0), "ab");
  EXPECT_EQ(strings.GetString(1), std::string_view("\0x", 2));
  EXPECT_EQ(strings.GetString(2), "");
}

TEST(Column, GatherAndAppendColumnKeepValuesAndNulls) {
  Column strings(TypeId::kString);
  strings.AppendString("a");
  strings.AppendNull();
  strings.AppendString("c");
  const std::vector<uint32_t> rows = {2, 1, 2};
  Column gathered = strings.Gather(rows);
  ASSERT_EQ(gathered.size(), 3u);
  EXPECT_EQ(gathered.GetString(0), "c");
  EXPECT_TRUE(gathered.IsNull(1));
  EXPECT_EQ(gathered.GetString(2), "c");

  Column all(TypeId::kString);
  all.AppendString("z");
  all.AppendColumn(strings);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.GetString(0), "z");
  EXPECT_EQ(all.GetString(1), "a");
  EXPECT_TRUE(all.IsNull(2));
  EXPECT_FALSE(all.IsNull(0));
  EXPECT_EQ(all.GetString(3), "c");
}

TEST(Column, DoubleColumnMapsOntoEigenWithoutCopying) {
  Column prices(TypeId::kDouble);
  for (int i = 1; i <= 4; ++i) prices.AppendDouble(i * 0.5);
  const auto values = prices.doubles();
  Eigen::Map<const Eigen::VectorXd> vector(values.data(), static_cast<Eigen::Index>(values.size()));
  EXPECT_EQ(vector.data(), values.data());
  EXPECT_DOUBLE_EQ(vector.sum(), 5.0);
}

TEST(Column, DoublesPrintInShortestRoundTripForm) {
  Column values(TypeId::kDouble);
  values.AppendDouble(0.1);
  values.AppendDouble(3.0);
  values.AppendDouble(1e21);
  values.AppendDouble(1000.0);
  values.AppendDouble(-2.5e-7);
  EXPECT_EQ(values.ValueToString(0), "0.1");
  EXPECT_EQ(values.ValueToString(1), "3");
  EXPECT_EQ(values.ValueToString(2), "1e+21");
  EXPECT_EQ(values.ValueToString(3), "1000");
  EXPECT_EQ(values.ValueToString(4), "-2.5e-07");
}

// Copies share a column's buffers until one is modified (copy on write);
// the other keeps its values, nulls and strings.
TEST(Column, CopiesShareBuffersUntilOneIsModified) {
  Column original(TypeId::kString);
  original.AppendString("a");
  original.AppendNull();
  Column copy = original;
  EXPECT_TRUE(copy.SharesBuffersWith(original));
  copy.AppendString("c");
  EXPECT_FALSE(copy.SharesBuffersWith(original));
  ASSERT_EQ(original.size(), 2u);
  EXPECT_EQ(original.GetString(0), "a");
  EXPECT_TRUE(original.IsNull(1));
  ASSERT_EQ(copy.size(), 3u);
  EXPECT_EQ(copy.GetString(2), "c");

  Column doubles(TypeId::kDouble);
  for (double value : {1.0, 2.0, 3.0}) doubles.AppendDouble(value);
  Column view = doubles;
  view.mutable_doubles()[0] = 9.0;  // a writable span detaches first
  EXPECT_EQ(doubles.GetDouble(0), 1.0);
  EXPECT_EQ(view.GetDouble(0), 9.0);
  Column nulls = doubles;
  nulls.SetNull(2);
  EXPECT_FALSE(doubles.MayHaveNulls());
  EXPECT_TRUE(nulls.IsNull(2));

  // A whole column appended to an empty one is shared, not copied; appended
  // to rows already there, it is copied after them.
  Column into(TypeId::kDouble);
  into.AppendColumn(doubles);
  EXPECT_TRUE(into.SharesBuffersWith(doubles));
  into.AppendColumn(doubles);
  EXPECT_FALSE(into.SharesBuffersWith(doubles));
  EXPECT_EQ(into.size(), 6u);
  EXPECT_EQ(doubles.size(), 3u);
  EXPECT_EQ(into.GetDouble(5), 3.0);

  // Clearing a shared column leaves the copy whole.
  Column cleared = doubles;
  cleared.Clear();
  EXPECT_EQ(cleared.size(), 0u);
  EXPECT_EQ(doubles.size(), 3u);
  cleared.AppendDouble(4.0);
  EXPECT_EQ(doubles.GetDouble(0), 1.0);
}

// Appending a batch to an empty one shares every column: the hand-off of a
// task's rows to the batch-wide stage copies no values.
TEST(Batch, AppendingToAnEmptyBatchSharesTheColumns) {
  Schema schema({{"x", TypeId::kDouble, true}, {"s", TypeId::kString, true}});
  Batch rows(schema);
  rows.column(0).AppendDouble(1.5);
  rows.column(1).AppendString("one");
  ASSERT_TRUE(rows.SetNumRows(1).ok());
  Batch all(schema);
  ASSERT_TRUE(all.Append(rows).ok());
  EXPECT_TRUE(all.column(0).SharesBuffersWith(rows.column(0)));
  EXPECT_TRUE(all.column(1).SharesBuffersWith(rows.column(1)));
  ASSERT_TRUE(all.Append(rows).ok());
  EXPECT_EQ(all.num_rows(), 2u);
  EXPECT_EQ(rows.num_rows(), 1u);
  EXPECT_EQ(all.column(1).GetString(1), "one");
}

TEST(Batch, GatherCarriesSourceMetadata) {
  Batch batch(Schema({{"id", TypeId::kInt64, false}}));
  for (int64_t row = 0; row < 3; ++row) {
    batch.column(0).AppendInt64(row * 10);
    std::string_view key = "key";
    batch.meta().Append("orders", 1, 40 + row, row == 1 ? &key : nullptr, 1000 * row);
  }
  ASSERT_TRUE(batch.SetNumRows(3).ok());
  const std::vector<uint32_t> rows = {1, 2};
  Batch picked = batch.Gather(rows);
  EXPECT_EQ(picked.ToString(), "id=10\nid=20\n");
  EXPECT_EQ(picked.meta().offset.GetInt64(0), 41);
  EXPECT_EQ(picked.meta().key.GetString(0), "key");
  EXPECT_TRUE(picked.meta().key.IsNull(1));
  EXPECT_EQ(picked.meta().topic.GetString(1), "orders");
}

// A task's rows share one topic and partition: one run each, however many
// rows; appending, gathering and decoding keep every row's value.
TEST(RunColumn, StoresAValueOncePerRunAndReadsEveryRow) {
  RunColumn topic(TypeId::kString);
  topic.AppendStringRun("orders", 3);
  topic.AppendString("orders");
  topic.AppendNull();
  topic.AppendNull();
  topic.AppendString("clicks");
  EXPECT_EQ(topic.size(), 7u);
  EXPECT_EQ(topic.runs(), 3u);
  EXPECT_EQ(topic.GetString(3), "orders");
  EXPECT_TRUE(topic.IsNull(4));
  EXPECT_TRUE(topic.IsNull(5));
  EXPECT_EQ(topic.GetString(6), "clicks");

  RunColumn more(TypeId::kString);
  more.AppendStringRun("clicks", 2);  // continues the last run
  more.AppendStringRun("views", 1);
  topic.AppendColumn(more);
  EXPECT_EQ(topic.size(), 10u);
  EXPECT_EQ(topic.runs(), 4u);
  EXPECT_EQ(topic.ValueToString(8), "clicks");
  EXPECT_EQ(topic.ValueToString(9), "views");

  // Gathered in order and out of order.
  const std::vector<uint32_t> rows = {9, 0, 4, 6, 7, 2};
  const RunColumn picked = topic.Gather(rows);
  const Column decoded = picked.Decode();
  ASSERT_EQ(decoded.size(), rows.size());
  for (size_t idx = 0; idx < rows.size(); ++idx) {
    EXPECT_EQ(decoded.ValueToString(idx), topic.ValueToString(rows[idx])) << idx;
  }
  EXPECT_EQ(picked.runs(), 5u);  // views, orders, NULL, clicks x2, orders

  RunColumn partition(TypeId::kInt64);
  partition.AppendInt64Run(3, 100000);
  partition.AppendInt64(3);
  partition.AppendFrom(partition, 0);
  EXPECT_EQ(partition.runs(), 1u);
  EXPECT_EQ(partition.GetInt64(100001), 3);
  partition.AppendInt64(4);
  EXPECT_EQ(partition.GetInt64(100002), 4);
  EXPECT_EQ(partition.GetInt64(99999), 3);
  partition.Clear();
  EXPECT_EQ(partition.size(), 0u);
}

TEST(Batch, SetNumRowsRejectsRaggedColumns) {
  Batch batch(Schema({{"a", TypeId::kInt64, false}, {"b", TypeId::kBool, false}}));
  batch.column(0).AppendInt64(1);
  EXPECT_FALSE(batch.SetNumRows(1).ok());
  batch.column(1).AppendBool(true);
  EXPECT_TRUE(batch.SetNumRows(1).ok());
}

TEST(Batch, AppendRequiresTheSameSchema) {
  Batch left(Schema({{"a", TypeId::kInt64, false}}));
  left.column(0).AppendInt64(1);
  ASSERT_TRUE(left.SetNumRows(1).ok());
  Batch right = left;
  ASSERT_TRUE(left.Append(right).ok());
  EXPECT_EQ(left.ToString(), "a=1\na=1\n");
  Batch other(Schema({{"a", TypeId::kDouble, false}}));
  other.column(0).AppendDouble(1);
  ASSERT_TRUE(other.SetNumRows(1).ok());
  EXPECT_FALSE(left.Append(other).ok());
}

TEST(Timestamp, FormatsAndParsesIso8601) {
  const auto parsed = ParseTimestamp("2026-01-02T03:04:05.123456Z");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(FormatTimestamp(*parsed), "2026-01-02T03:04:05.123456Z");
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-02"), 86400LL * 1000000);
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59.5Z"), -500000);
  EXPECT_EQ(FormatTimestamp(-500000), "1969-12-31T23:59:59.500000Z");
  EXPECT_FALSE(ParseTimestamp("2026-13-01").has_value());
  EXPECT_FALSE(ParseTimestamp("yesterday").has_value());
  EXPECT_FALSE(ParseTimestamp("2026-01-01T00:00:00Zjunk").has_value());
}

}  // namespace
}  // namespace eddy
