// Vectorized evaluation of bound expression trees: the node classes, the
// casts, arithmetic, comparison and three-valued logic kernels, and the
// public Expression wrapper.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>

#include "runtime/expr/node.h"

namespace eddy::expr {

// ---------------------------------------------------------------------------
// Datum and kernel helpers

Column NullColumn(TypeId type, size_t rows) {
  Column out(type);
  out.Reserve(rows);
  for (size_t row = 0; row < rows; ++row) out.AppendNull();
  return out;
}

Column Datum::ToColumn(size_t num_rows) && {
  if (!constant_) {
    if (owned_) return std::move(*owned_);
    return *column_;
  }
  const Column& value = *column_;
  if (value.IsNull(0)) return NullColumn(value.type(), num_rows);
  Column out(value.type());
  switch (value.type()) {
    case TypeId::kBool:
      out.ResizeFixed(num_rows);
      std::fill(out.mutable_bools().begin(), out.mutable_bools().end(), value.GetBool(0) ? 1 : 0);
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      out.ResizeFixed(num_rows);
      std::fill(out.mutable_int64s().begin(), out.mutable_int64s().end(), value.GetInt64(0));
      break;
    case TypeId::kDouble:
      out.ResizeFixed(num_rows);
      std::fill(out.mutable_doubles().begin(), out.mutable_doubles().end(), value.GetDouble(0));
      break;
    case TypeId::kString:
      out.Reserve(num_rows);
      for (size_t row = 0; row < num_rows; ++row) out.AppendString(value.GetString(0));
      break;
  }
  return out;
}

Shape ShapeOf(const EvalContext& ctx, std::initializer_list<const Datum*> inputs) {
  for (const Datum* input : inputs) {
    if (!input->is_constant()) return Shape{ctx.num_rows, false};
  }
  return Shape{1, true};
}

Shape ShapeOf(const EvalContext& ctx, std::span<const Datum> inputs) {
  for (const Datum& input : inputs) {
    if (!input.is_constant()) return Shape{ctx.num_rows, false};
  }
  return Shape{1, true};
}

namespace {

void PropagateOne(const Datum& input, size_t rows, Column* out) {
  if (!input.MayHaveNulls()) return;
  if (input.is_constant()) {
    if (input.column().IsNull(0)) {
      for (size_t row = 0; row < rows; ++row) out->SetNull(row);
    }
    return;
  }
  const uint8_t* valid = input.column().validity().data();
  for (size_t row = 0; row < rows; ++row) {
    if (valid[row] == 0) out->SetNull(row);
  }
}

}  // namespace

void PropagateNulls(std::initializer_list<const Datum*> inputs, size_t rows, Column* out) {
  for (const Datum* input : inputs) PropagateOne(*input, rows, out);
}

void PropagateNulls(std::span<const Datum> inputs, size_t rows, Column* out) {
  for (const Datum& input : inputs) PropagateOne(input, rows, out);
}

std::vector<Datum> EvalAll(std::span<const NodePtr> args, const EvalContext& ctx) {
  std::vector<Datum> values;
  values.reserve(args.size());
  for (const NodePtr& arg : args) values.push_back(arg->Eval(ctx));
  return values;
}

namespace {

// Long values are cut so one bad record cannot produce a megabyte reason.
std::string ShortenForMessage(std::string_view value) {
  constexpr size_t kMaxBytes = 64;
  if (value.size() <= kMaxBytes) return std::string(value);
  size_t cut = kMaxBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return std::string(value.substr(0, cut)) + "...";
}

}  // namespace

void AddError(const EvalContext& ctx, size_t row, std::string reason) {
  ctx.errors->push_back(RowError{static_cast<uint32_t>(row), std::move(reason)});
}

void AddCastError(const EvalContext& ctx, size_t row, std::string_view value, TypeId to) {
  std::string reason = "cannot cast '" + ShortenForMessage(value) + "' to ";
  reason += TypeName(to);
  AddError(ctx, row, std::move(reason));
}

void KeepErrors(std::vector<RowError>* from, const std::vector<uint8_t>& keep,
                std::vector<RowError>* to) {
  for (RowError& error : *from) {
    if (error.row < keep.size() && keep[error.row] != 0) to->push_back(std::move(error));
  }
  from->clear();
}

// ---------------------------------------------------------------------------
// Formatting without allocation

std::string_view FormatInt64(int64_t value, char* buf) {
  auto [end, ec] = std::to_chars(buf, buf + 32, value);
  return std::string_view(buf, end - buf);
}

// ---------------------------------------------------------------------------
// Casts

bool CanCast(TypeId from, TypeId to) {
  if (from == to || to == TypeId::kString || from == TypeId::kString) return true;
  switch (to) {
    case TypeId::kInt64:
      return from == TypeId::kDouble || from == TypeId::kBool || from == TypeId::kTimestamp;
    case TypeId::kDouble:
      return from == TypeId::kInt64;
    case TypeId::kBool:
      return from == TypeId::kInt64;
    case TypeId::kTimestamp:
      return from == TypeId::kInt64;
    case TypeId::kString:
      return true;
  }
  return false;
}

bool CastCanFail(TypeId from, TypeId to) {
  if (from == to || to == TypeId::kString) return false;
  return from == TypeId::kString || (from == TypeId::kDouble && to == TypeId::kInt64);
}

namespace {

std::string_view TrimSpace(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool ParseInt64Strict(std::string_view text, int64_t* out) {
  text = TrimSpace(text);
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool ParseDoubleStrict(std::string_view text, double* out) {
  text = TrimSpace(text);
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool ParseBoolStrict(std::string_view text, bool* out) {
  text = TrimSpace(text);
  if (text.size() > 5) return false;
  char lower[6] = {};
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  const std::string_view word(lower, text.size());
  if (word == "true" || word == "t" || word == "yes" || word == "y" || word == "on" ||
      word == "1") {
    *out = true;
    return true;
  }
  if (word == "false" || word == "f" || word == "no" || word == "n" || word == "off" ||
      word == "0") {
    *out = false;
    return true;
  }
  return false;
}

// Appends the text of every row of `input` to a string column.
Column CastToString(const Datum& input, size_t rows) {
  const Column& column = input.column();
  Column out(TypeId::kString);
  out.Reserve(rows);
  char buf[64];
  for (size_t row = 0; row < rows; ++row) {
    const size_t idx = input.Index(row);
    if (column.IsNull(idx)) {
      out.AppendNull();
      continue;
    }
    switch (column.type()) {
      case TypeId::kBool:
        out.AppendString(column.GetBool(idx) ? "true" : "false");
        break;
      case TypeId::kInt64:
        out.AppendString(FormatInt64(column.GetInt64(idx), buf));
        break;
      case TypeId::kDouble:
        out.AppendString(FormatDoubleTo(column.GetDouble(idx), buf));
        break;
      case TypeId::kTimestamp:
        out.AppendString(FormatTimestampTo(column.GetInt64(idx), buf));
        break;
      case TypeId::kString:
        out.AppendString(column.GetString(idx));
        break;
    }
  }
  return out;
}

// Converts each non-NULL row with `convert(row, Out* value) -> bool`; a row
// it rejects becomes NULL and, unless try_cast, a RowError naming
// `describe(row)`.
template <typename Out, typename Convert, typename Describe>
Column CastEachRow(const Datum& input, TypeId to, size_t rows, bool try_cast,
                   const EvalContext& ctx, Convert convert, Describe describe) {
  Column out(to);
  out.ResizeFixed(rows);
  Out* values = MutableValues<Out>(out);
  for (size_t row = 0; row < rows; ++row) {
    if (input.IsNull(row)) {
      out.SetNull(row);
      continue;
    }
    if (!convert(input.Index(row), &values[row])) {
      out.SetNull(row);
      if (!try_cast) describe(row, input.Index(row));
    }
  }
  return out;
}

}  // namespace

Datum CastDatum(Datum input, TypeId to, bool try_cast, const EvalContext& ctx) {
  const TypeId from = input.type();
  if (from == to) return input;
  const Shape shape = ShapeOf(ctx, {&input});
  const size_t rows = shape.rows;
  const Column& column = input.column();
  auto string_error = [&](size_t row, size_t idx) {
    AddCastError(ctx, row, column.GetString(idx), to);
  };
  Column out(to);
  switch (to) {
    case TypeId::kString:
      out = CastToString(input, rows);
      break;
    case TypeId::kInt64:
      if (from == TypeId::kString) {
        out = CastEachRow<int64_t>(
            input, to, rows, try_cast, ctx,
            [&](size_t idx, int64_t* value) {
              return ParseInt64Strict(column.GetString(idx), value);
            },
            string_error);
      } else if (from == TypeId::kDouble) {
        out = CastEachRow<int64_t>(
            input, to, rows, try_cast, ctx,
            [&](size_t idx, int64_t* value) {
              const double d = column.GetDouble(idx);
              // [-2^63, 2^63) holds exactly the doubles that truncate into
              // int64; NaN fails both comparisons.
              if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
              *value = static_cast<int64_t>(d);
              return true;
            },
            [&](size_t row, size_t idx) {
              char buf[48];
              std::string reason = "cannot cast '";
              reason += FormatDoubleTo(column.GetDouble(idx), buf);
              reason += "' to int64: out of range";
              AddError(ctx, row, std::move(reason));
            });
      } else if (from == TypeId::kBool) {
        out = MapFixed<bool, int64_t>(input, to, rows, [](bool v) -> int64_t { return v ? 1 : 0; });
      } else {  // timestamp: its microseconds
        out = MapFixed<int64_t, int64_t>(input, to, rows, [](int64_t v) { return v; });
      }
      break;
    case TypeId::kDouble:
      if (from == TypeId::kString) {
        out = CastEachRow<double>(
            input, to, rows, try_cast, ctx,
            [&](size_t idx, double* value) {
              return ParseDoubleStrict(column.GetString(idx), value);
            },
            string_error);
      } else {  // int64
        out = MapFixed<int64_t, double>(input, to, rows,
                                        [](int64_t v) { return static_cast<double>(v); });
      }
      break;
    case TypeId::kBool:
      if (from == TypeId::kString) {
        out = CastEachRow<uint8_t>(
            input, to, rows, try_cast, ctx,
            [&](size_t idx, uint8_t* value) {
              bool parsed = false;
              if (!ParseBoolStrict(column.GetString(idx), &parsed)) return false;
              *value = parsed ? 1 : 0;
              return true;
            },
            string_error);
      } else {  // int64
        out = MapFixed<int64_t, uint8_t>(input, to, rows,
                                         [](int64_t v) -> uint8_t { return v != 0 ? 1 : 0; });
      }
      break;
    case TypeId::kTimestamp:
      if (from == TypeId::kString) {
        out = CastEachRow<int64_t>(
            input, to, rows, try_cast, ctx,
            [&](size_t idx, int64_t* value) {
              auto parsed = ParseTimestamp(TrimSpace(column.GetString(idx)));
              if (!parsed) return false;
              *value = *parsed;
              return true;
            },
            string_error);
      } else {  // int64 microseconds
        out = MapFixed<int64_t, int64_t>(input, to, rows, [](int64_t v) { return v; });
      }
      break;
  }
  return Datum::Owned(std::move(out), shape.constant);
}

// ---------------------------------------------------------------------------
// Comparison and logic kernels

namespace {

template <typename T>
Datum CompareTyped(BinaryOp op, const Datum& left, const Datum& right, Shape shape) {
  Column out(TypeId::kBool);
  out.ResizeFixed(shape.rows);
  uint8_t* result = out.mutable_bools().data();
  auto run = [&](auto compare) {
    Visit<T>(left, [&](auto a) {
      Visit<T>(right, [&](auto b) {
        for (size_t row = 0; row < shape.rows; ++row) result[row] = compare(a[row], b[row]);
      });
    });
  };
  switch (op) {
    case BinaryOp::kEq:
      run(std::equal_to<T>());
      break;
    case BinaryOp::kNe:
      run(std::not_equal_to<T>());
      break;
    case BinaryOp::kLt:
      run(std::less<T>());
      break;
    case BinaryOp::kLe:
      run(std::less_equal<T>());
      break;
    case BinaryOp::kGt:
      run(std::greater<T>());
      break;
    case BinaryOp::kGe:
      run(std::greater_equal<T>());
      break;
    default:
      break;
  }
  PropagateNulls({&left, &right}, shape.rows, &out);
  return Datum::Owned(std::move(out), shape.constant);
}

}  // namespace

Datum CompareDatums(BinaryOp op, const Datum& left, const Datum& right, Shape shape) {
  switch (left.type()) {
    case TypeId::kBool:
      return CompareTyped<bool>(op, left, right, shape);
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      return CompareTyped<int64_t>(op, left, right, shape);
    case TypeId::kDouble:
      return CompareTyped<double>(op, left, right, shape);
    case TypeId::kString:
      return CompareTyped<std::string_view>(op, left, right, shape);
  }
  return Datum::Owned(NullColumn(TypeId::kBool, shape.rows), shape.constant);
}

Datum LogicalDatums(BinaryOp op, const Datum& left, const Datum& right, Shape shape) {
  const bool is_and = op == BinaryOp::kAnd;
  Column out(TypeId::kBool);
  out.ResizeFixed(shape.rows);
  uint8_t* result = out.mutable_bools().data();
  if (!left.MayHaveNulls() && !right.MayHaveNulls()) {
    Visit<bool>(left, [&](auto a) {
      Visit<bool>(right, [&](auto b) {
        if (is_and) {
          for (size_t row = 0; row < shape.rows; ++row) result[row] = a[row] & b[row];
        } else {
          for (size_t row = 0; row < shape.rows; ++row) result[row] = a[row] | b[row];
        }
      });
    });
    return Datum::Owned(std::move(out), shape.constant);
  }
  // SQL: false AND NULL = false, true OR NULL = true, otherwise NULL wins.
  const Column& a = left.column();
  const Column& b = right.column();
  for (size_t row = 0; row < shape.rows; ++row) {
    const size_t ai = left.Index(row), bi = right.Index(row);
    const bool a_null = a.IsNull(ai), b_null = b.IsNull(bi);
    const bool a_value = !a_null && a.GetBool(ai), b_value = !b_null && b.GetBool(bi);
    if (is_and) {
      const bool any_false = (!a_null && !a_value) || (!b_null && !b_value);
      if (any_false) {
        result[row] = 0;
      } else if (a_null || b_null) {
        out.SetNull(row);
      } else {
        result[row] = 1;
      }
    } else {
      const bool any_true = a_value || b_value;
      if (any_true) {
        result[row] = 1;
      } else if (a_null || b_null) {
        out.SetNull(row);
      } else {
        result[row] = 0;
      }
    }
  }
  return Datum::Owned(std::move(out), shape.constant);
}

namespace {

Datum NotDatum(const Datum& input, Shape shape) {
  Column out(TypeId::kBool);
  out.ResizeFixed(shape.rows);
  uint8_t* result = out.mutable_bools().data();
  Visit<bool>(input, [&](auto in) {
    for (size_t row = 0; row < shape.rows; ++row) result[row] = !in[row];
  });
  PropagateNulls({&input}, shape.rows, &out);
  return Datum::Owned(std::move(out), shape.constant);
}

// ---------------------------------------------------------------------------
// Arithmetic kernels. Integer arithmetic wraps on overflow (two's
// complement, computed in uint64 so it is defined behaviour).

int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
// Truncates toward zero like SQL; the caller nulls rows with b == 0.
int64_t SafeDiv(int64_t a, int64_t b) {
  if (b == 0) return 0;
  if (b == -1) return WrapSub(0, a);  // INT64_MIN / -1 would trap
  return a / b;
}
int64_t SafeMod(int64_t a, int64_t b) {
  if (b == 0 || b == -1) return 0;
  return a % b;
}

// Writes into the left operand's buffer when this node owns it (an
// intermediate result), so a chain like a * 3 + b allocates one column.
template <typename T, typename Op>
Column ArithmeticLoop(Datum& left, const Datum& right, TypeId type, size_t rows, Op op) {
  Column* reusable = left.mutable_owned();
  if (reusable != nullptr && !left.is_constant() && reusable->type() == type &&
      reusable->size() == rows) {
    T* result = MutableValues<T>(*reusable);
    Visit<T>(right, [&](auto b) {
      for (size_t row = 0; row < rows; ++row) result[row] = op(result[row], b[row]);
    });
    PropagateNulls({&right}, rows, reusable);
    return std::move(*reusable);
  }
  Column out(type);
  out.ResizeFixed(rows);
  T* result = MutableValues<T>(out);
  Visit<T>(left, [&](auto a) {
    Visit<T>(right, [&](auto b) {
      for (size_t row = 0; row < rows; ++row) result[row] = op(a[row], b[row]);
    });
  });
  PropagateNulls({&left, &right}, rows, &out);
  return out;
}

// Division and modulo by zero give NULL rather than failing the row.
template <typename T>
void NullWhereZero(const Datum& divisor, size_t rows, Column* out) {
  Visit<T>(divisor, [&](auto b) {
    for (size_t row = 0; row < rows; ++row) {
      if (b[row] == 0) out->SetNull(row);
    }
  });
}

template <typename T>
Column Arithmetic(BinaryOp op, Datum& left, const Datum& right, TypeId type, size_t rows) {
  Column out(type);
  if constexpr (std::is_same_v<T, double>) {
    switch (op) {
      case BinaryOp::kAdd:
        return ArithmeticLoop<T>(left, right, type, rows, std::plus<double>());
      case BinaryOp::kSub:
        return ArithmeticLoop<T>(left, right, type, rows, std::minus<double>());
      case BinaryOp::kMul:
        return ArithmeticLoop<T>(left, right, type, rows, std::multiplies<double>());
      case BinaryOp::kDiv:
        out = ArithmeticLoop<T>(left, right, type, rows,
                                [](double a, double b) { return b == 0 ? 0.0 : a / b; });
        break;
      case BinaryOp::kMod:
        out = ArithmeticLoop<T>(left, right, type, rows,
                                [](double a, double b) { return b == 0 ? 0.0 : std::fmod(a, b); });
        break;
      default:
        break;
    }
  } else {
    switch (op) {
      case BinaryOp::kAdd:
        return ArithmeticLoop<T>(left, right, type, rows,
                                 [](int64_t a, int64_t b) { return WrapAdd(a, b); });
      case BinaryOp::kSub:
        return ArithmeticLoop<T>(left, right, type, rows,
                                 [](int64_t a, int64_t b) { return WrapSub(a, b); });
      case BinaryOp::kMul:
        return ArithmeticLoop<T>(left, right, type, rows,
                                 [](int64_t a, int64_t b) { return WrapMul(a, b); });
      case BinaryOp::kDiv:
        out = ArithmeticLoop<T>(left, right, type, rows,
                                [](int64_t a, int64_t b) { return SafeDiv(a, b); });
        break;
      case BinaryOp::kMod:
        out = ArithmeticLoop<T>(left, right, type, rows,
                                [](int64_t a, int64_t b) { return SafeMod(a, b); });
        break;
      default:
        break;
    }
  }
  NullWhereZero<T>(right, rows, &out);
  return out;
}

// ---------------------------------------------------------------------------
// Nodes

class LiteralNode final : public Node {
 public:
  LiteralNode(Column value, bool untyped)
      : Node(value.type(), value.IsNull(0)), value_(std::move(value)), untyped_(untyped) {}
  const Column* constant_value() const override { return &value_; }
  bool is_untyped_null() const override { return untyped_; }
  Datum Eval(const EvalContext&) const override { return Datum::ConstantView(value_); }

 private:
  Column value_;
  bool untyped_;
};

class ColumnRefNode final : public Node {
 public:
  ColumnRefNode(size_t index, const Field& field)
      : Node(field.type, field.nullable), index_(index), name_(field.name) {}
  Datum Eval(const EvalContext& ctx) const override {
    // A batch that does not match the compiled schema is a caller bug; it
    // yields NULLs with a reason rather than reading out of bounds.
    if (index_ >= ctx.batch->num_columns() || ctx.batch->column(index_).type() != type() ||
        ctx.batch->column(index_).size() != ctx.num_rows) {
      for (size_t row = 0; row < ctx.num_rows; ++row) {
        AddError(ctx, row,
                 "input batch does not match the compiled schema (column '" + name_ + "')");
      }
      return Datum::Owned(NullColumn(type(), ctx.num_rows));
    }
    return Datum::View(ctx.batch->column(index_));
  }

 private:
  size_t index_;
  std::string name_;
};

TypeId MetaType(MetaField field) {
  switch (field) {
    case MetaField::kTopic:
    case MetaField::kKey:
      return TypeId::kString;
    case MetaField::kPartition:
    case MetaField::kOffset:
      return TypeId::kInt64;
    case MetaField::kTimestamp:
      return TypeId::kTimestamp;
  }
  return TypeId::kString;
}

class MetaRefNode final : public Node {
 public:
  explicit MetaRefNode(MetaField field) : Node(MetaType(field), true), field_(field) {}
  Datum Eval(const EvalContext& ctx) const override {
    const SourceMeta& meta = ctx.batch->meta();
    // Rows an operator derived carry no metadata: NULL, as documented. A
    // column, not a constant, so downstream errors keep their row numbers.
    if (meta.empty() || meta.size() != ctx.num_rows) {
      return Datum::Owned(NullColumn(type(), ctx.num_rows));
    }
    const Column* column = nullptr;
    switch (field_) {
      case MetaField::kTopic:  // stored per run of rows
      case MetaField::kPartition: {
        const RunColumn& runs = field_ == MetaField::kTopic ? meta.topic : meta.partition;
        if (runs.size() != ctx.num_rows) return Datum::Owned(NullColumn(type(), ctx.num_rows));
        return Datum::Owned(runs.Decode());
      }
      case MetaField::kOffset:
        column = &meta.offset;
        break;
      case MetaField::kKey:
        column = &meta.key;
        break;
      case MetaField::kTimestamp:
        column = &meta.timestamp;
        break;
    }
    if (column->type() != type() || column->size() != ctx.num_rows) {
      return Datum::Owned(NullColumn(type(), ctx.num_rows));
    }
    return Datum::View(*column);
  }

 private:
  MetaField field_;
};

class CastNode final : public Node {
 public:
  CastNode(NodePtr child, TypeId to, bool try_cast, bool nullable)
      : Node(to, nullable), child_(std::move(child)), try_cast_(try_cast) {}
  Datum Eval(const EvalContext& ctx) const override {
    return CastDatum(child_->Eval(ctx), type(), try_cast_, ctx);
  }

 private:
  NodePtr child_;
  bool try_cast_;
};

class NegateNode final : public Node {
 public:
  explicit NegateNode(NodePtr child)
      : Node(child->type(), child->nullable()), child_(std::move(child)) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum input = child_->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    if (type() == TypeId::kDouble) {
      return Datum::Owned(
          MapFixed<double, double>(input, type(), shape.rows, [](double v) { return -v; }),
          shape.constant);
    }
    return Datum::Owned(MapFixed<int64_t, int64_t>(input, type(), shape.rows,
                                                   [](int64_t v) { return WrapSub(0, v); }),
                        shape.constant);
  }

 private:
  NodePtr child_;
};

class ArithmeticNode final : public Node {
 public:
  ArithmeticNode(BinaryOp op, NodePtr left, NodePtr right, TypeId type, bool nullable)
      : Node(type, nullable), op_(op), left_(std::move(left)), right_(std::move(right)) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum left = left_->Eval(ctx);
    Datum right = right_->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&left, &right});
    Column out = left.type() == TypeId::kDouble
                     ? Arithmetic<double>(op_, left, right, type(), shape.rows)
                     : Arithmetic<int64_t>(op_, left, right, type(), shape.rows);
    return Datum::Owned(std::move(out), shape.constant);
  }

 private:
  BinaryOp op_;
  NodePtr left_, right_;
};

class ComparisonNode final : public Node {
 public:
  ComparisonNode(BinaryOp op, NodePtr left, NodePtr right, bool nullable)
      : Node(TypeId::kBool, nullable), op_(op), left_(std::move(left)), right_(std::move(right)) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum left = left_->Eval(ctx);
    Datum right = right_->Eval(ctx);
    return CompareDatums(op_, left, right, ShapeOf(ctx, {&left, &right}));
  }

 private:
  BinaryOp op_;
  NodePtr left_, right_;
};

class LogicalNode final : public Node {
 public:
  LogicalNode(BinaryOp op, NodePtr left, NodePtr right, bool nullable)
      : Node(TypeId::kBool, nullable), op_(op), left_(std::move(left)), right_(std::move(right)) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum left = left_->Eval(ctx);
    const Shape left_shape = ShapeOf(ctx, {&left});
    // Rows the left side already decides (false for AND, true for OR) do
    // not need the right side: skip it when that is every row, and drop
    // its errors on those rows.
    const bool deciding_value = op_ == BinaryOp::kOr;
    std::vector<uint8_t> needed(ctx.num_rows, 1);
    size_t needed_count = ctx.num_rows;
    const Column& lc = left.column();
    for (size_t row = 0; row < ctx.num_rows; ++row) {
      const size_t idx = left.Index(row);
      if (!lc.IsNull(idx) && lc.GetBool(idx) == deciding_value) {
        needed[row] = 0;
        --needed_count;
      }
    }
    if (needed_count == 0 && ctx.num_rows > 0) {
      if (!left_shape.constant) return left;
      return Datum::Owned(std::move(left).ToColumn(ctx.num_rows));
    }
    std::vector<RowError> right_errors;
    Datum right = right_->Eval(ctx.WithErrors(&right_errors));
    KeepErrors(&right_errors, needed, ctx.errors);
    return LogicalDatums(op_, left, right, ShapeOf(ctx, {&left, &right}));
  }

 private:
  BinaryOp op_;
  NodePtr left_, right_;
};

class NotNode final : public Node {
 public:
  explicit NotNode(NodePtr child)
      : Node(TypeId::kBool, child->nullable()), child_(std::move(child)) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum input = child_->Eval(ctx);
    return NotDatum(input, ShapeOf(ctx, {&input}));
  }

 private:
  NodePtr child_;
};

class IsNullNode final : public Node {
 public:
  IsNullNode(NodePtr child, bool negated)
      : Node(TypeId::kBool, false), child_(std::move(child)), negated_(negated) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum input = child_->Eval(ctx);
    const Shape shape = ShapeOf(ctx, {&input});
    Column out(TypeId::kBool);
    out.ResizeFixed(shape.rows);
    uint8_t* result = out.mutable_bools().data();
    const uint8_t when_null = negated_ ? 0 : 1;
    if (!input.MayHaveNulls()) {
      std::fill(result, result + shape.rows, static_cast<uint8_t>(1 - when_null));
    } else {
      for (size_t row = 0; row < shape.rows; ++row) {
        result[row] = input.IsNull(row) ? when_null : static_cast<uint8_t>(1 - when_null);
      }
    }
    return Datum::Owned(std::move(out), shape.constant);
  }

 private:
  NodePtr child_;
  bool negated_;
};

class BetweenNode final : public Node {
 public:
  BetweenNode(NodePtr value, NodePtr low, NodePtr high, bool negated, bool nullable)
      : Node(TypeId::kBool, nullable),
        value_(std::move(value)),
        low_(std::move(low)),
        high_(std::move(high)),
        negated_(negated) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum value = value_->Eval(ctx);
    Datum low = low_->Eval(ctx);
    Datum high = high_->Eval(ctx);
    Datum above = CompareDatums(BinaryOp::kGe, value, low, ShapeOf(ctx, {&value, &low}));
    Datum below = CompareDatums(BinaryOp::kLe, value, high, ShapeOf(ctx, {&value, &high}));
    Datum both = LogicalDatums(BinaryOp::kAnd, above, below, ShapeOf(ctx, {&above, &below}));
    if (!negated_) return both;
    return NotDatum(both, ShapeOf(ctx, {&both}));
  }

 private:
  NodePtr value_, low_, high_;
  bool negated_;
};

// x IN (a, b, ...) is x = a OR x = b OR ..., which gives SQL's NULL rules:
// NULL when x is NULL, or when nothing matched and some item is NULL.
class InNode final : public Node {
 public:
  InNode(NodePtr value, std::vector<NodePtr> items, bool negated, bool nullable)
      : Node(TypeId::kBool, nullable),
        value_(std::move(value)),
        items_(std::move(items)),
        negated_(negated) {}
  Datum Eval(const EvalContext& ctx) const override {
    Datum value = value_->Eval(ctx);
    Datum any;
    for (size_t idx = 0; idx < items_.size(); ++idx) {
      Datum item = items_[idx]->Eval(ctx);
      Datum equal = CompareDatums(BinaryOp::kEq, value, item, ShapeOf(ctx, {&value, &item}));
      if (idx == 0) {
        any = std::move(equal);
      } else {
        any = LogicalDatums(BinaryOp::kOr, any, equal, ShapeOf(ctx, {&any, &equal}));
      }
    }
    if (!negated_) return any;
    return NotDatum(any, ShapeOf(ctx, {&any}));
  }

 private:
  NodePtr value_;
  std::vector<NodePtr> items_;
  bool negated_;
};

// Picks, per row, the value of the first branch whose condition is true.
// Conditions and values are evaluated over the whole batch (vectorized), but
// a value branch no row takes is skipped, and a branch's errors count only
// on the rows that take it.
class CaseNode final : public Node {
 public:
  CaseNode(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr else_value,
           TypeId type, bool nullable)
      : Node(type, nullable),
        conditions_(std::move(conditions)),
        values_(std::move(values)),
        else_(std::move(else_value)) {}

  Datum Eval(const EvalContext& ctx) const override {
    const size_t rows = ctx.num_rows;
    const uint32_t else_branch = static_cast<uint32_t>(conditions_.size());
    std::vector<uint32_t> choice(rows, else_branch);
    std::vector<uint8_t> undecided(rows, 1);
    size_t remaining = rows;
    std::vector<RowError> local;
    for (size_t branch = 0; branch < conditions_.size() && remaining > 0; ++branch) {
      Datum condition = conditions_[branch]->Eval(ctx.WithErrors(&local));
      KeepErrors(&local, undecided, ctx.errors);
      const Column& column = condition.column();
      for (size_t row = 0; row < rows; ++row) {
        const size_t idx = condition.Index(row);
        if (undecided[row] && !column.IsNull(idx) && column.GetBool(idx)) {
          choice[row] = static_cast<uint32_t>(branch);
          undecided[row] = 0;
          --remaining;
        }
      }
    }
    std::vector<Datum> results(conditions_.size() + 1);
    std::vector<uint8_t> taken(rows);
    for (size_t branch = 0; branch <= conditions_.size(); ++branch) {
      const Node* node = branch < values_.size() ? values_[branch].get() : else_.get();
      if (node == nullptr) continue;
      bool any = false;
      for (size_t row = 0; row < rows; ++row) {
        taken[row] = choice[row] == branch;
        any |= taken[row] != 0;
      }
      if (!any) continue;
      results[branch] = node->Eval(ctx.WithErrors(&local));
      KeepErrors(&local, taken, ctx.errors);
    }
    Column out(type());
    out.Reserve(rows);
    const bool has_else = else_ != nullptr;
    for (size_t row = 0; row < rows; ++row) {
      const uint32_t branch = choice[row];
      if (branch == else_branch && !has_else) {
        out.AppendNull();
      } else {
        const Datum& value = results[branch];
        out.AppendFrom(value.column(), value.Index(row));
      }
    }
    return Datum::Owned(std::move(out));
  }

 private:
  std::vector<NodePtr> conditions_;
  std::vector<NodePtr> values_;
  NodePtr else_;
};

class CallNode final : public Node {
 public:
  CallNode(TypeId type, bool nullable, std::vector<NodePtr> args, FunctionKernel kernel)
      : Node(type, nullable), args_(std::move(args)), kernel_(std::move(kernel)) {}
  Datum Eval(const EvalContext& ctx) const override { return kernel_(args_, ctx); }

 private:
  std::vector<NodePtr> args_;
  FunctionKernel kernel_;
};

class CompiledExpression final : public Expression {
 public:
  CompiledExpression(NodePtr root, std::string text, bool nullable,
                     std::vector<size_t> columns_read)
      : root_(std::move(root)),
        text_(std::move(text)),
        nullable_(nullable),
        columns_read_(std::move(columns_read)) {}

  TypeId type() const override { return root_->type(); }
  bool nullable() const override { return nullable_; }
  std::string ToString() const override { return text_; }
  std::span<const size_t> columns_read() const override { return columns_read_; }

  Column Evaluate(const Batch& input, std::vector<RowError>* errors) const override {
    std::vector<RowError> local;
    const EvalContext ctx{&input, input.num_rows(), &local};
    Column out = root_->Eval(ctx).ToColumn(input.num_rows());
    if (local.empty()) return out;
    // Nodes report in evaluation order; the contract is one error per
    // failing row, in row order, and a failing row's value is NULL.
    std::stable_sort(local.begin(), local.end(),
                     [](const RowError& a, const RowError& b) { return a.row < b.row; });
    uint32_t previous = 0;
    bool first = true;
    for (RowError& error : local) {
      if (!first && error.row == previous) continue;
      first = false;
      previous = error.row;
      if (error.row < out.size()) out.SetNull(error.row);
      if (errors != nullptr) errors->push_back(std::move(error));
    }
    return out;
  }

 private:
  NodePtr root_;
  std::string text_;
  bool nullable_;
  std::vector<size_t> columns_read_;
};

}  // namespace

NodePtr MakeLiteral(Column value_one_row) {
  return std::make_unique<LiteralNode>(std::move(value_one_row), false);
}

NodePtr MakeNullLiteral(TypeId type, bool untyped) {
  Column value(type);
  value.AppendNull();
  return std::make_unique<LiteralNode>(std::move(value), untyped);
}

NodePtr MakeColumnRef(size_t index, const Field& field) {
  return std::make_unique<ColumnRefNode>(index, field);
}

NodePtr MakeMetaRef(MetaField field) { return std::make_unique<MetaRefNode>(field); }

NodePtr MakeCast(NodePtr child, TypeId to, bool try_cast, bool nullable) {
  return std::make_unique<CastNode>(std::move(child), to, try_cast, nullable);
}

NodePtr MakeNegate(NodePtr child) { return std::make_unique<NegateNode>(std::move(child)); }

NodePtr MakeArithmetic(BinaryOp op, NodePtr left, NodePtr right, TypeId type, bool nullable) {
  return std::make_unique<ArithmeticNode>(op, std::move(left), std::move(right), type, nullable);
}

NodePtr MakeComparison(BinaryOp op, NodePtr left, NodePtr right, bool nullable) {
  return std::make_unique<ComparisonNode>(op, std::move(left), std::move(right), nullable);
}

NodePtr MakeLogical(BinaryOp op, NodePtr left, NodePtr right, bool nullable) {
  return std::make_unique<LogicalNode>(op, std::move(left), std::move(right), nullable);
}

NodePtr MakeNot(NodePtr child) { return std::make_unique<NotNode>(std::move(child)); }

NodePtr MakeIsNull(NodePtr child, bool negated) {
  return std::make_unique<IsNullNode>(std::move(child), negated);
}

NodePtr MakeBetween(NodePtr value, NodePtr low, NodePtr high, bool negated, bool nullable) {
  return std::make_unique<BetweenNode>(std::move(value), std::move(low), std::move(high), negated,
                                       nullable);
}

NodePtr MakeIn(NodePtr value, std::vector<NodePtr> items, bool negated, bool nullable) {
  return std::make_unique<InNode>(std::move(value), std::move(items), negated, nullable);
}

NodePtr MakeCase(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr else_value,
                 TypeId type, bool nullable) {
  return std::make_unique<CaseNode>(std::move(conditions), std::move(values), std::move(else_value),
                                    type, nullable);
}

NodePtr MakeCall(TypeId type, bool nullable, std::vector<NodePtr> args, FunctionKernel kernel) {
  return std::make_unique<CallNode>(type, nullable, std::move(args), std::move(kernel));
}

std::unique_ptr<Expression> MakeExpression(NodePtr root, std::string text, bool nullable,
                                           std::vector<size_t> columns_read) {
  return std::make_unique<CompiledExpression>(std::move(root), std::move(text), nullable,
                                              std::move(columns_read));
}

}  // namespace eddy::expr
