// Binder: resolves names against the input Schema, type-checks the parse
// tree, inserts implicit conversions and folds constant subtrees, producing
// the evaluable Node tree. Also the public Compile* entry points.

#include "runtime/expr/binder.h"

#include <algorithm>

#include "runtime/expr/ast.h"
#include "runtime/expr/expression.h"
#include "runtime/expr/node.h"

namespace eddy::expr {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      char x = a[i - 1], y = b[j - 1];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

constexpr struct {
  std::string_view name;
  MetaField field;
} kMetaColumns[] = {
    {kMetaTopic, MetaField::kTopic},         {kMetaPartition, MetaField::kPartition},
    {kMetaOffset, MetaField::kOffset},       {kMetaKey, MetaField::kKey},
    {kMetaTimestamp, MetaField::kTimestamp},
};

std::string TypeString(TypeId type) { return std::string(TypeName(type)); }

// The type name of a bound node for messages; a bare NULL says so.
std::string Describe(const Node& node) {
  return node.is_untyped_null() ? "NULL" : TypeString(node.type());
}

bool IsNumeric(TypeId type) { return type == TypeId::kInt64 || type == TypeId::kDouble; }

}  // namespace

Result<NodePtr> CoerceTo(NodePtr node, TypeId target, size_t pos, std::string_view what) {
  if (node->is_untyped_null()) return MakeNullLiteral(target, false);
  const TypeId from = node->type();
  if (from == target) return node;
  if (from == TypeId::kInt64 && target == TypeId::kDouble) {
    const bool constant = node->constant_value() != nullptr;
    const bool nullable = node->nullable();
    NodePtr cast = MakeCast(std::move(node), target, false, nullable);
    if (!constant) return cast;
    return FoldConstant(std::move(cast), pos);
  }
  if (from == TypeId::kString && target == TypeId::kTimestamp &&
      node->constant_value() != nullptr) {
    const Column& value = *node->constant_value();
    if (value.IsNull(0)) return MakeNullLiteral(target, false);
    auto micros = ParseTimestamp(value.GetString(0));
    if (!micros) {
      return ErrorAt(pos, "'" + std::string(value.GetString(0)) +
                              "' is not an ISO 8601 timestamp (e.g. '2026-01-02T03:04:05Z')");
    }
    Column literal(TypeId::kTimestamp);
    literal.AppendInt64(*micros);
    return MakeLiteral(std::move(literal));
  }
  return ErrorAt(pos,
                 std::string(what) + " must be " + TypeString(target) + ", got " + Describe(*node));
}

std::optional<TypeId> CommonType(std::span<const BoundArg> args, TypeId if_all_null) {
  std::optional<TypeId> common;
  bool saw_other_string = false;
  for (const BoundArg& arg : args) {
    if (arg.node->is_untyped_null()) continue;
    const TypeId type = arg.node->type();
    if (type == TypeId::kString && arg.node->constant_value() == nullptr) saw_other_string = true;
    if (!common || *common == type) {
      common = type;
    } else if (IsNumeric(*common) && IsNumeric(type)) {
      common = TypeId::kDouble;
    } else if ((*common == TypeId::kTimestamp && type == TypeId::kString) ||
               (*common == TypeId::kString && type == TypeId::kTimestamp)) {
      common = TypeId::kTimestamp;
    } else {
      return std::nullopt;
    }
  }
  if (!common) return if_all_null;
  // Strings join timestamps only as literals, parsed at compile time.
  if (*common == TypeId::kTimestamp && saw_other_string) return std::nullopt;
  return common;
}

bool AllConstant(std::span<const BoundArg> args) {
  for (const BoundArg& arg : args) {
    if (arg.node->constant_value() == nullptr) return false;
  }
  return true;
}

Result<NodePtr> FoldConstant(NodePtr node, size_t pos) {
  const Batch empty;
  std::vector<RowError> errors;
  const EvalContext ctx{&empty, 1, &errors};
  Column value = node->Eval(ctx).ToColumn(1);
  if (!errors.empty()) return ErrorAt(pos, errors.front().reason);
  return MakeLiteral(std::move(value));
}

std::vector<std::string> ClosestNames(std::string_view name,
                                      std::span<const std::string_view> candidates) {
  // Only the nearest names, and only when they are plausibly typos.
  const size_t limit = name.size() <= 4 ? 1 : name.size() <= 8 ? 2 : 3;
  size_t best = limit + 1;
  std::vector<std::string> out;
  for (std::string_view candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    if (distance > limit || distance > best) continue;
    if (distance < best) {
      best = distance;
      out.clear();
    }
    if (out.size() < 3) out.emplace_back(candidate);
  }
  return out;
}

namespace {

class Binder {
 public:
  explicit Binder(const Schema& schema) : schema_(schema) {}

  bool can_fail() const { return can_fail_; }
  // The schema columns bound so far, ascending and distinct.
  std::vector<size_t> ColumnsRead() const {
    std::vector<size_t> columns = columns_read_;
    std::sort(columns.begin(), columns.end());
    columns.erase(std::unique(columns.begin(), columns.end()), columns.end());
    return columns;
  }

  Result<NodePtr> Bind(Ast& ast) {
    switch (ast.kind) {
      case AstKind::kLiteral:
        return BindLiteral(ast);
      case AstKind::kColumn:
        return BindColumn(ast);
      case AstKind::kUnary:
        return BindUnary(ast);
      case AstKind::kBinary:
        return BindBinary(ast);
      case AstKind::kIsNull:
        return BindIsNull(ast);
      case AstKind::kBetween:
        return BindBetween(ast);
      case AstKind::kIn:
        return BindIn(ast);
      case AstKind::kCase:
        return BindCase(ast);
      case AstKind::kCall:
        return BindCall(ast);
      case AstKind::kCast:
        return BindCast(ast);
    }
    return ErrorAt(ast.pos, "unsupported expression");
  }

 private:
  static Result<NodePtr> Finish(NodePtr node, bool constant, size_t pos) {
    if (!constant) return node;
    return FoldConstant(std::move(node), pos);
  }

  static Result<NodePtr> BindLiteral(const Ast& ast) {
    switch (ast.literal) {
      case LiteralKind::kNull:
        return MakeNullLiteral(TypeId::kString, /*untyped=*/true);
      case LiteralKind::kBool: {
        Column value(TypeId::kBool);
        value.AppendBool(ast.bool_value);
        return MakeLiteral(std::move(value));
      }
      case LiteralKind::kInt64:
      case LiteralKind::kInterval: {  // an interval is int64 microseconds
        Column value(TypeId::kInt64);
        value.AppendInt64(ast.int_value);
        return MakeLiteral(std::move(value));
      }
      case LiteralKind::kTimestamp: {
        Column value(TypeId::kTimestamp);
        value.AppendInt64(ast.int_value);
        return MakeLiteral(std::move(value));
      }
      case LiteralKind::kDouble: {
        Column value(TypeId::kDouble);
        value.AppendDouble(ast.double_value);
        return MakeLiteral(std::move(value));
      }
      case LiteralKind::kString: {
        Column value(TypeId::kString);
        value.AppendString(ast.text);
        return MakeLiteral(std::move(value));
      }
    }
    return ErrorAt(ast.pos, "unsupported literal");
  }

  // Exact name first; an unquoted name may also match one column ignoring
  // case. The canonical name is written back for ToString.
  Result<NodePtr> BindColumn(Ast& ast) {
    if (auto idx = schema_.IndexOf(ast.text)) return BindColumnAt(*idx);
    if (!ast.quoted) {
      std::optional<size_t> found;
      for (size_t idx = 0; idx < schema_.size(); ++idx) {
        if (!EqualsIgnoreCase(schema_.field(idx).name, ast.text)) continue;
        if (found) {
          return ErrorAt(ast.pos, "column name '" + ast.text + "' is ambiguous ('" +
                                      schema_.field(*found).name + "', '" +
                                      schema_.field(idx).name + "'); quote the exact name");
        }
        found = idx;
      }
      if (found) {
        ast.text = schema_.field(*found).name;
        return BindColumnAt(*found);
      }
    }
    for (const auto& meta : kMetaColumns) {
      if (ast.quoted ? ast.text == meta.name : EqualsIgnoreCase(ast.text, meta.name)) {
        ast.text = std::string(meta.name);
        return MakeMetaRef(meta.field);
      }
    }
    std::vector<std::string_view> names;
    for (const Field& field : schema_.fields()) names.push_back(field.name);
    for (const auto& meta : kMetaColumns) names.push_back(meta.name);
    std::string message = "unknown column '" + ast.text + "'";
    const std::vector<std::string> close = ClosestNames(ast.text, names);
    if (!close.empty()) message += ", did you mean '" + close.front() + "'?";
    message += " (columns: ";
    constexpr size_t kMaxListed = 20;
    for (size_t idx = 0; idx < schema_.size() && idx < kMaxListed; ++idx) {
      if (idx > 0) message += ", ";
      message += schema_.field(idx).name;
    }
    if (schema_.size() > kMaxListed) message += ", ...";
    if (schema_.size() == 0) message += "none";
    message += "; metadata: _topic, _partition, _offset, _key, _timestamp)";
    return ErrorAt(ast.pos, message);
  }

  NodePtr BindColumnAt(size_t idx) {
    columns_read_.push_back(idx);
    return MakeColumnRef(idx, schema_.field(idx));
  }

  Result<NodePtr> BindUnary(Ast& ast) {
    Ast& operand_ast = *ast.children[0];
    EDDY_ASSIGN_OR_RETURN(NodePtr operand, Bind(operand_ast));
    const bool constant = operand->constant_value() != nullptr;
    if (ast.unary_op == UnaryOp::kNot) {
      EDDY_ASSIGN_OR_RETURN(operand, CoerceTo(std::move(operand), TypeId::kBool, operand_ast.start,
                                              "the operand of NOT"));
      return Finish(MakeNot(std::move(operand)), constant, ast.pos);
    }
    if (operand->is_untyped_null()) operand = MakeNullLiteral(TypeId::kInt64, false);
    if (!IsNumeric(operand->type())) {
      return ErrorAt(operand_ast.start,
                     "unary - requires int64 or double, got " + Describe(*operand));
    }
    return Finish(MakeNegate(std::move(operand)), constant, ast.pos);
  }

  Result<NodePtr> BindBinary(Ast& ast) {
    Ast& left_ast = *ast.children[0];
    Ast& right_ast = *ast.children[1];
    EDDY_ASSIGN_OR_RETURN(NodePtr left, Bind(left_ast));
    EDDY_ASSIGN_OR_RETURN(NodePtr right, Bind(right_ast));
    const bool constant = left->constant_value() != nullptr && right->constant_value() != nullptr;
    const BinaryOp op = ast.binary_op;
    const std::string op_name(BinaryOpName(op));

    if (op == BinaryOp::kAnd || op == BinaryOp::kOr) {
      EDDY_ASSIGN_OR_RETURN(left, CoerceTo(std::move(left), TypeId::kBool, left_ast.start,
                                           "the left operand of " + op_name));
      EDDY_ASSIGN_OR_RETURN(right, CoerceTo(std::move(right), TypeId::kBool, right_ast.start,
                                            "the right operand of " + op_name));
      const bool nullable = left->nullable() || right->nullable();
      return Finish(MakeLogical(op, std::move(left), std::move(right), nullable), constant,
                    ast.pos);
    }

    if (IsComparison(op)) {
      BoundArg sides[2] = {{std::move(left), left_ast.start}, {std::move(right), right_ast.start}};
      auto common = CommonType(sides, TypeId::kString);
      if (!common) {
        return ErrorAt(ast.pos, "cannot compare " + Describe(*sides[0].node) + " with " +
                                    Describe(*sides[1].node) + " using " + op_name);
      }
      EDDY_ASSIGN_OR_RETURN(left, CoerceTo(std::move(sides[0].node), *common, left_ast.start,
                                           "the left operand of " + op_name));
      EDDY_ASSIGN_OR_RETURN(right, CoerceTo(std::move(sides[1].node), *common, right_ast.start,
                                            "the right operand of " + op_name));
      const bool nullable = left->nullable() || right->nullable();
      return Finish(MakeComparison(op, std::move(left), std::move(right), nullable), constant,
                    ast.pos);
    }

    if (op == BinaryOp::kConcat) {
      // Like PostgreSQL, || renders non-string operands as text.
      auto to_string = [](NodePtr node) -> NodePtr {
        if (node->is_untyped_null()) return MakeNullLiteral(TypeId::kString, false);
        if (node->type() == TypeId::kString) return node;
        const bool nullable = node->nullable();
        return MakeCast(std::move(node), TypeId::kString, false, nullable);
      };
      left = to_string(std::move(left));
      right = to_string(std::move(right));
      const bool nullable = left->nullable() || right->nullable();
      return Finish(MakeConcatOperator(std::move(left), std::move(right), nullable), constant,
                    ast.pos);
    }

    return BindArithmetic(ast, std::move(left), std::move(right), constant);
  }

  Result<NodePtr> BindArithmetic(const Ast& ast, NodePtr left, NodePtr right, bool constant) {
    const BinaryOp op = ast.binary_op;
    const std::string op_name(BinaryOpName(op));
    // A bare NULL takes the type of the other side (an interval next to a
    // timestamp).
    auto typed_null_for = [](const Node& other) {
      if (other.is_untyped_null() || other.type() == TypeId::kTimestamp ||
          !IsNumeric(other.type())) {
        return TypeId::kInt64;
      }
      return other.type();
    };
    if (left->is_untyped_null()) left = MakeNullLiteral(typed_null_for(*right), false);
    if (right->is_untyped_null()) right = MakeNullLiteral(typed_null_for(*left), false);
    const TypeId lt = left->type(), rt = right->type();
    const bool nullable =
        left->nullable() || right->nullable() || op == BinaryOp::kDiv || op == BinaryOp::kMod;
    TypeId result;
    if (IsNumeric(lt) && IsNumeric(rt)) {
      result = (lt == TypeId::kDouble || rt == TypeId::kDouble) ? TypeId::kDouble : TypeId::kInt64;
      EDDY_ASSIGN_OR_RETURN(left,
                            CoerceTo(std::move(left), result, ast.children[0]->start, "operand"));
      EDDY_ASSIGN_OR_RETURN(right,
                            CoerceTo(std::move(right), result, ast.children[1]->start, "operand"));
    } else if (op == BinaryOp::kAdd && lt == TypeId::kTimestamp && rt == TypeId::kInt64) {
      result = TypeId::kTimestamp;
    } else if (op == BinaryOp::kAdd && lt == TypeId::kInt64 && rt == TypeId::kTimestamp) {
      result = TypeId::kTimestamp;
    } else if (op == BinaryOp::kSub && lt == TypeId::kTimestamp && rt == TypeId::kInt64) {
      result = TypeId::kTimestamp;
    } else if (op == BinaryOp::kSub && lt == TypeId::kTimestamp && rt == TypeId::kTimestamp) {
      result = TypeId::kInt64;  // microseconds between them
    } else {
      std::string message = "operator " + op_name + " cannot be applied to " + TypeString(lt) +
                            " and " + TypeString(rt);
      if (op == BinaryOp::kAdd && (lt == TypeId::kString || rt == TypeId::kString)) {
        message += " (use || to concatenate strings)";
      } else if (lt == TypeId::kTimestamp || rt == TypeId::kTimestamp) {
        message += " (timestamps take + and - with an INTERVAL or int64 microseconds, and ts - ts)";
      }
      return ErrorAt(ast.pos, message);
    }
    return Finish(MakeArithmetic(op, std::move(left), std::move(right), result, nullable), constant,
                  ast.pos);
  }

  Result<NodePtr> BindIsNull(Ast& ast) {
    EDDY_ASSIGN_OR_RETURN(NodePtr operand, Bind(*ast.children[0]));
    const bool constant = operand->constant_value() != nullptr;
    return Finish(MakeIsNull(std::move(operand), ast.negated), constant, ast.pos);
  }

  // Binds children and coerces them to one comparable type.
  Result<std::vector<NodePtr>> BindComparable(Ast& ast, size_t first_child, std::string_view what,
                                              bool* constant, bool* nullable) {
    std::vector<BoundArg> args;
    for (size_t idx = first_child; idx < ast.children.size(); ++idx) {
      EDDY_ASSIGN_OR_RETURN(NodePtr node, Bind(*ast.children[idx]));
      args.push_back(BoundArg{std::move(node), ast.children[idx]->start});
    }
    *constant = AllConstant(args);
    auto common = CommonType(args, TypeId::kString);
    if (!common) {
      // Name the first item that does not mix with the ones before it.
      for (size_t idx = 1; idx < args.size(); ++idx) {
        if (!CommonType(std::span<const BoundArg>(args.data(), idx + 1), TypeId::kString)) {
          return ErrorAt(args[idx].pos, std::string(what) + " cannot compare " +
                                            Describe(*args[0].node) + " with " +
                                            Describe(*args[idx].node));
        }
      }
      return ErrorAt(ast.pos, std::string(what) + " operands have incompatible types");
    }
    std::vector<NodePtr> nodes;
    *nullable = false;
    for (BoundArg& arg : args) {
      EDDY_ASSIGN_OR_RETURN(NodePtr node, CoerceTo(std::move(arg.node), *common, arg.pos,
                                                   std::string(what) + " operand"));
      *nullable = *nullable || node->nullable();
      nodes.push_back(std::move(node));
    }
    return nodes;
  }

  Result<NodePtr> BindBetween(Ast& ast) {
    bool constant = false, nullable = false;
    EDDY_ASSIGN_OR_RETURN(std::vector<NodePtr> nodes,
                          BindComparable(ast, 0, "BETWEEN", &constant, &nullable));
    return Finish(MakeBetween(std::move(nodes[0]), std::move(nodes[1]), std::move(nodes[2]),
                              ast.negated, nullable),
                  constant, ast.pos);
  }

  Result<NodePtr> BindIn(Ast& ast) {
    bool constant = false, nullable = false;
    EDDY_ASSIGN_OR_RETURN(std::vector<NodePtr> nodes,
                          BindComparable(ast, 0, "IN", &constant, &nullable));
    NodePtr value = std::move(nodes[0]);
    nodes.erase(nodes.begin());
    return Finish(MakeIn(std::move(value), std::move(nodes), ast.negated, nullable), constant,
                  ast.pos);
  }

  Result<NodePtr> BindCase(Ast& ast) {
    const size_t first = ast.has_operand ? 1 : 0;
    const size_t end = ast.children.size() - (ast.has_else ? 1 : 0);
    std::vector<NodePtr> conditions;
    std::vector<BoundArg> values;
    bool constant = true;
    for (size_t idx = first; idx < end; idx += 2) {
      Ast& when_ast = *ast.children[idx];
      NodePtr condition;
      if (ast.has_operand) {
        // CASE x WHEN v THEN ... is CASE WHEN x = v THEN ...
        EDDY_ASSIGN_OR_RETURN(NodePtr operand, Bind(*ast.children[0]));
        EDDY_ASSIGN_OR_RETURN(NodePtr when_value, Bind(when_ast));
        BoundArg sides[2] = {{std::move(operand), ast.children[0]->start},
                             {std::move(when_value), when_ast.start}};
        auto common = CommonType(sides, TypeId::kString);
        if (!common) {
          return ErrorAt(when_ast.start, "CASE cannot compare " + Describe(*sides[0].node) +
                                             " with " + Describe(*sides[1].node));
        }
        EDDY_ASSIGN_OR_RETURN(
            operand, CoerceTo(std::move(sides[0].node), *common, sides[0].pos, "CASE operand"));
        EDDY_ASSIGN_OR_RETURN(
            when_value, CoerceTo(std::move(sides[1].node), *common, sides[1].pos, "WHEN value"));
        const bool both_constant = operand->constant_value() && when_value->constant_value();
        const bool nullable = operand->nullable() || when_value->nullable();
        EDDY_ASSIGN_OR_RETURN(condition, Finish(MakeComparison(BinaryOp::kEq, std::move(operand),
                                                               std::move(when_value), nullable),
                                                both_constant, when_ast.start));
      } else {
        EDDY_ASSIGN_OR_RETURN(condition, Bind(when_ast));
        EDDY_ASSIGN_OR_RETURN(condition, CoerceTo(std::move(condition), TypeId::kBool,
                                                  when_ast.start, "a WHEN condition"));
      }
      constant = constant && condition->constant_value() != nullptr;
      conditions.push_back(std::move(condition));
      Ast& then_ast = *ast.children[idx + 1];
      EDDY_ASSIGN_OR_RETURN(NodePtr value, Bind(then_ast));
      values.push_back(BoundArg{std::move(value), then_ast.start});
    }
    if (ast.has_else) {
      EDDY_ASSIGN_OR_RETURN(NodePtr value, Bind(*ast.children.back()));
      values.push_back(BoundArg{std::move(value), ast.children.back()->start});
    }
    constant = constant && AllConstant(values);
    auto common = CommonType(values, TypeId::kString);
    if (!common) {
      for (size_t idx = 1; idx < values.size(); ++idx) {
        std::span<const BoundArg> prefix(values.data(), idx + 1);
        if (!CommonType(prefix, TypeId::kString)) {
          return ErrorAt(values[idx].pos, "CASE branches mix " + Describe(*values[0].node) +
                                              " and " + Describe(*values[idx].node));
        }
      }
      return ErrorAt(ast.pos, "CASE branches have incompatible types");
    }
    bool nullable = !ast.has_else;
    std::vector<NodePtr> value_nodes;
    for (BoundArg& value : values) {
      EDDY_ASSIGN_OR_RETURN(NodePtr node,
                            CoerceTo(std::move(value.node), *common, value.pos, "a CASE branch"));
      nullable = nullable || node->nullable();
      value_nodes.push_back(std::move(node));
    }
    NodePtr else_value;
    if (ast.has_else) {
      else_value = std::move(value_nodes.back());
      value_nodes.pop_back();
    }
    return Finish(MakeCase(std::move(conditions), std::move(value_nodes), std::move(else_value),
                           *common, nullable),
                  constant, ast.pos);
  }

  Result<NodePtr> BindCall(Ast& ast) {
    std::vector<BoundArg> args;
    for (auto& child : ast.children) {
      EDDY_ASSIGN_OR_RETURN(NodePtr node, Bind(*child));
      args.push_back(BoundArg{std::move(node), child->start});
    }
    return BindFunction(ast.text, ast.pos, std::move(args), &can_fail_);
  }

  Result<NodePtr> BindCast(Ast& ast) {
    EDDY_ASSIGN_OR_RETURN(NodePtr operand, Bind(*ast.children[0]));
    const TypeId to = ast.cast_type;
    if (operand->is_untyped_null()) return MakeNullLiteral(to, false);
    const TypeId from = operand->type();
    if (!CanCast(from, to)) {
      return ErrorAt(ast.pos, "cannot cast " + TypeString(from) + " to " + TypeString(to));
    }
    const bool constant = operand->constant_value() != nullptr;
    const bool can_fail = CastCanFail(from, to);
    if (can_fail && !ast.try_cast && !constant) can_fail_ = true;
    const bool nullable = operand->nullable() || can_fail;
    return Finish(MakeCast(std::move(operand), to, ast.try_cast, nullable), constant, ast.pos);
  }

  const Schema& schema_;
  bool can_fail_ = false;
  std::vector<size_t> columns_read_;
};

struct Compiled {
  NodePtr root;
  bool can_fail = false;
  std::vector<size_t> columns_read;
};

Result<Compiled> BindTree(Ast& ast, const Schema& schema) {
  Binder binder(schema);
  EDDY_ASSIGN_OR_RETURN(NodePtr root, binder.Bind(ast));
  return Compiled{std::move(root), binder.can_fail(), binder.ColumnsRead()};
}

Result<std::unique_ptr<Expression>> Compile(std::string_view text, const Schema& schema,
                                            std::optional<TypeId> expected) {
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<Ast> ast, ParseExpression(text));
  EDDY_ASSIGN_OR_RETURN(Compiled compiled, BindTree(*ast, schema));
  if (expected && (compiled.root->type() != *expected || compiled.root->is_untyped_null())) {
    const TypeId actual = compiled.root->type();
    auto coerced = CoerceTo(std::move(compiled.root), *expected, ast->start, "the expression");
    if (!coerced.ok()) {
      return ErrorAt(ast->start, "expected an expression of type " + TypeString(*expected) +
                                     ", got " + TypeString(actual) + ": " + AstToString(*ast));
    }
    compiled.root = std::move(coerced).value();
  }
  const bool nullable = compiled.root->nullable() || compiled.can_fail;
  return MakeExpression(std::move(compiled.root), AstToString(*ast), nullable,
                        std::move(compiled.columns_read));
}

}  // namespace

}  // namespace eddy::expr

namespace eddy {

Result<std::unique_ptr<Expression>> CompileExpression(std::string_view text, const Schema& schema) {
  return expr::Compile(text, schema, std::nullopt);
}

Result<std::unique_ptr<Expression>> CompileExpressionOfType(std::string_view text,
                                                            const Schema& schema, TypeId expected) {
  return expr::Compile(text, schema, expected);
}

Result<std::vector<NamedExpression>> CompileSelectItem(std::string_view item,
                                                       const Schema& schema) {
  EDDY_ASSIGN_OR_RETURN(expr::SelectItemAst parsed, expr::ParseSelectItem(item));
  std::vector<NamedExpression> out;
  if (parsed.star) {
    for (size_t idx = 0; idx < schema.size(); ++idx) {
      const Field& field = schema.field(idx);
      out.push_back(NamedExpression{
          field.name,
          expr::MakeExpression(expr::MakeColumnRef(idx, field), expr::QuoteIdentifier(field.name),
                               field.nullable, std::vector<size_t>{idx})});
    }
    return out;
  }
  EDDY_ASSIGN_OR_RETURN(expr::Compiled compiled, expr::BindTree(*parsed.expression, schema));
  std::string name;
  if (parsed.alias) {
    name = *parsed.alias;
  } else if (parsed.expression->kind == expr::AstKind::kColumn) {
    name = parsed.expression->text;  // canonical spelling after binding
  } else {
    // Named by its text as written, trimmed.
    std::string_view text = item;
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                             text.front() == '\r'))
      text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                             text.back() == '\r'))
      text.remove_suffix(1);
    name = std::string(text);
  }
  const bool nullable = compiled.root->nullable() || compiled.can_fail;
  out.push_back(NamedExpression{
      std::move(name),
      expr::MakeExpression(std::move(compiled.root), expr::AstToString(*parsed.expression),
                           nullable, std::move(compiled.columns_read))});
  return out;
}

}  // namespace eddy
