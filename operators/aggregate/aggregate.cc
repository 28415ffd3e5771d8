// CompileAggregate: parses "function(argument[, parameter]) [AS name]",
// compiles the argument with the expression language and type-checks it for
// the function. The call's shape is scanned here (the expression grammar has
// no aggregate calls); everything inside the parentheses but a trailing
// numeric parameter is handed to CompileExpression.

#include "operators/aggregate/aggregate.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "operators/aggregate/accumulators_internal.h"
#include "runtime/core/value_text.h"

namespace eddy {

namespace {

struct FunctionInfo {
  std::string_view name;  // canonical, as in canonical text
  AggregateKind kind;
};

constexpr FunctionInfo kFunctions[] = {
    {"count", AggregateKind::kCount},
    {"sum", AggregateKind::kSum},
    {"min", AggregateKind::kMin},
    {"max", AggregateKind::kMax},
    {"avg", AggregateKind::kAvg},
    {"stddev", AggregateKind::kStddev},
    {"variance", AggregateKind::kVariance},
    {"count_distinct", AggregateKind::kCountDistinct},
    {"approx_count_distinct", AggregateKind::kApproxCountDistinct},
    {"first", AggregateKind::kFirst},
    {"last", AggregateKind::kLast},
    {"approx_percentile", AggregateKind::kApproxPercentile},
};

// Spark/SQL spellings accepted for the same functions.
constexpr std::pair<std::string_view, AggregateKind> kAliases[] = {
    {"mean", AggregateKind::kAvg},
    {"stddev_samp", AggregateKind::kStddev},
    {"var_samp", AggregateKind::kVariance},
    {"percentile_approx", AggregateKind::kApproxPercentile},
};

std::string_view CanonicalName(AggregateKind kind) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.kind == kind) return f.name;
  }
  return "?";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Whether `needle`'s characters appear in order in `haystack`
// ("approx_distinct" in "approx_count_distinct").
bool IsSubsequence(std::string_view needle, std::string_view haystack) {
  size_t at = 0;
  for (char c : haystack) {
    if (at < needle.size() && needle[at] == c) ++at;
  }
  return at == needle.size();
}

std::string UnknownFunction(std::string_view name) {
  const std::string lower = Lower(name);
  std::string msg = "unknown aggregate '" + std::string(name) + "'";
  if (lower == "median") return msg + " (did you mean approx_percentile(x, 0.5)?)";
  // A close spelling first; else the shortest name that contains the
  // letters typed, in order (a partial name).
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (const FunctionInfo& f : kFunctions) {
    const size_t d = EditDistance(lower, f.name);
    if (d < best_distance) {
      best_distance = d;
      best = f.name;
    }
  }
  if (best_distance > std::max<size_t>(2, lower.size() / 4)) {
    best = {};
    if (lower.size() >= 3) {
      for (const FunctionInfo& f : kFunctions) {
        if (IsSubsequence(lower, f.name) && (best.empty() || f.name.size() < best.size())) {
          best = f.name;
        }
      }
    }
  }
  if (!best.empty()) return msg + " (did you mean " + std::string(best) + "?)";
  msg += " (aggregates:";
  for (const FunctionInfo& f : kFunctions)
    msg += (f.name == "count" ? " " : ", ") + std::string(f.name);
  return msg + ")";
}

// The call split into its parts, still as text.
struct ParsedCall {
  std::string_view function;
  std::vector<std::string_view> arguments;  // trimmed, split at top-level commas
  std::string_view call_text;               // "function(...)" as written
  std::optional<std::string> alias;
};

// Scans the call: the function name, the parenthesized argument list (with
// nested parentheses, 'strings' and "quoted identifiers" skipped over) and
// an optional "AS name".
Result<ParsedCall> ParseCall(std::string_view text) {
  const std::string_view whole = Trim(text);
  if (whole.empty()) {
    return Status::InvalidArgument("empty aggregate; expected function(argument) [AS name]");
  }
  ParsedCall call;
  size_t pos = 0;
  while (pos < whole.size() && IsIdentChar(whole[pos])) ++pos;
  if (pos == 0 || !IsIdentStart(whole[0])) {
    return Status::InvalidArgument("aggregate '" + std::string(whole) +
                                   "' must be a call like sum(price)");
  }
  call.function = whole.substr(0, pos);
  while (pos < whole.size() && IsSpace(whole[pos])) ++pos;
  if (pos >= whole.size() || whole[pos] != '(') {
    return Status::InvalidArgument("aggregate '" + std::string(whole) +
                                   "' must be a call like sum(price)");
  }
  ++pos;
  size_t depth = 1;
  size_t arg_start = pos;
  for (; pos < whole.size() && depth > 0; ++pos) {
    const char c = whole[pos];
    if (c == '\'' || c == '"') {
      // Quotes double to escape themselves ('it''s', "a""b").
      size_t end = pos + 1;
      while (true) {
        end = whole.find(c, end);
        if (end == std::string_view::npos) {
          return Status::InvalidArgument("unterminated " +
                                         std::string(c == '\'' ? "string" : "quoted name") +
                                         " in aggregate '" + std::string(whole) + "'");
        }
        if (end + 1 < whole.size() && whole[end + 1] == c) {
          end += 2;
          continue;
        }
        break;
      }
      pos = end;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0) call.arguments.push_back(Trim(whole.substr(arg_start, pos - arg_start)));
    } else if (c == ',' && depth == 1) {
      call.arguments.push_back(Trim(whole.substr(arg_start, pos - arg_start)));
      arg_start = pos + 1;
    }
  }
  if (depth > 0) {
    return Status::InvalidArgument("missing ')' in aggregate '" + std::string(whole) + "'");
  }
  call.call_text = whole.substr(0, pos);
  // "f()" has no arguments, not one empty one.
  if (call.arguments.size() == 1 && call.arguments[0].empty()) call.arguments.clear();

  std::string_view rest = Trim(whole.substr(pos));
  if (rest.empty()) return call;
  if (rest.size() < 2 || Lower(rest.substr(0, 2)) != "as" ||
      (rest.size() > 2 && !IsSpace(rest[2]) && rest[2] != '"')) {
    return Status::InvalidArgument("unexpected '" + std::string(rest) + "' after " +
                                   std::string(call.call_text) + "; expected AS name");
  }
  std::string_view name = Trim(rest.substr(2));
  if (name.empty()) {
    return Status::InvalidArgument("missing name after AS in '" + std::string(whole) + "'");
  }
  if (name.front() == '"') {
    // "quoted name", with "" standing for one quote.
    std::string unquoted;
    size_t i = 1;
    bool closed = false;
    for (; i < name.size(); ++i) {
      if (name[i] == '"') {
        if (i + 1 < name.size() && name[i + 1] == '"') {
          unquoted.push_back('"');
          ++i;
          continue;
        }
        closed = true;
        break;
      }
      unquoted.push_back(name[i]);
    }
    if (!closed || i + 1 != name.size() || unquoted.empty()) {
      return Status::InvalidArgument("bad quoted name after AS in '" + std::string(whole) + "'");
    }
    call.alias = std::move(unquoted);
    return call;
  }
  if (!IsIdentStart(name.front()) || !std::all_of(name.begin(), name.end(), IsIdentChar)) {
    return Status::InvalidArgument("bad name '" + std::string(name) + "' after AS in '" +
                                   std::string(whole) +
                                   "' (use letters, digits and _, or \"quote it\")");
  }
  call.alias = std::string(name);
  return call;
}

// Drops one pair of parentheses enclosing the whole expression text, so the
// canonical text reads sum(price * 2) rather than sum((price * 2)).
std::string_view StripOuterParens(std::string_view s) {
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return s;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      // Skip the literal; doubled quotes re-enter this branch harmlessly.
      const size_t end = s.find(c, i + 1);
      if (end == std::string_view::npos) return s;
      i = end;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0 && i + 1 != s.size()) return s;  // "(a) + (b)"
    }
  }
  return s.substr(1, s.size() - 2);
}

bool IsNumeric(TypeId type) { return type == TypeId::kInt64 || type == TypeId::kDouble; }

}  // namespace

Result<AggregateCall> CompileAggregate(std::string_view text, const Schema& input) {
  EDDY_ASSIGN_OR_RETURN(ParsedCall parsed, ParseCall(text));

  const std::string lower = Lower(parsed.function);
  std::optional<AggregateKind> kind;
  for (const FunctionInfo& f : kFunctions) {
    if (lower == f.name) kind = f.kind;
  }
  for (const auto& [alias, alias_kind] : kAliases) {
    if (lower == alias) kind = alias_kind;
  }
  if (!kind) return Status::InvalidArgument(UnknownFunction(parsed.function));
  const std::string fn(CanonicalName(*kind));

  AggregateCall call;
  call.kind = *kind;
  call.name = parsed.alias ? *parsed.alias : std::string(parsed.call_text);

  const size_t expected_args = *kind == AggregateKind::kApproxPercentile ? 2 : 1;
  if (parsed.arguments.empty()) {
    if (*kind == AggregateKind::kCount) {
      return Status::InvalidArgument(
          "count needs an argument: count(*) counts rows, count(x) "
          "non-NULL values of x");
    }
    return Status::InvalidArgument(fn + " needs an argument, e.g. " + fn +
                                   (expected_args == 2 ? "(latency, 0.99)" : "(price)"));
  }
  if (*kind == AggregateKind::kApproxPercentile && parsed.arguments.size() == 1) {
    return Status::InvalidArgument(
        "approx_percentile needs a percentile in [0, 1] after the value, e.g. "
        "approx_percentile(latency, 0.99)");
  }
  if (parsed.arguments.size() != expected_args) {
    return Status::InvalidArgument(
        fn + " takes " + (expected_args == 1 ? "one argument" : "two arguments") + ", got " +
        std::to_string(parsed.arguments.size()) + " in '" + std::string(parsed.call_text) + "'");
  }
  for (std::string_view arg : parsed.arguments) {
    if (arg.empty()) {
      return Status::InvalidArgument("empty argument in '" + std::string(parsed.call_text) + "'");
    }
  }

  const std::string_view argument = parsed.arguments[0];
  if (argument == "*") {
    if (*kind != AggregateKind::kCount) {
      return Status::InvalidArgument("only count accepts *; " + fn +
                                     " needs a column or expression, e.g. " + fn + "(price)");
    }
    call.result_type = TypeId::kInt64;
    call.result_nullable = false;
    call.canonical = "count(*)";
    return call;
  }

  auto compiled = CompileExpression(argument, input);
  if (!compiled.ok()) {
    return compiled.status().WithContext("in aggregate '" + std::string(parsed.call_text) + "'");
  }
  call.argument = std::move(compiled).value();
  const TypeId arg_type = call.argument->type();
  std::string canonical_arg(StripOuterParens(call.argument->ToString()));

  const auto need_numeric = [&]() -> Status {
    if (IsNumeric(arg_type)) return Status::OK();
    return Status::InvalidArgument(fn + " needs a numeric argument, got " +
                                   std::string(TypeName(arg_type)) + ": " + std::string(argument));
  };
  switch (*kind) {
    case AggregateKind::kCount:
    case AggregateKind::kCountDistinct:
    case AggregateKind::kApproxCountDistinct:
      call.result_type = TypeId::kInt64;
      call.result_nullable = false;
      break;
    case AggregateKind::kSum:
      EDDY_RETURN_IF_ERROR(need_numeric());
      call.result_type = arg_type;
      break;
    case AggregateKind::kAvg:
    case AggregateKind::kStddev:
    case AggregateKind::kVariance:
      EDDY_RETURN_IF_ERROR(need_numeric());
      call.result_type = TypeId::kDouble;
      break;
    case AggregateKind::kMin:
    case AggregateKind::kMax:
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      call.result_type = arg_type;
      break;
    case AggregateKind::kApproxPercentile: {
      EDDY_RETURN_IF_ERROR(need_numeric());
      const std::string_view q_text = parsed.arguments[1];
      double q = -1;
      const auto [end, ec] = std::from_chars(q_text.data(), q_text.data() + q_text.size(), q);
      if (ec != std::errc() || end != q_text.data() + q_text.size() || !(q >= 0 && q <= 1)) {
        return Status::InvalidArgument(
            "approx_percentile's percentile must be a number literal in [0, 1], got '" +
            std::string(q_text) + "'");
      }
      call.parameter = q;
      call.result_type = TypeId::kDouble;
      char buf[kValueTextBuffer];
      canonical_arg += ", ";
      canonical_arg += FormatDoubleTo(q, buf);
      break;
    }
  }
  call.canonical = fn + "(" + canonical_arg + ")";
  return call;
}

std::unique_ptr<Accumulators> MakeAccumulators(const AggregateCall& call) {
  const TypeId type = call.argument ? call.argument->type() : TypeId::kInt64;
  switch (call.kind) {
    case AggregateKind::kCount:
      return agg::MakeCountAccumulators(call.argument == nullptr);
    case AggregateKind::kSum:
      return agg::MakeSumAccumulators(type);
    case AggregateKind::kMin:
    case AggregateKind::kMax:
      return agg::MakeMinMaxAccumulators(call.kind, type);
    case AggregateKind::kAvg:
      return agg::MakeAvgAccumulators(type);
    case AggregateKind::kStddev:
    case AggregateKind::kVariance:
      return agg::MakeMomentAccumulators(call.kind, type);
    case AggregateKind::kCountDistinct:
      return agg::MakeCountDistinctAccumulators(type);
    case AggregateKind::kApproxCountDistinct:
      return agg::MakeHllAccumulators(type);
    case AggregateKind::kFirst:
    case AggregateKind::kLast:
      return agg::MakeFirstLastAccumulators(call.kind, type);
    case AggregateKind::kApproxPercentile:
      return agg::MakePercentileAccumulators(type, call.parameter);
  }
  return nullptr;
}

}  // namespace eddy
