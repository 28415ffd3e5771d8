#pragma once
// Internal to runtime/sql: where each part of a compiled job came from in
// the SQL text, and how an error at a spec field path is told in SQL terms.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/sql/sql.h"

namespace eddy::sql {

// Generated expression text offset -> offset in the SQL it came from, so an
// expression error "at N: ..." points into the SQL.
struct Anchor {
  int generated = 0;
  int original = 0;
};

// The SQL behind one spec field.
struct FieldOrigin {
  int offset = 0;     // in SourceText::combined
  std::string label;  // how the SQL calls it: "WHERE", "WITH option topic"
  std::vector<Anchor> anchors;
};

// The texts compiled together, joined into one, and the origin of every
// spec field set from them. Shared with the job's error hook.
class SourceText {
 public:
  explicit SourceText(const std::vector<SqlText>& texts);

  const std::string& combined() const { return combined_; }
  // "NAME:LINE:COL" of an offset in combined().
  std::string Position(int offset) const;
  SourceLocation Location(int offset) const;
  Status Error(int offset, std::string_view message) const;
  // The job's error hook: the origin of the nearest enclosing field path
  // gives the position; "at N: " in the message moves it into the
  // expression.
  Status ErrorAtPath(std::string_view path, std::string_view message) const;

  std::map<std::string, FieldOrigin, std::less<>> origins;

 private:
  std::vector<SqlText> texts_;
  std::vector<int> begins_;  // offset of each text in combined_
  std::string combined_;
};

}  // namespace eddy::sql
