#include "runtime/sql/sql_expr.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace eddy::sql {
namespace {

// Eddy's reserved words (docs/expressions.md, "Lexical rules").
const std::set<std::string, std::less<>> kReserved = {
    "and",  "or",   "not",  "is",   "null", "true", "false",    "between",   "in",
    "case", "when", "then", "else", "end",  "as",   "interval", "timestamp", "cast"};

const std::set<std::string, std::less<>> kAggregates = {"count",
                                                        "sum",
                                                        "min",
                                                        "max",
                                                        "avg",
                                                        "stddev",
                                                        "variance",
                                                        "count_distinct",
                                                        "approx_count_distinct",
                                                        "first",
                                                        "last",
                                                        "approx_percentile"};

const std::set<std::string, std::less<>> kTableFunctions = {"tumble", "hop",     "session",
                                                            "learn",  "predict", "prequential"};

std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status Fail(PgNode node, const ExprScope& scope, std::string_view message) {
  return scope.source->Error(NodeOffset(node, scope, 0), message);
}

// PostgreSQL's internal type names -> Eddy's.
std::optional<std::string> EddyType(PgNode type_name) {
  const std::vector<PgNode> names = type_name["names"].items();
  if (names.empty()) return std::nullopt;
  const std::string name = Lower(names.back().AsString());
  static const std::map<std::string, std::string, std::less<>> kTypes = {
      {"bool", "bool"},     {"boolean", "bool"},        {"int2", "int64"},
      {"int4", "int64"},    {"int8", "int64"},          {"int64", "int64"},
      {"bigint", "int64"},  {"integer", "int64"},       {"float4", "double"},
      {"float8", "double"}, {"double", "double"},       {"numeric", "double"},
      {"text", "string"},   {"varchar", "string"},      {"bpchar", "string"},
      {"string", "string"}, {"timestamp", "timestamp"}, {"timestamptz", "timestamp"},
      {"bytea", "string"}};
  auto it = kTypes.find(name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::string TypeNameText(PgNode type_name) {
  const std::vector<PgNode> names = type_name["names"].items();
  return names.empty() ? std::string("?") : std::string(names.back().AsString());
}

// INTERVAL typmods name the unit of INTERVAL '10' SECOND.
Result<std::string> IntervalUnit(PgNode type_name, PgNode at, const ExprScope& scope) {
  const std::vector<PgNode> mods = type_name["typmods"].items();
  if (mods.empty()) return std::string();
  const int64_t mask = mods.front()["ival"].Int("ival");
  switch (mask) {
    case 1 << 12:
      return std::string("second");
    case 1 << 11:
      return std::string("minute");
    case 1 << 10:
      return std::string("hour");
    case 1 << 3:
      return std::string("day");
    case 1 << 1:
    case 1 << 2:
      return Fail(at, scope,
                  "month and year intervals are not supported (an interval is a fixed number of "
                  "microseconds: use days)");
    default:
      return Fail(at, scope,
                  "interval ranges such as MINUTE TO SECOND are not supported; write INTERVAL "
                  "'90 seconds'");
  }
}

// LIKE pattern -> an RE2 pattern matching the whole string.
std::string LikeToRegex(std::string_view pattern, bool ignore_case) {
  std::string out = ignore_case ? "(?is)^" : "(?s)^";
  for (size_t idx = 0; idx < pattern.size(); ++idx) {
    const char c = pattern[idx];
    if (c == '%') {
      out += ".*";
    } else if (c == '_') {
      out += '.';
    } else {
      char literal = c;
      if (c == '\\' && idx + 1 < pattern.size()) literal = pattern[++idx];
      if (std::string_view("\\.^$|?*+()[]{}").find(literal) != std::string_view::npos) {
        out += '\\';
      }
      out += literal;
    }
  }
  return out + "$";
}

class Translator {
 public:
  Translator(const ExprScope& scope, ExprText* out) : scope_(scope), out_(out) {}

  Status Expr(PgNode node) {
    if (scope_.aggregate != nullptr && !scope_.in_aggregate) return AboveAggregate(node);
    return Plain(node);
  }

 private:
  Status Sub(PgNode node) { return Expr(node); }

  void Emit(std::string_view text) { out_->text += text; }
  void Mark(PgNode node) { out_->Mark(NodeOffset(node, scope_, 0)); }

  // Above a GROUP BY: keys and aggregates are the aggregation's columns.
  Status AboveAggregate(PgNode node) {
    AggregateState& state = *scope_.aggregate;
    ExprScope input = scope_;
    input.aggregate = nullptr;
    ExprText plain;
    if (TranslateExpr(node, input, &plain).ok()) {
      for (const AggregateState::Key& key : state.keys) {
        if (key.text == plain.text) {
          Mark(node);
          Emit(EddyIdentifier(key.name));
          return Status::OK();
        }
      }
    }
    if (node.type() == "FuncCall" && IsAggregateFunction(FunctionName(node))) {
      std::string name;
      EDDY_ASSIGN_OR_RETURN(name, AddAggregate(node, std::nullopt));
      Mark(node);
      Emit(EddyIdentifier(name));
      return Status::OK();
    }
    if (node.type() == "ColumnRef") {
      const std::vector<PgNode> fields = node["fields"].items();
      const std::string column(fields.empty() ? std::string_view() : fields.back().AsString());
      if (state.windowed && (column == "window_start" || column == "window_end")) {
        Mark(node);
        Emit(column);
        return Status::OK();
      }
      return Fail(
          node, scope_,
          "column '" + column + "' must appear in GROUP BY or be used in an aggregate function");
    }
    return Plain(node);
  }

 public:
  // An aggregate call of the input, added to the aggregation; returns its
  // column name (`alias`, the function's name, or a generated one).
  Result<std::string> AddAggregate(PgNode call, std::optional<std::string> alias) {
    AggregateState& state = *scope_.aggregate;
    ExprScope inside = scope_;
    inside.aggregate = nullptr;
    inside.in_aggregate = true;
    ExprText text;
    EDDY_RETURN_IF_ERROR(Call(call, inside, &text));
    std::string name;
    if (alias) {
      name = *alias;
    } else {
      for (const AggregateState::Call& existing : state.calls) {
        if (existing.text.text == text.text) return existing.name;
      }
      name = "_agg" + std::to_string(state.hidden++);
    }
    state.calls.push_back({std::move(text), name});
    return name;
  }

 private:
  static Status Call(PgNode call, const ExprScope& scope, ExprText* out) {
    Translator translator(scope, out);
    return translator.FuncCall(call);
  }

  Status Plain(PgNode node) {
    const std::string_view type = node.type();
    if (type == "ColumnRef") return ColumnRef(node);
    if (type == "A_Const") return Const(node);
    if (type == "A_Expr") return AExpr(node);
    if (type == "BoolExpr") return BoolExpr(node);
    if (type == "NullTest") {
      Emit("(");
      EDDY_RETURN_IF_ERROR(Sub(node["arg"]));
      Mark(node);
      Emit(node.Str("nulltesttype") == "IS_NULL" ? " IS NULL)" : " IS NOT NULL)");
      return Status::OK();
    }
    if (type == "BooleanTest") return BooleanTest(node);
    if (type == "FuncCall") return FuncCall(node);
    if (type == "CaseExpr") return Case(node);
    if (type == "CoalesceExpr") return Function(node, "coalesce", node["args"].items());
    if (type == "MinMaxExpr") {
      return Function(node, node.Str("op") == "IS_GREATEST" ? "greatest" : "least",
                      node["args"].items());
    }
    if (type == "TypeCast") return TypeCast(node);
    if (type == "SubLink") {
      return Fail(node, scope_,
                  "subqueries in expressions are not supported (join a table, or use a subquery "
                  "in FROM)");
    }
    if (type == "ParamRef") return Fail(node, scope_, "parameters ($1) are not supported");
    if (type == "SQLValueFunction") {
      return Fail(node, scope_,
                  "CURRENT_TIMESTAMP and other processing-time functions are not supported: "
                  "use event time (a timestamp column)");
    }
    if (type == "A_ArrayExpr" || type == "RowExpr") {
      return Fail(node, scope_, "array and row values are not supported here");
    }
    if (type == "CollateClause") return Fail(node, scope_, "COLLATE is not supported");
    if (type == "A_Indirection") {
      return Fail(node, scope_, "subscripts and field selection are not supported");
    }
    if (type == "GroupingFunc") return Fail(node, scope_, "GROUPING() is not supported");
    return Fail(node, scope_, "expression " + std::string(type) + " is not supported");
  }

  Status ColumnRef(PgNode node) {
    const std::vector<PgNode> fields = node["fields"].items();
    if (!fields.empty() && fields.back().type() == "A_Star") {
      return Fail(node, scope_, "* is only allowed as a select item");
    }
    std::string column;
    if (fields.size() == 1) {
      column = std::string(fields[0].AsString());
    } else if (fields.size() == 2) {
      const std::string qualifier(fields[0].AsString());
      column = std::string(fields[1].AsString());
      if (scope_.table_qualifiers.count(qualifier) > 0) {
        if (scope_.table_columns != nullptr &&
            std::find(scope_.table_columns->begin(), scope_.table_columns->end(), column) ==
                scope_.table_columns->end()) {
          scope_.table_columns->push_back(column);
        }
      } else if (scope_.qualifiers.count(qualifier) == 0) {
        std::string known;
        for (const std::string& name : scope_.qualifiers)
          known += (known.empty() ? "" : ", ") + name;
        for (const std::string& name : scope_.table_qualifiers) {
          known += (known.empty() ? "" : ", ") + name;
        }
        return Fail(node, scope_,
                    "unknown relation '" + qualifier + "' in " + qualifier + "." + column +
                        (known.empty() ? std::string() : " (the query reads " + known + ")"));
      }
    } else {
      return Fail(node, scope_, "a column is 'column' or 'relation.column'");
    }
    Mark(node);
    Emit(EddyIdentifier(column));
    return Status::OK();
  }

  Status Const(PgNode node) {
    Mark(node);
    if (node.Bool("isnull")) {
      Emit("NULL");
    } else if (node["ival"].valid()) {
      Emit(std::to_string(node["ival"].Int("ival")));
    } else if (node["fval"].valid()) {
      Emit(node["fval"].Str("fval"));
    } else if (node["sval"].valid()) {
      Emit(Quote(node["sval"].Str("sval")));
    } else if (node["boolval"].valid()) {
      Emit(node["boolval"].Bool("boolval") ? "true" : "false");
    } else if (node["bsval"].valid()) {
      return Fail(node, scope_, "bit-string literals are not supported");
    } else {
      Emit("NULL");
    }
    return Status::OK();
  }

  Status Binary(PgNode node, std::string_view op) {
    Emit("(");
    EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
    Emit(" ");
    Mark(node);
    Emit(op);
    Emit(" ");
    EDDY_RETURN_IF_ERROR(Sub(node["rexpr"]));
    Emit(")");
    return Status::OK();
  }

  Status AExpr(PgNode node) {
    const std::string_view kind = node.Str("kind");
    const std::vector<PgNode> names = node["name"].items();
    const std::string op(names.empty() ? std::string_view() : names.back().AsString());
    if (kind == "AEXPR_OP") {
      if (!node["lexpr"].valid()) {
        if (op != "-" && op != "+")
          return Fail(node, scope_, "prefix operator " + op + " is not supported");
        Emit("(");
        Mark(node);
        Emit(op);
        EDDY_RETURN_IF_ERROR(Sub(node["rexpr"]));
        Emit(")");
        return Status::OK();
      }
      static const std::set<std::string, std::less<>> kOps = {
          "=", "<>", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "||"};
      if (kOps.count(op) > 0) return Binary(node, op);
      if (op == "~" || op == "!~") {
        if (op == "!~") Emit("(NOT ");
        Mark(node);
        Emit("regexp_match(");
        EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
        Emit(", ");
        EDDY_RETURN_IF_ERROR(Sub(node["rexpr"]));
        Emit(op == "!~" ? "))" : ")");
        return Status::OK();
      }
      return Fail(node, scope_, "operator " + op + " is not supported");
    }
    if (kind == "AEXPR_IN") {
      Emit("(");
      EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
      Mark(node);
      Emit(op == "=" ? " IN (" : " NOT IN (");
      bool first = true;
      for (PgNode item : node["rexpr"].items()) {
        if (!first) Emit(", ");
        first = false;
        EDDY_RETURN_IF_ERROR(Sub(item));
      }
      Emit("))");
      return Status::OK();
    }
    if (kind == "AEXPR_BETWEEN" || kind == "AEXPR_NOT_BETWEEN") {
      const std::vector<PgNode> bounds = node["rexpr"].items();
      if (bounds.size() != 2) return Fail(node, scope_, "BETWEEN needs two bounds");
      Emit("(");
      EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
      Mark(node);
      Emit(kind == "AEXPR_BETWEEN" ? " BETWEEN " : " NOT BETWEEN ");
      EDDY_RETURN_IF_ERROR(Sub(bounds[0]));
      Emit(" AND ");
      EDDY_RETURN_IF_ERROR(Sub(bounds[1]));
      Emit(")");
      return Status::OK();
    }
    if (kind == "AEXPR_NULLIF") {
      Mark(node);
      Emit("nullif(");
      EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
      Emit(", ");
      EDDY_RETURN_IF_ERROR(Sub(node["rexpr"]));
      Emit(")");
      return Status::OK();
    }
    if (kind == "AEXPR_LIKE" || kind == "AEXPR_ILIKE") {
      PgNode pattern = node["rexpr"];
      if (pattern.type() != "A_Const" || !pattern["sval"].valid()) {
        return Fail(node, scope_, "the pattern of LIKE must be a string literal");
      }
      const bool negated = op.starts_with("!");
      if (negated) Emit("(NOT ");
      Mark(node);
      Emit("regexp_match(");
      EDDY_RETURN_IF_ERROR(Sub(node["lexpr"]));
      Emit(", ");
      out_->Mark(NodeOffset(pattern, scope_, 0));
      Emit(Quote(LikeToRegex(pattern["sval"].Str("sval"), kind == "AEXPR_ILIKE")));
      Emit(negated ? "))" : ")");
      return Status::OK();
    }
    if (kind == "AEXPR_DISTINCT" || kind == "AEXPR_NOT_DISTINCT") {
      return Fail(node, scope_, "IS [NOT] DISTINCT FROM is not supported");
    }
    if (kind == "AEXPR_SIMILAR") {
      return Fail(node, scope_, "SIMILAR TO is not supported (use ~ with a regular expression)");
    }
    if (kind == "AEXPR_OP_ANY" || kind == "AEXPR_OP_ALL") {
      return Fail(node, scope_, "ANY and ALL are not supported (use IN)");
    }
    return Fail(node, scope_, "operator " + op + " is not supported");
  }

  Status BoolExpr(PgNode node) {
    const std::string_view op = node.Str("boolop");
    const std::vector<PgNode> args = node["args"].items();
    Emit("(");
    if (op == "NOT_EXPR") {
      Mark(node);
      Emit("NOT ");
      EDDY_RETURN_IF_ERROR(Sub(args.at(0)));
    } else {
      for (size_t idx = 0; idx < args.size(); ++idx) {
        if (idx > 0) {
          Mark(node);
          Emit(op == "AND_EXPR" ? " AND " : " OR ");
        }
        EDDY_RETURN_IF_ERROR(Sub(args[idx]));
      }
    }
    Emit(")");
    return Status::OK();
  }

  Status BooleanTest(PgNode node) {
    const std::string_view test = node.Str("booltesttype");
    // As PostgreSQL defines them, in the operators Eddy has.
    const std::map<std::string_view, std::pair<std::string_view, std::string_view>> kForms = {
        {"IS_TRUE", {"coalesce(", ", false)"}},
        {"IS_NOT_TRUE", {"(NOT coalesce(", ", false))"}},
        {"IS_FALSE", {"coalesce(NOT ", ", false)"}},
        {"IS_NOT_FALSE", {"coalesce(", ", true)"}},
        {"IS_UNKNOWN", {"(", " IS NULL)"}},
        {"IS_NOT_UNKNOWN", {"(", " IS NOT NULL)"}}};
    auto it = kForms.find(test);
    if (it == kForms.end()) return Fail(node, scope_, "this IS test is not supported");
    Mark(node);
    Emit(it->second.first);
    EDDY_RETURN_IF_ERROR(Sub(node["arg"]));
    Emit(it->second.second);
    return Status::OK();
  }

  Status Function(PgNode node, std::string_view name, const std::vector<PgNode>& args) {
    Mark(node);
    Emit(name);
    Emit("(");
    for (size_t idx = 0; idx < args.size(); ++idx) {
      if (idx > 0) Emit(", ");
      EDDY_RETURN_IF_ERROR(Sub(args[idx]));
    }
    Emit(")");
    return Status::OK();
  }

 public:
  Status FuncCall(PgNode node) {
    std::string name = FunctionName(node);
    if (node["over"].valid()) {
      return Fail(node, scope_,
                  "window functions OVER (...) are not supported: aggregate over TUMBLE, HOP or "
                  "SESSION windows with GROUP BY window_start, window_end");
    }
    if (node["agg_filter"].valid()) {
      return Fail(node, scope_, "FILTER (WHERE ...) on aggregates is not supported");
    }
    if (node["agg_order"].valid() || node.Bool("agg_within_group")) {
      return Fail(node, scope_, "ordered aggregates (ORDER BY / WITHIN GROUP) are not supported");
    }
    if (node.Bool("func_variadic")) return Fail(node, scope_, "VARIADIC is not supported");
    if (kTableFunctions.count(name) > 0) {
      std::string upper = name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return Fail(node, scope_, upper + " is a table function: use it in FROM");
    }
    std::vector<PgNode> args = node["args"].items();
    for (PgNode arg : args) {
      if (arg.type() == "NamedArgExpr") {
        return Fail(arg, scope_, "named arguments are only taken by table functions");
      }
    }
    const bool aggregate = IsAggregateFunction(name);
    if (aggregate && !scope_.in_aggregate) {
      return Fail(node, scope_,
                  "aggregate function " + name +
                      " needs GROUP BY (a key, or window_start, window_end of a TUMBLE, HOP or "
                      "SESSION window)");
    }
    if (aggregate && scope_.in_aggregate && scope_.aggregate == nullptr && nested_) {
      return Fail(node, scope_, "aggregate function calls cannot be nested");
    }
    // SQL-standard forms PostgreSQL turns into its own functions.
    if (name == "btrim") name = "trim";
    if (name == "extract" || name == "date_part") {
      if (args.size() != 2 || args[0].type() != "A_Const" || !args[0]["sval"].valid()) {
        return Fail(node, scope_, "EXTRACT(field FROM timestamp) takes a field name");
      }
      const std::string field = Lower(args[0]["sval"].Str("sval"));
      static const std::set<std::string, std::less<>> kFields = {"year", "month",  "day",
                                                                 "hour", "minute", "second"};
      if (kFields.count(field) == 0) {
        return Fail(
            args[0], scope_,
            "EXTRACT of '" + field + "' is not supported (year, month, day, hour, minute, second)");
      }
      return Function(node, field, {args[1]});
    }
    if (name == "count" && node.Bool("agg_star")) {
      Mark(node);
      Emit("count(*)");
      return Status::OK();
    }
    if (node.Bool("agg_distinct")) {
      if (name != "count")
        return Fail(node, scope_, "DISTINCT is only supported in count(DISTINCT x)");
      name = "count_distinct";
    }
    const bool outer = nested_;
    if (aggregate) nested_ = true;
    Status status = Function(node, name, args);
    nested_ = outer;
    return status;
  }

 private:
  Status Case(PgNode node) {
    Mark(node);
    Emit("CASE");
    if (node["arg"].valid()) {
      Emit(" ");
      EDDY_RETURN_IF_ERROR(Sub(node["arg"]));
    }
    for (PgNode when : node["args"].items()) {
      Emit(" WHEN ");
      EDDY_RETURN_IF_ERROR(Sub(when["expr"]));
      Emit(" THEN ");
      EDDY_RETURN_IF_ERROR(Sub(when["result"]));
    }
    if (node["defresult"].valid()) {
      Emit(" ELSE ");
      EDDY_RETURN_IF_ERROR(Sub(node["defresult"]));
    }
    Emit(" END");
    return Status::OK();
  }

  Status TypeCast(PgNode node) {
    PgNode type_name = node["typeName"];
    PgNode arg = node["arg"];
    const std::string type = Lower(TypeNameText(type_name));
    const bool literal = arg.type() == "A_Const" && arg["sval"].valid();
    if (type == "interval") {
      if (!literal)
        return Fail(node, scope_, "only literal intervals are supported: INTERVAL '5 seconds'");
      std::string unit;
      EDDY_ASSIGN_OR_RETURN(unit, IntervalUnit(type_name, node, scope_));
      Mark(node);
      std::string text(arg["sval"].Str("sval"));
      if (!unit.empty()) text += " " + unit;
      Emit("INTERVAL " + Quote(text));
      return Status::OK();
    }
    if (literal && (type == "timestamp" || type == "timestamptz")) {
      Mark(node);
      Emit("TIMESTAMP " + Quote(arg["sval"].Str("sval")));
      return Status::OK();
    }
    const std::optional<std::string> eddy_type = EddyType(type_name);
    if (!eddy_type) {
      return Fail(node, scope_,
                  "type " + TypeNameText(type_name) +
                      " is not supported (boolean, bigint, double precision, text, timestamp)");
    }
    Mark(node);
    Emit("CAST(");
    EDDY_RETURN_IF_ERROR(Sub(arg));
    Emit(" AS " + *eddy_type + ")");
    return Status::OK();
  }

  const ExprScope& scope_;
  ExprText* out_;
  bool nested_ = false;
};

}  // namespace

void ExprText::Append(const ExprText& other) {
  for (const Anchor& anchor : other.anchors) {
    anchors.push_back({anchor.generated + static_cast<int>(text.size()), anchor.original});
  }
  text += other.text;
}

int NodeOffset(PgNode node, const ExprScope& scope, int fallback) {
  int location = node.location();
  // A TypeCast written INTERVAL '1' SECOND has its position on its type.
  if (location < 0) location = node["typeName"].location();
  if (location < 0) location = node["arg"].location();
  if (location < 0) return fallback;
  return scope.original ? scope.original(location) : location;
}

Status TranslateExpr(PgNode node, const ExprScope& scope, ExprText* out) {
  Translator translator(scope, out);
  return translator.Expr(node);
}

Result<std::string> AddAggregateCall(PgNode call, std::optional<std::string> alias,
                                     const ExprScope& scope) {
  ExprText unused;
  Translator translator(scope, &unused);
  return translator.AddAggregate(call, std::move(alias));
}

std::string EddyIdentifier(std::string_view name) {
  bool plain =
      !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      plain = false;
    }
  }
  if (plain && kReserved.count(name) == 0) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

std::optional<std::string> ImplicitName(PgNode node) {
  const std::string_view type = node.type();
  if (type == "ColumnRef") {
    const std::vector<PgNode> fields = node["fields"].items();
    if (fields.empty() || fields.back().type() == "A_Star") return std::nullopt;
    return std::string(fields.back().AsString());
  }
  if (type == "FuncCall") {
    const std::string name = FunctionName(node);
    return name;
  }
  if (type == "TypeCast") return ImplicitName(node["arg"]);
  if (type == "CaseExpr") return std::string("case");
  if (type == "CoalesceExpr") return std::string("coalesce");
  if (type == "MinMaxExpr") {
    return std::string(node.Str("op") == "IS_GREATEST" ? "greatest" : "least");
  }
  if (type == "A_Expr" && node.Str("kind") == "AEXPR_NULLIF") return std::string("nullif");
  return std::nullopt;
}

bool IsAggregateFunction(std::string_view name) { return kAggregates.count(name) > 0; }

std::string FunctionName(PgNode call) {
  const std::vector<PgNode> names = call["funcname"].items();
  return names.empty() ? std::string() : Lower(names.back().AsString());
}

Result<std::string> DurationText(PgNode node, const ExprScope& scope) {
  if (node.type() == "A_Const" && node["sval"].valid())
    return std::string(node["sval"].Str("sval"));
  if (node.type() != "TypeCast" || Lower(TypeNameText(node["typeName"])) != "interval" ||
      node["arg"].type() != "A_Const" || !node["arg"]["sval"].valid()) {
    return Fail(node, scope, "expected a duration: INTERVAL '10' SECOND or INTERVAL '10 seconds'");
  }
  std::string unit;
  EDDY_ASSIGN_OR_RETURN(unit, IntervalUnit(node["typeName"], node, scope));
  std::string text(node["arg"]["sval"].Str("sval"));
  if (!unit.empty()) text += " " + unit;
  // "1 hour 30 minutes" -> "1h30m": pairs of a count and a unit.
  static const std::map<std::string, std::string, std::less<>> kUnits = {{"microsecond", "us"},
                                                                         {"microseconds", "us"},
                                                                         {"us", "us"},
                                                                         {"millisecond", "ms"},
                                                                         {"milliseconds", "ms"},
                                                                         {"ms", "ms"},
                                                                         {"second", "s"},
                                                                         {"seconds", "s"},
                                                                         {"sec", "s"},
                                                                         {"secs", "s"},
                                                                         {"s", "s"},
                                                                         {"minute", "m"},
                                                                         {"minutes", "m"},
                                                                         {"min", "m"},
                                                                         {"mins", "m"},
                                                                         {"m", "m"},
                                                                         {"hour", "h"},
                                                                         {"hours", "h"},
                                                                         {"h", "h"},
                                                                         {"day", "d"},
                                                                         {"days", "d"},
                                                                         {"d", "d"}};
  std::string out;
  size_t pos = 0;
  auto skip_spaces = [&] {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  };
  skip_spaces();
  while (pos < text.size()) {
    const size_t number_start = pos;
    while (pos < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) {
      ++pos;
    }
    const std::string number = text.substr(number_start, pos - number_start);
    skip_spaces();
    const size_t unit_start = pos;
    while (pos < text.size() && std::isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    auto it = kUnits.find(Lower(text.substr(unit_start, pos - unit_start)));
    if (number.empty() || it == kUnits.end()) {
      return Fail(node, scope,
                  "cannot read the interval '" + text +
                      "' as a duration (expected counts and units, e.g. '1 minute 30 seconds')");
    }
    out += number + it->second;
    skip_spaces();
  }
  if (out.empty()) return Fail(node, scope, "empty interval");
  return out;
}

}  // namespace eddy::sql
