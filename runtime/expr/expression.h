#pragma once
// The expression language of filter, select, sink keys and headers: a small
// SQL dialect compiled once against an input Schema (type-checked at job
// load) and evaluated a column at a time over whole batches.
//
// Grammar summary (full reference: docs/expressions.md):
//   literals      42  1.5  'text'  true  false  NULL  TIMESTAMP '2026-01-01T00:00:00Z'
//   columns       name, "quoted name", and the source metadata columns
//                 _topic _partition _offset _key _timestamp
//   arithmetic    + - * / %   (int64 / int64 is integer division; x / 0 is NULL)
//   comparison    = != <> < <= > >=   BETWEEN a AND b   IN (a, b, ...)
//   boolean       AND OR NOT  (SQL three-valued logic)
//   null handling IS NULL, IS NOT NULL, coalesce(a, b, ...), nullif(a, b)
//   conditionals  CASE WHEN c THEN v [...] [ELSE v] END, if(c, a, b)
//   strings       s1 || s2, lower, upper, length, substring(s, start[, len]) (1-based),
//                 concat(...), contains(s, t), starts_with, ends_with, trim,
//                 regexp_match(s, 'pattern') (RE2), replace(s, from, to)
//   casts         CAST(x AS type), try_cast(x AS type) (NULL instead of failing)
//   math          abs, round(x[, digits]), floor, ceil, sqrt, ln, exp, pow, least, greatest
//   timestamps    to_timestamp_millis(int), to_unix_millis(ts), date_trunc('minute', ts),
//                 year/month/day/hour/minute/second(ts), ts + INTERVAL '5 seconds',
//                 ts - ts (int64 microseconds)
//
// Thread-safety: a compiled Expression is immutable; Evaluate may be called
// from many threads at once.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"

namespace eddy {

// A row whose value could not be computed (e.g. CAST('abc' AS int64)).
struct RowError {
  uint32_t row;
  std::string reason;
};

class Expression {
 public:
  virtual ~Expression() = default;

  virtual TypeId type() const = 0;
  // False only when the value can never be NULL.
  virtual bool nullable() const = 0;
  // Evaluates over every row of `input` (whose schema is the one compiled
  // against) into a column of type() with input.num_rows() rows. A row that
  // fails gets NULL and one entry in `errors`, in row order.
  virtual Column Evaluate(const Batch& input, std::vector<RowError>* errors) const = 0;
  // The columns of the compiled-against schema that Evaluate reads, as
  // indexes, ascending and distinct; the metadata columns (_topic, ...) are
  // not among them. An operator may evaluate over a batch of only these
  // columns (select after a filter gathers no others, operator.h).
  virtual std::span<const size_t> columns_read() const = 0;
  // Canonical text, fully parenthesized, for plans and error messages.
  virtual std::string ToString() const = 0;
};

// Parses and type-checks `text` against `schema`. Errors are
// InvalidArgument with the character position, e.g.
// "at 7: unknown column 'prise' (columns: price, ad_id, ...)".
Result<std::unique_ptr<Expression>> CompileExpression(std::string_view text, const Schema& schema);

// Like CompileExpression, but the result must have type `expected` (a
// filter's predicate must be bool, say); otherwise InvalidArgument naming
// both types.
Result<std::unique_ptr<Expression>> CompileExpressionOfType(std::string_view text,
                                                            const Schema& schema, TypeId expected);

struct NamedExpression {
  std::string name;
  std::unique_ptr<Expression> expression;
};

// Compiles one select item: "expr", "expr AS name" or "*". A bare column
// keeps its name; any other unnamed expression is named by its text. `*`
// expands to every column of `schema` (not the metadata columns).
Result<std::vector<NamedExpression>> CompileSelectItem(std::string_view item, const Schema& schema);

}  // namespace eddy
