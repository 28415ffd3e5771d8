#pragma once
// Internal to eddy_expr: the bound, typed expression tree and the building
// blocks of its vectorized kernels.
//
// A Node evaluates a whole batch at once into a Datum: either a column with
// one value per row or a constant (one value standing for every row). Each
// node evaluates its children, then runs one tight, type-specialized loop;
// virtual dispatch happens once per node per batch, never per row.
// Constants stay one value, so `price > 5` loops comparing a column against
// a scalar. Subtrees whose inputs are all constant are folded by the binder
// at compile time, so at run time a constant Datum never comes out of a node
// that can fail.

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/value_text.h"
#include "runtime/expr/ast.h"
#include "runtime/expr/expression.h"

namespace eddy::expr {

// The value of a node over a batch. Move-only; a view must not outlive the
// column it points at (a batch column or a literal owned by the tree).
class Datum {
 public:
  Datum() = default;
  // A view of a column with one value per row.
  static Datum View(const Column& column) { return Datum(nullptr, &column, false); }
  // A view of a one-row column standing for every row.
  static Datum ConstantView(const Column& value) { return Datum(nullptr, &value, true); }
  // A computed column; `constant` when it has one row standing for all rows.
  static Datum Owned(Column column, bool constant = false) {
    auto owned = std::make_unique<Column>(std::move(column));
    const Column* view = owned.get();
    return Datum(std::move(owned), view, constant);
  }

  bool is_constant() const { return constant_; }
  const Column& column() const { return *column_; }
  TypeId type() const { return column_->type(); }
  size_t Index(size_t row) const { return constant_ ? 0 : row; }
  bool IsNull(size_t row) const { return column_->IsNull(Index(row)); }
  bool MayHaveNulls() const { return column_->MayHaveNulls(); }
  bool IsConstantNull() const { return constant_ && column_->IsNull(0); }
  // The column when this datum owns it (a kernel may then overwrite it in
  // place and move it out); nullptr for views.
  Column* mutable_owned() { return owned_.get(); }

  // A column of `num_rows` rows: moves an owned column, copies a view,
  // repeats a constant.
  Column ToColumn(size_t num_rows) &&;

 private:
  Datum(std::unique_ptr<Column> owned, const Column* column, bool constant)
      : owned_(std::move(owned)), column_(column), constant_(constant) {}

  std::unique_ptr<Column> owned_;
  const Column* column_ = nullptr;
  bool constant_ = false;
};

struct EvalContext {
  const Batch* batch = nullptr;
  size_t num_rows = 0;
  std::vector<RowError>* errors = nullptr;  // never null during evaluation

  // The same batch, collecting errors elsewhere (to filter them by row).
  EvalContext WithErrors(std::vector<RowError>* other) const {
    return EvalContext{batch, num_rows, other};
  }
};

class Node {
 public:
  Node(TypeId type, bool nullable) : type_(type), nullable_(nullable) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  TypeId type() const { return type_; }
  bool nullable() const { return nullable_; }
  // A literal's value as a one-row column; nullptr for any other node.
  virtual const Column* constant_value() const { return nullptr; }
  // A bare NULL literal, whose type the binder takes from its context.
  virtual bool is_untyped_null() const { return false; }

  virtual Datum Eval(const EvalContext& ctx) const = 0;

 private:
  TypeId type_;
  bool nullable_;
};
using NodePtr = std::unique_ptr<Node>;

enum class MetaField { kTopic, kPartition, kOffset, kKey, kTimestamp };

// Node factories (evaluator.cc). The binder has already checked the types.
NodePtr MakeLiteral(Column value_one_row);
NodePtr MakeNullLiteral(TypeId type, bool untyped);
NodePtr MakeColumnRef(size_t index, const Field& field);
NodePtr MakeMetaRef(MetaField field);
NodePtr MakeCast(NodePtr child, TypeId to, bool try_cast, bool nullable);
NodePtr MakeNegate(NodePtr child);
// + - * / % over same-typed numbers, or timestamp +/- int64 and ts - ts.
NodePtr MakeArithmetic(BinaryOp op, NodePtr left, NodePtr right, TypeId type, bool nullable);
// Both sides have the same type.
NodePtr MakeComparison(BinaryOp op, NodePtr left, NodePtr right, bool nullable);
NodePtr MakeLogical(BinaryOp op, NodePtr left, NodePtr right, bool nullable);
NodePtr MakeNot(NodePtr child);
NodePtr MakeIsNull(NodePtr child, bool negated);
NodePtr MakeBetween(NodePtr value, NodePtr low, NodePtr high, bool negated, bool nullable);
NodePtr MakeIn(NodePtr value, std::vector<NodePtr> items, bool negated, bool nullable);
// `else_value` may be null (no ELSE: NULL).
NodePtr MakeCase(std::vector<NodePtr> conditions, std::vector<NodePtr> values, NodePtr else_value,
                 TypeId type, bool nullable);

// A built-in function's per-batch implementation. It receives the argument
// nodes, not values, so conditional functions (coalesce) can skip work and
// drop the errors of arguments they did not need.
using FunctionKernel = std::function<Datum(std::span<const NodePtr> args, const EvalContext& ctx)>;
NodePtr MakeCall(TypeId type, bool nullable, std::vector<NodePtr> args, FunctionKernel kernel);

// The public Expression around a bound tree; `columns_read` are the schema
// columns its column references name, ascending and distinct.
std::unique_ptr<Expression> MakeExpression(NodePtr root, std::string text, bool nullable,
                                           std::vector<size_t> columns_read);

// ---- Kernel building blocks (evaluator.cc), shared with functions.cc ----

// Row count and constness of a result computed from `inputs`: one constant
// row when every input is constant, else one row per batch row.
struct Shape {
  size_t rows;
  bool constant;
};
Shape ShapeOf(const EvalContext& ctx, std::initializer_list<const Datum*> inputs);
Shape ShapeOf(const EvalContext& ctx, std::span<const Datum> inputs);

// Sets NULL every row of `out` (with `rows` rows) where any input is NULL.
void PropagateNulls(std::initializer_list<const Datum*> inputs, size_t rows, Column* out);
void PropagateNulls(std::span<const Datum> inputs, size_t rows, Column* out);

// A column of `rows` NULLs of `type`.
Column NullColumn(TypeId type, size_t rows);

// Evaluates every argument.
std::vector<Datum> EvalAll(std::span<const NodePtr> args, const EvalContext& ctx);

// Whether CAST(from AS to) is allowed, and whether it can fail at run time.
bool CanCast(TypeId from, TypeId to);
bool CastCanFail(TypeId from, TypeId to);
// Casts every row; failing rows become NULL plus a RowError unless try_cast.
Datum CastDatum(Datum input, TypeId to, bool try_cast, const EvalContext& ctx);

// Three-valued comparison of two same-typed datums into a bool datum.
Datum CompareDatums(BinaryOp op, const Datum& left, const Datum& right, Shape shape);
// Three-valued AND / OR of two bool datums.
Datum LogicalDatums(BinaryOp op, const Datum& left, const Datum& right, Shape shape);

// Records that `row` failed; `value` is quoted, shortened if long.
void AddCastError(const EvalContext& ctx, size_t row, std::string_view value, TypeId to);
void AddError(const EvalContext& ctx, size_t row, std::string reason);
// Keeps the errors of `from` whose row has keep[row] != 0, appending to `to`.
void KeepErrors(std::vector<RowError>* from, const std::vector<uint8_t>& keep,
                std::vector<RowError>* to);

// Formats an int64 as Column::ValueToString does, into `buf` (>= 48 bytes),
// without allocating; doubles and timestamps use runtime/core/value_text.h.
std::string_view FormatInt64(int64_t value, char* buf);

// ---- Typed readers for kernel loops ----
//
// Values<T> reads a column's storage; ConstantValue<T> repeats one value.
// Visit calls `fn` with whichever fits the datum, so a loop body is compiled
// once for columns and once for constants and never branches per row on it.
template <typename T>
struct Values;

template <>
struct Values<int64_t> {
  const int64_t* data;
  explicit Values(const Column& column) : data(column.int64s().data()) {}
  int64_t operator[](size_t row) const { return data[row]; }
};
template <>
struct Values<double> {
  const double* data;
  explicit Values(const Column& column) : data(column.doubles().data()) {}
  double operator[](size_t row) const { return data[row]; }
};
template <>
struct Values<bool> {
  const uint8_t* data;
  explicit Values(const Column& column) : data(column.bools().data()) {}
  bool operator[](size_t row) const { return data[row] != 0; }
};
template <>
struct Values<std::string_view> {
  const Column* column;
  explicit Values(const Column& c) : column(&c) {}
  std::string_view operator[](size_t row) const { return column->GetString(row); }
};

template <typename T>
struct ConstantValue {
  T value;
  T operator[](size_t) const { return value; }
};

template <typename T, typename Fn>
void Visit(const Datum& datum, Fn&& fn) {
  Values<T> values(datum.column());
  if (datum.is_constant()) {
    fn(ConstantValue<T>{values[0]});
  } else {
    fn(values);
  }
}

// The writable storage of a fixed-width column: uint8_t for bool, int64_t
// for int64 and timestamp, double.
template <typename T>
T* MutableValues(Column& column) {
  if constexpr (std::is_same_v<T, uint8_t>) {
    return column.mutable_bools().data();
  } else if constexpr (std::is_same_v<T, double>) {
    return column.mutable_doubles().data();
  } else {
    return column.mutable_int64s().data();
  }
}

// out[row] = fn(in[row]) over `rows` rows, NULL where the input is NULL.
template <typename In, typename Out, typename Fn>
Column MapFixed(const Datum& input, TypeId type, size_t rows, Fn fn) {
  Column out(type);
  out.ResizeFixed(rows);
  Out* values = MutableValues<Out>(out);
  Visit<In>(input, [&](auto in) {
    for (size_t row = 0; row < rows; ++row) values[row] = fn(in[row]);
  });
  PropagateNulls({&input}, rows, &out);
  return out;
}

// out[row] = fn(a[row], b[row]), NULL where either input is NULL.
template <typename A, typename B, typename Out, typename Fn>
Column ZipFixed(const Datum& left, const Datum& right, TypeId type, size_t rows, Fn fn) {
  Column out(type);
  out.ResizeFixed(rows);
  Out* values = MutableValues<Out>(out);
  Visit<A>(left, [&](auto a) {
    Visit<B>(right, [&](auto b) {
      for (size_t row = 0; row < rows; ++row) values[row] = fn(a[row], b[row]);
    });
  });
  PropagateNulls({&left, &right}, rows, &out);
  return out;
}

}  // namespace eddy::expr
