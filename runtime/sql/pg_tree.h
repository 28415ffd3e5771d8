#pragma once
// Internal to runtime/sql: PostgreSQL's parser (libpg_query) and the
// streaming pre-pass in front of it.
//
// libpg_query returns the raw parse tree as JSON; PgNode reads it without
// copying (it points into a simdjson document that PgTree owns). The
// pre-pass (RewriteStreamingSql) maps the few streaming keywords that
// PostgreSQL's grammar lacks onto constructs it has, and keeps a map from
// the rewritten text back to the original, so every position reported is
// one in the text the user wrote. docs/sql.md lists the rewrites.

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace eddy::sql {

// One node of the parse tree: a wrapped node {"ColumnRef": {...}}, a plain
// message {...}, a list [...] or a scalar. Missing fields read as invalid
// nodes, empty strings, 0 or false (proto3's JSON leaves defaults out).
class PgNode {
 public:
  PgNode() = default;
  explicit PgNode(simdjson::dom::element element) : element_(element), valid_(true) {}

  bool valid() const { return valid_; }
  // The node type of a wrapped node ("ColumnRef", "A_Const"), else "".
  std::string_view type() const;
  // A member of this message (a wrapped node is looked through).
  PgNode operator[](std::string_view key) const;
  // The elements of a list; a wrapped {"List": {"items": [...]}} too.
  std::vector<PgNode> items() const;
  std::string_view Str(std::string_view key) const;
  int64_t Int(std::string_view key, int64_t missing = 0) const;
  bool Bool(std::string_view key) const;
  // This node as a string (a JSON string, or a wrapped String node).
  std::string_view AsString() const;
  // Calls `visit` on each member of this message or element of this list
  // (wrapped nodes are looked through).
  void ForEachChild(const std::function<void(PgNode)>& visit) const;
  // The node's byte offset in the parsed text, or -1.
  int location() const { return static_cast<int>(Int("location", -1)); }

 private:
  simdjson::dom::element Body() const;

  simdjson::dom::element element_;
  bool valid_ = false;
};

// A parsed text: the statements with their byte ranges.
struct PgStatement {
  PgNode node;  // the wrapped statement, e.g. {"SelectStmt": {...}}
  int location = 0;
  int length = 0;  // 0: to the end of the text
};

class PgTree {
 public:
  std::vector<PgStatement> statements;

 private:
  friend Result<std::unique_ptr<PgTree>> ParsePostgres(const std::string& text,
                                                       struct PgSyntaxError* error);
  simdjson::dom::parser parser_;
  simdjson::padded_string json_;
};

// A syntax error: PostgreSQL's message and the byte offset it points at.
struct PgSyntaxError {
  std::string message;
  int offset = 0;
};

// Parses with PostgreSQL's grammar. A syntax error is returned in `error`
// (and the result is null); other failures are a Status.
Result<std::unique_ptr<PgTree>> ParsePostgres(const std::string& text, PgSyntaxError* error);

// A token of PostgreSQL's scanner (comments included): byte range [start, end).
struct PgToken {
  int start = 0;
  int end = 0;
};
Result<std::vector<PgToken>> ScanPostgres(const std::string& text);

// What the pre-pass found, keyed by offsets in the rewritten text.
enum class CreateKind { kSource, kSink, kModel };
enum class EmitMode { kOnWindowClose, kOnUpdate };

struct RewrittenSql {
  std::string text;
  // Rewritten offset of the relation name of a CREATE SOURCE/SINK/MODEL
  // (now CREATE TABLE) -> what it was.
  std::map<int, CreateKind> creates;
  // Rewritten offsets of the CONSTRAINT keyword that stands for a
  // WATERMARK FOR clause.
  std::set<int> watermarks;
  // EMIT clauses: rewritten offset -> mode.
  std::map<int, EmitMode> emits;

  // Maps an offset in `text` to the offset in the original it came from.
  int Original(int rewritten) const;

  struct Segment {
    int rewritten_start = 0;
    int rewritten_length = 0;
    int original_start = 0;
    int original_length = 0;
  };
  std::vector<Segment> segments;  // by rewritten_start
};

// The pre-pass: CREATE SOURCE / SINK / MODEL become CREATE TABLE (with an
// empty column list where PostgreSQL needs one), WATERMARK FOR c AS e
// becomes CONSTRAINT c CHECK (e), EMIT ON WINDOW CLOSE / ON UPDATE and FOR
// SYSTEM_TIME AS OF x are blanked out. Errors carry the original offset in
// `error` and return false.
bool RewriteStreamingSql(const std::string& original, const std::vector<PgToken>& tokens,
                         RewrittenSql* out, PgSyntaxError* error);

}  // namespace eddy::sql
