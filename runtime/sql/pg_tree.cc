#include "runtime/sql/pg_tree.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace eddy::sql {
namespace {

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

// A wrapped node is an object with one key naming a node type (node types
// start with a capital letter; message fields never do).
bool Unwrap(simdjson::dom::element element, std::string_view* type, simdjson::dom::element* body) {
  simdjson::dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return false;
  auto it = object.begin();
  if (it == object.end()) return false;
  const std::string_view key = it.key();
  if (key.empty() || !IsUpper(key[0])) return false;
  auto next = it;
  ++next;
  if (next != object.end()) return false;
  if (type != nullptr) *type = key;
  if (body != nullptr) *body = it.value();
  return true;
}

}  // namespace

simdjson::dom::element PgNode::Body() const {
  simdjson::dom::element body;
  if (Unwrap(element_, nullptr, &body)) return body;
  return element_;
}

std::string_view PgNode::type() const {
  std::string_view type;
  if (valid_ && Unwrap(element_, &type, nullptr)) return type;
  return {};
}

PgNode PgNode::operator[](std::string_view key) const {
  if (!valid_) return PgNode();
  simdjson::dom::object object;
  if (Body().get_object().get(object) != simdjson::SUCCESS) return PgNode();
  simdjson::dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS) return PgNode();
  return PgNode(value);
}

std::vector<PgNode> PgNode::items() const {
  std::vector<PgNode> out;
  if (!valid_) return out;
  simdjson::dom::element list = element_;
  if (type() == "List") {
    if (Body().at_key("items").get(list) != simdjson::SUCCESS) return out;
  }
  simdjson::dom::array array;
  if (list.get_array().get(array) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element item : array) out.emplace_back(item);
  return out;
}

void PgNode::ForEachChild(const std::function<void(PgNode)>& visit) const {
  if (!valid_) return;
  simdjson::dom::element body = Body();
  simdjson::dom::object object;
  simdjson::dom::array array;
  if (body.get_object().get(object) == simdjson::SUCCESS) {
    for (auto field : object) visit(PgNode(field.value));
  } else if (body.get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) visit(PgNode(item));
  }
}

std::string_view PgNode::Str(std::string_view key) const { return (*this)[key].AsString(); }

int64_t PgNode::Int(std::string_view key, int64_t missing) const {
  PgNode value = (*this)[key];
  if (!value.valid_) return missing;
  int64_t number = 0;
  if (value.element_.get_int64().get(number) == simdjson::SUCCESS) return number;
  return missing;
}

bool PgNode::Bool(std::string_view key) const {
  PgNode value = (*this)[key];
  bool flag = false;
  return value.valid_ && value.element_.get_bool().get(flag) == simdjson::SUCCESS && flag;
}

std::string_view PgNode::AsString() const {
  if (!valid_) return {};
  std::string_view text;
  if (element_.get_string().get(text) == simdjson::SUCCESS) return text;
  if (type() == "String") return Str("sval");
  return {};
}

Result<std::unique_ptr<PgTree>> ParsePostgres(const std::string& text, PgSyntaxError* error) {
  PgQueryParseResult result = pg_query_parse(text.c_str());
  // The result's buffers are libpg_query's to free, on every path.
  struct Free {
    PgQueryParseResult* result;
    ~Free() { pg_query_free_parse_result(*result); }
  } free_result{&result};
  if (result.error != nullptr) {
    error->message = result.error->message != nullptr ? result.error->message : "syntax error";
    // cursorpos is 1-based; 0 when PostgreSQL gave no position.
    error->offset =
        result.error->cursorpos > 0 ? result.error->cursorpos - 1 : static_cast<int>(text.size());
    return std::unique_ptr<PgTree>();
  }
  auto tree = std::make_unique<PgTree>();
  tree->json_ = simdjson::padded_string(std::string_view(result.parse_tree));
  simdjson::dom::element root;
  if (tree->parser_.parse(tree->json_).get(root) != simdjson::SUCCESS) {
    return Status::Internal("cannot read libpg_query's parse tree");
  }
  for (PgNode raw : PgNode(root)["stmts"].items()) {
    PgStatement statement;
    statement.node = raw["stmt"];
    statement.location = static_cast<int>(raw.Int("stmt_location"));
    statement.length = static_cast<int>(raw.Int("stmt_len"));
    tree->statements.push_back(statement);
  }
  return tree;
}

Result<std::vector<PgToken>> ScanPostgres(const std::string& text) {
  PgQueryScanResult result = pg_query_scan(text.c_str());
  struct Free {
    PgQueryScanResult* result;
    ~Free() { pg_query_free_scan_result(*result); }
  } free_result{&result};
  std::vector<PgToken> tokens;
  if (result.error != nullptr) {
    // An unterminated string or comment: the parser reports it with its
    // position, so the pre-pass simply has no tokens past it.
    return tokens;
  }
  // ScanResult { int32 version = 1; repeated ScanToken tokens = 2; },
  // ScanToken { int32 start = 1; int32 end = 2; ... }: read off the wire.
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(result.pbuf.data),
                                            static_cast<int>(result.pbuf.len));
  while (uint32_t tag = in.ReadTag()) {
    if (tag != ((2 << 3) | 2)) {
      if (!google::protobuf::internal::WireFormatLite::SkipField(&in, tag)) break;
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) break;
    const auto limit = in.PushLimit(static_cast<int>(length));
    PgToken token;
    while (uint32_t field = in.ReadTag()) {
      uint32_t value = 0;
      if ((field & 7) != 0 || !in.ReadVarint32(&value)) {
        if (!google::protobuf::internal::WireFormatLite::SkipField(&in, field)) break;
        continue;
      }
      if ((field >> 3) == 1) token.start = static_cast<int>(value);
      if ((field >> 3) == 2) token.end = static_cast<int>(value);
    }
    in.PopLimit(limit);
    tokens.push_back(token);
  }
  return tokens;
}

int RewrittenSql::Original(int rewritten) const {
  auto it = std::upper_bound(
      segments.begin(), segments.end(), rewritten,
      [](int offset, const Segment& segment) { return offset < segment.rewritten_start; });
  if (it == segments.begin()) return rewritten;
  --it;
  const int within = rewritten - it->rewritten_start;
  if (it->rewritten_length == it->original_length) return it->original_start + within;
  // Replaced or inserted text points at the original text it stands for.
  return it->original_start + std::min(within, std::max(it->original_length - 1, 0));
}

namespace {

// The pre-pass over the scanner's tokens.
class Rewriter {
 public:
  Rewriter(const std::string& text, const std::vector<PgToken>& tokens)
      : text_(text), tokens_(tokens) {}

  bool Run(RewrittenSql* out, PgSyntaxError* error) {
    bool statement_start = true;
    for (size_t idx = 0; idx < tokens_.size(); ++idx) {
      const std::string word = Word(idx);
      if (Text(idx).starts_with("--") || Text(idx).starts_with("/*")) continue;
      if (Text(idx) == ";") {
        statement_start = true;
        continue;
      }
      if (statement_start && word == "create") {
        if (!Create(idx, error)) return false;
      } else if (word == "watermark" && Word(idx + 1) == "for") {
        if (!Watermark(idx, error)) return false;
      } else if (word == "emit") {
        if (!Emit(idx, error)) return false;
      } else if (word == "for" && Word(idx + 1) == "system_time" && Word(idx + 2) == "as" &&
                 Word(idx + 3) == "of") {
        SystemTime(idx);
      }
      statement_start = false;
    }
    Build(out);
    return true;
  }

 private:
  struct Edit {
    int start = 0;  // original range replaced (empty: an insertion)
    int end = 0;
    std::string replacement;
    // What to record at the replacement's rewritten offset (+ delta).
    std::optional<CreateKind> create;
    bool watermark = false;
    std::optional<EmitMode> emit;
  };

  std::string_view Text(size_t idx) const {
    if (idx >= tokens_.size()) return {};
    return std::string_view(text_).substr(tokens_[idx].start,
                                          tokens_[idx].end - tokens_[idx].start);
  }

  // The token as a lower-case bare word, or "" (quoted names, strings,
  // comments and punctuation are not words).
  std::string Word(size_t idx) const {
    const std::string_view text = Text(idx);
    if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) {
      return "";
    }
    std::string word;
    for (char c : text) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '$') return "";
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return word;
  }

  bool Fail(size_t idx, std::string message, PgSyntaxError* error) const {
    error->message = std::move(message);
    error->offset = idx < tokens_.size() ? tokens_[idx].start : static_cast<int>(text_.size());
    return false;
  }

  void Replace(size_t idx, std::string replacement) {
    edits_.push_back({tokens_[idx].start, tokens_[idx].end, std::move(replacement)});
  }
  void Blank(size_t idx) { Replace(idx, std::string(Text(idx).size(), ' ')); }
  void InsertAfter(size_t idx, std::string text) {
    edits_.push_back({tokens_[idx].end, tokens_[idx].end, std::move(text)});
  }

  // Index of the token closing the group opened at `open`, or size.
  size_t Closing(size_t open) const {
    int depth = 0;
    for (size_t idx = open; idx < tokens_.size(); ++idx) {
      if (Text(idx) == "(") ++depth;
      if (Text(idx) == ")" && --depth == 0) return idx;
      if (Text(idx) == ";") break;
    }
    return tokens_.size();
  }

  // CREATE SOURCE|SINK|MODEL name ...: the statement PostgreSQL parses is
  // CREATE TABLE name (...) ... with the kind remembered at the name.
  bool Create(size_t create, PgSyntaxError* error) {
    size_t kind_idx = create + 1;
    const std::string kind_word = Word(kind_idx);
    std::optional<CreateKind> kind;
    if (kind_word == "source") kind = CreateKind::kSource;
    if (kind_word == "sink") kind = CreateKind::kSink;
    if (kind_word == "model") kind = CreateKind::kModel;
    if (!kind) return true;
    const size_t name = kind_idx + 1;
    if (name >= tokens_.size() || Text(name) == ";" || Text(name) == "(") {
      return Fail(name, "expected a name after CREATE " + Upper(kind_word), error);
    }
    Replace(kind_idx, "TABLE");
    Edit& marker = edits_.back();
    marker.create = kind;
    // The kind is recorded at the name, where PostgreSQL puts the table's
    // location: replacement "TABLE" then the original gap to the name.
    marker_name_offset_.push_back({edits_.size() - 1, tokens_[name].start - tokens_[kind_idx].end});
    const size_t after = name + 1;
    const std::string next = Word(after);
    switch (*kind) {
      case CreateKind::kSource:
        if (Text(after) != "(") InsertAfter(name, " ()");
        break;
      case CreateKind::kModel:
        if (Text(after) == "(") {
          return Fail(after,
                      "CREATE MODEL takes no column list: CREATE MODEL name USING type WITH (...)",
                      error);
        }
        InsertAfter(name, " ()");
        break;
      case CreateKind::kSink: {
        if (next == "from") {
          return Fail(after,
                      "CREATE SINK ... FROM is not supported: write CREATE SINK name WITH (...) AS "
                      "SELECT * FROM relation",
                      error);
        }
        // With AS SELECT it is PostgreSQL's CREATE TABLE ... AS; without, a
        // sink declared for INSERT INTO, which needs a column list.
        bool has_query = false;
        for (size_t idx = after; idx < tokens_.size() && Text(idx) != ";"; ++idx) {
          if (Text(idx) == "(") idx = Closing(idx);
          if (Word(idx) == "as") has_query = true;
        }
        if (!has_query && Text(after) != "(") InsertAfter(name, " ()");
        break;
      }
    }
    return true;
  }

  static std::string Upper(std::string word) {
    for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return word;
  }

  // WATERMARK FOR col AS expr  ->  CONSTRAINT col CHECK (expr)
  bool Watermark(size_t idx, PgSyntaxError* error) {
    const size_t column = idx + 2;
    if (column >= tokens_.size() || (Word(column).empty() && Text(column).front() != '"')) {
      return Fail(column, "expected a column name after WATERMARK FOR", error);
    }
    if (Word(column + 1) != "as") {
      return Fail(column + 1,
                  "expected AS after WATERMARK FOR " + std::string(Text(column)) +
                      " (WATERMARK FOR column AS column - INTERVAL '5' SECOND)",
                  error);
    }
    Replace(idx, "CONSTRAINT");
    edits_.back().watermark = true;
    Blank(idx + 1);
    Replace(column + 1, "CHECK (");
    int depth = 0;
    size_t end = column + 2;
    for (; end < tokens_.size(); ++end) {
      const std::string_view text = Text(end);
      if (text == "(") ++depth;
      if (text == ")" && depth-- == 0) break;
      if (text == "," && depth == 0) break;
      if (text == ";") break;
    }
    if (end >= tokens_.size() || end == column + 2) {
      return Fail(end, "expected the watermark expression and the end of the column list", error);
    }
    InsertAfter(end - 1, ")");
    return true;
  }

  // EMIT ON WINDOW CLOSE | EMIT ON UPDATE | EMIT CHANGES: blanked out.
  bool Emit(size_t idx, PgSyntaxError* error) {
    std::optional<EmitMode> mode;
    size_t last = idx;
    if (Word(idx + 1) == "on" && Word(idx + 2) == "window" && Word(idx + 3) == "close") {
      mode = EmitMode::kOnWindowClose;
      last = idx + 3;
    } else if (Word(idx + 1) == "on" && Word(idx + 2) == "update") {
      mode = EmitMode::kOnUpdate;
      last = idx + 2;
    } else if (Word(idx + 1) == "changes") {
      mode = EmitMode::kOnUpdate;
      last = idx + 1;
    } else {
      return Fail(idx + 1, "expected ON WINDOW CLOSE or ON UPDATE after EMIT", error);
    }
    for (size_t blank = idx; blank <= last; ++blank) Blank(blank);
    edits_[edits_.size() - (last - idx + 1)].emit = mode;
    return true;
  }

  // FOR SYSTEM_TIME AS OF t.col: every join with a keyed table is a lookup
  // of its latest row, so the clause (Flink's) is accepted and dropped.
  void SystemTime(size_t idx) {
    size_t last = idx + 3;
    for (size_t next = idx + 4; next < tokens_.size(); ++next) {
      const bool name = !Word(next).empty() || Text(next).front() == '"';
      const bool expect_name = (next - idx) % 2 == 0;
      if (expect_name ? !name : Text(next) != ".") break;
      if (expect_name) last = next;
    }
    for (size_t blank = idx; blank <= last; ++blank) Blank(blank);
  }

  void Build(RewrittenSql* out) {
    // Markers of CREATE kinds point at the name: remember which edit.
    std::map<size_t, int> name_delta(marker_name_offset_.begin(), marker_name_offset_.end());
    std::vector<size_t> order(edits_.size());
    for (size_t idx = 0; idx < order.size(); ++idx) order[idx] = idx;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return edits_[a].start < edits_[b].start; });
    int pos = 0;
    auto copy = [&](int until) {
      if (until <= pos) return;
      out->segments.push_back({static_cast<int>(out->text.size()), until - pos, pos, until - pos});
      out->text.append(text_, pos, until - pos);
      pos = until;
    };
    for (size_t idx : order) {
      const Edit& edit = edits_[idx];
      copy(edit.start);
      const int at = static_cast<int>(out->text.size());
      out->segments.push_back(
          {at, static_cast<int>(edit.replacement.size()), edit.start, edit.end - edit.start});
      out->text += edit.replacement;
      pos = edit.end;
      if (edit.create) {
        out->creates[at + static_cast<int>(edit.replacement.size()) + name_delta[idx]] =
            *edit.create;
      }
      if (edit.watermark) out->watermarks.insert(at);
      if (edit.emit) out->emits[at] = *edit.emit;
    }
    copy(static_cast<int>(text_.size()));
  }

  const std::string& text_;
  const std::vector<PgToken>& tokens_;
  std::vector<Edit> edits_;
  std::vector<std::pair<size_t, int>> marker_name_offset_;
};

}  // namespace

bool RewriteStreamingSql(const std::string& original, const std::vector<PgToken>& tokens,
                         RewrittenSql* out, PgSyntaxError* error) {
  return Rewriter(original, tokens).Run(out, error);
}

}  // namespace eddy::sql
