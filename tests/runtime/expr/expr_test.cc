// Tests of the expression language (runtime/expr/expression.h): exact values and
// NULL positions over hand-built batches, row errors, compile errors with
// positions, select items, and a 10k-row comparison with a scalar reference.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::nullopt_t kNull = std::nullopt;

Column Ints(std::vector<std::optional<int64_t>> values, TypeId type = TypeId::kInt64) {
  Column column(type);
  for (const auto& value : values) {
    if (value) {
      column.AppendInt64(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

Column Doubles(std::vector<std::optional<double>> values) {
  Column column(TypeId::kDouble);
  for (const auto& value : values) {
    if (value) {
      column.AppendDouble(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

Column Strings(std::vector<std::optional<std::string>> values) {
  Column column(TypeId::kString);
  for (const auto& value : values) {
    if (value) {
      column.AppendString(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

Column Bools(std::vector<std::optional<bool>> values) {
  Column column(TypeId::kBool);
  for (const auto& value : values) {
    if (value) {
      column.AppendBool(*value);
    } else {
      column.AppendNull();
    }
  }
  return column;
}

TimestampMicros Ts(std::string_view text) {
  auto parsed = ParseTimestamp(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(0);
}

struct NamedColumn {
  std::string name;
  Column column;
  bool nullable = true;
};

Batch MakeBatch(std::vector<NamedColumn> columns) {
  Batch batch;
  for (auto& named : columns) {
    const TypeId type = named.column.type();
    batch.AddColumn(Field{named.name, type, named.nullable}, std::move(named.column));
  }
  return batch;
}

// Joins every value of a column with '|', NULL as "NULL".
std::string Render(const Column& column) {
  std::string out;
  for (size_t row = 0; row < column.size(); ++row) {
    if (row > 0) out += '|';
    out += column.ValueToString(row);
  }
  return out;
}

std::string RenderErrors(const std::vector<RowError>& errors) {
  std::string out;
  for (const RowError& error : errors) {
    if (!out.empty()) out += "; ";
    out += std::to_string(error.row) + ": " + error.reason;
  }
  return out;
}

// Compiles `text` against the batch's schema, evaluates it and renders the
// result; a compile error renders as "ERROR <message>".
std::string Eval(std::string_view text, const Batch& batch, std::vector<RowError>* errors = nullptr,
                 TypeId* type = nullptr) {
  auto compiled = CompileExpression(text, batch.schema());
  if (!compiled.ok()) return "ERROR " + compiled.status().message();
  if (type != nullptr) *type = (*compiled)->type();
  std::vector<RowError> local;
  Column result = (*compiled)->Evaluate(batch, errors != nullptr ? errors : &local);
  EXPECT_EQ(result.size(), batch.num_rows()) << text;
  EXPECT_EQ(result.type(), (*compiled)->type()) << text;
  if (errors == nullptr) {
    EXPECT_TRUE(local.empty()) << text << ": " << RenderErrors(local);
  }
  return Render(result);
}

std::string CompileError(std::string_view text, const Schema& schema) {
  auto compiled = CompileExpression(text, schema);
  if (compiled.ok()) return "OK";
  EXPECT_EQ(compiled.status().code(), StatusCode::kInvalidArgument);
  return compiled.status().message();
}

// ---------------------------------------------------------------------------

TEST(ExprArithmetic, IntegerOpsAndPromotion) {
  Batch batch = MakeBatch({{"a", Ints({7, -7, 10, kNull})},
                           {"b", Ints({2, 2, 0, 3})},
                           {"d", Doubles({0.5, 1.5, 2.0, 4.0})}});
  TypeId type;
  EXPECT_EQ(Eval("a + b", batch, nullptr, &type), "9|-5|10|NULL");
  EXPECT_EQ(type, TypeId::kInt64);
  EXPECT_EQ(Eval("a - b", batch), "5|-9|10|NULL");
  EXPECT_EQ(Eval("a * b", batch), "14|-14|0|NULL");
  // Integer division truncates toward zero; modulo takes the dividend's sign.
  EXPECT_EQ(Eval("a / b", batch), "3|-3|NULL|NULL");
  EXPECT_EQ(Eval("a % b", batch), "1|-1|NULL|NULL");
  EXPECT_EQ(Eval("a + d", batch, nullptr, &type), "7.5|-5.5|12|NULL");
  EXPECT_EQ(type, TypeId::kDouble);
  EXPECT_EQ(Eval("a / 2.0", batch), "3.5|-3.5|5|NULL");
  EXPECT_EQ(Eval("d / 0", batch), "NULL|NULL|NULL|NULL");
  EXPECT_EQ(Eval("d % 0.0", batch), "NULL|NULL|NULL|NULL");
  EXPECT_EQ(Eval("a % 4.0", batch), "3|-3|2|NULL");
  EXPECT_EQ(Eval("-a", batch), "-7|7|-10|NULL");
  EXPECT_EQ(Eval("1 + 2 * 3 - a", batch), "0|14|-3|NULL");
  EXPECT_EQ(Eval("(1 + 2) * b", batch), "6|6|0|9");
  EXPECT_EQ(Eval("a + NULL", batch), "NULL|NULL|NULL|NULL");
  EXPECT_EQ(Eval("10 / b", batch), "5|5|NULL|3");
}

TEST(ExprArithmetic, IntegerOverflowWrapsAndMinDivDoesNotTrap) {
  Batch batch = MakeBatch(
      {{"a", Ints({std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()})},
       {"m", Ints({-1, -1})}});
  EXPECT_EQ(Eval("a + 1", batch), "-9223372036854775808|-9223372036854775807");
  EXPECT_EQ(Eval("a / m", batch), "-9223372036854775807|-9223372036854775808");
  EXPECT_EQ(Eval("a % m", batch), "0|0");
  EXPECT_EQ(Eval("-9223372036854775808 + 0", batch), "-9223372036854775808|-9223372036854775808");
}

TEST(ExprLogic, ThreeValuedTruthTable) {
  // Every combination of p and q over {true, false, NULL}.
  Batch batch =
      MakeBatch({{"p", Bools({true, true, true, false, false, false, kNull, kNull, kNull})},
                 {"q", Bools({true, false, kNull, true, false, kNull, true, false, kNull})}});
  EXPECT_EQ(Eval("p AND q", batch), "true|false|NULL|false|false|false|NULL|false|NULL");
  EXPECT_EQ(Eval("p OR q", batch), "true|true|true|true|false|NULL|true|NULL|NULL");
  EXPECT_EQ(Eval("NOT p", batch), "false|false|false|true|true|true|NULL|NULL|NULL");
  EXPECT_EQ(Eval("p and not q", batch), "false|true|NULL|false|false|false|false|NULL|NULL");
  EXPECT_EQ(Eval("p IS NULL", batch), "false|false|false|false|false|false|true|true|true");
  EXPECT_EQ(Eval("q IS NOT NULL", batch), "true|true|false|true|true|false|true|true|false");
  EXPECT_EQ(Eval("p AND NULL", batch), "NULL|NULL|NULL|false|false|false|NULL|NULL|NULL");
  EXPECT_EQ(Eval("p OR true", batch), "true|true|true|true|true|true|true|true|true");
}

TEST(ExprLogic, NoNullFastPath) {
  Batch batch = MakeBatch(
      {{"p", Bools({true, true, false, false})}, {"q", Bools({true, false, true, false})}});
  EXPECT_EQ(Eval("p AND q", batch), "true|false|false|false");
  EXPECT_EQ(Eval("p OR q", batch), "true|true|true|false");
}

TEST(ExprComparison, AllOperatorsAndTypes) {
  Batch batch = MakeBatch({{"a", Ints({1, 5, 9, kNull})},
                           {"b", Ints({5, 5, 5, 5})},
                           {"d", Doubles({0.5, 5.0, 9.5, 1.0})},
                           {"s", Strings({"apple", "banana", "cherry", kNull})},
                           {"f", Bools({true, false, true, false})}});
  EXPECT_EQ(Eval("a = b", batch), "false|true|false|NULL");
  EXPECT_EQ(Eval("a != b", batch), "true|false|true|NULL");
  EXPECT_EQ(Eval("a <> b", batch), "true|false|true|NULL");
  EXPECT_EQ(Eval("a < b", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("a <= b", batch), "true|true|false|NULL");
  EXPECT_EQ(Eval("a > b", batch), "false|false|true|NULL");
  EXPECT_EQ(Eval("a >= b", batch), "false|true|true|NULL");
  // Scalar on either side.
  EXPECT_EQ(Eval("a > 4", batch), "false|true|true|NULL");
  EXPECT_EQ(Eval("4 < a", batch), "false|true|true|NULL");
  // int64 against double promotes.
  EXPECT_EQ(Eval("a > d", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("a = 5.0", batch), "false|true|false|NULL");
  EXPECT_EQ(Eval("s < 'b'", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("s = 'banana'", batch), "false|true|false|NULL");
  EXPECT_EQ(Eval("f = true", batch), "true|false|true|false");
  EXPECT_EQ(Eval("a = NULL", batch), "NULL|NULL|NULL|NULL");
}

TEST(ExprComparison, BetweenAndIn) {
  Batch batch =
      MakeBatch({{"a", Ints({1, 5, 9, kNull, 2})}, {"s", Strings({"x", "y", "z", "x", kNull})}});
  EXPECT_EQ(Eval("a BETWEEN 2 AND 5", batch), "false|true|false|NULL|true");
  EXPECT_EQ(Eval("a NOT BETWEEN 2 AND 5", batch), "true|false|true|NULL|false");
  EXPECT_EQ(Eval("a BETWEEN 0.5 AND 1.5", batch), "true|false|false|NULL|false");
  EXPECT_EQ(Eval("a IN (1, 9)", batch), "true|false|true|NULL|false");
  EXPECT_EQ(Eval("a NOT IN (1, 9)", batch), "false|true|false|NULL|true");
  // SQL: no match plus a NULL item is NULL; a match is true regardless.
  EXPECT_EQ(Eval("a IN (1, NULL)", batch), "true|NULL|NULL|NULL|NULL");
  EXPECT_EQ(Eval("a NOT IN (1, NULL)", batch), "false|NULL|NULL|NULL|NULL");
  EXPECT_EQ(Eval("s IN ('x', 'z')", batch), "true|false|true|true|NULL");
  EXPECT_EQ(Eval("a IN (a, 100)", batch), "true|true|true|NULL|true");
}

TEST(ExprConditional, CaseIfCoalesceNullif) {
  Batch batch = MakeBatch({{"a", Ints({1, 5, 9, kNull})}, {"s", Strings({"x", kNull, "z", "w"})}});
  EXPECT_EQ(Eval("CASE WHEN a < 3 THEN 'low' WHEN a < 8 THEN 'mid' ELSE 'high' END", batch),
            "low|mid|high|high");
  EXPECT_EQ(Eval("CASE WHEN a < 3 THEN 'low' WHEN a < 8 THEN 'mid' END", batch),
            "low|mid|NULL|NULL");
  EXPECT_EQ(Eval("case a when 1 then 'one' when 9 then 'nine' else 'other' end", batch),
            "one|other|nine|other");
  // Branches unify: int64 and double give double.
  EXPECT_EQ(Eval("CASE WHEN a > 4 THEN a ELSE 0.5 END", batch), "0.5|5|9|0.5");
  EXPECT_EQ(Eval("if(a > 4, 'big', 'small')", batch), "small|big|big|small");
  EXPECT_EQ(Eval("IF(a IS NULL, -1, a)", batch), "1|5|9|-1");
  EXPECT_EQ(Eval("coalesce(a, 0)", batch), "1|5|9|0");
  EXPECT_EQ(Eval("coalesce(s, 'none')", batch), "x|none|z|w");
  EXPECT_EQ(Eval("coalesce(NULL, a, 7)", batch), "1|5|9|7");
  EXPECT_EQ(Eval("coalesce(a, 0.5)", batch), "1|5|9|0.5");
  EXPECT_EQ(Eval("nullif(a, 5)", batch), "1|NULL|9|NULL");
  EXPECT_EQ(Eval("nullif(s, 'z')", batch), "x|NULL|NULL|w");
}

TEST(ExprConditional, ErrorsOnlyCountOnRowsThatNeedTheBranch) {
  Batch batch = MakeBatch({{"s", Strings({"x", "5", "bad", "7"})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("CASE WHEN s = 'x' THEN 0 ELSE CAST(s AS int64) END", batch, &errors),
            "0|5|NULL|7");
  EXPECT_EQ(RenderErrors(errors), "2: cannot cast 'bad' to int64");

  errors.clear();
  EXPECT_EQ(Eval("CASE WHEN s IN ('5', '7') THEN CAST(s AS int64) END", batch, &errors),
            "NULL|5|NULL|7");
  EXPECT_EQ(RenderErrors(errors), "");

  errors.clear();
  EXPECT_EQ(Eval("if(s = 'x', -1, CAST(s AS int64))", batch, &errors), "-1|5|NULL|7");
  EXPECT_EQ(RenderErrors(errors), "2: cannot cast 'bad' to int64");

  // coalesce only needs the second argument where the first is NULL.
  errors.clear();
  EXPECT_EQ(Eval("coalesce(try_cast(s AS int64), CAST(s AS int64), 0)", batch, &errors),
            "NULL|5|NULL|7");
  EXPECT_EQ(RenderErrors(errors), "0: cannot cast 'x' to int64; 2: cannot cast 'bad' to int64");

  // The right side of AND is not needed where the left is false.
  errors.clear();
  EXPECT_EQ(Eval("s != 'x' AND s != 'bad' AND CAST(s AS int64) > 5", batch, &errors),
            "false|false|false|true");
  EXPECT_EQ(RenderErrors(errors), "");
}

TEST(ExprStrings, EveryFunction) {
  Batch batch =
      MakeBatch({{"s", Strings({"Hello World", "  pad  ", "", kNull})}, {"n", Ints({3, 1, 2, 4})}});
  EXPECT_EQ(Eval("lower(s)", batch), "hello world|  pad  ||NULL");
  EXPECT_EQ(Eval("UPPER(s)", batch), "HELLO WORLD|  PAD  ||NULL");
  EXPECT_EQ(Eval("length(s)", batch), "11|7|0|NULL");
  EXPECT_EQ(Eval("'[' || trim(s) || ']'", batch), "[Hello World]|[pad]|[]|NULL");
  EXPECT_EQ(Eval("'[' || ltrim(s) || ']'", batch), "[Hello World]|[pad  ]|[]|NULL");
  EXPECT_EQ(Eval("'[' || rtrim(s) || ']'", batch), "[Hello World]|[  pad]|[]|NULL");
  EXPECT_EQ(Eval("substring(s, 1, 5)", batch), "Hello|  pad||NULL");
  EXPECT_EQ(Eval("substring(s, 7)", batch), "World| ||NULL");
  EXPECT_EQ(Eval("substring(s, n, 2)", batch), "ll|  ||NULL");
  // SQL: a start before 1 eats into the length; past the end is empty.
  EXPECT_EQ(Eval("substring(s, 0, 3)", batch), "He|  ||NULL");
  EXPECT_EQ(Eval("substring(s, -5, 7)", batch), "H| ||NULL");
  EXPECT_EQ(Eval("substr(s, 100)", batch), "|||NULL");
  EXPECT_EQ(Eval("concat(s, '-', n)", batch), "Hello World-3|  pad  -1|-2|-4");
  EXPECT_EQ(Eval("concat(NULL, 'a', 1.5, true)", batch), "a1.5true|a1.5true|a1.5true|a1.5true");
  EXPECT_EQ(Eval("s || '!' || n", batch), "Hello World!3|  pad  !1|!2|NULL");
  EXPECT_EQ(Eval("contains(s, 'o W')", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("contains(s, '')", batch), "true|true|true|NULL");
  EXPECT_EQ(Eval("starts_with(s, 'Hell')", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("ends_with(s, 'd')", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("replace(s, 'l', 'L')", batch), "HeLLo WorLd|  pad  ||NULL");
  EXPECT_EQ(Eval("replace(s, 'o', '')", batch), "Hell Wrld|  pad  ||NULL");
  EXPECT_EQ(Eval("replace(s, '', 'x')", batch), "Hello World|  pad  ||NULL");
  EXPECT_EQ(Eval("regexp_match(s, '^H.*d$')", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("regexp_match(s, 'o\\s+W')", batch), "true|false|false|NULL");
  EXPECT_EQ(Eval("regexp_match(s, 'pa' || 'd')", batch), "false|true|false|NULL");
  EXPECT_EQ(Eval("'it''s' || s", batch), "it'sHello World|it's  pad  |it's|NULL");
}

TEST(ExprStrings, NegativeSubstringLengthIsARowError) {
  Batch batch = MakeBatch({{"s", Strings({"abc", "abc"})}, {"n", Ints({1, -1})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("substring(s, 1, n)", batch, &errors), "a|NULL");
  EXPECT_EQ(RenderErrors(errors), "1: negative substring length -1");
}

TEST(ExprCast, StringToNumbersStrict) {
  Batch batch = MakeBatch(
      {{"s", Strings({"42", " -7 ", "12abc", kNull, "abc", "+5", "", "9223372036854775808"})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("CAST(s AS int64)", batch, &errors), "42|-7|NULL|NULL|NULL|5|NULL|NULL");
  EXPECT_EQ(
      RenderErrors(errors),
      "2: cannot cast '12abc' to int64; 4: cannot cast 'abc' to int64; 6: cannot cast '' to int64; "
      "7: cannot cast '9223372036854775808' to int64");
  errors.clear();
  EXPECT_EQ(Eval("try_cast(s AS bigint)", batch, &errors), "42|-7|NULL|NULL|NULL|5|NULL|NULL");
  EXPECT_TRUE(errors.empty());

  Batch doubles = MakeBatch({{"s", Strings({"1.5", "-2e3", "1.5x", "inf", "nan"})}});
  errors.clear();
  EXPECT_EQ(Eval("CAST(s AS double)", doubles, &errors), "1.5|-2000|NULL|inf|nan");
  EXPECT_EQ(RenderErrors(errors), "2: cannot cast '1.5x' to double");
}

TEST(ExprCast, StringToBoolAndTimestamp) {
  Batch batch = MakeBatch({{"s", Strings({"true", "FALSE", "yes", "0", "maybe"})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("CAST(s AS bool)", batch, &errors), "true|false|true|false|NULL");
  EXPECT_EQ(RenderErrors(errors), "4: cannot cast 'maybe' to bool");

  Batch times = MakeBatch({{"s", Strings({"2026-01-02T03:04:05Z", "2026-01-02", "2026-13-01",
                                          "2026-01-02 03:04:05.5+01:00"})}});
  errors.clear();
  EXPECT_EQ(
      Eval("CAST(s AS timestamp)", times, &errors),
      "2026-01-02T03:04:05.000000Z|2026-01-02T00:00:00.000000Z|NULL|2026-01-02T02:04:05.500000Z");
  EXPECT_EQ(RenderErrors(errors), "2: cannot cast '2026-13-01' to timestamp");
}

TEST(ExprCast, NumericBoolAndTimestampConversions) {
  Batch batch = MakeBatch({{"d", Doubles({2.7, -2.7, std::nan(""), 1e30, 0.0})},
                           {"i", Ints({0, 1, -3, 1000000, kNull})}});
  std::vector<RowError> errors;
  // double -> int64 truncates toward zero; NaN and out of range fail.
  EXPECT_EQ(Eval("CAST(d AS int64)", batch, &errors), "2|-2|NULL|NULL|0");
  EXPECT_EQ(
      RenderErrors(errors),
      "2: cannot cast 'nan' to int64: out of range; 3: cannot cast '1e+30' to int64: out of range");
  EXPECT_EQ(Eval("CAST(i AS double) / 2", batch), "0|0.5|-1.5|5e+05|NULL");
  EXPECT_EQ(Eval("CAST(i AS bool)", batch), "false|true|true|true|NULL");
  EXPECT_EQ(Eval("CAST(i > 0 AS int64)", batch), "0|1|0|1|NULL");
  // int64 -> timestamp reads microseconds.
  EXPECT_EQ(Eval("CAST(i AS timestamp)", batch),
            "1970-01-01T00:00:00.000000Z|1970-01-01T00:00:00.000001Z|1969-12-31T23:59:59.999997Z|"
            "1970-01-01T00:00:01.000000Z|NULL");
  EXPECT_EQ(Eval("CAST(CAST(i AS timestamp) AS int64)", batch), "0|1|-3|1000000|NULL");
}

TEST(ExprCast, ToStringMatchesValueToString) {
  const std::vector<double> doubles = {
      0.1,      1.0 / 3,     1e20,
      1e-5,     123456789.0, -0.0,
      2.5,      1e300,       std::numeric_limits<double>::infinity(),
      100000.0, 0.0001};
  std::vector<std::optional<double>> optional_doubles(doubles.begin(), doubles.end());
  Column expected = Doubles(optional_doubles);
  Batch batch = MakeBatch({{"d", Doubles(optional_doubles)}});
  auto compiled = CompileExpression("CAST(d AS string)", batch.schema());
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  std::vector<RowError> errors;
  Column result = (*compiled)->Evaluate(batch, &errors);
  for (size_t row = 0; row < doubles.size(); ++row) {
    EXPECT_EQ(result.GetString(row), expected.ValueToString(row)) << row;
  }

  const std::vector<std::optional<int64_t>> times = {0, -1, 1767225600123456, -62135596800000000,
                                                     kNull};
  Batch ts_batch = MakeBatch(
      {{"t", Ints(times, TypeId::kTimestamp)}, {"b", Bools({true, false, true, false, kNull})}});
  auto ts_compiled = CompileExpression("CAST(t AS string)", ts_batch.schema());
  ASSERT_TRUE(ts_compiled.ok());
  Column ts_result = (*ts_compiled)->Evaluate(ts_batch, &errors);
  for (size_t row = 0; row + 1 < times.size(); ++row) {
    EXPECT_EQ(ts_result.GetString(row), FormatTimestamp(*times[row])) << row;
  }
  EXPECT_TRUE(ts_result.IsNull(4));
  EXPECT_EQ(Eval("CAST(b AS string) || '/' || CAST(42 AS string)", ts_batch),
            "true/42|false/42|true/42|false/42|NULL");
  EXPECT_TRUE(errors.empty());
}

TEST(ExprCast, OneErrorPerRowInRowOrder) {
  Batch batch =
      MakeBatch({{"s", Strings({"x", "1", "2", "y"})}, {"t", Strings({"z", "w", "3", "4"})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("CAST(s AS int64) + CAST(t AS int64)", batch, &errors), "NULL|NULL|5|NULL");
  // Row 0 fails twice but reports once; the first failing node's reason wins.
  EXPECT_EQ(
      RenderErrors(errors),
      "0: cannot cast 'x' to int64; 1: cannot cast 'w' to int64; 3: cannot cast 'y' to int64");
  // A failing row is NULL even when an enclosing function would hide it.
  errors.clear();
  EXPECT_EQ(Eval("coalesce(CAST(s AS int64), 0)", batch, &errors), "NULL|1|2|NULL");
  EXPECT_EQ(RenderErrors(errors), "0: cannot cast 'x' to int64; 3: cannot cast 'y' to int64");
}

TEST(ExprMath, Functions) {
  Batch batch =
      MakeBatch({{"i", Ints({-3, 4, kNull, 1250})}, {"d", Doubles({-2.5, 2.449, 16.0, 0.0})}});
  EXPECT_EQ(Eval("abs(i)", batch), "3|4|NULL|1250");
  EXPECT_EQ(Eval("abs(d)", batch), "2.5|2.449|16|0");
  EXPECT_EQ(Eval("round(d)", batch), "-3|2|16|0");
  EXPECT_EQ(Eval("round(d, 2)", batch), "-2.5|2.45|16|0");
  EXPECT_EQ(Eval("round(i, -2)", batch), "0|0|NULL|1300");
  EXPECT_EQ(Eval("round(i)", batch), "-3|4|NULL|1250");
  EXPECT_EQ(Eval("floor(d)", batch), "-3|2|16|0");
  EXPECT_EQ(Eval("ceil(d)", batch), "-2|3|16|0");
  EXPECT_EQ(Eval("sqrt(d)", batch), "NULL|1.5649281133649557|4|0");
  EXPECT_EQ(Eval("sqrt(i)", batch), "NULL|2|NULL|35.35533905932738");
  EXPECT_EQ(Eval("ln(d)", batch), "NULL|0.8956797779700306|2.772588722239781|NULL");
  EXPECT_EQ(Eval("exp(d) > 0", batch), "true|true|true|true");
  EXPECT_EQ(Eval("exp(0)", batch), "1|1|1|1");
  EXPECT_EQ(Eval("pow(i, 2)", batch), "9|16|NULL|1562500");
  EXPECT_EQ(Eval("power(d, 0.5)", batch), "NULL|1.5649281133649557|4|0");
  EXPECT_EQ(Eval("least(i, d, 0)", batch), "-3|0|0|0");
  EXPECT_EQ(Eval("greatest(i, 2)", batch), "2|4|2|1250");
  EXPECT_EQ(Eval("greatest(i, NULL)", batch), "-3|4|NULL|1250");
  EXPECT_EQ(Eval("least('b', 'a', 'c')", batch), "a|a|a|a");
}

// Examples quoted in docs/expressions.md.
TEST(ExprDocs, DocumentedExamples) {
  Batch batch = MakeBatch({{"n", Ints({1})}});
  EXPECT_EQ(Eval("INTERVAL '1 second' = 1000000", batch), "true");
  EXPECT_EQ(Eval("INTERVAL '-2 ms'", batch), "-2000");
  EXPECT_EQ(Eval("round(2.5) || ' ' || round(-2.5) || ' ' || round(3.14159, 2)", batch),
            "3 -3 3.14");
  EXPECT_EQ(Eval("'B' < 'a'", batch), "true");
  EXPECT_EQ(Eval("length('é')", batch), "2");
  EXPECT_EQ(Eval("pow(-8, 0.5)", batch), "NULL");
  EXPECT_EQ(Eval("pow(2, 10)", batch), "1024");
  EXPECT_EQ(Eval("least(NULL, NULL)", batch), "NULL");
  EXPECT_EQ(Eval("floor(-2.5)", batch), "-3");
  EXPECT_EQ(Eval("substring('hello', 2, 3) || substring('hello', 3)", batch), "ellllo");
  EXPECT_EQ(Eval("replace('a-b-c', '-', '/')", batch), "a/b/c");
  EXPECT_EQ(Eval("regexp_match('bob@example.com', '^[^@]+@example\\.com$')", batch), "true");
  EXPECT_EQ(Eval("regexp_match('bob@exampleXcom', '^[^@]+@example\\.com$')", batch), "false");
  EXPECT_EQ(Eval("'id-' || 42", batch), "id-42");
  EXPECT_EQ(Eval("to_timestamp_millis(1767225600000)", batch), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(Eval("date_trunc('second', TIMESTAMP '1969-12-31T23:59:59.5Z')", batch),
            "1969-12-31T23:59:59.000000Z");
  EXPECT_EQ(Eval("CAST(2500.0 AS string)", batch), "2500");
  EXPECT_EQ(Eval("CASE n WHEN 1 THEN 'one' END -- trailing comment", batch), "one");
  EXPECT_EQ(Eval("\"n\" + N", batch), "2");
}

TEST(ExprTimestamp, FunctionsAndIntervals) {
  const TimestampMicros t0 = Ts("2026-03-04T05:06:07.123456Z");
  const TimestampMicros before_epoch = Ts("1969-12-31T23:59:59.500Z");
  Batch batch = MakeBatch({{"t", Ints({t0, before_epoch, kNull}, TypeId::kTimestamp)},
                           {"ms", Ints({1767225600123, -1, 0})}});
  EXPECT_EQ(Eval("to_timestamp_millis(ms)", batch),
            "2026-01-01T00:00:00.123000Z|1969-12-31T23:59:59.999000Z|1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(Eval("to_unix_millis(t)", batch), "1772600767123|-500|NULL");
  EXPECT_EQ(Eval("date_trunc('second', t)", batch),
            "2026-03-04T05:06:07.000000Z|1969-12-31T23:59:59.000000Z|NULL");
  EXPECT_EQ(Eval("date_trunc('minute', t)", batch),
            "2026-03-04T05:06:00.000000Z|1969-12-31T23:59:00.000000Z|NULL");
  EXPECT_EQ(Eval("date_trunc('HOUR', t)", batch),
            "2026-03-04T05:00:00.000000Z|1969-12-31T23:00:00.000000Z|NULL");
  EXPECT_EQ(Eval("date_trunc('day', t)", batch),
            "2026-03-04T00:00:00.000000Z|1969-12-31T00:00:00.000000Z|NULL");
  EXPECT_EQ(Eval("year(t)", batch), "2026|1969|NULL");
  EXPECT_EQ(Eval("month(t)", batch), "3|12|NULL");
  EXPECT_EQ(Eval("day(t)", batch), "4|31|NULL");
  EXPECT_EQ(Eval("hour(t)", batch), "5|23|NULL");
  EXPECT_EQ(Eval("minute(t)", batch), "6|59|NULL");
  EXPECT_EQ(Eval("second(t)", batch), "7|59|NULL");
  EXPECT_EQ(Eval("t + INTERVAL '5 seconds'", batch),
            "2026-03-04T05:06:12.123456Z|1970-01-01T00:00:04.500000Z|NULL");
  EXPECT_EQ(Eval("t - INTERVAL '2 minutes'", batch),
            "2026-03-04T05:04:07.123456Z|1969-12-31T23:57:59.500000Z|NULL");
  EXPECT_EQ(Eval("t + interval '1 hour'", batch),
            "2026-03-04T06:06:07.123456Z|1970-01-01T00:59:59.500000Z|NULL");
  EXPECT_EQ(Eval("INTERVAL '3 days' + t", batch),
            "2026-03-07T05:06:07.123456Z|1970-01-03T23:59:59.500000Z|NULL");
  EXPECT_EQ(Eval("t + INTERVAL '100 milliseconds'", batch),
            "2026-03-04T05:06:07.223456Z|1969-12-31T23:59:59.600000Z|NULL");
  EXPECT_EQ(Eval("t + INTERVAL '1 hour 30 minutes' - t", batch), "5400000000|5400000000|NULL");
  EXPECT_EQ(Eval("t - TIMESTAMP '2026-03-04T05:06:00Z'", batch), "7123456|-1772600760500000|NULL");
  EXPECT_EQ(Eval("t > '2026-01-01T00:00:00Z'", batch), "true|false|NULL");
  EXPECT_EQ(Eval("'2026-01-01' <= t", batch), "true|false|NULL");
  EXPECT_EQ(Eval("t BETWEEN '2026-03-04' AND '2026-03-05'", batch), "true|false|NULL");
  EXPECT_EQ(Eval("t IN ('2026-03-04T05:06:07.123456Z')", batch), "true|false|NULL");
  EXPECT_EQ(Eval("coalesce(t, '2000-01-01')", batch),
            "2026-03-04T05:06:07.123456Z|1969-12-31T23:59:59.500000Z|2000-01-01T00:00:00.000000Z");
}

TEST(ExprMeta, ReadsSourceMetadata) {
  Batch batch = MakeBatch({{"v", Ints({1, 2, 3})}});
  const std::string_view key = "k1";
  batch.meta().Append("clicks", 2, 100, &key, Ts("2026-01-01T00:00:00Z"));
  batch.meta().Append("clicks", 2, 101, nullptr, std::nullopt);
  batch.meta().Append("views", 0, 7, &key, Ts("2026-01-01T00:00:01Z"));
  TypeId type;
  EXPECT_EQ(Eval("_topic", batch, nullptr, &type), "clicks|clicks|views");
  EXPECT_EQ(type, TypeId::kString);
  EXPECT_EQ(Eval("_partition", batch, nullptr, &type), "2|2|0");
  EXPECT_EQ(type, TypeId::kInt64);
  EXPECT_EQ(Eval("_offset + v", batch), "101|103|10");
  EXPECT_EQ(Eval("_key", batch), "k1|NULL|k1");
  EXPECT_EQ(Eval("_timestamp", batch, nullptr, &type),
            "2026-01-01T00:00:00.000000Z|NULL|2026-01-01T00:00:01.000000Z");
  EXPECT_EQ(type, TypeId::kTimestamp);
  EXPECT_EQ(Eval("_TOPIC = 'clicks' AND _offset > 100", batch), "false|true|false");
}

TEST(ExprMeta, NullWithoutMetadataAndShadowedBySchema) {
  Batch batch = MakeBatch({{"v", Ints({1, 2})}});
  std::vector<RowError> errors;
  EXPECT_EQ(Eval("_topic", batch), "NULL|NULL");
  EXPECT_EQ(Eval("_offset", batch), "NULL|NULL");
  EXPECT_EQ(Eval("_timestamp IS NULL", batch), "true|true");
  EXPECT_EQ(Eval("coalesce(_key, 'none')", batch), "none|none");
  EXPECT_EQ(Eval("CAST(coalesce(_key, 'x') AS int64)", batch, &errors), "NULL|NULL");
  EXPECT_EQ(RenderErrors(errors), "0: cannot cast 'x' to int64; 1: cannot cast 'x' to int64");

  Batch shadow = MakeBatch({{"_offset", Strings({"mine", "ours"})}});
  shadow.meta().Append("t", 0, 5, nullptr, std::nullopt);
  shadow.meta().Append("t", 0, 6, nullptr, std::nullopt);
  EXPECT_EQ(Eval("_offset", shadow), "mine|ours");
  EXPECT_EQ(Eval("_partition", shadow), "0|0");
}

TEST(ExprSelect, ItemsAndNames) {
  Batch batch =
      MakeBatch({{"price", Doubles({1.5, 2.0})}, {"Ad Id", Ints({7, 8})}, {"qty", Ints({2, 3})}});
  auto star = CompileSelectItem(" * ", batch.schema());
  ASSERT_TRUE(star.ok()) << star.status().ToString();
  ASSERT_EQ(star->size(), 3u);
  EXPECT_EQ((*star)[0].name, "price");
  EXPECT_EQ((*star)[1].name, "Ad Id");
  EXPECT_EQ((*star)[2].name, "qty");
  EXPECT_EQ(Render((*star)[1].expression->Evaluate(batch, nullptr)), "7|8");
  EXPECT_EQ((*star)[1].expression->ToString(), "\"Ad Id\"");

  auto aliased = CompileSelectItem("price * qty AS total", batch.schema());
  ASSERT_TRUE(aliased.ok()) << aliased.status().ToString();
  ASSERT_EQ(aliased->size(), 1u);
  EXPECT_EQ((*aliased)[0].name, "total");
  EXPECT_EQ(Render((*aliased)[0].expression->Evaluate(batch, nullptr)), "3|6");

  auto quoted_alias = CompileSelectItem("qty as \"the qty\"", batch.schema());
  ASSERT_TRUE(quoted_alias.ok());
  EXPECT_EQ((*quoted_alias)[0].name, "the qty");

  auto bare = CompileSelectItem("\"Ad Id\"", batch.schema());
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)[0].name, "Ad Id");

  // An unquoted name matching a column ignoring case keeps the column's name.
  auto case_insensitive = CompileSelectItem("PRICE", batch.schema());
  ASSERT_TRUE(case_insensitive.ok());
  EXPECT_EQ((*case_insensitive)[0].name, "price");

  auto expression = CompileSelectItem("  qty + 1 ", batch.schema());
  ASSERT_TRUE(expression.ok());
  EXPECT_EQ((*expression)[0].name, "qty + 1");
  EXPECT_EQ((*expression)[0].expression->ToString(), "(qty + 1)");

  auto meta = CompileSelectItem("_offset", batch.schema());
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)[0].name, "_offset");

  auto bad_alias = CompileSelectItem("qty AS", batch.schema());
  ASSERT_FALSE(bad_alias.ok());
  EXPECT_EQ(bad_alias.status().message(),
            "at 7: expected a column name after AS but found end of expression");
  auto trailing = CompileSelectItem("qty AS x y", batch.schema());
  ASSERT_FALSE(trailing.ok());
  EXPECT_EQ(trailing.status().message(), "at 10: unexpected 'y' after the expression");
  auto unknown = CompileSelectItem("nope AS x", batch.schema());
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), StartsWith("at 1: unknown column 'nope'"));
}

// The columns an expression reads, by schema index, ascending and distinct,
// so an operator can evaluate it over those columns alone.
TEST(ExprCompile, ColumnsReadListsEachReferencedColumnOnce) {
  Schema schema({Field{"price", TypeId::kDouble, true}, Field{"ad_id", TypeId::kInt64, true},
                 Field{"name", TypeId::kString, true}, Field{"qty", TypeId::kInt64, true}});
  auto read = [&](std::string_view text) {
    auto compiled = CompileExpression(text, schema);
    EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
    if (!compiled.ok()) return std::vector<size_t>{99};
    const auto columns = (*compiled)->columns_read();
    return std::vector<size_t>(columns.begin(), columns.end());
  };
  EXPECT_EQ(read("qty * price + price"), (std::vector<size_t>{0, 3}));
  EXPECT_EQ(read("CASE WHEN NAME = 'a' THEN qty ELSE ad_id END"), (std::vector<size_t>{1, 2, 3}));
  EXPECT_EQ(read("coalesce(_key, 'k') || _topic"), std::vector<size_t>{});
  EXPECT_EQ(read("1 + 2"), std::vector<size_t>{});
  auto star = CompileSelectItem("*", schema);
  ASSERT_TRUE(star.ok());
  ASSERT_EQ(star->size(), 4u);
  const auto third = (*star)[2].expression->columns_read();
  EXPECT_EQ(std::vector<size_t>(third.begin(), third.end()), std::vector<size_t>{2});
}

TEST(ExprCompile, ErrorsWithPositions) {
  Schema schema({Field{"price", TypeId::kDouble, true}, Field{"ad_id", TypeId::kInt64, true},
                 Field{"name", TypeId::kString, true}, Field{"ts", TypeId::kTimestamp, true},
                 Field{"ok", TypeId::kBool, true}});
  EXPECT_EQ(
      CompileError("price > 0 AND prise < 5", schema),
      "at 15: unknown column 'prise', did you mean 'price'? (columns: price, ad_id, name, ts, ok; "
      "metadata: _topic, _partition, _offset, _key, _timestamp)");
  // Positions count characters, not bytes.
  EXPECT_THAT(CompileError("'é' || nme", schema),
              StartsWith("at 8: unknown column 'nme', did you mean 'name'?"));
  EXPECT_EQ(CompileError("lowr(name)", schema),
            "at 1: unknown function 'lowr', did you mean 'lower'?");
  EXPECT_EQ(CompileError("frobnicate(name)", schema), "at 1: unknown function 'frobnicate'");
  EXPECT_EQ(
      CompileError("name + 1", schema),
      "at 6: operator + cannot be applied to string and int64 (use || to concatenate strings)");
  EXPECT_EQ(CompileError("ad_id = name", schema), "at 7: cannot compare int64 with string using =");
  EXPECT_EQ(CompileError("ok AND ad_id", schema),
            "at 8: the right operand of AND must be bool, got int64");
  EXPECT_EQ(CompileError("NOT price", schema), "at 5: the operand of NOT must be bool, got double");
  EXPECT_EQ(CompileError("lower(name, 1)", schema), "at 1: lower() takes 1 argument, got 2");
  EXPECT_EQ(CompileError("substring(name)", schema),
            "at 1: substring() takes 2 or 3 arguments, got 1");
  EXPECT_EQ(CompileError("coalesce()", schema),
            "at 1: coalesce() takes at least 1 argument, got 0");
  EXPECT_EQ(CompileError("length(ad_id)", schema),
            "at 8: length() argument 1 must be string, got int64");
  EXPECT_EQ(CompileError("abs(name)", schema),
            "at 5: abs() argument 1 must be int64 or double, got string");
  EXPECT_THAT(CompileError("regexp_match(name, 'a(b')", schema),
              StartsWith("at 20: invalid regular expression 'a(b': missing )"));
  EXPECT_EQ(CompileError("regexp_match(name, name)", schema),
            "at 20: regexp_match() pattern must be a string literal");
  EXPECT_EQ(CompileError("date_trunc('month', ts)", schema),
            "at 12: date_trunc() unit must be 'second', 'minute', 'hour' or 'day', got 'month'");
  EXPECT_EQ(CompileError("ts > 'yesterday'", schema),
            "at 6: 'yesterday' is not an ISO 8601 timestamp (e.g. '2026-01-02T03:04:05Z')");
  EXPECT_EQ(CompileError("ts > name", schema),
            "at 4: cannot compare timestamp with string using >");
  EXPECT_EQ(
      CompileError("ts + 1.5", schema),
      "at 4: operator + cannot be applied to timestamp and double (timestamps take + and - with an "
      "INTERVAL or int64 microseconds, and ts - ts)");
  EXPECT_EQ(CompileError("CAST(price AS bool)", schema), "at 1: cannot cast double to bool");
  EXPECT_EQ(CompileError("CAST(price AS money)", schema),
            "at 15: unknown type 'money' (types: bool, int64, double, string, timestamp)");
  EXPECT_EQ(CompileError("CAST('abc' AS int64) + ad_id", schema),
            "at 1: cannot cast 'abc' to int64");
  EXPECT_EQ(CompileError("CASE WHEN ad_id THEN 1 END", schema),
            "at 11: a WHEN condition must be bool, got int64");
  EXPECT_EQ(CompileError("CASE WHEN ok THEN 1 ELSE 'x' END", schema),
            "at 26: CASE branches mix int64 and string");
  EXPECT_EQ(CompileError("ad_id IN (1, 'x')", schema),
            "at 14: IN cannot compare int64 with string");
  EXPECT_EQ(CompileError("price > ", schema),
            "at 9: expected an expression but found end of expression");
  EXPECT_EQ(CompileError("name = 'abc", schema), "at 8: unterminated string literal");
  EXPECT_EQ(CompileError("(price + 1", schema), "at 11: expected ')' but found end of expression");
  EXPECT_EQ(CompileError("price # 2", schema), "at 7: unexpected character '#'");
  EXPECT_EQ(CompileError("price 2", schema), "at 7: unexpected '2' after the expression");
  EXPECT_EQ(CompileError("99999999999999999999", schema),
            "at 1: integer literal 99999999999999999999 is out of range for int64");
  EXPECT_EQ(
      CompileError("INTERVAL '5 fortnights'", schema),
      "at 10: '5 fortnights' is not an interval (e.g. '5 seconds', '100 milliseconds', '1 hour 30 "
      "minutes')");
  EXPECT_EQ(CompileError("ad_id IS 5", schema), "at 10: expected NULL after IS but found '5'");
  EXPECT_EQ(
      CompileError("\"Price\" > 1", schema),
      "at 1: unknown column 'Price', did you mean 'price'? (columns: price, ad_id, name, ts, ok; "
      "metadata: _topic, _partition, _offset, _key, _timestamp)");
}

TEST(ExprCompile, LongAndDeepExpressionsAreBounded) {
  Batch batch = MakeBatch({{"a", Ints({1, kNull})}});
  std::string chain = "a";
  for (int i = 0; i < 999; ++i) chain += " + 1";  // height 1000: allowed
  EXPECT_EQ(Eval(chain, batch), "1000|NULL");
  std::string too_deep = "a";
  for (int i = 0; i < 2000; ++i) too_deep += " + 1";
  EXPECT_EQ(CompileError(too_deep, batch.schema()),
            "at 3999: expression is nested too deeply (more than 1000 levels of operators)");
  std::string nested = std::string(300, '(') + "a" + std::string(300, ')');
  EXPECT_EQ(CompileError(nested, batch.schema()), "at 257: expression is nested too deeply");
}

TEST(ExprCompile, ExpectedType) {
  Schema schema({Field{"price", TypeId::kDouble, true}, Field{"n", TypeId::kInt64, true}});
  auto filter = CompileExpressionOfType("price > 1", schema, TypeId::kBool);
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ((*filter)->type(), TypeId::kBool);
  auto not_bool = CompileExpressionOfType("price * 2", schema, TypeId::kBool);
  ASSERT_FALSE(not_bool.ok());
  EXPECT_EQ(not_bool.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(not_bool.status().message(),
            "at 1: expected an expression of type bool, got double: (price * 2)");
  // int64 promotes to an expected double; a bare NULL takes the type.
  auto promoted = CompileExpressionOfType("n + 1", schema, TypeId::kDouble);
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ((*promoted)->type(), TypeId::kDouble);
  auto null_filter = CompileExpressionOfType("NULL", schema, TypeId::kBool);
  ASSERT_TRUE(null_filter.ok());
  EXPECT_EQ((*null_filter)->type(), TypeId::kBool);
}

TEST(ExprCompile, CanonicalToStringRoundTrips) {
  Schema schema({Field{"a", TypeId::kInt64, true}, Field{"b", TypeId::kInt64, true},
                 Field{"s", TypeId::kString, true}, Field{"my col", TypeId::kDouble, true},
                 Field{"t", TypeId::kTimestamp, true}});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a + b * 2", "(a + (b * 2))"},
      {"a - b - 1", "((a - b) - 1)"},
      {"NOT a > 1 and b < 2 or s is null", "(((NOT (a > 1)) AND (b < 2)) OR (s IS NULL))"},
      {"A BETWEEN 1 AND 2", "(a BETWEEN 1 AND 2)"},
      {"a not in (1, 2)", "(a NOT IN (1, 2))"},
      {"case when a > 0 then 'p' else 'n' end", "CASE WHEN (a > 0) THEN 'p' ELSE 'n' END"},
      {"case a when 1 then 'one' end", "CASE a WHEN 1 THEN 'one' END"},
      {"LOWER(s) || 'it''s'", "(lower(s) || 'it''s')"},
      {"cast(a as BIGINT)", "CAST(a AS int64)"},
      {"TRY_CAST(s as double)", "TRY_CAST(s AS double)"},
      {"\"my col\" * 1.0", "(\"my col\" * 1.0)"},
      {"-a + -5", "((-a) + -5)"},
      {"t + interval '5 seconds'", "(t + INTERVAL '5 seconds')"},
      {"t > timestamp '2026-01-01'", "(t > TIMESTAMP '2026-01-01T00:00:00.000000Z')"},
      {"a <> b", "(a != b)"},
      {"a IS NOT NULL", "(a IS NOT NULL)"},
      {"coalesce(a, NULL, 2.5e3)", "coalesce(a, NULL, 2500.0)"},
  };
  for (const auto& [text, canonical] : cases) {
    auto compiled = CompileExpression(text, schema);
    ASSERT_TRUE(compiled.ok()) << text << ": " << compiled.status().ToString();
    EXPECT_EQ((*compiled)->ToString(), canonical) << text;
    auto again = CompileExpression((*compiled)->ToString(), schema);
    ASSERT_TRUE(again.ok()) << canonical << ": " << again.status().ToString();
    EXPECT_EQ((*again)->ToString(), canonical);
  }
}

TEST(ExprCompile, Nullability) {
  Schema schema({Field{"a", TypeId::kInt64, false}, Field{"n", TypeId::kInt64, true},
                 Field{"s", TypeId::kString, false}});
  auto nullable = [&](std::string_view text) {
    auto compiled = CompileExpression(text, schema);
    EXPECT_TRUE(compiled.ok()) << text << ": " << compiled.status().ToString();
    return compiled.ok() && (*compiled)->nullable();
  };
  EXPECT_FALSE(nullable("a + 1"));
  EXPECT_FALSE(nullable("a > 1 AND a < 5"));
  EXPECT_FALSE(nullable("upper(s)"));
  EXPECT_FALSE(nullable("coalesce(n, 0)"));
  EXPECT_FALSE(nullable("n IS NULL"));
  EXPECT_FALSE(nullable("CAST(a AS string)"));
  EXPECT_TRUE(nullable("n + 1"));
  EXPECT_TRUE(nullable("a / 2"));  // division by zero is NULL
  EXPECT_TRUE(nullable("CAST(s AS int64)"));
  EXPECT_TRUE(nullable("try_cast(s AS int64)"));
  EXPECT_TRUE(nullable("CASE WHEN a > 1 THEN 1 END"));
  EXPECT_TRUE(nullable("_offset"));
  EXPECT_TRUE(nullable("coalesce(CAST(s AS int64), 0)"));  // a failing row is NULL
}

TEST(ExprEval, ConstantsBroadcastAndEmptyBatch) {
  Batch batch = MakeBatch({{"a", Ints({1, 2, 3})}});
  EXPECT_EQ(Eval("1 + 2", batch), "3|3|3");
  EXPECT_EQ(Eval("'x' || 'y'", batch), "xy|xy|xy");
  EXPECT_EQ(Eval("NULL", batch), "NULL|NULL|NULL");
  EXPECT_EQ(Eval("upper('a') = 'A'", batch), "true|true|true");
  Batch empty = MakeBatch({{"a", Ints({})}});
  EXPECT_EQ(Eval("a * 2 + 1", empty), "");
  EXPECT_EQ(Eval("CASE WHEN a > 1 THEN 'x' END", empty), "");
}

TEST(ExprEval, MismatchedBatchYieldsNullsNotACrash) {
  Schema schema({Field{"a", TypeId::kInt64, true}, Field{"b", TypeId::kInt64, true}});
  auto compiled = CompileExpression("b + 1", schema);
  ASSERT_TRUE(compiled.ok());
  Batch other = MakeBatch({{"a", Ints({1, 2})}});
  std::vector<RowError> errors;
  Column result = (*compiled)->Evaluate(other, &errors);
  EXPECT_EQ(Render(result), "NULL|NULL");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0].reason, HasSubstr("does not match the compiled schema"));
}

// A compiled expression is immutable: concurrent evaluations agree.
TEST(ExprEval, ConcurrentEvaluationIsSafe) {
  std::vector<std::optional<std::string>> values;
  for (int i = 0; i < 2000; ++i)
    values.push_back(i % 3 == 0 ? "n" + std::to_string(i) : std::to_string(i));
  Batch batch = MakeBatch({{"s", Strings(values)}});
  auto compiled = CompileExpression(
      "CASE WHEN regexp_match(s, '^[0-9]+$') THEN CAST(s AS int64) * 2 ELSE length(s) END",
      batch.schema());
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  std::vector<RowError> reference_errors;
  const std::string reference = Render((*compiled)->Evaluate(batch, &reference_errors));
  EXPECT_TRUE(reference_errors.empty());
  EXPECT_EQ(reference.substr(0, 12), "2|2|4|2|8|10");
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      std::vector<RowError> errors;
      for (int repeat = 0; repeat < 20; ++repeat)
        results[t] = Render((*compiled)->Evaluate(batch, &errors));
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& result : results) EXPECT_EQ(result, reference);
}

// A 10k-row batch against a plain scalar loop computing the same thing.
TEST(ExprEval, LargeBatchMatchesScalarReference) {
  constexpr size_t kRows = 10000;
  std::mt19937_64 rng(42);
  std::vector<std::optional<int64_t>> a(kRows), b(kRows);
  std::vector<std::optional<double>> d(kRows);
  std::vector<std::optional<std::string>> s(kRows);
  for (size_t row = 0; row < kRows; ++row) {
    if (rng() % 10 != 0) a[row] = static_cast<int64_t>(rng() % 2001) - 1000;
    if (rng() % 13 != 0) b[row] = static_cast<int64_t>(rng() % 21) - 10;  // zeros too
    if (rng() % 7 != 0) d[row] = static_cast<double>(rng() % 100000) / 100.0;
    if (rng() % 11 != 0) s[row] = "id-" + std::to_string(rng() % 50);
  }
  Batch batch = MakeBatch({{"a", Ints(a)}, {"b", Ints(b)}, {"d", Doubles(d)}, {"s", Strings(s)}});

  auto value = CompileExpression("(a * 3 + b) / b + d", batch.schema());
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  auto predicate = CompileExpression(
      "(a % 7 = 3 OR d > 500.0) AND NOT starts_with(s, 'id-1') AND a BETWEEN -500 AND b * 100",
      batch.schema());
  ASSERT_TRUE(predicate.ok()) << predicate.status().ToString();
  std::vector<RowError> errors;
  Column values = (*value)->Evaluate(batch, &errors);
  Column predicates = (*predicate)->Evaluate(batch, &errors);
  EXPECT_TRUE(errors.empty());

  // Three-valued logic by hand: nullopt is NULL.
  using Tri = std::optional<bool>;
  auto tri_and = [](Tri x, Tri y) -> Tri {
    if ((x && !*x) || (y && !*y)) return false;
    if (!x || !y) return std::nullopt;
    return true;
  };
  auto tri_or = [](Tri x, Tri y) -> Tri {
    if ((x && *x) || (y && *y)) return true;
    if (!x || !y) return std::nullopt;
    return false;
  };
  size_t null_values = 0, true_predicates = 0;
  for (size_t row = 0; row < kRows; ++row) {
    std::optional<double> expected;
    if (a[row] && b[row] && d[row] && *b[row] != 0) {
      expected = static_cast<double>((*a[row] * 3 + *b[row]) / *b[row]) + *d[row];
    }
    ASSERT_EQ(values.IsNull(row), !expected.has_value()) << row;
    if (expected) {
      ASSERT_EQ(values.GetDouble(row), *expected) << row;
    } else {
      ++null_values;
    }

    Tri mod_test = a[row] ? Tri(*a[row] % 7 == 3) : std::nullopt;
    Tri big = d[row] ? Tri(*d[row] > 500.0) : std::nullopt;
    Tri prefix = s[row] ? Tri(!s[row]->starts_with("id-1")) : std::nullopt;
    Tri between;
    if (a[row] && b[row]) {
      between = *a[row] >= -500 && *a[row] <= *b[row] * 100;
    } else if (a[row] && *a[row] < -500) {
      between = false;  // already below the low bound
    }
    Tri expected_predicate = tri_and(tri_and(tri_or(mod_test, big), prefix), between);
    ASSERT_EQ(predicates.IsNull(row), !expected_predicate.has_value()) << row;
    if (expected_predicate) {
      ASSERT_EQ(predicates.GetBool(row), *expected_predicate) << row;
      true_predicates += *expected_predicate;
    }
  }
  // The data exercises both outcomes and the NULL paths.
  EXPECT_GT(null_values, 1000u);
  EXPECT_GT(true_predicates, 500u);
}

}  // namespace
}  // namespace eddy
