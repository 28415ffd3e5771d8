#pragma once
// JSON string literals, the one escaping every JSON writer in Eddy uses
// (record encoders, dead letters, model export, the server's responses).

#include <string>
#include <string_view>

namespace eddy {

// Appends `text` to `out` as a quoted JSON string: `"` and `\\` escaped,
// control characters as \n, \r, \t, \b, \f or \u00XX, valid UTF-8 kept
// as is and each byte of invalid UTF-8 replaced by U+FFFD (so the output is
// always valid JSON).
void AppendJsonString(std::string_view text, std::string* out);

// `text` as a quoted JSON string.
inline std::string JsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(text, &out);
  return out;
}

}  // namespace eddy
