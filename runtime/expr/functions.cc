// The built-in function table: per function, the argument checks done at
// compile time and the vectorized kernel run per batch. Names are matched
// case-insensitively (the parser lower-cases them). docs/expressions.md is
// the user reference; keep the two in step.

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>

#include "runtime/expr/binder.h"

namespace eddy::expr {

namespace {

using Args = std::span<const NodePtr>;

constexpr int64_t kMicrosPerMilli = 1000;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// One call being bound.
struct Call {
  std::string_view name;
  size_t pos;
  std::vector<BoundArg> args;
  bool* can_fail;

  std::string What(size_t idx) const {
    return std::string(name) + "() argument " + std::to_string(idx + 1);
  }
  bool AnyNullable() const {
    for (const BoundArg& arg : args) {
      if (arg.node->nullable()) return true;
    }
    return false;
  }
};

Status CoerceArg(Call& call, size_t idx, TypeId type) {
  EDDY_ASSIGN_OR_RETURN(call.args[idx].node, CoerceTo(std::move(call.args[idx].node), type,
                                                      call.args[idx].pos, call.What(idx)));
  return Status::OK();
}

// int64 or double (a bare NULL becomes int64); returns which.
Result<TypeId> NumericArg(Call& call, size_t idx) {
  NodePtr& node = call.args[idx].node;
  if (node->is_untyped_null()) node = MakeNullLiteral(TypeId::kInt64, false);
  if (node->type() != TypeId::kInt64 && node->type() != TypeId::kDouble) {
    return ErrorAt(call.args[idx].pos, call.What(idx) + " must be int64 or double, got " +
                                           std::string(TypeName(node->type())));
  }
  return node->type();
}

// Wraps the call in a node, folding it now when every argument is constant.
Result<NodePtr> Finish(Call& call, TypeId type, bool nullable, FunctionKernel kernel) {
  const bool constant = AllConstant(call.args);
  std::vector<NodePtr> nodes;
  nodes.reserve(call.args.size());
  for (BoundArg& arg : call.args) nodes.push_back(std::move(arg.node));
  NodePtr node = MakeCall(type, nullable, std::move(nodes), std::move(kernel));
  if (!constant) return node;
  return FoldConstant(std::move(node), call.pos);
}

// A constant string argument (pattern, unit), or an error.
Result<std::string> LiteralStringArg(const Call& call, size_t idx, std::string_view role) {
  const Node& node = *call.args[idx].node;
  const Column* value = node.constant_value();
  if (value == nullptr || node.type() != TypeId::kString || value->IsNull(0)) {
    return ErrorAt(call.args[idx].pos, std::string(call.name) + "() " + std::string(role) +
                                           " must be a string literal");
  }
  return std::string(value->GetString(0));
}

// ---------------------------------------------------------------------------
// Kernel shapes

// A string -> string function applied per row; `fn(in, scratch)` returns
// the result, which may point into `scratch` (reused across rows).
template <typename Fn>
FunctionKernel StringMapKernel(Fn fn) {
  return [fn](Args args, const EvalContext& ctx) {
    Datum input = args[0]->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    const Column& column = input.column();
    Column out(TypeId::kString);
    out.Reserve(shape.rows);
    // Most maps (upper, lower, trim) give about as many bytes as they get.
    out.ReserveChars(column.CharBytes());
    std::string scratch;
    for (size_t row = 0; row < shape.rows; ++row) {
      const size_t idx = input.Index(row);
      if (column.IsNull(idx)) {
        out.AppendNull();
      } else {
        out.AppendString(fn(column.GetString(idx), &scratch));
      }
    }
    return Datum::Owned(std::move(out), shape.constant);
  };
}

// (string, string) -> bool.
template <typename Pred>
FunctionKernel StringPredicateKernel(Pred pred) {
  return [pred](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const Shape shape = ShapeOf(ctx, values);
    return Datum::Owned(ZipFixed<std::string_view, std::string_view, uint8_t>(
                            values[0], values[1], TypeId::kBool, shape.rows,
                            [&pred](std::string_view a, std::string_view b) -> uint8_t {
                              return pred(a, b) ? 1 : 0;
                            }),
                        shape.constant);
  };
}

// A numeric function of one argument; `fn` maps In -> Out.
template <typename In, typename Out, typename Fn>
FunctionKernel UnaryKernel(TypeId type, Fn fn) {
  return [type, fn](Args args, const EvalContext& ctx) {
    Datum input = args[0]->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    return Datum::Owned(MapFixed<In, Out>(input, type, shape.rows, fn), shape.constant);
  };
}

// NaN results of sqrt, ln and pow (outside their domain) become NULL.
void NullWhereNaN(Column* out) {
  const std::span<double> values = out->mutable_doubles();
  for (size_t row = 0; row < values.size(); ++row) {
    if (std::isnan(values[row])) out->SetNull(row);
  }
}

template <typename Fn>
FunctionKernel DoubleDomainKernel(Fn fn) {
  return [fn](Args args, const EvalContext& ctx) {
    Datum input = args[0]->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    Column out = MapFixed<double, double>(input, TypeId::kDouble, shape.rows, fn);
    NullWhereNaN(&out);
    return Datum::Owned(std::move(out), shape.constant);
  };
}

// ---------------------------------------------------------------------------
// Conditionals and NULL handling

Result<NodePtr> BindCoalesce(Call& call) {
  auto common = CommonType(call.args, TypeId::kString);
  if (!common) {
    for (size_t idx = 1; idx < call.args.size(); ++idx) {
      if (!CommonType(std::span<const BoundArg>(call.args.data(), idx + 1), TypeId::kString)) {
        return ErrorAt(call.args[idx].pos, "coalesce() arguments mix types: " + call.What(idx) +
                                               " is " +
                                               std::string(TypeName(call.args[idx].node->type())));
      }
    }
    return ErrorAt(call.pos, "coalesce() arguments have incompatible types");
  }
  bool nullable = true;
  for (size_t idx = 0; idx < call.args.size(); ++idx) {
    EDDY_RETURN_IF_ERROR(CoerceArg(call, idx, *common));
    nullable = nullable && call.args[idx].node->nullable();
  }
  const TypeId type = *common;
  // Arguments are evaluated in order only while some row is still NULL; an
  // argument's errors count only on the rows that needed it.
  return Finish(call, type, nullable, [type](Args args, const EvalContext& ctx) {
    const size_t rows = ctx.num_rows;
    std::vector<uint8_t> pending(rows, 1);
    std::vector<int32_t> pick(rows, -1);
    size_t remaining = rows;
    std::vector<Datum> values;
    std::vector<RowError> local;
    for (size_t arg = 0; arg < args.size() && remaining > 0; ++arg) {
      Datum value = args[arg]->Eval(ctx.WithErrors(&local));
      KeepErrors(&local, pending, ctx.errors);
      for (size_t row = 0; row < rows; ++row) {
        if (pending[row] && !value.IsNull(row)) {
          pending[row] = 0;
          pick[row] = static_cast<int32_t>(arg);
          --remaining;
        }
      }
      if (arg == 0 && remaining == 0 && !value.is_constant()) return value;  // no NULLs at all
      values.push_back(std::move(value));
    }
    Column out(type);
    out.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
      if (pick[row] < 0) {
        out.AppendNull();
      } else {
        const Datum& value = values[pick[row]];
        out.AppendFrom(value.column(), value.Index(row));
      }
    }
    return Datum::Owned(std::move(out));
  });
}

Result<NodePtr> BindNullIf(Call& call) {
  auto common = CommonType(call.args, TypeId::kString);
  if (!common) {
    return ErrorAt(call.args[1].pos,
                   "nullif() cannot compare " + std::string(TypeName(call.args[0].node->type())) +
                       " with " + std::string(TypeName(call.args[1].node->type())));
  }
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, *common));
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, *common));
  return Finish(call, *common, true, [](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const Shape shape = ShapeOf(ctx, values);
    Datum equal = CompareDatums(BinaryOp::kEq, values[0], values[1], shape);
    Column out = std::move(values[0]).ToColumn(shape.rows);
    const Column& eq = equal.column();
    for (size_t row = 0; row < shape.rows; ++row) {
      if (!eq.IsNull(row) && eq.GetBool(row)) out.SetNull(row);
    }
    return Datum::Owned(std::move(out), shape.constant);
  });
}

Result<NodePtr> BindIf(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kBool));
  std::span<const BoundArg> branches(call.args.data() + 1, 2);
  auto common = CommonType(branches, TypeId::kString);
  if (!common) {
    return ErrorAt(call.args[2].pos,
                   "if() branches mix " + std::string(TypeName(call.args[1].node->type())) +
                       " and " + std::string(TypeName(call.args[2].node->type())));
  }
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, *common));
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 2, *common));
  const bool constant = AllConstant(call.args);
  const bool nullable = call.args[1].node->nullable() || call.args[2].node->nullable();
  std::vector<NodePtr> conditions, values;
  conditions.push_back(std::move(call.args[0].node));
  values.push_back(std::move(call.args[1].node));
  NodePtr node = MakeCase(std::move(conditions), std::move(values), std::move(call.args[2].node),
                          *common, nullable);
  if (!constant) return node;
  return FoldConstant(std::move(node), call.pos);
}

// ---------------------------------------------------------------------------
// Strings (byte-oriented: lengths and positions count bytes)

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

Result<NodePtr> BindStringMap(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kString));
  const bool nullable = call.AnyNullable();
  FunctionKernel kernel;
  if (call.name == "lower" || call.name == "upper") {
    const bool upper = call.name == "upper";
    kernel =
        StringMapKernel([upper](std::string_view in, std::string* scratch) -> std::string_view {
          scratch->assign(in);
          for (char& c : *scratch) {
            if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          }
          return *scratch;
        });
  } else {
    const bool left = call.name != "rtrim";
    const bool right = call.name != "ltrim";
    kernel = StringMapKernel([left, right](std::string_view in, std::string*) {
      while (left && !in.empty() && IsSpace(in.front())) in.remove_prefix(1);
      while (right && !in.empty() && IsSpace(in.back())) in.remove_suffix(1);
      return in;
    });
  }
  return Finish(call, TypeId::kString, nullable, std::move(kernel));
}

Result<NodePtr> BindLength(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kString));
  return Finish(call, TypeId::kInt64, call.AnyNullable(),
                UnaryKernel<std::string_view, int64_t>(TypeId::kInt64, [](std::string_view s) {
                  return static_cast<int64_t>(s.size());
                }));
}

Result<NodePtr> BindSubstring(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kString));
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, TypeId::kInt64));
  const bool has_length = call.args.size() == 3;
  if (has_length) {
    EDDY_RETURN_IF_ERROR(CoerceArg(call, 2, TypeId::kInt64));
    if (!AllConstant(call.args)) *call.can_fail = true;  // negative length
  }
  return Finish(call, TypeId::kString, call.AnyNullable() || has_length,
                [](Args args, const EvalContext& ctx) {
                  std::vector<Datum> values = EvalAll(args, ctx);
                  const Shape shape = ShapeOf(ctx, values);
                  const Column& text = values[0].column();
                  const Column& start = values[1].column();
                  const Column* length = values.size() == 3 ? &values[2].column() : nullptr;
                  Column out(TypeId::kString);
                  out.Reserve(shape.rows);
                  for (size_t row = 0; row < shape.rows; ++row) {
                    bool null = false;
                    for (const Datum& value : values) null = null || value.IsNull(row);
                    if (null) {
                      out.AppendNull();
                      continue;
                    }
                    const std::string_view s = text.GetString(values[0].Index(row));
                    // SQL: characters [start, start + length), 1-based, clipped to the
                    // string; a start before 1 eats into the length.
                    const int64_t begin = start.GetInt64(values[1].Index(row));
                    int64_t end = INT64_MAX;
                    if (length != nullptr) {
                      const int64_t count = length->GetInt64(values[2].Index(row));
                      if (count < 0) {
                        AddError(ctx, row, "negative substring length " + std::to_string(count));
                        out.AppendNull();
                        continue;
                      }
                      if (__builtin_add_overflow(begin, count, &end)) end = INT64_MAX;
                    }
                    const int64_t size = static_cast<int64_t>(s.size());
                    const int64_t from = std::max<int64_t>(begin, 1);
                    const int64_t to = std::min<int64_t>(end, size + 1);
                    out.AppendString(to > from ? s.substr(static_cast<size_t>(from - 1),
                                                          static_cast<size_t>(to - from))
                                               : std::string_view());
                  }
                  return Datum::Owned(std::move(out), shape.constant);
                });
}

// Renders every argument as text; concat skips NULLs (as PostgreSQL does).
Status ArgsToString(Call& call) {
  for (BoundArg& arg : call.args) {
    if (arg.node->is_untyped_null()) {
      arg.node = MakeNullLiteral(TypeId::kString, false);
    } else if (arg.node->type() != TypeId::kString) {
      const bool constant = arg.node->constant_value() != nullptr;
      const bool nullable = arg.node->nullable();
      arg.node = MakeCast(std::move(arg.node), TypeId::kString, false, nullable);
      if (constant) {
        EDDY_ASSIGN_OR_RETURN(arg.node, FoldConstant(std::move(arg.node), arg.pos));
      }
    }
  }
  return Status::OK();
}

Datum ConcatValues(Args args, const EvalContext& ctx, bool null_if_any_null) {
  std::vector<Datum> values = EvalAll(args, ctx);
  const Shape shape = ShapeOf(ctx, values);
  Column out(TypeId::kString);
  out.Reserve(shape.rows);
  std::string scratch;
  for (size_t row = 0; row < shape.rows; ++row) {
    scratch.clear();
    bool null = false;
    for (const Datum& value : values) {
      const size_t idx = value.Index(row);
      if (value.column().IsNull(idx)) {
        null = true;
        continue;
      }
      const std::string_view piece = value.column().GetString(idx);
      scratch.append(piece.data(), piece.size());
    }
    if (null && null_if_any_null) {
      out.AppendNull();
    } else {
      out.AppendString(scratch);
    }
  }
  return Datum::Owned(std::move(out), shape.constant);
}

Result<NodePtr> BindConcat(Call& call) {
  EDDY_RETURN_IF_ERROR(ArgsToString(call));
  return Finish(call, TypeId::kString, false, [](Args args, const EvalContext& ctx) {
    return ConcatValues(args, ctx, /*null_if_any_null=*/false);
  });
}

Result<NodePtr> BindStringPredicate(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kString));
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, TypeId::kString));
  const bool nullable = call.AnyNullable();
  FunctionKernel kernel;
  if (call.name == "contains") {
    kernel = StringPredicateKernel(
        [](std::string_view s, std::string_view t) { return s.find(t) != std::string_view::npos; });
  } else if (call.name == "starts_with") {
    kernel = StringPredicateKernel(
        [](std::string_view s, std::string_view t) { return s.starts_with(t); });
  } else {
    kernel = StringPredicateKernel(
        [](std::string_view s, std::string_view t) { return s.ends_with(t); });
  }
  return Finish(call, TypeId::kBool, nullable, std::move(kernel));
}

Result<NodePtr> BindRegexpMatch(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kString));
  EDDY_ASSIGN_OR_RETURN(std::string pattern, LiteralStringArg(call, 1, "pattern"));
  RE2::Options options;
  options.set_log_errors(false);
  // Compiled once here; RE2 matching is thread-safe on a const object.
  auto regex = std::make_shared<const RE2>(pattern, options);
  if (!regex->ok()) {
    return ErrorAt(call.args[1].pos,
                   "invalid regular expression '" + pattern + "': " + regex->error());
  }
  const bool nullable = call.args[0].node->nullable();
  call.args.pop_back();  // the pattern lives in the kernel
  return Finish(call, TypeId::kBool, nullable, [regex](Args args, const EvalContext& ctx) {
    Datum input = args[0]->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    return Datum::Owned(
        MapFixed<std::string_view, uint8_t>(
            input, TypeId::kBool, shape.rows,
            [&regex](std::string_view s) -> uint8_t {
              return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), *regex) ? 1 : 0;
            }),
        shape.constant);
  });
}

Result<NodePtr> BindReplace(Call& call) {
  for (size_t idx = 0; idx < 3; ++idx) EDDY_RETURN_IF_ERROR(CoerceArg(call, idx, TypeId::kString));
  return Finish(call, TypeId::kString, call.AnyNullable(), [](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const Shape shape = ShapeOf(ctx, values);
    Column out(TypeId::kString);
    out.Reserve(shape.rows);
    std::string scratch;
    for (size_t row = 0; row < shape.rows; ++row) {
      if (values[0].IsNull(row) || values[1].IsNull(row) || values[2].IsNull(row)) {
        out.AppendNull();
        continue;
      }
      const std::string_view s = values[0].column().GetString(values[0].Index(row));
      const std::string_view from = values[1].column().GetString(values[1].Index(row));
      const std::string_view to = values[2].column().GetString(values[2].Index(row));
      if (from.empty()) {
        out.AppendString(s);
        continue;
      }
      scratch.clear();
      size_t at = 0;
      for (size_t found; (found = s.find(from, at)) != std::string_view::npos;
           at = found + from.size()) {
        scratch.append(s.data() + at, found - at);
        scratch.append(to.data(), to.size());
      }
      scratch.append(s.data() + at, s.size() - at);
      out.AppendString(scratch);
    }
    return Datum::Owned(std::move(out), shape.constant);
  });
}

// ---------------------------------------------------------------------------
// Math

Result<NodePtr> BindAbs(Call& call) {
  EDDY_ASSIGN_OR_RETURN(TypeId type, NumericArg(call, 0));
  const bool nullable = call.AnyNullable();
  if (type == TypeId::kDouble) {
    return Finish(call, type, nullable,
                  UnaryKernel<double, double>(type, [](double v) { return std::fabs(v); }));
  }
  // abs(INT64_MIN) wraps to INT64_MIN, like the other integer overflows.
  return Finish(call, type, nullable, UnaryKernel<int64_t, int64_t>(type, [](int64_t v) {
                  return v < 0 ? static_cast<int64_t>(0 - static_cast<uint64_t>(v)) : v;
                }));
}

double RoundDouble(double value, int64_t digits) {
  if (digits > 15 || digits < -308) return digits > 15 ? value : 0.0;
  const double scale = std::pow(10.0, static_cast<double>(digits));
  const double rounded = std::round(value * scale) / scale;
  return std::isfinite(rounded) ? rounded : value;
}

// Rounds half away from zero to a multiple of 10^-digits (digits < 0).
int64_t RoundInt(int64_t value, int64_t digits) {
  if (digits >= 0) return value;
  if (digits < -18) return 0;
  int64_t unit = 1;
  for (int64_t i = 0; i < -digits; ++i) unit *= 10;
  int64_t quotient = value / unit;
  const int64_t remainder = value % unit;
  if (remainder >= 0 ? 2 * remainder >= unit : -2 * remainder >= unit)
    quotient += value < 0 ? -1 : 1;
  return static_cast<int64_t>(static_cast<uint64_t>(quotient) * static_cast<uint64_t>(unit));
}

Result<NodePtr> BindRound(Call& call) {
  EDDY_ASSIGN_OR_RETURN(TypeId type, NumericArg(call, 0));
  const bool nullable = call.AnyNullable();
  if (call.args.size() == 1) {
    if (type == TypeId::kInt64) {
      return Finish(call, type, nullable,
                    UnaryKernel<int64_t, int64_t>(type, [](int64_t v) { return v; }));
    }
    return Finish(call, type, nullable,
                  UnaryKernel<double, double>(type, [](double v) { return std::round(v); }));
  }
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, TypeId::kInt64));
  return Finish(call, type, nullable, [type](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const Shape shape = ShapeOf(ctx, values);
    if (type == TypeId::kDouble) {
      return Datum::Owned(
          ZipFixed<double, int64_t, double>(values[0], values[1], type, shape.rows, RoundDouble),
          shape.constant);
    }
    return Datum::Owned(
        ZipFixed<int64_t, int64_t, int64_t>(values[0], values[1], type, shape.rows, RoundInt),
        shape.constant);
  });
}

Result<NodePtr> BindFloorCeil(Call& call) {
  EDDY_ASSIGN_OR_RETURN(TypeId type, NumericArg(call, 0));
  const bool nullable = call.AnyNullable();
  if (type == TypeId::kInt64) {
    return Finish(call, type, nullable,
                  UnaryKernel<int64_t, int64_t>(type, [](int64_t v) { return v; }));
  }
  if (call.name == "floor") {
    return Finish(call, type, nullable,
                  UnaryKernel<double, double>(type, [](double v) { return std::floor(v); }));
  }
  return Finish(call, type, nullable,
                UnaryKernel<double, double>(type, [](double v) { return std::ceil(v); }));
}

Result<NodePtr> BindDoubleMath(Call& call) {
  EDDY_RETURN_IF_ERROR(NumericArg(call, 0).status());
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kDouble));
  if (call.name == "exp") {
    return Finish(
        call, TypeId::kDouble, call.AnyNullable(),
        UnaryKernel<double, double>(TypeId::kDouble, [](double v) { return std::exp(v); }));
  }
  if (call.name == "sqrt") {
    return Finish(call, TypeId::kDouble, true,
                  DoubleDomainKernel([](double v) { return std::sqrt(v); }));
  }
  return Finish(call, TypeId::kDouble, true, DoubleDomainKernel([](double v) {
                  return v > 0 ? std::log(v) : std::numeric_limits<double>::quiet_NaN();
                }));
}

Result<NodePtr> BindPow(Call& call) {
  for (size_t idx = 0; idx < 2; ++idx) {
    EDDY_RETURN_IF_ERROR(NumericArg(call, idx).status());
    EDDY_RETURN_IF_ERROR(CoerceArg(call, idx, TypeId::kDouble));
  }
  return Finish(call, TypeId::kDouble, true, [](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const Shape shape = ShapeOf(ctx, values);
    Column out =
        ZipFixed<double, double, double>(values[0], values[1], TypeId::kDouble, shape.rows,
                                         [](double x, double y) { return std::pow(x, y); });
    NullWhereNaN(&out);
    return Datum::Owned(std::move(out), shape.constant);
  });
}

// least/greatest: NULL arguments are ignored; NULL only when all are.
template <typename T>
Datum Extreme(const std::vector<Datum>& values, bool greatest, TypeId type, size_t rows) {
  Column out(type);
  out.Reserve(rows);
  for (size_t row = 0; row < rows; ++row) {
    int best = -1;
    T best_value{};
    for (size_t arg = 0; arg < values.size(); ++arg) {
      const Datum& value = values[arg];
      const size_t idx = value.Index(row);
      if (value.column().IsNull(idx)) continue;
      const T candidate = Values<T>(value.column())[idx];
      if (best < 0 || (greatest ? best_value < candidate : candidate < best_value)) {
        best = static_cast<int>(arg);
        best_value = candidate;
      }
    }
    if (best < 0) {
      out.AppendNull();
    } else {
      out.AppendFrom(values[best].column(), values[best].Index(row));
    }
  }
  return Datum::Owned(std::move(out));
}

Result<NodePtr> BindLeastGreatest(Call& call) {
  auto common = CommonType(call.args, TypeId::kInt64);
  if (!common) {
    for (size_t idx = 1; idx < call.args.size(); ++idx) {
      if (!CommonType(std::span<const BoundArg>(call.args.data(), idx + 1), TypeId::kInt64)) {
        return ErrorAt(call.args[idx].pos,
                       std::string(call.name) + "() arguments mix types: " + call.What(idx) +
                           " is " + std::string(TypeName(call.args[idx].node->type())));
      }
    }
    return ErrorAt(call.pos, std::string(call.name) + "() arguments have incompatible types");
  }
  bool nullable = true;
  for (size_t idx = 0; idx < call.args.size(); ++idx) {
    EDDY_RETURN_IF_ERROR(CoerceArg(call, idx, *common));
    nullable = nullable && call.args[idx].node->nullable();
  }
  const bool greatest = call.name == "greatest";
  const TypeId type = *common;
  return Finish(call, type, nullable, [greatest, type](Args args, const EvalContext& ctx) {
    std::vector<Datum> values = EvalAll(args, ctx);
    const size_t rows = ShapeOf(ctx, values).rows;
    switch (type) {
      case TypeId::kBool:
        return Extreme<bool>(values, greatest, type, rows);
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        return Extreme<int64_t>(values, greatest, type, rows);
      case TypeId::kDouble:
        return Extreme<double>(values, greatest, type, rows);
      case TypeId::kString:
        return Extreme<std::string_view>(values, greatest, type, rows);
    }
    return Datum::Owned(NullColumn(type, rows));
  });
}

// ---------------------------------------------------------------------------
// Timestamps (microseconds since the epoch, UTC)

Result<NodePtr> BindToTimestampMillis(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kInt64));
  return Finish(call, TypeId::kTimestamp, call.AnyNullable(),
                UnaryKernel<int64_t, int64_t>(TypeId::kTimestamp, [](int64_t millis) {
                  return static_cast<int64_t>(static_cast<uint64_t>(millis) * kMicrosPerMilli);
                }));
}

Result<NodePtr> BindToUnixMillis(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kTimestamp));
  return Finish(call, TypeId::kInt64, call.AnyNullable(),
                UnaryKernel<int64_t, int64_t>(TypeId::kInt64, [](int64_t micros) {
                  return FloorDiv(micros, kMicrosPerMilli);
                }));
}

Result<NodePtr> BindDateTrunc(Call& call) {
  EDDY_ASSIGN_OR_RETURN(std::string unit, LiteralStringArg(call, 0, "unit"));
  for (char& c : unit) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  int64_t width;
  if (unit == "second") {
    width = kMicrosPerSecond;
  } else if (unit == "minute") {
    width = kMicrosPerMinute;
  } else if (unit == "hour") {
    width = kMicrosPerHour;
  } else if (unit == "day") {
    width = kMicrosPerDay;
  } else {
    return ErrorAt(
        call.args[0].pos,
        "date_trunc() unit must be 'second', 'minute', 'hour' or 'day', got '" + unit + "'");
  }
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 1, TypeId::kTimestamp));
  call.args.erase(call.args.begin());  // the unit lives in the kernel
  return Finish(call, TypeId::kTimestamp, call.AnyNullable(),
                UnaryKernel<int64_t, int64_t>(TypeId::kTimestamp, [width](int64_t micros) {
                  return FloorDiv(micros, width) * width;
                }));
}

Result<NodePtr> BindDatePart(Call& call) {
  EDDY_RETURN_IF_ERROR(CoerceArg(call, 0, TypeId::kTimestamp));
  const bool nullable = call.AnyNullable();
  auto part = [&](auto fn) {
    return Finish(call, TypeId::kInt64, nullable,
                  UnaryKernel<int64_t, int64_t>(TypeId::kInt64, fn));
  };
  const std::string_view name = call.name;
  if (name == "year") return part([](int64_t ts) { return ToCivil(ts).year; });
  if (name == "month") return part([](int64_t ts) -> int64_t { return ToCivil(ts).month; });
  if (name == "day") return part([](int64_t ts) -> int64_t { return ToCivil(ts).day; });
  if (name == "hour") {
    return part(
        [](int64_t ts) { return FloorDiv(ts, kMicrosPerHour) - FloorDiv(ts, kMicrosPerDay) * 24; });
  }
  if (name == "minute") {
    return part([](int64_t ts) {
      return FloorDiv(ts, kMicrosPerMinute) - FloorDiv(ts, kMicrosPerHour) * 60;
    });
  }
  return part([](int64_t ts) {
    return FloorDiv(ts, kMicrosPerSecond) - FloorDiv(ts, kMicrosPerMinute) * 60;
  });
}

// ---------------------------------------------------------------------------
// The table

constexpr size_t kVariadic = SIZE_MAX;

struct FunctionDef {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  Result<NodePtr> (*bind)(Call&);
};

constexpr FunctionDef kFunctions[] = {
    {"coalesce", 1, kVariadic, BindCoalesce},
    {"nullif", 2, 2, BindNullIf},
    {"if", 3, 3, BindIf},
    {"lower", 1, 1, BindStringMap},
    {"upper", 1, 1, BindStringMap},
    {"trim", 1, 1, BindStringMap},
    {"ltrim", 1, 1, BindStringMap},
    {"rtrim", 1, 1, BindStringMap},
    {"length", 1, 1, BindLength},
    {"substring", 2, 3, BindSubstring},
    {"concat", 1, kVariadic, BindConcat},
    {"contains", 2, 2, BindStringPredicate},
    {"starts_with", 2, 2, BindStringPredicate},
    {"ends_with", 2, 2, BindStringPredicate},
    {"regexp_match", 2, 2, BindRegexpMatch},
    {"replace", 3, 3, BindReplace},
    {"abs", 1, 1, BindAbs},
    {"round", 1, 2, BindRound},
    {"floor", 1, 1, BindFloorCeil},
    {"ceil", 1, 1, BindFloorCeil},
    {"sqrt", 1, 1, BindDoubleMath},
    {"ln", 1, 1, BindDoubleMath},
    {"exp", 1, 1, BindDoubleMath},
    {"pow", 2, 2, BindPow},
    {"least", 1, kVariadic, BindLeastGreatest},
    {"greatest", 1, kVariadic, BindLeastGreatest},
    {"to_timestamp_millis", 1, 1, BindToTimestampMillis},
    {"to_unix_millis", 1, 1, BindToUnixMillis},
    {"date_trunc", 2, 2, BindDateTrunc},
    {"year", 1, 1, BindDatePart},
    {"month", 1, 1, BindDatePart},
    {"day", 1, 1, BindDatePart},
    {"hour", 1, 1, BindDatePart},
    {"minute", 1, 1, BindDatePart},
    {"second", 1, 1, BindDatePart},
};

constexpr struct {
  std::string_view alias;
  std::string_view name;
} kAliases[] = {
    {"substr", "substring"},
    {"power", "pow"},
    {"ceiling", "ceil"},
};

std::string ArityText(const FunctionDef& def) {
  auto plural = [](size_t n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); };
  if (def.max_args == kVariadic) return "at least " + plural(def.min_args);
  if (def.min_args == def.max_args) return plural(def.min_args);
  return std::to_string(def.min_args) + " or " + plural(def.max_args);
}

}  // namespace

Result<NodePtr> BindFunction(std::string_view name, size_t pos, std::vector<BoundArg> args,
                             bool* can_fail) {
  for (const auto& alias : kAliases) {
    if (alias.alias == name) name = alias.name;
  }
  const FunctionDef* def = nullptr;
  for (const FunctionDef& candidate : kFunctions) {
    if (candidate.name == name) def = &candidate;
  }
  if (def == nullptr) {
    std::vector<std::string_view> names;
    for (const FunctionDef& candidate : kFunctions) names.push_back(candidate.name);
    for (const auto& alias : kAliases) names.push_back(alias.alias);
    std::string message = "unknown function '" + std::string(name) + "'";
    if (name == "cast" || name == "try_cast") {
      message += " (write CAST(x AS type))";
    } else {
      const std::vector<std::string> close = ClosestNames(name, names);
      if (!close.empty()) {
        message += ", did you mean ";
        for (size_t idx = 0; idx < close.size(); ++idx) {
          if (idx > 0) message += idx + 1 == close.size() ? " or " : ", ";
          message += "'" + close[idx] + "'";
        }
        message += "?";
      }
    }
    return ErrorAt(pos, message);
  }
  if (args.size() < def->min_args || args.size() > def->max_args) {
    return ErrorAt(pos, std::string(def->name) + "() takes " + ArityText(*def) + ", got " +
                            std::to_string(args.size()));
  }
  Call call{def->name, pos, std::move(args), can_fail};
  return def->bind(call);
}

NodePtr MakeConcatOperator(NodePtr left, NodePtr right, bool nullable) {
  std::vector<NodePtr> args;
  args.push_back(std::move(left));
  args.push_back(std::move(right));
  return MakeCall(TypeId::kString, nullable, std::move(args),
                  [](Args args, const EvalContext& ctx) {
                    return ConcatValues(args, ctx, /*null_if_any_null=*/true);
                  });
}

}  // namespace eddy::expr
