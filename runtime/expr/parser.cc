// Recursive-descent parser of the expression language. Precedence, lowest
// first, follows PostgreSQL:
//   OR < AND < NOT < IS [NOT] NULL < comparison < [NOT] BETWEEN/IN
//      < || < + - < * / % < unary - < primary

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime/core/batch.h"
#include "runtime/expr/ast.h"

namespace eddy::expr {

namespace {

using AstPtr = std::unique_ptr<Ast>;

// Deep enough for any hand-written expression, shallow enough that the
// recursion cannot exhaust the stack.
constexpr int kMaxDepth = 256;
// Operator chains (a + b + c ...) parse iteratively into left-deep trees that
// binding and evaluation then walk recursively; this caps the tree height.
constexpr int kMaxHeight = 1000;

// Attaches `child`, keeping parent->height the height of its subtree.
void AddChild(Ast* parent, std::unique_ptr<Ast> child) {
  parent->height = std::max(parent->height, child->height + 1);
  parent->children.push_back(std::move(child));
}

constexpr std::string_view kReservedWords[] = {
    "and", "or",   "not",  "is",   "null", "true", "false", "between",
    "in",  "case", "when", "then", "else", "end",  "as",
};

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

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsReserved(std::string_view word) {
  for (std::string_view reserved : kReservedWords) {
    if (EqualsIgnoreCase(word, reserved)) return true;
  }
  return false;
}

AstPtr NewAst(AstKind kind, size_t pos) {
  auto ast = std::make_unique<Ast>();
  ast->kind = kind;
  ast->pos = pos;
  ast->start = pos;
  return ast;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<AstPtr> ParseExpr() {
    if (++depth_ > kMaxDepth) return ErrorAt(Peek().pos, "expression is nested too deeply");
    EDDY_ASSIGN_OR_RETURN(AstPtr result, ParseOr());
    --depth_;
    EDDY_RETURN_IF_ERROR(CheckHeight(*result, result->start));
    return result;
  }

  // Fails unless every token was consumed.
  Status ExpectEnd() {
    if (Peek().kind != TokenKind::kEnd) {
      return ErrorAt(Peek().pos, "unexpected " + Describe(Peek()) + " after the expression");
    }
    return Status::OK();
  }

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(index_ + ahead, tokens_.size() - 1)];
  }
  bool PeekKeyword(std::string_view word, size_t ahead = 0) const {
    const Token& token = Peek(ahead);
    return token.kind == TokenKind::kIdentifier && EqualsIgnoreCase(token.text, word);
  }
  bool AcceptKeyword(std::string_view word) {
    if (!PeekKeyword(word)) return false;
    ++index_;
    return true;
  }
  const Token& Next() {
    const Token& token = Peek();
    if (index_ < tokens_.size() - 1) ++index_;
    return token;
  }

  static std::string Describe(const Token& token) {
    switch (token.kind) {
      case TokenKind::kEnd:
        return "end of expression";
      case TokenKind::kString:
        return "string '" + token.text + "'";
      case TokenKind::kQuotedIdentifier:
        return "\"" + token.text + "\"";
      default:
        return "'" + token.text + "'";
    }
  }

 private:
  bool PeekOperator(std::string_view op) const {
    return Peek().kind == TokenKind::kOperator && Peek().text == op;
  }

  Status ExpectKeyword(std::string_view word, std::string_view context) {
    if (AcceptKeyword(word)) return Status::OK();
    return ErrorAt(Peek().pos, "expected " + std::string(word) + " " + std::string(context) +
                                   " but found " + Describe(Peek()));
  }
  Status Expect(TokenKind kind, std::string_view what) {
    if (Peek().kind == kind) {
      Next();
      return Status::OK();
    }
    return ErrorAt(Peek().pos, "expected " + std::string(what) + " but found " + Describe(Peek()));
  }

  static Status CheckHeight(const Ast& node, size_t pos) {
    if (node.height <= kMaxHeight) return Status::OK();
    return ErrorAt(pos, "expression is nested too deeply (more than " + std::to_string(kMaxHeight) +
                            " levels of operators)");
  }

  static AstPtr Binary(BinaryOp op, size_t pos, AstPtr left, AstPtr right) {
    AstPtr node = NewAst(AstKind::kBinary, pos);
    node->start = left->start;
    node->binary_op = op;
    AddChild(node.get(), std::move(left));
    AddChild(node.get(), std::move(right));
    return node;
  }

  Result<AstPtr> ParseOr() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseAnd());
    while (PeekKeyword("or")) {
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseAnd());
      left = Binary(BinaryOp::kOr, pos, std::move(left), std::move(right));
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseAnd() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseNot());
    while (PeekKeyword("and")) {
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseNot());
      left = Binary(BinaryOp::kAnd, pos, std::move(left), std::move(right));
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseNot() {
    if (PeekKeyword("not")) {
      const size_t pos = Next().pos;
      if (++depth_ > kMaxDepth) return ErrorAt(pos, "expression is nested too deeply");
      EDDY_ASSIGN_OR_RETURN(AstPtr operand, ParseNot());
      --depth_;
      AstPtr node = NewAst(AstKind::kUnary, pos);
      node->unary_op = UnaryOp::kNot;
      AddChild(node.get(), std::move(operand));
      return node;
    }
    return ParseIs();
  }

  Result<AstPtr> ParseIs() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseComparison());
    while (PeekKeyword("is")) {
      const size_t pos = Next().pos;
      const bool negated = AcceptKeyword("not");
      EDDY_RETURN_IF_ERROR(ExpectKeyword("NULL", "after IS"));
      AstPtr node = NewAst(AstKind::kIsNull, pos);
      node->start = left->start;
      node->negated = negated;
      AddChild(node.get(), std::move(left));
      left = std::move(node);
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseComparison() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseRange());
    if (Peek().kind != TokenKind::kOperator) return left;
    const std::string& op = Peek().text;
    BinaryOp binary;
    if (op == "=")
      binary = BinaryOp::kEq;
    else if (op == "!=" || op == "<>")
      binary = BinaryOp::kNe;
    else if (op == "<")
      binary = BinaryOp::kLt;
    else if (op == "<=")
      binary = BinaryOp::kLe;
    else if (op == ">")
      binary = BinaryOp::kGt;
    else if (op == ">=")
      binary = BinaryOp::kGe;
    else
      return left;
    const size_t pos = Next().pos;
    EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseRange());
    return Binary(binary, pos, std::move(left), std::move(right));
  }

  Result<AstPtr> ParseRange() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseConcat());
    const bool negated = PeekKeyword("not") && (PeekKeyword("between", 1) || PeekKeyword("in", 1));
    if (negated) Next();
    if (PeekKeyword("between")) {
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr low, ParseConcat());
      EDDY_RETURN_IF_ERROR(ExpectKeyword("AND", "in BETWEEN"));
      EDDY_ASSIGN_OR_RETURN(AstPtr high, ParseConcat());
      AstPtr node = NewAst(AstKind::kBetween, pos);
      node->start = left->start;
      node->negated = negated;
      AddChild(node.get(), std::move(left));
      AddChild(node.get(), std::move(low));
      AddChild(node.get(), std::move(high));
      return node;
    }
    if (PeekKeyword("in")) {
      const size_t pos = Next().pos;
      EDDY_RETURN_IF_ERROR(Expect(TokenKind::kLeftParen, "'(' after IN"));
      AstPtr node = NewAst(AstKind::kIn, pos);
      node->start = left->start;
      node->negated = negated;
      AddChild(node.get(), std::move(left));
      do {
        EDDY_ASSIGN_OR_RETURN(AstPtr item, ParseExpr());
        AddChild(node.get(), std::move(item));
      } while (Peek().kind == TokenKind::kComma && (Next(), true));
      EDDY_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "',' or ')' in the IN list"));
      return node;
    }
    return left;
  }

  Result<AstPtr> ParseConcat() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseAdditive());
    while (PeekOperator("||")) {
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseAdditive());
      left = Binary(BinaryOp::kConcat, pos, std::move(left), std::move(right));
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseAdditive() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseMultiplicative());
    while (PeekOperator("+") || PeekOperator("-")) {
      const BinaryOp op = Peek().text == "+" ? BinaryOp::kAdd : BinaryOp::kSub;
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseMultiplicative());
      left = Binary(op, pos, std::move(left), std::move(right));
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseMultiplicative() {
    EDDY_ASSIGN_OR_RETURN(AstPtr left, ParseUnary());
    while (PeekOperator("*") || PeekOperator("/") || PeekOperator("%")) {
      const std::string& text = Peek().text;
      const BinaryOp op = text == "*"   ? BinaryOp::kMul
                          : text == "/" ? BinaryOp::kDiv
                                        : BinaryOp::kMod;
      const size_t pos = Next().pos;
      EDDY_ASSIGN_OR_RETURN(AstPtr right, ParseUnary());
      left = Binary(op, pos, std::move(left), std::move(right));
      EDDY_RETURN_IF_ERROR(CheckHeight(*left, pos));
    }
    return left;
  }

  Result<AstPtr> ParseUnary() {
    if (PeekOperator("+")) {
      Next();
      return ParseUnary();
    }
    if (PeekOperator("-")) {
      const size_t pos = Next().pos;
      // A minus directly before a number is part of the literal, so that
      // -9223372036854775808 is representable.
      if (Peek().kind == TokenKind::kInteger || Peek().kind == TokenKind::kDecimal) {
        return ParseNumber(Next(), pos, /*negative=*/true);
      }
      if (++depth_ > kMaxDepth) return ErrorAt(pos, "expression is nested too deeply");
      EDDY_ASSIGN_OR_RETURN(AstPtr operand, ParseUnary());
      --depth_;
      AstPtr node = NewAst(AstKind::kUnary, pos);
      node->unary_op = UnaryOp::kNegate;
      AddChild(node.get(), std::move(operand));
      return node;
    }
    return ParsePrimary();
  }

  static Result<AstPtr> ParseNumber(const Token& token, size_t pos, bool negative) {
    const std::string text = (negative ? "-" : "") + token.text;
    if (token.kind == TokenKind::kInteger) {
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || end != text.data() + text.size()) {
        return ErrorAt(pos, "integer literal " + text + " is out of range for int64");
      }
      AstPtr node = NewAst(AstKind::kLiteral, pos);
      node->literal = LiteralKind::kInt64;
      node->int_value = value;
      return node;
    }
    errno = 0;
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(value)) {
      return ErrorAt(pos, "numeric literal " + text + " is out of range for double");
    }
    AstPtr node = NewAst(AstKind::kLiteral, pos);
    node->literal = LiteralKind::kDouble;
    node->double_value = value;
    return node;
  }

  Result<AstPtr> ParsePrimary() {
    const Token& token = Peek();
    const size_t pos = token.pos;
    switch (token.kind) {
      case TokenKind::kLeftParen: {
        Next();
        EDDY_ASSIGN_OR_RETURN(AstPtr inner, ParseExpr());
        EDDY_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "')'"));
        return inner;
      }
      case TokenKind::kInteger:
      case TokenKind::kDecimal:
        return ParseNumber(Next(), pos, /*negative=*/false);
      case TokenKind::kString: {
        AstPtr node = NewAst(AstKind::kLiteral, pos);
        node->literal = LiteralKind::kString;
        node->text = Next().text;
        return node;
      }
      case TokenKind::kQuotedIdentifier: {
        AstPtr node = NewAst(AstKind::kColumn, pos);
        node->text = Next().text;
        node->quoted = true;
        return node;
      }
      case TokenKind::kIdentifier:
        return ParseWord();
      default:
        return ErrorAt(pos, "expected an expression but found " + Describe(token));
    }
  }

  // An unquoted word: a keyword literal, CASE, CAST, a typed literal, a
  // function call or a column.
  Result<AstPtr> ParseWord() {
    const Token& token = Next();
    const size_t pos = token.pos;
    const std::string lower = ToLower(token.text);
    if (lower == "true" || lower == "false") {
      AstPtr node = NewAst(AstKind::kLiteral, pos);
      node->literal = LiteralKind::kBool;
      node->bool_value = lower == "true";
      return node;
    }
    if (lower == "null") return NewAst(AstKind::kLiteral, pos);
    if (lower == "case") return ParseCase(pos);
    if ((lower == "cast" || lower == "try_cast") && Peek().kind == TokenKind::kLeftParen) {
      return ParseCast(pos, lower == "try_cast");
    }
    if ((lower == "timestamp" || lower == "interval") && Peek().kind == TokenKind::kString) {
      const Token& literal = Next();
      AstPtr node = NewAst(AstKind::kLiteral, pos);
      if (lower == "timestamp") {
        auto micros = ParseTimestamp(literal.text);
        if (!micros) {
          return ErrorAt(literal.pos, "'" + literal.text +
                                          "' is not an ISO 8601 timestamp (e.g. "
                                          "'2026-01-02T03:04:05Z')");
        }
        node->literal = LiteralKind::kTimestamp;
        node->int_value = *micros;
      } else {
        auto micros = ParseIntervalText(literal.text);
        if (!micros) {
          return ErrorAt(literal.pos, "'" + literal.text +
                                          "' is not an interval (e.g. '5 seconds', '100 "
                                          "milliseconds', '1 hour 30 minutes')");
        }
        node->literal = LiteralKind::kInterval;
        node->int_value = *micros;
        node->text = literal.text;
      }
      return node;
    }
    if (Peek().kind == TokenKind::kLeftParen && !IsReserved(lower)) {
      Next();
      AstPtr node = NewAst(AstKind::kCall, pos);
      node->text = lower;
      if (Peek().kind != TokenKind::kRightParen) {
        do {
          EDDY_ASSIGN_OR_RETURN(AstPtr arg, ParseExpr());
          AddChild(node.get(), std::move(arg));
        } while (Peek().kind == TokenKind::kComma && (Next(), true));
      }
      EDDY_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "',' or ')' after a function argument"));
      return node;
    }
    if (IsReserved(lower)) {
      return ErrorAt(pos, "expected an expression but found keyword " + token.text);
    }
    AstPtr node = NewAst(AstKind::kColumn, pos);
    node->text = token.text;
    return node;
  }

  Result<AstPtr> ParseCase(size_t pos) {
    AstPtr node = NewAst(AstKind::kCase, pos);
    if (!PeekKeyword("when")) {
      EDDY_ASSIGN_OR_RETURN(AstPtr operand, ParseExpr());
      node->has_operand = true;
      AddChild(node.get(), std::move(operand));
    }
    if (!PeekKeyword("when")) {
      return ErrorAt(Peek().pos, "expected WHEN in CASE but found " + Describe(Peek()));
    }
    while (AcceptKeyword("when")) {
      EDDY_ASSIGN_OR_RETURN(AstPtr condition, ParseExpr());
      EDDY_RETURN_IF_ERROR(ExpectKeyword("THEN", "after the WHEN condition"));
      EDDY_ASSIGN_OR_RETURN(AstPtr value, ParseExpr());
      AddChild(node.get(), std::move(condition));
      AddChild(node.get(), std::move(value));
    }
    if (AcceptKeyword("else")) {
      EDDY_ASSIGN_OR_RETURN(AstPtr value, ParseExpr());
      node->has_else = true;
      AddChild(node.get(), std::move(value));
    }
    EDDY_RETURN_IF_ERROR(ExpectKeyword("END", "to close CASE"));
    return node;
  }

  Result<AstPtr> ParseCast(size_t pos, bool try_cast) {
    Next();  // (
    EDDY_ASSIGN_OR_RETURN(AstPtr operand, ParseExpr());
    EDDY_RETURN_IF_ERROR(ExpectKeyword("AS", "in CAST"));
    const Token& type_token = Peek();
    if (type_token.kind != TokenKind::kIdentifier) {
      return ErrorAt(type_token.pos, "expected a type name but found " + Describe(type_token));
    }
    auto type = ParseTypeName(type_token.text);
    if (!type) {
      return ErrorAt(type_token.pos, "unknown type '" + type_token.text +
                                         "' (types: bool, int64, double, string, timestamp)");
    }
    Next();
    EDDY_RETURN_IF_ERROR(Expect(TokenKind::kRightParen, "')' to close CAST"));
    AstPtr node = NewAst(AstKind::kCast, pos);
    node->cast_type = *type;
    node->try_cast = try_cast;
    AddChild(node.get(), std::move(operand));
    return node;
  }

  std::vector<Token> tokens_;
  size_t index_ = 0;
  int depth_ = 0;
};

std::string QuoteString(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string FormatDoubleLiteral(double value) {
  char buf[40];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);  // shortest round trip
  std::string out(buf, end);
  // Keep it a decimal so it reads back as a double, not an int64.
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

void AppendAst(const Ast& ast, std::string* out);

void AppendList(const std::vector<AstPtr>& items, size_t from, std::string* out) {
  for (size_t idx = from; idx < items.size(); ++idx) {
    if (idx > from) *out += ", ";
    AppendAst(*items[idx], out);
  }
}

void AppendAst(const Ast& ast, std::string* out) {
  switch (ast.kind) {
    case AstKind::kLiteral:
      switch (ast.literal) {
        case LiteralKind::kNull:
          *out += "NULL";
          break;
        case LiteralKind::kBool:
          *out += ast.bool_value ? "true" : "false";
          break;
        case LiteralKind::kInt64:
          *out += std::to_string(ast.int_value);
          break;
        case LiteralKind::kDouble:
          *out += FormatDoubleLiteral(ast.double_value);
          break;
        case LiteralKind::kString:
          *out += QuoteString(ast.text);
          break;
        case LiteralKind::kTimestamp:
          *out += "TIMESTAMP " + QuoteString(FormatTimestamp(ast.int_value));
          break;
        case LiteralKind::kInterval:
          *out += "INTERVAL " + QuoteString(ast.text);
          break;
      }
      return;
    case AstKind::kColumn:
      *out += QuoteIdentifier(ast.text);
      return;
    case AstKind::kUnary:
      *out += ast.unary_op == UnaryOp::kNot ? "(NOT " : "(-";
      AppendAst(*ast.children[0], out);
      *out += ')';
      return;
    case AstKind::kBinary:
      *out += '(';
      AppendAst(*ast.children[0], out);
      *out += ' ';
      *out += BinaryOpName(ast.binary_op);
      *out += ' ';
      AppendAst(*ast.children[1], out);
      *out += ')';
      return;
    case AstKind::kIsNull:
      *out += '(';
      AppendAst(*ast.children[0], out);
      *out += ast.negated ? " IS NOT NULL)" : " IS NULL)";
      return;
    case AstKind::kBetween:
      *out += '(';
      AppendAst(*ast.children[0], out);
      *out += ast.negated ? " NOT BETWEEN " : " BETWEEN ";
      AppendAst(*ast.children[1], out);
      *out += " AND ";
      AppendAst(*ast.children[2], out);
      *out += ')';
      return;
    case AstKind::kIn:
      *out += '(';
      AppendAst(*ast.children[0], out);
      *out += ast.negated ? " NOT IN (" : " IN (";
      AppendList(ast.children, 1, out);
      *out += "))";
      return;
    case AstKind::kCase: {
      *out += "CASE ";
      size_t idx = 0;
      if (ast.has_operand) {
        AppendAst(*ast.children[idx++], out);
        *out += ' ';
      }
      const size_t end = ast.children.size() - (ast.has_else ? 1 : 0);
      for (; idx < end; idx += 2) {
        *out += "WHEN ";
        AppendAst(*ast.children[idx], out);
        *out += " THEN ";
        AppendAst(*ast.children[idx + 1], out);
        *out += ' ';
      }
      if (ast.has_else) {
        *out += "ELSE ";
        AppendAst(*ast.children.back(), out);
        *out += ' ';
      }
      *out += "END";
      return;
    }
    case AstKind::kCall:
      *out += ast.text;
      *out += '(';
      AppendList(ast.children, 0, out);
      *out += ')';
      return;
    case AstKind::kCast:
      *out += ast.try_cast ? "TRY_CAST(" : "CAST(";
      AppendAst(*ast.children[0], out);
      *out += " AS ";
      *out += TypeName(ast.cast_type);
      *out += ')';
      return;
  }
}

}  // namespace

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kConcat:
      return "||";
    case BinaryOp::kEq:
      return "=";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAnd:
      return "AND";
    case BinaryOp::kOr:
      return "OR";
  }
  return "?";
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kLt || op == BinaryOp::kLe ||
         op == BinaryOp::kGt || op == BinaryOp::kGe;
}

std::string QuoteIdentifier(std::string_view name) {
  bool plain = !name.empty() && !IsReserved(name) && !((name[0] >= '0' && name[0] <= '9'));
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) plain = false;
  }
  if (plain) return std::string(name);
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::optional<int64_t> ParseIntervalText(std::string_view text) {
  size_t i = 0;
  int64_t total = 0;
  bool any = false;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_space();
  while (i < text.size()) {
    const size_t number_start = i;
    if (text[i] == '-' || text[i] == '+') ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    int64_t count = 0;
    const char* first = text.data() + number_start + (text[number_start] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(first, text.data() + i, count);
    if (ec != std::errc() || end != text.data() + i) return std::nullopt;
    skip_space();
    const size_t unit_start = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z')))
      ++i;
    const std::string unit = ToLower(text.substr(unit_start, i - unit_start));
    int64_t scale;
    if (unit == "microsecond" || unit == "microseconds" || unit == "us") {
      scale = 1;
    } else if (unit == "millisecond" || unit == "milliseconds" || unit == "ms" ||
               unit == "millis") {
      scale = 1000;
    } else if (unit == "second" || unit == "seconds" || unit == "sec" || unit == "secs" ||
               unit == "s") {
      scale = 1000000;
    } else if (unit == "minute" || unit == "minutes" || unit == "min" || unit == "mins" ||
               unit == "m") {
      scale = 60LL * 1000000;
    } else if (unit == "hour" || unit == "hours" || unit == "h") {
      scale = 3600LL * 1000000;
    } else if (unit == "day" || unit == "days" || unit == "d") {
      scale = 86400LL * 1000000;
    } else if (unit == "week" || unit == "weeks" || unit == "w") {
      scale = 7 * 86400LL * 1000000;
    } else {
      return std::nullopt;
    }
    int64_t part;
    if (__builtin_mul_overflow(count, scale, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
    any = true;
    skip_space();
  }
  if (!any) return std::nullopt;
  return total;
}

Result<std::unique_ptr<Ast>> ParseExpression(std::string_view text) {
  EDDY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  Parser parser(std::move(tokens));
  EDDY_ASSIGN_OR_RETURN(AstPtr ast, parser.ParseExpr());
  EDDY_RETURN_IF_ERROR(parser.ExpectEnd());
  return ast;
}

Result<SelectItemAst> ParseSelectItem(std::string_view text) {
  EDDY_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  SelectItemAst item;
  if (tokens.size() == 2 && tokens[0].kind == TokenKind::kOperator && tokens[0].text == "*") {
    item.star = true;
    return item;
  }
  Parser parser(std::move(tokens));
  EDDY_ASSIGN_OR_RETURN(item.expression, parser.ParseExpr());
  if (parser.AcceptKeyword("as")) {
    const Token& name = parser.Peek();
    if (name.kind != TokenKind::kIdentifier && name.kind != TokenKind::kQuotedIdentifier) {
      return ErrorAt(name.pos,
                     "expected a column name after AS but found " + Parser::Describe(name));
    }
    if (name.kind == TokenKind::kIdentifier && IsReserved(name.text)) {
      return ErrorAt(name.pos,
                     "'" + name.text + "' is a reserved word; quote it as \"" + name.text + "\"");
    }
    item.alias = name.text;
    parser.Next();
  }
  EDDY_RETURN_IF_ERROR(parser.ExpectEnd());
  return item;
}

std::string AstToString(const Ast& ast) {
  std::string out;
  AppendAst(ast, &out);
  return out;
}

}  // namespace eddy::expr
