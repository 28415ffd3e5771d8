// The in-task stage with selection vectors (operators/core/operator.h): a
// filter yields its input and a row list, a select after it reads only the
// columns it needs, and every other reader (a sink, a second filter, the
// batch-wide stage) gets exactly the rows the dense operators give. The
// jobs are planned from job text; the task's rows are made here, so no
// source is read. Heap allocations are counted in this binary
// (tests/support/counting_allocator.h).

#include "runtime/engine/task_runner.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "tests/support/counting_allocator.h"

namespace eddy {
namespace {

using testing::AllocationCounts;
using testing::CurrentAllocations;

ConnectorContext OfflineContext() {
  ConnectorContext context;
  context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
    return Result<std::string>(brokers);
  };
  return context;
}

std::unique_ptr<JobPlan> Plan(const std::string& operators_and_sinks) {
  const std::string yaml =
      "name: task-runner-test\n"
      "sources:\n"
      "  - name: events\n"
      "    file: { path: events.jsonl }\n"
      "    format: json\n"
      "    schema:\n"
      "      - { name: id, type: int64 }\n"
      "      - { name: kind, type: string }\n"
      "      - { name: payload, type: string }\n" +
      operators_and_sinks;
  auto job = LoadJobText(yaml, "job.yaml");
  EXPECT_TRUE(job.ok()) << job.status().ToString();
  if (!job.ok()) return nullptr;
  auto plan = PlanJob(std::move(job).value(), OfflineContext());
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? std::move(plan).value() : nullptr;
}

size_t NodeIndex(const JobPlan& plan, const std::string& name) {
  for (size_t idx = 0; idx < plan.nodes.size(); ++idx) {
    if (plan.nodes[idx].dag.name == name) return idx;
  }
  ADD_FAILURE() << "no node " << name;
  return 0;
}

const Operator& Op(const JobPlan& plan, const std::string& name) {
  return *plan.nodes[NodeIndex(plan, name)].op;
}

// `rows` events; row i has kind "keep" when `keep(i)`, else "drop", and a
// payload of `payload_bytes` bytes; source metadata offsets 1000 + i.
Batch Events(const JobPlan& plan, int rows, const std::function<bool(int)>& keep,
             size_t payload_bytes) {
  Batch batch(plan.nodes[NodeIndex(plan, "events")].schema);
  batch.column(2).ReserveChars(static_cast<size_t>(rows) * payload_bytes);
  for (int row = 0; row < rows; ++row) {
    batch.column(0).AppendInt64(row);
    batch.column(1).AppendString(keep(row) ? "keep" : "drop");
    batch.column(2).AppendString(std::string(payload_bytes, static_cast<char>('a' + row % 26)));
    const std::string_view key = "k";
    batch.meta().Append("events", 3, 1000 + row, &key, std::nullopt);
  }
  EXPECT_TRUE(batch.SetNumRows(static_cast<size_t>(rows)).ok());
  return batch;
}

Task TaskOf(const JobPlan& plan, Batch input) {
  Task task;
  task.source = 0;
  task.source_node = NodeIndex(plan, "events");
  task.range.end = Offset{static_cast<int64_t>(input.num_rows())};
  task.input = std::move(input);
  return task;
}

// What the operators give without selection vectors: each one's Process
// over its input's whole batch.
Batch Dense(const Operator& op, const Batch& input, DeadLetters* dead_letters) {
  Batch out(op.output_schema());
  EXPECT_TRUE(op.Process(0, input, &out, dead_letters).ok());
  return out;
}

void ExpectSameRows(const Batch& actual, const Batch& expected) {
  ASSERT_EQ(actual.schema(), expected.schema());
  EXPECT_EQ(actual.ToString(1000), expected.ToString(1000));
  for (size_t idx = 0; idx < expected.num_columns(); ++idx) {
    EXPECT_TRUE(actual.column(idx).Equals(expected.column(idx))) << "column " << idx;
  }
  ASSERT_EQ(actual.meta().size(), expected.meta().size());
  EXPECT_TRUE(actual.meta().offset.Equals(expected.meta().offset));
}

// A filter read by a select, by a sink, by a second filter (whose own
// select follows) and by a batch-wide aggregate: each gets the rows the
// dense chain gives, and the filter's stats count the rows it kept.
TEST(TaskRunner, EveryReaderOfAFilterGetsTheRowsTheDenseChainGives) {
  auto plan = Plan(
      "operators:\n"
      "  - name: kept\n"
      "    inputs: [events]\n"
      "    filter: kind = 'keep'\n"
      "  - name: shaped\n"
      "    inputs: [kept]\n"
      "    select: [id, upper(kind) AS kind, _offset]\n"
      "  - name: later\n"
      "    inputs: [kept]\n"
      "    filter: id % 3 = 0\n"
      "  - name: later_shaped\n"
      "    inputs: [later]\n"
      "    select: [payload, id * 10 AS tens]\n"
      "  - name: per_kind\n"
      "    inputs: [kept]\n"
      "    aggregate: { key: [kind], aggregates: ['count(*) AS n'] }\n"
      "sinks:\n"
      "  - { name: shaped_out, input: shaped, stdout: }\n"
      "  - { name: kept_out, input: kept, stdout: }\n"
      "  - { name: later_out, input: later_shaped, stdout: }\n"
      "  - { name: counts_out, input: per_kind, stdout: }\n");
  ASSERT_NE(plan, nullptr);
  Batch input = Events(
      *plan, 40, [](int row) { return row % 4 != 1; }, 6);

  DeadLetters dense_dead;
  const Batch kept = Dense(Op(*plan, "kept"), input, &dense_dead);
  const Batch shaped = Dense(Op(*plan, "shaped"), kept, &dense_dead);
  const Batch later = Dense(Op(*plan, "later"), kept, &dense_dead);
  const Batch later_shaped = Dense(Op(*plan, "later_shaped"), later, &dense_dead);
  ASSERT_EQ(kept.num_rows(), 30u);
  ASSERT_EQ(later.num_rows(), 11u);

  Task task = TaskOf(*plan, input);
  ASSERT_TRUE(ProcessTask(*plan, task).ok());
  ASSERT_EQ(task.sink_rows.size(), 4u);
  ExpectSameRows(task.sink_rows[0], shaped);
  ExpectSameRows(task.sink_rows[1], kept);
  ExpectSameRows(task.sink_rows[2], later_shaped);
  EXPECT_FALSE(task.has_sink_rows[3]);  // the aggregate's sink is batch-wide
  const size_t kept_idx = NodeIndex(*plan, "kept");
  ASSERT_TRUE(task.has_boundary[kept_idx]);
  ExpectSameRows(task.boundary[kept_idx], kept);
  EXPECT_TRUE(task.dead_letters.empty());

  const NodeStats& kept_stats = task.node_stats[kept_idx];
  EXPECT_EQ(kept_stats.rows_in, 40);
  EXPECT_EQ(kept_stats.rows_out, 30);
  // The input's bytes scaled by the rows kept (task_runner.cc), not a
  // gather's count.
  EXPECT_EQ(kept_stats.bytes_out, static_cast<int64_t>(input.ApproximateBytes() * 30 / 40));
  const NodeStats& shaped_stats = task.node_stats[NodeIndex(*plan, "shaped")];
  EXPECT_EQ(shaped_stats.rows_in, 30);
  EXPECT_EQ(shaped_stats.rows_out, 30);
  EXPECT_EQ(shaped_stats.bytes_out, static_cast<int64_t>(shaped.ApproximateBytes()));
  EXPECT_EQ(task.node_stats[NodeIndex(*plan, "later")].rows_in, 30);
  EXPECT_EQ(task.node_stats[NodeIndex(*plan, "later")].rows_out, 11);
}

// A filter that keeps every row hands on its input itself, as Process
// does: the sink's columns are the input's buffers, not copies.
TEST(TaskRunner, AFilterKeepingEveryRowSharesItsInput) {
  auto plan = Plan(
      "operators:\n"
      "  - name: kept\n"
      "    filter: kind = 'keep'\n"
      "sinks:\n"
      "  - { name: out, input: kept, stdout: }\n");
  ASSERT_NE(plan, nullptr);
  Batch input = Events(
      *plan, 10, [](int) { return true; }, 8);
  Task task = TaskOf(*plan, input);
  ASSERT_TRUE(ProcessTask(*plan, task).ok());
  ExpectSameRows(task.sink_rows[0], input);
  EXPECT_TRUE(task.sink_rows[0].column(2).SharesBuffersWith(input.column(2)));
}

// Rows a select after a filter fails on are dead-lettered whole, with the
// columns the select does not read, exactly as the dense chain does.
TEST(TaskRunner, ASelectAfterAFilterDeadLettersWholeRows) {
  auto plan = Plan(
      "operators:\n"
      "  - name: kept\n"
      "    filter: kind = 'keep'\n"
      "  - name: parsed\n"
      "    select: [id, CAST(payload AS int64) AS number]\n"
      "sinks:\n"
      "  - { name: out, input: parsed, stdout: }\n");
  ASSERT_NE(plan, nullptr);
  Batch input = Events(
      *plan, 6, [](int row) { return row != 2; }, 1);
  input.column(2) = Column(TypeId::kString);
  for (const char* payload : {"1", "2", "3", "x", "5", "y"}) input.column(2).AppendString(payload);
  DeadLetters dense_dead;
  const Batch parsed =
      Dense(Op(*plan, "parsed"), Dense(Op(*plan, "kept"), input, &dense_dead), &dense_dead);
  Task task = TaskOf(*plan, input);
  ASSERT_TRUE(ProcessTask(*plan, task).ok());
  ExpectSameRows(task.sink_rows[0], parsed);
  EXPECT_EQ(task.sink_rows[0].ToString(), "id=0, number=1\nid=1, number=2\nid=4, number=5\n");
  ASSERT_EQ(task.dead_letters.size(), 2u);
  ASSERT_EQ(dense_dead.size(), 2u);
  for (size_t idx = 0; idx < 2; ++idx) {
    EXPECT_EQ(task.dead_letters[idx].value, dense_dead[idx].value);
    EXPECT_EQ(task.dead_letters[idx].offset, dense_dead[idx].offset);
    EXPECT_EQ(task.dead_letters[idx].reason, dense_dead[idx].reason);
  }
  EXPECT_EQ(task.dead_letters[0].value, R"({"id":3,"kind":"keep","payload":"x"})");
}

// The point of selection vectors: the kept rows of a column no one after
// the filter reads are never copied. Here half of 2,000 rows with 4 KiB
// payloads are kept; gathering every column, as the filter did alone,
// allocates at least the 4 MiB of kept payloads (no pooled string buffer in
// this binary is that large), while the select reads id and kind only.
TEST(TaskRunner, AFilterThenSelectCopiesNoColumnTheSelectDoesNotRead) {
  auto plan = Plan(
      "operators:\n"
      "  - name: kept\n"
      "    filter: kind = 'keep'\n"
      "  - name: shaped\n"
      "    select: [id, upper(kind) AS kind]\n"
      "sinks:\n"
      "  - { name: out, input: shaped, stdout: }\n");
  ASSERT_NE(plan, nullptr);
  constexpr int kRows = 2'000;
  constexpr size_t kPayloadBytes = 4'096;
  Batch input = Events(
      *plan, kRows, [](int row) { return row % 2 == 0; }, kPayloadBytes);
  Task task = TaskOf(*plan, std::move(input));

  const AllocationCounts before = CurrentAllocations();
  ASSERT_TRUE(ProcessTask(*plan, task).ok());
  const AllocationCounts used = CurrentAllocations() - before;

  ASSERT_EQ(task.sink_rows[0].num_rows(), static_cast<size_t>(kRows / 2));
  EXPECT_EQ(task.sink_rows[0].RowToString(1), "id=2, kind=KEEP");
  constexpr int64_t kKeptPayloadBytes = int64_t{kRows / 2} * kPayloadBytes;
  std::printf("filter + select over %d rows: %lld allocations, %lld bytes\n", kRows,
              static_cast<long long>(used.allocations), static_cast<long long>(used.bytes));
  EXPECT_LT(used.bytes, kKeptPayloadBytes / 4)
      << used.allocations << " allocations of " << used.bytes << " bytes";
}

}  // namespace
}  // namespace eddy
