#include "runtime/sql/sql_source.h"

#include <algorithm>
#include <cctype>

#include "runtime/spec/yaml_to_proto.h"

namespace eddy::sql {

SourceText::SourceText(const std::vector<SqlText>& texts) : texts_(texts) {
  for (const SqlText& text : texts_) {
    // A statement never runs on into the next text, even without its ';'.
    if (!combined_.empty()) combined_ += "\n;\n";
    begins_.push_back(static_cast<int>(combined_.size()));
    combined_ += text.text;
  }
}

SourceLocation SourceText::Location(int offset) const {
  if (texts_.empty()) return {};
  size_t text_idx = 0;
  while (text_idx + 1 < begins_.size() && begins_[text_idx + 1] <= offset) ++text_idx;
  const std::string& text = texts_[text_idx].text;
  const int local = std::clamp(offset - begins_[text_idx], 0, static_cast<int>(text.size()));
  SourceLocation location{texts_[text_idx].name, 1, 1};
  for (int idx = 0; idx < local; ++idx) {
    if (text[idx] == '\n') {
      ++location.line;
      location.column = 1;
    } else if ((static_cast<unsigned char>(text[idx]) & 0xC0) != 0x80) {
      ++location.column;  // columns count characters, not UTF-8 bytes
    }
  }
  return location;
}

std::string SourceText::Position(int offset) const {
  const SourceLocation location = Location(offset);
  return location.file + ":" + std::to_string(location.line) + ":" +
         std::to_string(location.column);
}

Status SourceText::Error(int offset, std::string_view message) const {
  return Status::InvalidArgument(Position(offset) + ": " + std::string(message));
}

Status SourceText::ErrorAtPath(std::string_view path, std::string_view message) const {
  std::string_view prefix = path;
  const FieldOrigin* origin = nullptr;
  while (true) {
    auto it = origins.find(prefix);
    if (it != origins.end()) {
      origin = &it->second;
      break;
    }
    if (prefix.empty()) break;
    const size_t cut = prefix.find_last_of(".[");
    prefix = cut == std::string_view::npos ? std::string_view() : prefix.substr(0, cut);
  }
  if (origin == nullptr) {
    const std::string file = texts_.empty() ? std::string() : texts_.front().name;
    return PositionedError(SourceLocation{file, 0, 0}, path, message);
  }
  int offset = origin->offset;
  std::string_view text = message;
  // Expression errors start "at N: " (1-based, in the generated text).
  if (text.starts_with("at ") && !origin->anchors.empty()) {
    size_t pos = 3;
    int column = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      column = column * 10 + (text[pos++] - '0');
    }
    if (pos > 3 && text.substr(pos).starts_with(": ")) {
      const int generated = column - 1;
      for (const Anchor& anchor : origin->anchors) {
        if (anchor.generated > generated) break;
        offset = anchor.original;
      }
      text.remove_prefix(pos + 2);
    }
  }
  std::string out = Position(offset) + ": ";
  if (!origin->label.empty()) out += origin->label + ": ";
  out += text;
  return Status::InvalidArgument(std::move(out));
}

}  // namespace eddy::sql
