// Aggregate functions (operators/aggregate/aggregate.h): compilation, every
// function's results over hand-made batches with NULLs and several groups,
// Serialize/Load and Merge equivalence, sketch accuracy, and corrupt state.

#include "operators/aggregate/aggregate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "operators/aggregate/accumulators_internal.h"

namespace eddy {
namespace {

// Input columns: i int64, d double, s string, ts timestamp, b bool (all
// nullable), n int64 NOT NULL.
Schema TestSchema() {
  return Schema({{"i", TypeId::kInt64, true},
                 {"d", TypeId::kDouble, true},
                 {"s", TypeId::kString, true},
                 {"ts", TypeId::kTimestamp, true},
                 {"b", TypeId::kBool, true},
                 {"n", TypeId::kInt64, false}});
}

struct Row {
  std::optional<int64_t> i = std::nullopt;
  std::optional<double> d = std::nullopt;
  std::optional<std::string> s = std::nullopt;
  std::optional<int64_t> ts = std::nullopt;
  std::optional<bool> b = std::nullopt;
  uint32_t group = 0;
  int64_t time = 0;
};

struct Input {
  Batch batch;
  std::vector<uint32_t> groups;
  std::vector<int64_t> times;
};

Input MakeInput(const std::vector<Row>& rows) {
  Column i(TypeId::kInt64), d(TypeId::kDouble), s(TypeId::kString), ts(TypeId::kTimestamp),
      b(TypeId::kBool), n(TypeId::kInt64);
  Input input;
  for (const Row& row : rows) {
    row.i ? i.AppendInt64(*row.i) : i.AppendNull();
    row.d ? d.AppendDouble(*row.d) : d.AppendNull();
    row.s ? s.AppendString(*row.s) : s.AppendNull();
    row.ts ? ts.AppendInt64(*row.ts) : ts.AppendNull();
    row.b ? b.AppendBool(*row.b) : b.AppendNull();
    n.AppendInt64(1);
    input.groups.push_back(row.group);
    input.times.push_back(row.time);
  }
  const Schema schema = TestSchema();
  for (size_t idx = 0; idx < schema.size(); ++idx) {
    Column* columns[] = {&i, &d, &s, &ts, &b, &n};
    input.batch.AddColumn(schema.field(idx), std::move(*columns[idx]));
  }
  if (rows.empty()) {
    EXPECT_TRUE(input.batch.SetNumRows(0).ok());
  }
  return input;
}

AggregateCall Compile(std::string_view text) {
  auto call = CompileAggregate(text, TestSchema());
  EXPECT_TRUE(call.ok()) << text << ": " << call.status().ToString();
  return std::move(call).value();
}

std::string CompileError(std::string_view text) {
  auto call = CompileAggregate(text, TestSchema());
  if (call.ok()) return "compiled: " + call->canonical;
  EXPECT_EQ(call.status().code(), StatusCode::kInvalidArgument) << text;
  return call.status().message();
}

// Feeds `input` to `acc` (whose groups must exist).
void Feed(const AggregateCall& call, Accumulators& acc, const Input& input) {
  if (!call.argument) {
    acc.Update(nullptr, input.times, input.groups);
    return;
  }
  std::vector<RowError> errors;
  const Column values = call.argument->Evaluate(input.batch, &errors);
  ASSERT_TRUE(errors.empty());
  acc.Update(&values, input.times, input.groups);
}

// Finalized values of groups 0..n-1, rendered by Column::ValueToString.
std::vector<std::string> Results(const AggregateCall& call, const Accumulators& acc) {
  std::vector<uint32_t> groups(acc.size());
  for (uint32_t g = 0; g < groups.size(); ++g) groups[g] = g;
  Column out(call.result_type);
  acc.Finalize(groups, &out);
  EXPECT_EQ(out.size(), groups.size());
  std::vector<std::string> values;
  for (size_t row = 0; row < out.size(); ++row) values.push_back(out.ValueToString(row));
  return values;
}

std::vector<std::string> Aggregate(std::string_view text, const std::vector<Row>& rows,
                                   size_t groups) {
  const AggregateCall call = Compile(text);
  auto acc = MakeAccumulators(call);
  acc->AddGroups(groups);
  Feed(call, *acc, MakeInput(rows));
  return Results(call, *acc);
}

using Strings = std::vector<std::string>;

// Three groups; group 2 only ever sees NULLs.
std::vector<Row> MixedRows() {
  return {
      {.i = 5, .d = 1.5, .s = "pear", .ts = 3000, .b = true, .group = 0, .time = 10},
      {.i = std::nullopt,
       .d = std::nullopt,
       .s = std::nullopt,
       .ts = std::nullopt,
       .b = std::nullopt,
       .group = 1,
       .time = 11},
      {.i = -2, .d = -0.25, .s = "Apple", .ts = 1000, .b = false, .group = 0, .time = 12},
      {.i = 7, .d = 4.0, .s = "apple", .ts = 2000, .b = true, .group = 1, .time = 13},
      {.i = std::nullopt,
       .d = std::nullopt,
       .s = std::nullopt,
       .ts = std::nullopt,
       .b = std::nullopt,
       .group = 2,
       .time = 14},
      {.i = 5, .d = 1.5, .s = "pear", .ts = 3000, .b = true, .group = 0, .time = 15},
      {.i = 9, .d = 2.0, .s = "fig", .ts = 500, .b = true, .group = 1, .time = 16},
  };
}

// ---------------------------------------------------------------------------
// Compilation

TEST(CompileAggregateTest, NamesCanonicalTextAndTypes) {
  struct Case {
    std::string text, name, canonical;
    AggregateKind kind;
    TypeId type;
    bool nullable;
  };
  const Case cases[] = {
      {"count(*)", "count(*)", "count(*)", AggregateKind::kCount, TypeId::kInt64, false},
      {"COUNT( * ) AS n", "n", "count(*)", AggregateKind::kCount, TypeId::kInt64, false},
      {"count(s)", "count(s)", "count(s)", AggregateKind::kCount, TypeId::kInt64, false},
      {"sum(i) AS total", "total", "sum(i)", AggregateKind::kSum, TypeId::kInt64, true},
      {"sum(d)", "sum(d)", "sum(d)", AggregateKind::kSum, TypeId::kDouble, true},
      {"sum(i * 2)", "sum(i * 2)", "sum(i * 2)", AggregateKind::kSum, TypeId::kInt64, true},
      {"sum(i+0.5)", "sum(i+0.5)", "sum(i + 0.5)", AggregateKind::kSum, TypeId::kDouble, true},
      {"min(s)", "min(s)", "min(s)", AggregateKind::kMin, TypeId::kString, true},
      {"max(ts) as latest", "latest", "max(ts)", AggregateKind::kMax, TypeId::kTimestamp, true},
      {"max(b)", "max(b)", "max(b)", AggregateKind::kMax, TypeId::kBool, true},
      {"avg(i)", "avg(i)", "avg(i)", AggregateKind::kAvg, TypeId::kDouble, true},
      {"mean(d)", "mean(d)", "avg(d)", AggregateKind::kAvg, TypeId::kDouble, true},
      {"stddev(d)", "stddev(d)", "stddev(d)", AggregateKind::kStddev, TypeId::kDouble, true},
      {"stddev_samp(i)", "stddev_samp(i)", "stddev(i)", AggregateKind::kStddev, TypeId::kDouble,
       true},
      {"variance(i)", "variance(i)", "variance(i)", AggregateKind::kVariance, TypeId::kDouble,
       true},
      {"var_samp(d)", "var_samp(d)", "variance(d)", AggregateKind::kVariance, TypeId::kDouble,
       true},
      {"count_distinct(lower(s)) AS users", "users", "count_distinct(lower(s))",
       AggregateKind::kCountDistinct, TypeId::kInt64, false},
      {"approx_count_distinct(s)", "approx_count_distinct(s)", "approx_count_distinct(s)",
       AggregateKind::kApproxCountDistinct, TypeId::kInt64, false},
      {"first(s)", "first(s)", "first(s)", AggregateKind::kFirst, TypeId::kString, true},
      {"last(ts)", "last(ts)", "last(ts)", AggregateKind::kLast, TypeId::kTimestamp, true},
      {"approx_percentile(d, 0.99) AS \"p 99\"", "p 99", "approx_percentile(d, 0.99)",
       AggregateKind::kApproxPercentile, TypeId::kDouble, true},
      {"percentile_approx(i,.5)", "percentile_approx(i,.5)", "approx_percentile(i, 0.5)",
       AggregateKind::kApproxPercentile, TypeId::kDouble, true},
      {"approx_percentile(d, 1)", "approx_percentile(d, 1)", "approx_percentile(d, 1)",
       AggregateKind::kApproxPercentile, TypeId::kDouble, true},
      {"count(coalesce(s, 'a,b)'))", "count(coalesce(s, 'a,b)'))", "count(coalesce(s, 'a,b)'))",
       AggregateKind::kCount, TypeId::kInt64, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    auto call = CompileAggregate(c.text, TestSchema());
    ASSERT_TRUE(call.ok()) << call.status().ToString();
    EXPECT_EQ(call->name, c.name);
    EXPECT_EQ(call->canonical, c.canonical);
    EXPECT_EQ(call->kind, c.kind);
    EXPECT_EQ(call->result_type, c.type);
    EXPECT_EQ(call->result_nullable, c.nullable);
  }
  EXPECT_EQ(Compile("count(*)").argument, nullptr);
  EXPECT_NE(Compile("count(i)").argument, nullptr);
  EXPECT_DOUBLE_EQ(Compile("approx_percentile(d, 0.25)").parameter, 0.25);
}

TEST(CompileAggregateTest, ErrorMessages) {
  EXPECT_EQ(CompileError("summ(i)"), "unknown aggregate 'summ' (did you mean sum?)");
  EXPECT_EQ(CompileError("cnt(*)"), "unknown aggregate 'cnt' (did you mean count?)");
  EXPECT_EQ(CompileError("approx_distinct(s)"),
            "unknown aggregate 'approx_distinct' (did you mean approx_count_distinct?)");
  EXPECT_EQ(CompileError("distinct(s)"),
            "unknown aggregate 'distinct' (did you mean count_distinct?)");
  EXPECT_EQ(CompileError("approx_count(s)"),
            "unknown aggregate 'approx_count' (did you mean approx_count_distinct?)");
  EXPECT_EQ(CompileError("median(d)"),
            "unknown aggregate 'median' (did you mean approx_percentile(x, 0.5)?)");
  EXPECT_EQ(CompileError("histogram(d)"),
            "unknown aggregate 'histogram' (aggregates: count, sum, min, max, avg, stddev, "
            "variance, count_distinct, approx_count_distinct, first, last, approx_percentile)");
  EXPECT_EQ(CompileError(""), "empty aggregate; expected function(argument) [AS name]");
  EXPECT_EQ(CompileError("price"), "aggregate 'price' must be a call like sum(price)");
  EXPECT_EQ(CompileError("(i)"), "aggregate '(i)' must be a call like sum(price)");
  EXPECT_EQ(CompileError("sum(i"), "missing ')' in aggregate 'sum(i'");
  EXPECT_EQ(CompileError("count(s = 'x)"), "unterminated string in aggregate 'count(s = 'x)'");
  EXPECT_EQ(CompileError("sum(i) + 1"), "unexpected '+ 1' after sum(i); expected AS name");
  EXPECT_EQ(CompileError("sum(i) total"), "unexpected 'total' after sum(i); expected AS name");
  EXPECT_EQ(CompileError("sum(i) AS"), "missing name after AS in 'sum(i) AS'");
  EXPECT_EQ(CompileError("sum(i) AS a b"),
            "bad name 'a b' after AS in 'sum(i) AS a b' (use letters, digits and _, or \"quote "
            "it\")");
  EXPECT_EQ(CompileError("sum(i) AS \"a"), "bad quoted name after AS in 'sum(i) AS \"a'");
  EXPECT_EQ(CompileError("sum()"), "sum needs an argument, e.g. sum(price)");
  EXPECT_EQ(CompileError("count()"),
            "count needs an argument: count(*) counts rows, count(x) non-NULL values of x");
  EXPECT_EQ(CompileError("approx_percentile()"),
            "approx_percentile needs an argument, e.g. approx_percentile(latency, 0.99)");
  EXPECT_EQ(CompileError("sum(*)"),
            "only count accepts *; sum needs a column or expression, e.g. sum(price)");
  EXPECT_EQ(CompileError("sum(i, d)"), "sum takes one argument, got 2 in 'sum(i, d)'");
  EXPECT_EQ(CompileError("sum(i, )"), "sum takes one argument, got 2 in 'sum(i, )'");
  EXPECT_EQ(CompileError("approx_percentile(d, 0.5, 1)"),
            "approx_percentile takes two arguments, got 3 in 'approx_percentile(d, 0.5, 1)'");
  EXPECT_EQ(CompileError("approx_percentile(d, )"), "empty argument in 'approx_percentile(d, )'");
  EXPECT_EQ(CompileError("sum(s)"), "sum needs a numeric argument, got string: s");
  EXPECT_EQ(CompileError("avg(ts)"), "avg needs a numeric argument, got timestamp: ts");
  EXPECT_EQ(CompileError("stddev(b)"), "stddev needs a numeric argument, got bool: b");
  EXPECT_EQ(CompileError("variance(s)"), "variance needs a numeric argument, got string: s");
  EXPECT_EQ(CompileError("approx_percentile(s, 0.5)"),
            "approx_percentile needs a numeric argument, got string: s");
  EXPECT_EQ(CompileError("approx_percentile(d)"),
            "approx_percentile needs a percentile in [0, 1] after the value, e.g. "
            "approx_percentile(latency, 0.99)");
  EXPECT_EQ(CompileError("approx_percentile(d, 1.5)"),
            "approx_percentile's percentile must be a number literal in [0, 1], got '1.5'");
  EXPECT_EQ(CompileError("approx_percentile(d, -0.1)"),
            "approx_percentile's percentile must be a number literal in [0, 1], got '-0.1'");
  EXPECT_EQ(CompileError("approx_percentile(d, i)"),
            "approx_percentile's percentile must be a number literal in [0, 1], got 'i'");
  EXPECT_EQ(CompileError("approx_percentile(d, nan)"),
            "approx_percentile's percentile must be a number literal in [0, 1], got 'nan'");
  // The argument's own error, with the aggregate as context.
  const std::string unknown_column = CompileError("sum(prise)");
  EXPECT_EQ(unknown_column.rfind("in aggregate 'sum(prise)': at 1: unknown column 'prise'", 0), 0u)
      << unknown_column;
}

// ---------------------------------------------------------------------------
// Results

TEST(AggregateTest, CountStarAndCountIgnoreNulls) {
  EXPECT_EQ(Aggregate("count(*)", MixedRows(), 3), (Strings{"3", "3", "1"}));
  EXPECT_EQ(Aggregate("count(i)", MixedRows(), 3), (Strings{"3", "2", "0"}));
  EXPECT_EQ(Aggregate("count(s)", MixedRows(), 3), (Strings{"3", "2", "0"}));
  EXPECT_EQ(Aggregate("count(*)", {}, 2), (Strings{"0", "0"}));
}

TEST(AggregateTest, SumOfInt64IsInt64AndOfDoubleIsDouble) {
  EXPECT_EQ(Aggregate("sum(i)", MixedRows(), 3), (Strings{"8", "16", "NULL"}));
  EXPECT_EQ(Aggregate("sum(d)", MixedRows(), 3), (Strings{"2.75", "6", "NULL"}));
  // int64 wraps (two's complement), as documented.
  EXPECT_EQ(Aggregate("sum(i)", {{.i = INT64_MAX}, {.i = 2}}, 1),
            (Strings{"-9223372036854775807"}));
  // Compensated: 1e16 + 1 + 1 - 1e16 loses both ones in naive summation.
  EXPECT_EQ(Aggregate("sum(d)", {{.d = 1e16}, {.d = 1}, {.d = 1}, {.d = -1e16}}, 1),
            (Strings{"2"}));
}

TEST(AggregateTest, MinMaxOnEveryOrderedType) {
  EXPECT_EQ(Aggregate("min(i)", MixedRows(), 3), (Strings{"-2", "7", "NULL"}));
  EXPECT_EQ(Aggregate("max(i)", MixedRows(), 3), (Strings{"5", "9", "NULL"}));
  EXPECT_EQ(Aggregate("min(d)", MixedRows(), 3), (Strings{"-0.25", "2", "NULL"}));
  EXPECT_EQ(Aggregate("max(d)", MixedRows(), 3), (Strings{"1.5", "4", "NULL"}));
  // Bytewise: upper case sorts before lower case.
  EXPECT_EQ(Aggregate("min(s)", MixedRows(), 3), (Strings{"Apple", "apple", "NULL"}));
  EXPECT_EQ(Aggregate("max(s)", MixedRows(), 3), (Strings{"pear", "fig", "NULL"}));
  EXPECT_EQ(Aggregate("min(ts)", MixedRows(), 3),
            (Strings{"1970-01-01T00:00:00.001000Z", "1970-01-01T00:00:00.000500Z", "NULL"}));
  EXPECT_EQ(Aggregate("max(ts)", MixedRows(), 3),
            (Strings{"1970-01-01T00:00:00.003000Z", "1970-01-01T00:00:00.002000Z", "NULL"}));
  EXPECT_EQ(Aggregate("min(b)", MixedRows(), 3), (Strings{"false", "true", "NULL"}));
  EXPECT_EQ(Aggregate("max(b)", MixedRows(), 3), (Strings{"true", "true", "NULL"}));
  // NaN orders above every number; "\xff" above any ASCII string.
  EXPECT_EQ(Aggregate("max(d)", {{.d = 1}, {.d = NAN}, {.d = INFINITY}}, 1), (Strings{"nan"}));
  EXPECT_EQ(Aggregate("min(d)", {{.d = NAN}, {.d = INFINITY}}, 1), (Strings{"inf"}));
  EXPECT_EQ(Aggregate("max(s)", {{.s = "z"}, {.s = "\xff"}, {.s = "zz"}}, 1), (Strings{"\xff"}));
}

TEST(AggregateTest, AvgIsDouble) {
  EXPECT_EQ(Aggregate("avg(i)", MixedRows(), 3), (Strings{"2.6666666666666665", "8", "NULL"}));
  EXPECT_EQ(Aggregate("avg(d)", MixedRows(), 3), (Strings{"0.9166666666666666", "3", "NULL"}));
}

// Two-pass sample variance, the textbook reference.
double TwoPassVariance(const std::vector<double>& xs) {
  double mean = 0;
  for (double x : xs) mean += x;
  mean /= static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(xs.size() - 1);
}

TEST(AggregateTest, StddevAndVarianceMatchTwoPassReference) {
  // Large offset, small spread: the naive sum-of-squares formula loses all
  // digits here; Welford keeps them.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 3);
  std::vector<Row> rows;
  std::vector<double> xs[2];
  for (int k = 0; k < 5000; ++k) {
    const uint32_t g = k % 3 == 0 ? 1 : 0;
    const double x = 1e9 + noise(rng);
    xs[g].push_back(x);
    rows.push_back({.d = x, .group = g});
    if (k % 7 == 0) rows.push_back({.d = std::nullopt, .group = g});
  }
  rows.push_back({.d = 42, .group = 2});  // one value: NULL
  for (const char* fn : {"variance(d)", "stddev(d)"}) {
    SCOPED_TRACE(fn);
    const AggregateCall call = Compile(fn);
    auto acc = MakeAccumulators(call);
    acc->AddGroups(4);
    Feed(call, *acc, MakeInput(rows));
    Column out(TypeId::kDouble);
    const uint32_t groups[] = {0, 1, 2, 3};
    acc->Finalize(groups, &out);
    const bool stddev = std::string(fn) == "stddev(d)";
    for (uint32_t g = 0; g < 2; ++g) {
      const double expected = stddev ? std::sqrt(TwoPassVariance(xs[g])) : TwoPassVariance(xs[g]);
      ASSERT_FALSE(out.IsNull(g));
      // Condition number mean/stddev ~3e8: Welford's error bound is
      // ~n * eps * 3e8; the naive sum-of-squares formula would keep no
      // correct digit at all here.
      EXPECT_NEAR(out.GetDouble(g), expected, expected * 1e-7);
    }
    EXPECT_TRUE(out.IsNull(2));
    EXPECT_TRUE(out.IsNull(3));
  }
  EXPECT_EQ(Aggregate("variance(i)", {{.i = 1}, {.i = 2}, {.i = 3}, {.i = 4}}, 1),
            (Strings{"1.6666666666666667"}));
  EXPECT_EQ(
      Aggregate("stddev(i)",
                {{.i = 2}, {.i = 4}, {.i = 4}, {.i = 4}, {.i = 5}, {.i = 5}, {.i = 7}, {.i = 9}},
                1),
      (Strings{"2.138089935299395"}));
}

TEST(AggregateTest, CountDistinctIsExact) {
  EXPECT_EQ(Aggregate("count_distinct(i)", MixedRows(), 3), (Strings{"2", "2", "0"}));
  EXPECT_EQ(Aggregate("count_distinct(s)", MixedRows(), 3), (Strings{"2", "2", "0"}));
  EXPECT_EQ(Aggregate("count_distinct(ts)", MixedRows(), 3), (Strings{"2", "2", "0"}));
  EXPECT_EQ(Aggregate("count_distinct(b)", MixedRows(), 3), (Strings{"2", "1", "0"}));
  // -0.0 equals 0.0 and all NaNs are one value.
  EXPECT_EQ(Aggregate("count_distinct(d)",
                      {{.d = 0.0}, {.d = -0.0}, {.d = NAN}, {.d = -NAN}, {.d = 1}}, 1),
            (Strings{"3"}));
  // Strings are compared as bytes, including embedded zero bytes.
  EXPECT_EQ(
      Aggregate(
          "count_distinct(s)",
          {{.s = std::string("a\0b", 3)}, {.s = "a"}, {.s = std::string("a\0b", 3)}, {.s = ""}}, 1),
      (Strings{"3"}));
}

TEST(AggregateTest, FirstAndLastByEventTimeWithTies) {
  const std::vector<Row> rows = {
      {.s = "b", .group = 0, .time = 20},  {.s = "a1", .group = 0, .time = 10},
      {.s = "c1", .group = 0, .time = 30}, {.s = "a2", .group = 0, .time = 10},
      {.s = "c2", .group = 0, .time = 30}, {.s = std::nullopt, .group = 1, .time = 5},
      {.s = "x", .group = 1, .time = 6},   {.s = "y", .group = 2, .time = -3},
  };
  // Ties: first keeps the earliest arrival, last the latest. A NULL value on
  // the earliest row is the first value.
  EXPECT_EQ(Aggregate("first(s)", rows, 4), (Strings{"a1", "NULL", "y", "NULL"}));
  EXPECT_EQ(Aggregate("last(s)", rows, 4), (Strings{"c2", "x", "y", "NULL"}));
  // Other types.
  EXPECT_EQ(Aggregate("first(i)", {{.i = 3, .time = 2}, {.i = 4, .time = 1}}, 1), (Strings{"4"}));
  EXPECT_EQ(Aggregate("last(d)", {{.d = 3, .time = 2}, {.d = 4, .time = 1}}, 1), (Strings{"3"}));
  EXPECT_EQ(Aggregate("last(b)", {{.b = true, .time = 1}, {.b = false, .time = 1}}, 1),
            (Strings{"false"}));
  EXPECT_EQ(Aggregate("first(ts)", {{.ts = 7, .time = 1}, {.ts = 8, .time = 1}}, 1),
            (Strings{"1970-01-01T00:00:00.000007Z"}));

  // Without event times, arrival order decides.
  const AggregateCall call = Compile("last(i)");
  auto acc = MakeAccumulators(call);
  acc->AddGroups(1);
  Input input = MakeInput({{.i = 1, .time = 9}, {.i = 2, .time = 1}});
  std::vector<RowError> errors;
  const Column values = call.argument->Evaluate(input.batch, &errors);
  acc->Update(&values, {}, input.groups);
  EXPECT_EQ(Results(call, *acc), (Strings{"2"}));
}

TEST(AggregateTest, FinalizeListedGroupsInOrder) {
  const AggregateCall call = Compile("sum(i)");
  auto acc = MakeAccumulators(call);
  acc->AddGroups(3);
  Feed(call, *acc, MakeInput(MixedRows()));
  Column out(TypeId::kInt64);
  const uint32_t groups[] = {1, 1, 0};
  acc->Finalize(groups, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out.GetInt64(0), 16);
  EXPECT_EQ(out.GetInt64(1), 16);
  EXPECT_EQ(out.GetInt64(2), 8);
}

TEST(AggregateTest, XxHash64MatchesReferenceVectors) {
  // From the reference implementation (libxxhash 0.8.1, seed 0).
  EXPECT_EQ(agg::XxHash64(""), 0xef46db3751d8e999ULL);
  EXPECT_EQ(agg::XxHash64("a"), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(agg::XxHash64("abc"), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(agg::XxHash64("The quick brown fox jumps over the lazy dog"), 0x0b242d361fda71bcULL);
  EXPECT_EQ(agg::XxHash64("0123456789abcdef0123456789abcdef0123456789"), 0xa76190c3acf08a1cULL);
}

// ---------------------------------------------------------------------------
// Approximate aggregates

// Runs `text` over int64 values [first, first + count) into one group.
std::vector<Row> Sequence(int64_t first, int64_t count) {
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(count));
  for (int64_t v = first; v < first + count; ++v) rows.push_back({.i = v, .s = std::to_string(v)});
  return rows;
}

TEST(ApproxCountDistinctTest, ExactWhileSparse) {
  for (int64_t n : {0, 1, 2, 100, 1000, 1024}) {
    SCOPED_TRACE(n);
    std::vector<Row> rows = Sequence(0, n);
    const std::vector<Row> again = Sequence(0, n);
    rows.insert(rows.end(), again.begin(), again.end());  // duplicates
    rows.push_back({.i = std::nullopt});
    EXPECT_EQ(Aggregate("approx_count_distinct(i)", rows, 1), (Strings{std::to_string(n)}));
    EXPECT_EQ(Aggregate("approx_count_distinct(s)", rows, 1), (Strings{std::to_string(n)}));
  }
}

TEST(ApproxCountDistinctTest, WithinTwoPercentAtLargeCardinalities) {
  for (int64_t n : {1025, 5000, 30000, 100000, 300000}) {
    for (const char* fn : {"approx_count_distinct(i)", "approx_count_distinct(s)"}) {
      SCOPED_TRACE(std::string(fn) + " n=" + std::to_string(n));
      // Feed in several batches, with every value twice.
      const AggregateCall call = Compile(fn);
      auto acc = MakeAccumulators(call);
      acc->AddGroups(1);
      for (int rep = 0; rep < 2; ++rep) {
        for (int64_t start = 0; start < n; start += 40000) {
          Feed(call, *acc, MakeInput(Sequence(start * 7919, 0)));  // empty batch
          std::vector<Row> rows;
          for (int64_t v = start; v < std::min(n, start + 40000); ++v) {
            rows.push_back({.i = v * 7919, .s = "user-" + std::to_string(v)});
          }
          Feed(call, *acc, MakeInput(rows));
        }
      }
      const int64_t estimate = std::stoll(Results(call, *acc)[0]);
      EXPECT_NEAR(static_cast<double>(estimate), static_cast<double>(n), 0.02 * n);
    }
  }
}

// Exact quantile at rank floor(q * (n - 1)), the element DDSketch bounds.
double ExactQuantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(std::floor(q * static_cast<double>(xs.size() - 1)))];
}

void ExpectPercentilesWithinError(const std::vector<double>& xs) {
  std::vector<Row> rows;
  for (double x : xs) rows.push_back({.d = x});
  rows.push_back({.d = std::nullopt});
  rows.push_back({.d = NAN});  // ignored
  const Input input = MakeInput(rows);
  for (double q : {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    SCOPED_TRACE(q);
    char text[64];
    std::snprintf(text, sizeof(text), "approx_percentile(d, %g)", q);
    const AggregateCall call = Compile(text);
    auto acc = MakeAccumulators(call);
    acc->AddGroups(1);
    Feed(call, *acc, input);
    Column out(TypeId::kDouble);
    const uint32_t group[] = {0};
    acc->Finalize(group, &out);
    ASSERT_FALSE(out.IsNull(0));
    const double exact = ExactQuantile(xs, q);
    EXPECT_LE(std::fabs(out.GetDouble(0) - exact),
              agg::kDdRelativeAccuracy * std::fabs(exact) * (1 + 1e-9))
        << "estimate " << out.GetDouble(0) << " exact " << exact;
  }
}

TEST(ApproxPercentileTest, UniformWithinRelativeError) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> dist(1, 1000);
  std::vector<double> xs(100000);
  for (double& x : xs) x = dist(rng);
  ExpectPercentilesWithinError(xs);
}

TEST(ApproxPercentileTest, ExponentialWithinRelativeError) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> dist(0.5);
  std::vector<double> xs(100000);
  for (double& x : xs) x = dist(rng);
  ExpectPercentilesWithinError(xs);
}

TEST(ApproxPercentileTest, NegativeZeroAndPositiveValues) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> dist(0, 50);
  std::vector<double> xs(20000);
  for (double& x : xs) x = dist(rng);
  for (int k = 0; k < 2000; ++k) xs.push_back(0.0);
  ExpectPercentilesWithinError(xs);
}

TEST(ApproxPercentileTest, NullWithoutInputAndIntegerInput) {
  EXPECT_EQ(Aggregate("approx_percentile(d, 0.5)", MixedRows(), 3)[2], "NULL");
  EXPECT_EQ(Aggregate("approx_percentile(d, 0.5)", {{.d = NAN}, {.d = INFINITY}}, 1),
            (Strings{"NULL"}));
  // One value: every percentile is that value within 1%.
  const std::vector<std::string> one = Aggregate("approx_percentile(i, 0.5)", {{.i = 1000}}, 1);
  EXPECT_NEAR(std::stod(one[0]), 1000, 10);
  const std::vector<std::string> zero =
      Aggregate("approx_percentile(i, 0.9)", {{.i = 0}, {.i = 0}}, 1);
  EXPECT_EQ(zero, (Strings{"0"}));
}

TEST(ApproxPercentileTest, CollapsesLowestBucketsBeyondTheLimit) {
  // Values spanning ~1e-300..1e300 need far more than kDdMaxBuckets buckets:
  // the high percentiles stay accurate, the lowest collapse upward.
  std::vector<Row> rows;
  std::vector<double> xs;
  for (int e = -300; e <= 300; ++e) {
    xs.push_back(std::pow(10.0, e));
    rows.push_back({.d = xs.back()});
  }
  const AggregateCall p99 = Compile("approx_percentile(d, 0.99)");
  auto acc = MakeAccumulators(p99);
  acc->AddGroups(1);
  Feed(p99, *acc, MakeInput(rows));
  const double exact = ExactQuantile(xs, 0.99);
  EXPECT_NEAR(std::stod(Results(p99, *acc)[0]), exact, exact * 0.01);
  std::string state;
  acc->Serialize(0, &state);
  EXPECT_LT(state.size(), 3 * static_cast<size_t>(agg::kDdMaxBuckets));
  const AggregateCall p0 = Compile("approx_percentile(d, 0)");
  auto low = MakeAccumulators(p0);
  low->AddGroups(1);
  Feed(p0, *low, MakeInput(rows));
  // The minimum reads as the lowest kept bucket, far above 1e-300.
  EXPECT_GT(std::stod(Results(p0, *low)[0]), 1e-300);
}

// ---------------------------------------------------------------------------
// State: Serialize/Load, Merge, corruption. Every function, every type.

const char* const kAllAggregates[] = {
    "count(*)",
    "count(s)",
    "sum(i)",
    "sum(d)",
    "min(i)",
    "max(i)",
    "min(d)",
    "max(d)",
    "min(s)",
    "max(s)",
    "min(ts)",
    "max(ts)",
    "min(b)",
    "max(b)",
    "avg(i)",
    "avg(d)",
    "stddev(d)",
    "variance(i)",
    "count_distinct(i)",
    "count_distinct(d)",
    "count_distinct(s)",
    "count_distinct(b)",
    "approx_count_distinct(i)",
    "approx_count_distinct(s)",
    "approx_count_distinct(d)",
    "first(s)",
    "last(s)",
    "first(i)",
    "last(d)",
    "first(b)",
    "last(ts)",
    "approx_percentile(d, 0.5)",
    "approx_percentile(i, 0.95)",
};

// Dyadic doubles, so that double sums are exact whatever the order and the
// comparison below can demand equality for every function.
std::vector<Row> StateRows(int begin, int end, int groups) {
  std::vector<Row> rows;
  for (int k = begin; k < end; ++k) {
    Row row;
    row.group = static_cast<uint32_t>((k * 7) % groups);
    row.time = (k * 37) % 101;  // repeats: ties for first/last
    if (k % 5 != 3) {
      row.i = (k * 104729) % 3001 - 1500;
      row.d = static_cast<double>((k * 7919) % 2049 - 1000) / 8;
      row.s = "v" + std::to_string((k * 31) % 1700);
      row.ts = 1'700'000'000'000'000 + (k % 977) * 1000;
      row.b = k % 3 == 0;
    }
    rows.push_back(row);
  }
  return rows;
}

// Enough rows (4000 over 3 groups, ~1100 distinct strings per group) to push
// HyperLogLog past its sparse limit in the split tests.
constexpr int kStateRows = 4000;
constexpr int kGroups = 3;

TEST(AggregateStateTest, SerializeLoadContinuesLikeInMemory) {
  const Input first = MakeInput(StateRows(0, kStateRows / 2, kGroups));
  const Input second = MakeInput(StateRows(kStateRows / 2, kStateRows, kGroups));
  for (const char* text : kAllAggregates) {
    SCOPED_TRACE(text);
    const AggregateCall call = Compile(text);
    // In memory: both batches into one instance.
    auto single = MakeAccumulators(call);
    single->AddGroups(kGroups + 1);  // the last group stays empty
    Feed(call, *single, first);
    Feed(call, *single, second);
    // Stored after the first batch, loaded into a fresh instance.
    auto before = MakeAccumulators(call);
    before->AddGroups(kGroups + 1);
    Feed(call, *before, first);
    auto after = MakeAccumulators(call);
    after->AddGroups(kGroups + 1);
    for (size_t g = 0; g <= kGroups; ++g) {
      std::string state;
      before->Serialize(g, &state);
      ASSERT_TRUE(after->Load(g, state).ok());
      std::string again;
      after->Serialize(g, &again);
      EXPECT_EQ(again, state);  // Load then Serialize reproduces the bytes
    }
    Feed(call, *after, second);
    EXPECT_EQ(Results(call, *after), Results(call, *single));
    for (size_t g = 0; g <= kGroups; ++g) {
      std::string a, b;
      after->Serialize(g, &a);
      single->Serialize(g, &b);
      EXPECT_EQ(a, b) << "group " << g;
    }
  }
}

TEST(AggregateStateTest, MergeEqualsSinglePass) {
  const Input first = MakeInput(StateRows(0, kStateRows / 2, kGroups));
  const Input second = MakeInput(StateRows(kStateRows / 2, kStateRows, kGroups));
  for (const char* text : kAllAggregates) {
    SCOPED_TRACE(text);
    const AggregateCall call = Compile(text);
    auto single = MakeAccumulators(call);
    single->AddGroups(kGroups);
    Feed(call, *single, first);
    Feed(call, *single, second);

    auto left = MakeAccumulators(call);
    left->AddGroups(kGroups + 1);
    Feed(call, *left, first);
    auto right = MakeAccumulators(call);
    right->AddGroups(kGroups);
    Feed(call, *right, second);
    // Group kGroups is empty: merging it into a group changes nothing, and
    // merging a group into it copies that group.
    auto merged = MakeAccumulators(call);
    merged->AddGroups(kGroups);
    for (size_t g = 0; g < kGroups; ++g) {
      merged->Merge(g, *left, kGroups);
      merged->Merge(g, *left, g);
      merged->Merge(g, *right, g);
      merged->Merge(g, *left, kGroups);
    }
    const std::vector<std::string> expected = Results(call, *single);
    const std::vector<std::string> actual = Results(call, *merged);
    // Exact results and state for everything but the Welford moments, whose
    // Chan combination rounds differently from row-by-row updates.
    const bool floating =
        call.kind == AggregateKind::kStddev || call.kind == AggregateKind::kVariance;
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t g = 0; g < kGroups; ++g) {
      std::string a, b;
      merged->Serialize(g, &a);
      single->Serialize(g, &b);
      if (floating) {
        EXPECT_NEAR(std::stod(actual[g]), std::stod(expected[g]), std::stod(expected[g]) * 1e-12);
      } else {
        EXPECT_EQ(actual[g], expected[g]);
        EXPECT_EQ(a, b) << "group " << g;
      }
    }
  }
}

TEST(AggregateStateTest, MomentsMergeMatchesSinglePassClosely) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> dist(-1e3, 1e3);
  std::vector<Row> rows_a, rows_b;
  for (int k = 0; k < 3000; ++k) (k % 2 ? rows_a : rows_b).push_back({.d = 5e6 + dist(rng)});
  for (const char* text : {"stddev(d)", "variance(d)"}) {
    SCOPED_TRACE(text);
    const AggregateCall call = Compile(text);
    auto single = MakeAccumulators(call);
    auto a = MakeAccumulators(call);
    auto b = MakeAccumulators(call);
    for (auto* acc : {single.get(), a.get(), b.get()}) acc->AddGroups(1);
    Feed(call, *single, MakeInput(rows_a));
    Feed(call, *single, MakeInput(rows_b));
    Feed(call, *a, MakeInput(rows_a));
    Feed(call, *b, MakeInput(rows_b));
    a->Merge(0, *b, 0);
    const double merged = std::stod(Results(call, *a)[0]);
    const double expected = std::stod(Results(call, *single)[0]);
    EXPECT_NEAR(merged, expected, expected * 1e-12);
  }
}

TEST(AggregateStateTest, SerializationIsDeterministic) {
  const Input input = MakeInput(StateRows(0, kStateRows, kGroups));
  for (const char* text : kAllAggregates) {
    SCOPED_TRACE(text);
    const AggregateCall call = Compile(text);
    auto a = MakeAccumulators(call);
    auto b = MakeAccumulators(call);
    a->AddGroups(kGroups);
    b->AddGroups(kGroups);
    Feed(call, *a, input);
    Feed(call, *b, input);
    for (size_t g = 0; g < kGroups; ++g) {
      std::string sa, sb;
      a->Serialize(g, &sa);
      b->Serialize(g, &sb);
      EXPECT_EQ(sa, sb);
      ASSERT_GE(sa.size(), 3u);
      EXPECT_EQ(sa[0], static_cast<char>(agg::kStateVersion));
      EXPECT_EQ(sa[1], static_cast<char>(call.kind));
    }
  }
}

TEST(AggregateStateTest, MalformedStateIsCorruption) {
  const Input input = MakeInput(StateRows(0, kStateRows, kGroups));
  std::mt19937_64 rng(5);
  for (const char* text : kAllAggregates) {
    SCOPED_TRACE(text);
    const AggregateCall call = Compile(text);
    auto acc = MakeAccumulators(call);
    acc->AddGroups(kGroups + 1);
    Feed(call, *acc, input);
    for (size_t g = 0; g <= kGroups; ++g) {
      std::string state;
      acc->Serialize(g, &state);
      auto fresh = MakeAccumulators(call);
      fresh->AddGroups(1);
      // Every strict prefix is truncated; one extra byte is trailing junk.
      for (size_t len = 0; len < state.size(); ++len) {
        const Status status = fresh->Load(0, std::string_view(state).substr(0, len));
        ASSERT_EQ(status.code(), StatusCode::kCorruption) << "prefix " << len;
      }
      EXPECT_EQ(fresh->Load(0, state + "x").code(), StatusCode::kCorruption);
      // Wrong version, function, or argument type.
      for (size_t pos = 0; pos < 3; ++pos) {
        std::string bad = state;
        bad[pos] = static_cast<char>(bad[pos] + 1);
        EXPECT_EQ(fresh->Load(0, bad).code(), StatusCode::kCorruption) << "header byte " << pos;
      }
      // Random byte flips: Corruption or a state that round-trips; never a
      // crash (run under ASan to check memory safety).
      for (int trial = 0; trial < 200; ++trial) {
        std::string bad = state;
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int f = 0; f < flips && bad.size() > 3; ++f) {
          bad[3 + rng() % (bad.size() - 3)] ^= static_cast<char>(1 + rng() % 255);
        }
        auto target = MakeAccumulators(call);
        target->AddGroups(1);
        const Status status = target->Load(0, bad);
        if (status.ok()) {
          std::string out;
          target->Serialize(0, &out);
          Column result(call.result_type);
          const uint32_t group[] = {0};
          target->Finalize(group, &result);
          EXPECT_EQ(result.size(), 1u);
        } else {
          EXPECT_EQ(status.code(), StatusCode::kCorruption);
        }
      }
    }
    // Pure garbage after a valid header.
    for (int trial = 0; trial < 200; ++trial) {
      std::string bad = {static_cast<char>(agg::kStateVersion), static_cast<char>(call.kind)};
      std::string probe;
      acc->Serialize(0, &probe);
      bad.push_back(probe[2]);
      const size_t len = rng() % 40;
      for (size_t k = 0; k < len; ++k) bad.push_back(static_cast<char>(rng()));
      auto target = MakeAccumulators(call);
      target->AddGroups(1);
      const Status status = target->Load(0, bad);
      if (!status.ok()) {
        EXPECT_EQ(status.code(), StatusCode::kCorruption);
      }
    }
  }
}

TEST(AggregateStateTest, SpecificInvariantViolationsAreCorruption) {
  const auto load = [](const char* text, std::string body) {
    const AggregateCall call = Compile(text);
    auto acc = MakeAccumulators(call);
    acc->AddGroups(1);
    std::string probe;
    acc->Serialize(0, &probe);
    return acc->Load(0, probe.substr(0, 3) + body);
  };
  const auto corrupt = [&](const char* text, std::string body) {
    const Status status = load(text, std::move(body));
    EXPECT_EQ(status.code(), StatusCode::kCorruption) << text;
    return status.message();
  };
  EXPECT_TRUE(load("count(*)", "\x05").ok());
  // An over-long varint.
  corrupt("count(*)", std::string(11, '\xff'));
  EXPECT_EQ(corrupt("count(*)", std::string(9, '\xff') + "\x01"),
            "malformed aggregate state: bad count");
  // Distinct set with a zero gap (not strictly increasing).
  EXPECT_TRUE(load("count_distinct(i)", std::string("\x02\x01\x01", 3)).ok());
  EXPECT_EQ(corrupt("count_distinct(i)", std::string("\x02\x01\x00", 3)),
            "malformed aggregate state: bad distinct set");
  // Claims more elements than bytes.
  corrupt("count_distinct(i)", std::string("\x7f\x01", 2));
  // Strings out of order.
  EXPECT_EQ(corrupt("count_distinct(s)", std::string("\x02\x01"
                                                     "b"
                                                     "\x01"
                                                     "a",
                                                     6)),
            "malformed aggregate state: distinct set not sorted");
  // HyperLogLog: unknown mode, oversized sparse set, register out of range.
  corrupt("approx_count_distinct(i)", std::string("\x02", 1));
  {
    std::string dense("\x01", 1);
    dense += std::string(12288, '\0');
    EXPECT_TRUE(load("approx_count_distinct(i)", dense).ok());
    dense[1] = 0x3F;  // register 0 = 63 > 51
    EXPECT_EQ(corrupt("approx_count_distinct(i)", dense),
              "malformed aggregate state: HyperLogLog register out of range");
  }
  {
    std::string sparse("\x00", 1);
    sparse += "\x81\x08";  // 1025 hashes: above the sparse limit
    sparse += std::string(1025, '\x01');
    corrupt("approx_count_distinct(i)", sparse);
  }
  // DDSketch: empty end bucket, too many buckets, keys beyond any double.
  EXPECT_TRUE(load("approx_percentile(d, 0.5)", std::string("\x00\x02\x00\x01\x01\x00", 6)).ok());
  corrupt("approx_percentile(d, 0.5)", std::string("\x00\x02\x00\x01\x00\x00", 6));
  corrupt("approx_percentile(d, 0.5)", std::string("\x00\x81\x20\x00", 4));
  corrupt("approx_percentile(d, 0.5)", std::string("\x00\x01\xff\xff\xff\x0f\x01\x00", 8));
  // Count overflow across buckets.
  corrupt("approx_percentile(d, 0.5)",
          std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x01\x00\x02\x00", 14));
  // Flags other than 0/1.
  corrupt("sum(i)", std::string("\x02\x02", 2));
  corrupt("first(s)", std::string("\x01\x02\x02", 3));
  // Truncated double.
  corrupt("avg(d)", std::string("\x01\x00\x00", 3));
}

TEST(AggregateStateTest, GroupsAddedLaterStartEmpty) {
  const AggregateCall call = Compile("approx_percentile(d, 0.5)");
  auto acc = MakeAccumulators(call);
  acc->AddGroups(1);
  Feed(call, *acc, MakeInput({{.d = 10}, {.d = 20}, {.d = 30}}));
  acc->AddGroups(2);
  EXPECT_EQ(acc->size(), 3u);
  Input input = MakeInput({{.d = 5, .group = 2}, {.d = 1000, .group = 0}});
  Feed(call, *acc, input);
  const std::vector<std::string> results = Results(call, *acc);
  EXPECT_NEAR(std::stod(results[0]), 20, 0.2);
  EXPECT_EQ(results[1], "NULL");
  EXPECT_NEAR(std::stod(results[2]), 5, 0.05);
}

}  // namespace
}  // namespace eddy
