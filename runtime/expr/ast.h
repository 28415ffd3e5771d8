#pragma once
// Internal to eddy_expr: tokens, the untyped parse tree and the parser.
//
// Pipeline: Tokenize (lexer.cc) -> Parse* (parser.cc) builds an Ast ->
// Binder (binder.cc) type-checks it into evaluable Nodes (node.h).
// Positions are 1-based character (UTF-8 code point) offsets into the text,
// the form every error message uses: "at 7: ...".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/core/types.h"

namespace eddy::expr {

// "at <pos>: <message>" as an InvalidArgument.
Status ErrorAt(size_t pos, std::string_view message);

enum class TokenKind {
  kIdentifier,        // text as written; keywords are identifiers too
  kQuotedIdentifier,  // "name" with "" unescaped
  kInteger,           // digits only
  kDecimal,           // 1.5, .5, 1e3
  kString,            // 'text' with '' unescaped
  kOperator,          // + - * / % || = != <> < <= > >=
  kLeftParen,
  kRightParen,
  kComma,
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  size_t pos = 0;
};

// Splits `text` into tokens, always ending with one kEnd token.
Result<std::vector<Token>> Tokenize(std::string_view text);

enum class AstKind {
  kLiteral,
  kColumn,
  kUnary,
  kBinary,
  kIsNull,   // children: [x]; negated for IS NOT NULL
  kBetween,  // children: [x, low, high]; negated for NOT BETWEEN
  kIn,       // children: [x, item...]; negated for NOT IN
  kCase,     // children: [operand if has_operand] (when, then)... [else if has_else]
  kCall,     // children: arguments; text is the lower-case function name
  kCast,     // children: [x]; cast_type, try_cast
};

enum class LiteralKind { kNull, kBool, kInt64, kDouble, kString, kTimestamp, kInterval };

enum class UnaryOp { kNegate, kNot };

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kConcat,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
};

std::string_view BinaryOpName(BinaryOp op);
bool IsComparison(BinaryOp op);

// One parse-tree node. A tagged struct rather than a class hierarchy: the
// tree lives only between parsing and binding.
struct Ast {
  AstKind kind = AstKind::kLiteral;
  size_t pos = 0;    // the operator or first token of this node
  size_t start = 0;  // the first token of the whole subexpression

  LiteralKind literal = LiteralKind::kNull;
  bool bool_value = false;
  int64_t int_value = 0;  // kInt64; microseconds for kTimestamp and kInterval
  double double_value = 0;
  // kString: the value; kInterval: the quoted text; kColumn: the name;
  // kCall: the lower-case function name.
  std::string text;
  bool quoted = false;  // kColumn written as "name"

  UnaryOp unary_op = UnaryOp::kNot;
  BinaryOp binary_op = BinaryOp::kAdd;
  bool negated = false;
  TypeId cast_type = TypeId::kString;
  bool try_cast = false;
  bool has_operand = false;
  bool has_else = false;

  int height = 1;  // of this subtree
  std::vector<std::unique_ptr<Ast>> children;
};

// Parses a whole expression.
Result<std::unique_ptr<Ast>> ParseExpression(std::string_view text);

struct SelectItemAst {
  bool star = false;
  std::unique_ptr<Ast> expression;   // null when star
  std::optional<std::string> alias;  // from "AS name"
};

// Parses "*", "expr" or "expr AS name".
Result<SelectItemAst> ParseSelectItem(std::string_view text);

// Canonical fully parenthesized text of a tree; parses back to an equal tree.
std::string AstToString(const Ast& ast);

// Renders a column name, double-quoted when it is not a plain identifier or
// is a reserved word.
std::string QuoteIdentifier(std::string_view name);

// Parses INTERVAL text such as "5 seconds" or "1 hour 30 minutes" into
// microseconds.
std::optional<int64_t> ParseIntervalText(std::string_view text);

}  // namespace eddy::expr
