// Tokenizer of the expression language. Positions count UTF-8 code points
// so error messages point at the right character in non-ASCII text.

#include <string>

#include "runtime/expr/ast.h"

namespace eddy::expr {

Status ErrorAt(size_t pos, std::string_view message) {
  std::string text = "at " + std::to_string(pos) + ": ";
  text.append(message);
  return Status::InvalidArgument(std::move(text));
}

namespace {

bool IsIdentStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsIdentChar(unsigned char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// Maps byte offsets to 1-based code point positions; offsets must be asked
// for in increasing order, which keeps the whole pass linear.
class PositionCounter {
 public:
  explicit PositionCounter(std::string_view text) : text_(text) {}
  size_t At(size_t byte_offset) {
    for (; byte_ < byte_offset && byte_ < text_.size(); ++byte_) {
      if ((static_cast<unsigned char>(text_[byte_]) & 0xC0) != 0x80) ++chars_;
    }
    return chars_ + 1;
  }

 private:
  std::string_view text_;
  size_t byte_ = 0;
  size_t chars_ = 0;
};

// Reads a quoted run starting at text[start] == quote, where a doubled quote
// stands for one. Returns the end offset (past the closing quote) or npos.
size_t ReadQuoted(std::string_view text, size_t start, char quote, std::string* out) {
  size_t i = start + 1;
  while (i < text.size()) {
    if (text[i] == quote) {
      if (i + 1 < text.size() && text[i + 1] == quote) {
        out->push_back(quote);
        i += 2;
        continue;
      }
      return i + 1;
    }
    out->push_back(text[i]);
    ++i;
  }
  return std::string_view::npos;
}

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  PositionCounter positions(text);
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {  // -- comment
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    Token token;
    token.pos = positions.At(i);
    const size_t start = i;
    if (IsIdentStart(c)) {
      while (i < text.size() && IsIdentChar(static_cast<unsigned char>(text[i]))) ++i;
      token.kind = TokenKind::kIdentifier;
      token.text = std::string(text.substr(start, i - start));
    } else if (IsDigit(c) || (c == '.' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      bool decimal = false;
      while (i < text.size() && IsDigit(text[i])) ++i;
      if (i < text.size() && text[i] == '.') {
        decimal = true;
        ++i;
        while (i < text.size() && IsDigit(text[i])) ++i;
      }
      if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        size_t exp = i + 1;
        if (exp < text.size() && (text[exp] == '+' || text[exp] == '-')) ++exp;
        if (exp < text.size() && IsDigit(text[exp])) {
          decimal = true;
          i = exp;
          while (i < text.size() && IsDigit(text[i])) ++i;
        }
      }
      if (i < text.size() && IsIdentStart(static_cast<unsigned char>(text[i]))) {
        return ErrorAt(token.pos,
                       "malformed number '" + std::string(text.substr(start, i + 1 - start)) + "'");
      }
      token.kind = decimal ? TokenKind::kDecimal : TokenKind::kInteger;
      token.text = std::string(text.substr(start, i - start));
    } else if (c == '\'') {
      token.kind = TokenKind::kString;
      i = ReadQuoted(text, start, '\'', &token.text);
      if (i == std::string_view::npos) return ErrorAt(token.pos, "unterminated string literal");
    } else if (c == '"') {
      token.kind = TokenKind::kQuotedIdentifier;
      i = ReadQuoted(text, start, '"', &token.text);
      if (i == std::string_view::npos) return ErrorAt(token.pos, "unterminated quoted identifier");
      if (token.text.empty()) return ErrorAt(token.pos, "empty quoted identifier");
    } else if (c == '(') {
      token.kind = TokenKind::kLeftParen;
      token.text = "(";
      ++i;
    } else if (c == ')') {
      token.kind = TokenKind::kRightParen;
      token.text = ")";
      ++i;
    } else if (c == ',') {
      token.kind = TokenKind::kComma;
      token.text = ",";
      ++i;
    } else {
      token.kind = TokenKind::kOperator;
      const std::string_view two = text.substr(i, 2);
      if (two == "||" || two == "!=" || two == "<>" || two == "<=" || two == ">=" || two == "==") {
        token.text = two == "==" ? "=" : std::string(two);
        i += 2;
      } else if (c == '+' || c == '-' || c == '*' || c == '/' || c == '%' || c == '=' || c == '<' ||
                 c == '>') {
        token.text = std::string(1, static_cast<char>(c));
        ++i;
      } else {
        return ErrorAt(token.pos,
                       "unexpected character '" + std::string(1, static_cast<char>(c)) + "'");
      }
    }
    tokens.push_back(std::move(token));
  }
  Token end;
  end.kind = TokenKind::kEnd;
  end.pos = positions.At(text.size());
  tokens.push_back(std::move(end));
  return tokens;
}

}  // namespace eddy::expr
