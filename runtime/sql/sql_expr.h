#pragma once
// Internal to runtime/sql: PostgreSQL expression trees -> the text of Eddy's
// expression language (docs/expressions.md). The expression compiler then
// checks names and types exactly as for a YAML job; anchors map its error
// positions back into the SQL.

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/sql/pg_tree.h"
#include "runtime/sql/sql_source.h"

namespace eddy::sql {

// Generated text with anchors.
struct ExprText {
  std::string text;
  std::vector<Anchor> anchors;

  void Mark(int original) { anchors.push_back({static_cast<int>(text.size()), original}); }
  void Append(const ExprText& other);
};

// Aggregates and grouping keys of a GROUP BY query. Expressions above the
// aggregation read its output: a key expression becomes the key's column,
// an aggregate call the aggregate's column.
struct AggregateState {
  struct Key {
    std::string text;  // the key expression over the input
    std::string name;  // its output column
  };
  struct Call {
    ExprText text;     // "count(*)", "sum(x)"
    std::string name;  // its output column
  };
  std::vector<Key> keys;
  std::vector<Call> calls;
  bool windowed = false;  // window_start and window_end are columns
  int hidden = 0;         // counter for generated aggregate names
};

// How column references resolve for one expression.
struct ExprScope {
  // Names that may qualify a column (the FROM item's name and alias).
  std::set<std::string> qualifiers;
  // A lookup join's table: its names, and the table columns referenced.
  std::set<std::string> table_qualifiers;
  std::vector<std::string>* table_columns = nullptr;
  // Set above a GROUP BY.
  AggregateState* aggregate = nullptr;
  bool in_aggregate = false;
  // Maps a rewritten-text offset to the combined original offset.
  std::function<int(int)> original;
  const SourceText* source = nullptr;
};

// Translates `node` onto `out`.
Status TranslateExpr(PgNode node, const ExprScope& scope, ExprText* out);

// Adds the aggregate `call` (over the input of scope.aggregate) to the
// aggregation and returns its column: `alias`, or the column of the same
// call added before, or a generated name.
Result<std::string> AddAggregateCall(PgNode call, std::optional<std::string> alias,
                                     const ExprScope& scope);

// An identifier as Eddy's language reads it: bare when it is a plain
// lower-case name, else double-quoted.
std::string EddyIdentifier(std::string_view name);

// The name PostgreSQL gives an unnamed select item (a column keeps its
// name, a call takes the function's, a cast its operand's); nullopt when it
// would be "?column?".
std::optional<std::string> ImplicitName(PgNode node);

// The aggregate functions Eddy's windows and aggregates compute.
bool IsAggregateFunction(std::string_view name);

// The function's name (the last part of a qualified one), lower case.
std::string FunctionName(PgNode call);

// A duration as Eddy writes it ("10s", "1m30s") from INTERVAL '10' SECOND,
// INTERVAL '10 seconds' or a string '10s'.
Result<std::string> DurationText(PgNode node, const ExprScope& scope);

// Where a node is, as a combined original offset (the statement's start
// when the node has no location).
int NodeOffset(PgNode node, const ExprScope& scope, int fallback);

}  // namespace eddy::sql
