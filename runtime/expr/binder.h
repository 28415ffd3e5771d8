#pragma once
// Internal to eddy_expr: type checking helpers shared by the binder
// (binder.cc) and the built-in function table (functions.cc).
//
// Implicit conversions, the only ones the language makes:
//   - int64 -> double where the other operand or branch is a double;
//   - a bare NULL takes the type its context needs;
//   - a constant string -> timestamp where a timestamp is expected (parsed
//     once, at compile time; a bad literal is a compile error).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/expr/node.h"

namespace eddy::expr {

// A bound argument and where its text starts, for error messages.
struct BoundArg {
  NodePtr node;
  size_t pos = 0;
};

// Converts `node` to `target` as described above, or fails with
// "at <pos>: <what> must be <target>, got <type>".
Result<NodePtr> CoerceTo(NodePtr node, TypeId target, size_t pos, std::string_view what);

// The type every one of `types` converts to, ignoring bare NULLs (nullopt
// entries): all equal, int64 mixed with double -> double, timestamp mixed
// with constant strings -> timestamp. nullopt when they do not mix;
// `if_all_null` when every entry is a bare NULL.
std::optional<TypeId> CommonType(std::span<const BoundArg> args, TypeId if_all_null);

// Replaces a node whose inputs are all constant by a literal of its value,
// evaluating it once now. An evaluation error becomes a compile error at `pos`.
Result<NodePtr> FoldConstant(NodePtr node, size_t pos);
bool AllConstant(std::span<const BoundArg> args);

// Up to three of `candidates` close to `name` (edit distance), best first.
std::vector<std::string> ClosestNames(std::string_view name,
                                      std::span<const std::string_view> candidates);

// ---- Built-in functions (functions.cc) ----

// Binds a call of the built-in `name` (lower case). Sets *can_fail when the
// call may produce RowErrors at run time.
Result<NodePtr> BindFunction(std::string_view name, size_t pos, std::vector<BoundArg> args,
                             bool* can_fail);
// The string concatenation operator `a || b` over two string nodes: NULL if
// either side is NULL.
NodePtr MakeConcatOperator(NodePtr left, NodePtr right, bool nullable);

}  // namespace eddy::expr
