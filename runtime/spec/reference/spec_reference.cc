#include "runtime/spec/reference/spec_reference.h"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

namespace eddy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::OneofDescriptor;
using google::protobuf::SourceLocation;

class CollectErrors final : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column,
                const std::string& message) override {
    errors_ += file + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
               message + "\n";
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string errors_;
};

// The lines of a leading comment, each without the one space that follows
// "//"; no trailing empty line.
template <typename DescriptorT>
std::vector<std::string> CommentLines(const DescriptorT* descriptor) {
  SourceLocation location;
  std::vector<std::string> lines;
  if (!descriptor->GetSourceLocation(&location)) return lines;
  std::istringstream text(location.leading_comments);
  std::string line;
  while (std::getline(text, line)) {
    if (!line.empty() && line.front() == ' ') line.erase(0, 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string Trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(start, end - start + 1));
}

// Lines as one line of prose.
std::string JoinLines(const std::vector<std::string>& lines, size_t begin, size_t end) {
  std::string joined;
  for (size_t idx = begin; idx < end; ++idx) {
    const std::string line = Trim(lines[idx]);
    if (line.empty()) continue;
    if (!joined.empty()) joined += ' ';
    joined += line;
  }
  return joined;
}

// Comment text as inline Markdown: outside `code` spans, characters Markdown
// would read as markup are escaped (`<job name>` is not an HTML tag, `*`
// not emphasis); `|` is escaped everywhere, since the text may sit in a
// table cell.
std::string InlineMarkdown(std::string_view text) {
  std::string out;
  bool in_code = false;
  for (char c : text) {
    if (c == '`') in_code = !in_code;
    if (c == '|') {
      out += "\\|";
    } else if (!in_code && c == '<') {
      out += "&lt;";
    } else if (!in_code && c == '>') {
      out += "&gt;";
    } else if (!in_code && c == '*') {
      out += "\\*";
    } else {
      out += c;
    }
  }
  return out;
}

// A message comment as Markdown blocks: paragraphs, "- " list items and
// indented code blocks (see the header).
std::string BlockMarkdown(const std::vector<std::string>& lines) {
  enum class Block { kNone, kParagraph, kList, kCode };
  std::string out;
  Block block = Block::kNone;
  std::string pending;  // the paragraph or list item being joined
  auto flush_text = [&] {
    if (pending.empty()) return;
    out += (block == Block::kList ? "- " : "") + InlineMarkdown(pending) + "\n";
    pending.clear();
  };
  auto end_block = [&] {
    flush_text();
    if (block == Block::kCode) out += "```\n";
    if (block != Block::kNone) out += "\n";
    block = Block::kNone;
  };
  for (const std::string& line : lines) {
    if (Trim(line).empty()) {
      end_block();
    } else if (line.starts_with("- ")) {
      if (block != Block::kList) end_block();
      flush_text();
      block = Block::kList;
      pending = Trim(line.substr(2));
    } else if (line.starts_with("  ") && block != Block::kList && block != Block::kParagraph) {
      if (block != Block::kCode) {
        end_block();
        out += "```\n";
        block = Block::kCode;
      }
      out += line.substr(2) + "\n";
    } else if (block == Block::kCode) {
      end_block();
      block = Block::kParagraph;
      pending = Trim(line);
    } else {
      if (block == Block::kNone) block = Block::kParagraph;
      pending += (pending.empty() ? "" : " ") + Trim(line);
    }
  }
  end_block();
  return out;
}

// GitHub's anchor for a heading of letters, digits and spaces.
std::string Anchor(std::string_view title) {
  std::string anchor;
  for (char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      anchor += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (c == ' ') {
      anchor += '-';
    }
  }
  return anchor;
}

// "KafkaSourceSpec" -> "Kafka source".
std::string TitleFromName(std::string_view name) {
  if (name.ends_with("Spec") && name.size() > 4) name.remove_suffix(4);
  std::string title;
  for (size_t idx = 0; idx < name.size(); ++idx) {
    const char c = name[idx];
    if (idx > 0 && std::isupper(static_cast<unsigned char>(c))) {
      title += ' ';
      title += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      title += c;
    }
  }
  return title;
}

std::string Code(std::string_view text) { return "`" + std::string(text) + "`"; }

std::string EnumValues(const EnumDescriptor* type) {
  std::string values;
  for (int idx = 0; idx < type->value_count(); ++idx) {
    if (idx > 0) values += idx + 1 == type->value_count() ? " or " : ", ";
    values += Code(type->value(idx)->name());
  }
  return values;
}

}  // namespace

struct SpecReference::Rep {
  google::protobuf::compiler::DiskSourceTree source_tree;
  CollectErrors errors;
  std::unique_ptr<google::protobuf::compiler::Importer> importer;
  const Descriptor* root = nullptr;

  // Every message reachable from the root, in the order Markdown() shows them.
  std::vector<const Descriptor*> order;
  // Where each message sits in a job file, e.g. "sources[].kafka"; "" is the
  // file itself.
  std::map<const Descriptor*, std::vector<std::string>> paths;
  std::map<const Descriptor*, int> depth;
  std::map<const Descriptor*, std::string> titles;

  void Walk(const Descriptor* message, const std::string& path, int level,
            std::set<const Descriptor*>* stack) {
    if (!depth.count(message)) {
      order.push_back(message);
      depth[message] = level;
    }
    std::vector<std::string>& at = paths[message];
    if (std::find(at.begin(), at.end(), path) == at.end()) at.push_back(path);
    if (!stack->insert(message).second) return;  // a recursive message: shown once
    for (int idx = 0; idx < message->field_count(); ++idx) {
      const FieldDescriptor* field = message->field(idx);
      const std::string child = path.empty() ? field->name() : path + "." + field->name();
      if (field->is_map()) {
        const FieldDescriptor* value = field->message_type()->map_value();
        if (value->type() == FieldDescriptor::TYPE_MESSAGE) {
          Walk(value->message_type(), child + ".<key>", level + 1, stack);
        }
      } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
        Walk(field->message_type(), child + (field->is_repeated() ? "[]" : ""), level + 1, stack);
      }
    }
    stack->erase(message);
  }

  void NameSections() {
    std::set<std::string> taken;
    for (const Descriptor* message : order) {
      std::string title = message == root ? "Top level" : TitleFromName(message->name());
      if (!taken.insert(title).second) title = message->full_name();
      titles[message] = title;
    }
  }

  std::string Link(const Descriptor* message) const {
    const std::string& title = titles.at(message);
    return "[" + title + "](#" + Anchor(title) + ")";
  }

  std::string ValueType(const FieldDescriptor* field) const {
    switch (field->type()) {
      case FieldDescriptor::TYPE_STRING:
      case FieldDescriptor::TYPE_BYTES:
        return "string";
      case FieldDescriptor::TYPE_BOOL:
        return "bool";
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_SFIXED64:
        return "int";
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED32:
      case FieldDescriptor::TYPE_FIXED64:
        return "int ≥ 0";
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return "number";
      case FieldDescriptor::TYPE_ENUM:
        return EnumValues(field->enum_type());
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP:
        return Link(field->message_type());
    }
    return "?";
  }

  // The type as a YAML user writes it.
  std::string TypeOf(const FieldDescriptor* field) const {
    if (field->is_map()) {
      return "map " + ValueType(field->message_type()->map_key()) + " → " +
             ValueType(field->message_type()->map_value());
    }
    if (field->is_repeated()) return "list of " + ValueType(field);
    return ValueType(field);
  }

  std::string FieldRow(const FieldDescriptor* field) const {
    const std::vector<std::string> lines = CommentLines(field);
    size_t default_line = lines.size();
    for (size_t idx = 0; idx < lines.size(); ++idx) {
      if (Trim(lines[idx]).starts_with("Default:")) {
        default_line = idx;
        break;
      }
    }
    std::string description = InlineMarkdown(JoinLines(lines, 0, default_line));
    std::string default_text = "—";
    if (default_line < lines.size()) {
      std::vector<std::string> tail(lines.begin() + default_line, lines.end());
      tail.front() = Trim(tail.front()).substr(std::string_view("Default:").size());
      std::string joined = JoinLines(tail, 0, tail.size());
      if (joined.ends_with('.')) joined.pop_back();
      if (!joined.empty()) default_text = InlineMarkdown(joined);
    }
    return "| " + Code(field->name()) + " | " + TypeOf(field) + " | " + default_text + " | " +
           description + " |\n";
  }

  // Where the message sits, and its shorthand form when it has one.
  std::string Placement(const Descriptor* message) const {
    if (message == root) return Code(message->name()) + ": the job file itself.\n\n";
    const std::vector<std::string>& at = paths.at(message);
    std::string text = Code(message->name()) + " at ";
    for (size_t idx = 0; idx < at.size(); ++idx) text += (idx ? ", " : "") + Code(at[idx]);
    text += ".";
    // The loader's conveniences (runtime/spec/yaml_to_proto.cc), shown
    // where the section is a single key rather than a list item.
    const auto single = std::find_if(at.begin(), at.end(),
                                     [](const std::string& path) { return !path.ends_with("]"); });
    if (single != at.end()) {
      const std::string key = single->substr(single->find_last_of('.') + 1);
      const FieldDescriptor* first = message->FindFieldByNumber(1);
      if (message->field_count() == 0) {
        text += " It has no keys: write " + Code(key + ":") + " (or " + Code(key + ": {}") + ", " +
                Code(key + ": true") + ").";
      } else if (first != nullptr && first->type() != FieldDescriptor::TYPE_MESSAGE &&
                 !first->is_map()) {
        const std::string value = first->is_repeated() ? "[A, B]" : "VALUE";
        text += " Shorthand: " + Code(key + ": " + value) + " is " +
                Code(key + ": {" + first->name() + ": " + value + "}") + ".";
      }
    }
    return text + "\n\n";
  }

  // The fields outside any oneof in one table, then each oneof's members
  // in a table of their own, introduced by the oneof's comment.
  std::string Section(const Descriptor* message) const {
    std::string out = (depth.at(message) <= 1 ? "### " : "#### ") + titles.at(message) + "\n\n";
    out += Placement(message);
    out += BlockMarkdown(CommentLines(message));
    constexpr std::string_view kHeader =
        "| key | type | default | description |\n| --- | --- | --- | --- |\n";
    std::string plain;
    for (int idx = 0; idx < message->field_count(); ++idx) {
      const FieldDescriptor* field = message->field(idx);
      if (field->real_containing_oneof() == nullptr) plain += FieldRow(field);
    }
    if (!plain.empty()) out += std::string(kHeader) + plain + "\n";
    for (int idx = 0; idx < message->real_oneof_decl_count(); ++idx) {
      const OneofDescriptor* oneof = message->oneof_decl(idx);
      const std::vector<std::string> lines = CommentLines(oneof);
      out += "One of these keys.";
      if (!lines.empty()) out += " " + InlineMarkdown(JoinLines(lines, 0, lines.size()));
      out += "\n\n" + std::string(kHeader);
      for (int member = 0; member < oneof->field_count(); ++member) {
        out += FieldRow(oneof->field(member));
      }
      out += "\n";
    }
    return out;
  }
};

SpecReference::SpecReference(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
SpecReference::SpecReference(SpecReference&&) noexcept = default;
SpecReference& SpecReference::operator=(SpecReference&&) noexcept = default;
SpecReference::~SpecReference() = default;

Result<SpecReference> SpecReference::Load(const std::string& source_root,
                                          const std::string& proto_path,
                                          const std::string& root_message) {
  auto rep = std::make_unique<Rep>();
  rep->source_tree.MapPath("", source_root);
  // An import of a well-known type (google/protobuf/timestamp.proto) is
  // found where protobuf is installed.
  rep->source_tree.MapPath("", EDDY_PROTOBUF_INCLUDE_DIR);
  rep->importer =
      std::make_unique<google::protobuf::compiler::Importer>(&rep->source_tree, &rep->errors);
  const google::protobuf::FileDescriptor* file = rep->importer->Import(proto_path);
  if (file == nullptr) {
    return Status::InvalidArgument("cannot parse " + proto_path + " under " + source_root + ": " +
                                   rep->errors.errors());
  }
  rep->root = rep->importer->pool()->FindMessageTypeByName(root_message);
  if (rep->root == nullptr) {
    return Status::NotFound("no message " + root_message + " in " + proto_path);
  }
  std::set<const Descriptor*> stack;
  rep->Walk(rep->root, "", 0, &stack);
  rep->NameSections();
  return SpecReference(std::move(rep));
}

std::string SpecReference::Markdown() const {
  std::string out = "\nSections:";
  for (size_t idx = 0; idx < rep_->order.size(); ++idx) {
    out += (idx ? " · " : " ") + rep_->Link(rep_->order[idx]);
  }
  out += "\n\n";
  for (const Descriptor* message : rep_->order) out += rep_->Section(message);
  return out;
}

std::vector<std::string> SpecReference::Undocumented() const {
  std::vector<std::string> missing;
  for (const Descriptor* message : rep_->order) {
    for (int idx = 0; idx < message->field_count(); ++idx) {
      const FieldDescriptor* field = message->field(idx);
      const std::vector<std::string> lines = CommentLines(field);
      if (JoinLines(lines, 0, lines.size()).empty()) {
        missing.push_back(field->full_name() + " has no comment in " + message->file()->name());
      }
    }
  }
  return missing;
}

namespace {

struct BlockBounds {
  size_t begin;  // first character after the begin marker's line
  size_t end;    // first character of the end marker's line
};

Result<BlockBounds> FindBlock(std::string_view document) {
  size_t marker = document.starts_with(kReferenceBeginMarker)
                      ? 0
                      : document.find("\n" + std::string(kReferenceBeginMarker));
  if (marker == std::string_view::npos) {
    return Status::InvalidArgument("no line starting with '" + std::string(kReferenceBeginMarker) +
                                   "'");
  }
  const size_t begin_line_end = document.find('\n', marker + 1);
  if (begin_line_end == std::string_view::npos) {
    return Status::InvalidArgument("nothing after the begin marker");
  }
  const size_t end = document.find("\n" + std::string(kReferenceEndMarker), begin_line_end);
  if (end == std::string_view::npos) {
    return Status::InvalidArgument("no line '" + std::string(kReferenceEndMarker) +
                                   "' after the begin marker");
  }
  return BlockBounds{begin_line_end + 1, end + 1};
}

}  // namespace

Result<std::string> GeneratedBlockOf(std::string_view document) {
  EDDY_ASSIGN_OR_RETURN(BlockBounds bounds, FindBlock(document));
  return std::string(document.substr(bounds.begin, bounds.end - bounds.begin));
}

Result<std::string> ReplaceGeneratedBlock(std::string_view document, std::string_view block) {
  EDDY_ASSIGN_OR_RETURN(BlockBounds bounds, FindBlock(document));
  std::string out(document.substr(0, bounds.begin));
  out += block;
  if (!out.ends_with('\n')) out += '\n';
  out += document.substr(bounds.end);
  return out;
}

}  // namespace eddy
