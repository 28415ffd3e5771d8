#include "runtime/spec/yaml_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>

namespace eddy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::OneofDescriptor;
using google::protobuf::Reflection;

std::string ChildPath(const std::string& parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out = parent;
  out += '.';
  out += name;
  return out;
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A plain (unquoted, untagged) scalar: the only kind whose text YAML itself
// would read as a boolean or null.
bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "?"; }

// How a node that has the wrong shape is described in an error.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
  }
  return "nothing";
}

std::string ExpectedScalar(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return "a string";
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
      return "an integer";
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return "a non-negative integer";
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      return "a number";
    case FieldDescriptor::CPPTYPE_BOOL:
      return "true or false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return "one of the names of " + field->enum_type()->name();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return "a mapping";
  }
  return "a value";
}

std::string FieldList(const Descriptor* descriptor) {
  std::string out;
  for (int idx = 0; idx < descriptor->field_count(); ++idx) {
    if (IsInternalField(descriptor->field(idx))) continue;
    if (!out.empty()) out += ", ";
    out += descriptor->field(idx)->name();
  }
  return out;
}

std::string OneofMembers(const OneofDescriptor* oneof) {
  std::string out;
  for (int idx = 0; idx < oneof->field_count(); ++idx) {
    if (idx > 0) out += ", ";
    out += oneof->field(idx)->name();
  }
  return out;
}

// Integers: optional sign and decimal digits, nothing else (no 1e3, no 1.0).
template <typename Int>
std::optional<std::string> ParseInteger(std::string_view text, Int* out) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  const bool negative = !digits.empty() && digits.front() == '-';
  const std::string_view magnitude = negative ? digits.substr(1) : digits;
  if (magnitude.empty() || !std::all_of(magnitude.begin(), magnitude.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return std::string(std::is_signed_v<Int> ? "expected an integer, got '"
                                             : "expected a non-negative integer, got '") +
           std::string(text) + "'";
  }
  if (negative && !std::is_signed_v<Int>) {
    return "expected a non-negative integer, got '" + std::string(text) + "'";
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  if (ec == std::errc::result_out_of_range || end != digits.data() + digits.size()) {
    return "integer " + std::string(text) + " is out of range (" +
           std::to_string(std::numeric_limits<Int>::min()) + ".." +
           std::to_string(std::numeric_limits<Int>::max()) + ")";
  }
  return std::nullopt;
}

std::optional<std::string> ParseDouble(std::string_view text, double* out) {
  const std::string lower = Lower(text);
  // YAML's spellings of the special values.
  if (lower == ".inf" || lower == "+.inf" || lower == "inf") {
    *out = std::numeric_limits<double>::infinity();
    return std::nullopt;
  }
  if (lower == "-.inf" || lower == "-inf") {
    *out = -std::numeric_limits<double>::infinity();
    return std::nullopt;
  }
  if (lower == ".nan" || lower == "nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return std::nullopt;
  }
  std::string_view body = text;
  if (!body.empty() && body.front() == '+') body.remove_prefix(1);
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), *out);
  if (body.empty() || ec != std::errc() || end != body.data() + body.size()) {
    return "expected a number, got '" + std::string(text) + "'";
  }
  return std::nullopt;
}

std::optional<std::string> ParseBool(std::string_view text, bool* out) {
  const std::string lower = Lower(text);
  if (lower == "true" || lower == "yes" || lower == "on") {
    *out = true;
    return std::nullopt;
  }
  if (lower == "false" || lower == "no" || lower == "off") {
    *out = false;
    return std::nullopt;
  }
  return "expected true or false, got '" + std::string(text) + "'";
}

SourceLocation ToLocation(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return SourceLocation{file, 0, 0};
  return SourceLocation{file, mark.line + 1, mark.column + 1};
}

// One conversion: carries the file name, environment and the positions
// recorded so far. Paths are built as strings because each one is recorded.
class Converter {
 public:
  Converter(const std::string& file, const EnvLookup& env, LocationMap* locations)
      : file_(file), env_(env), locations_(locations) {}

  // `node` describes the message at `path`; `key_mark` is where its key is
  // (the position reported for a null value, whose own mark is unreliable).
  Status FillMessage(const YAML::Node& node, const YAML::Mark& key_mark, const std::string& path,
                     Message* message) {
    const Descriptor* descriptor = message->GetDescriptor();
    if (node.IsMap()) return FillFromMapping(node, path, message);
    // A bare key or `{}`: the message is present and empty.
    if (node.IsNull()) return Status::OK();

    const FieldDescriptor* first = descriptor->FindFieldByNumber(1);
    const bool first_is_scalar_like =
        first != nullptr && first->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE;
    if (node.IsScalar()) {
      if (IsPlainScalar(node)) {
        const std::string lower = Lower(node.Scalar());
        const bool first_is_bool =
            first != nullptr && first->cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
        if (lower == "true" && !first_is_bool) return Status::OK();
        if (lower == "false" && !first_is_bool) {
          return Error(node.Mark(), path,
                       "'false' cannot switch a section off: remove the key instead");
        }
      }
      if (first_is_scalar_like) {
        return SetField(node, node.Mark(), ChildPath(path, first->name()), message, first);
      }
    } else if (node.IsSequence() && first_is_scalar_like && first->is_repeated() &&
               !first->is_map()) {
      return SetField(node, node.Mark(), ChildPath(path, first->name()), message, first);
    }
    std::string expected = "expected a mapping";
    if (descriptor->field_count() > 0) expected += " with keys " + FieldList(descriptor);
    if (first_is_scalar_like) expected += " (or just a value for '" + first->name() + "')";
    return Error(node.IsNull() ? key_mark : node.Mark(), path,
                 expected + ", got " + Describe(node));
  }

 private:
  using Entry = std::pair<YAML::Node, YAML::Node>;

  // The entries of `map` with YAML merge keys (`<<: *defaults`, or a list of
  // aliases) resolved, which yaml-cpp 0.7 leaves to the application: the
  // mapping's own keys first, in order, then each merged mapping's keys that
  // are not already present (earlier merges win over later ones).
  Status ExpandMerges(const YAML::Node& map, const std::string& path, int depth,
                      std::vector<Entry>* entries) {
    constexpr int kMaxMergeDepth = 16;
    if (depth > kMaxMergeDepth) {
      return Error(map.Mark(), path, "merge keys ('<<') nested too deeply");
    }
    std::vector<YAML::Node> merged;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!IsPlainScalar(key) || key.Scalar() != "<<") {
        entries->emplace_back(key, value);
        continue;
      }
      if (value.IsMap()) {
        merged.push_back(value);
      } else if (value.IsSequence() &&
                 std::all_of(value.begin(), value.end(),
                             [](const YAML::Node& item) { return item.IsMap(); })) {
        for (auto item = value.begin(); item != value.end(); ++item) merged.push_back(*item);
      } else {
        return Error(
            value.IsNull() ? key.Mark() : value.Mark(), path,
            "'<<' merges a mapping or a list of mappings (<<: *defaults), got " + Describe(value));
      }
    }
    if (merged.empty()) return Status::OK();
    std::set<std::string, std::less<>> present;
    for (const auto& [key, value] : *entries) {
      if (key.IsScalar()) present.insert(key.Scalar());
    }
    for (const YAML::Node& source : merged) {
      std::vector<Entry> inherited;
      EDDY_RETURN_IF_ERROR(ExpandMerges(source, path, depth + 1, &inherited));
      for (auto& entry : inherited) {
        if (entry.first.IsScalar() && !present.insert(entry.first.Scalar()).second) continue;
        entries->push_back(std::move(entry));
      }
    }
    return Status::OK();
  }

  Status FillFromMapping(const YAML::Node& map, const std::string& path, Message* message) {
    const Descriptor* descriptor = message->GetDescriptor();
    std::map<std::string, YAML::Mark, std::less<>> seen;
    std::map<const OneofDescriptor*, std::string> oneof_member;
    std::vector<Entry> entries;
    EDDY_RETURN_IF_ERROR(ExpandMerges(map, path, 0, &entries));
    for (const auto& [key, value] : entries) {
      if (!key.IsScalar()) {
        return Error(key.Mark(), path, "keys must be plain names, got " + Describe(key));
      }
      const std::string& name = key.Scalar();
      if (auto [prev, inserted] = seen.emplace(name, key.Mark()); !inserted) {
        return Error(key.Mark(), path,
                     "key '" + name + "' is given twice (first at line " +
                         std::to_string(prev->second.line + 1) + ")");
      }
      // Extension keys (as in Docker Compose) hold anchors for `<<: *name`
      // and are otherwise ignored; no field name starts with "x-".
      if (name.starts_with("x-")) continue;
      const FieldDescriptor* field = descriptor->FindFieldByName(name);
      if (field == nullptr || IsInternalField(field)) {
        std::vector<std::string> names;
        for (int idx = 0; idx < descriptor->field_count(); ++idx) {
          if (IsInternalField(descriptor->field(idx))) continue;
          names.push_back(descriptor->field(idx)->name());
        }
        std::string message_text = "unknown key '" + name + "'";
        if (names.empty()) {
          message_text += " (this section takes no keys)";
        } else {
          message_text += " (expected one of: " + FieldList(descriptor) + ")";
        }
        if (auto suggestion = ClosestName(name, names)) {
          message_text += "; did you mean '" + *suggestion + "'?";
        }
        return Error(key.Mark(), path, message_text);
      }
      if (const OneofDescriptor* oneof = field->real_containing_oneof()) {
        auto [prev, inserted] = oneof_member.emplace(oneof, name);
        if (!inserted) {
          return Error(key.Mark(), path,
                       "'" + prev->second + "' and '" + name +
                           "' cannot both be set (choose one of: " + OneofMembers(oneof) + ")");
        }
      }
      EDDY_RETURN_IF_ERROR(SetField(value, key.Mark(), ChildPath(path, name), message, field));
    }
    return Status::OK();
  }

  Status SetField(const YAML::Node& value, const YAML::Mark& key_mark, const std::string& path,
                  Message* message, const FieldDescriptor* field) {
    const Reflection* reflection = message->GetReflection();
    if (field->is_map()) {
      Record(path, key_mark);
      return FillMap(value, key_mark, path, message, field);
    }
    if (field->is_repeated()) {
      Record(path, key_mark);
      if (value.IsNull()) return Status::OK();
      if (value.IsSequence()) {
        size_t index = 0;
        for (auto it = value.begin(); it != value.end(); ++it, ++index) {
          EDDY_RETURN_IF_ERROR(AddElement(*it, IndexPath(path, index), message, field));
        }
        return Status::OK();
      }
      if (value.IsScalar()) return AddElement(value, IndexPath(path, 0), message, field);
      return Error(value.Mark(), path,
                   "expected a list (items on lines starting with '- ') or a single value, got " +
                       Describe(value));
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Record(path, key_mark);
      return FillMessage(value, key_mark, path, reflection->MutableMessage(message, field));
    }
    if (!value.IsScalar()) {
      return Error(value.IsNull() ? key_mark : value.Mark(), path,
                   "expected " + ExpectedScalar(field) + ", got " + Describe(value));
    }
    Record(path, value.Mark());
    return SetScalar(value, path, message, field, /*add=*/false);
  }

  Status AddElement(const YAML::Node& element, const std::string& path, Message* message,
                    const FieldDescriptor* field) {
    Record(path, element.Mark());
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return FillMessage(element, element.Mark(), path,
                         message->GetReflection()->AddMessage(message, field));
    }
    if (!element.IsScalar()) {
      return Error(element.Mark(), path,
                   "expected " + ExpectedScalar(field) + " as list item, got " + Describe(element));
    }
    return SetScalar(element, path, message, field, /*add=*/true);
  }

  // map<K, V> from a YAML mapping; any scalar value is taken as its text.
  Status FillMap(const YAML::Node& value, const YAML::Mark& key_mark, const std::string& path,
                 Message* message, const FieldDescriptor* field) {
    if (value.IsNull()) return Status::OK();
    if (!value.IsMap()) {
      return Error(value.Mark(), path,
                   "expected a mapping of names to values, got " + Describe(value));
    }
    const Reflection* reflection = message->GetReflection();
    const FieldDescriptor* key_field = field->message_type()->map_key();
    const FieldDescriptor* value_field = field->message_type()->map_value();
    std::map<std::string, YAML::Mark, std::less<>> seen;
    std::vector<Entry> entries;
    EDDY_RETURN_IF_ERROR(ExpandMerges(value, path, 0, &entries));
    for (const auto& [key, entry_value] : entries) {
      if (!key.IsScalar()) {
        return Error(key.Mark(), path, "keys must be plain names, got " + Describe(key));
      }
      const std::string& name = key.Scalar();
      if (auto [prev, inserted] = seen.emplace(name, key.Mark()); !inserted) {
        return Error(key.Mark(), path,
                     "key '" + name + "' is given twice (first at line " +
                         std::to_string(prev->second.line + 1) + ")");
      }
      const std::string entry_path = ChildPath(path, name);
      if (!entry_value.IsScalar()) {
        return Error(entry_value.IsNull() ? key.Mark() : entry_value.Mark(), entry_path,
                     "expected a value for '" + name + "', got " + Describe(entry_value));
      }
      Record(entry_path, entry_value.Mark());
      Message* entry = reflection->AddMessage(message, field);
      EDDY_RETURN_IF_ERROR(SetScalar(key, entry_path, entry, key_field, /*add=*/false,
                                     /*substitute=*/false));
      EDDY_RETURN_IF_ERROR(SetScalar(entry_value, entry_path, entry, value_field, /*add=*/false));
    }
    return Status::OK();
  }

  // Converts a scalar node by the field's type, after `${VAR}` substitution,
  // and sets (or, for repeated fields, appends) it.
  Status SetScalar(const YAML::Node& node, const std::string& path, Message* message,
                   const FieldDescriptor* field, bool add, bool substitute = true) {
    std::string text = node.Scalar();
    if (substitute && text.find('$') != std::string::npos) {
      Result<std::string> replaced = SubstituteEnv(text, env_);
      if (!replaced.ok()) return Error(node.Mark(), path, replaced.status().message());
      text = std::move(replaced).value();
    }
    if (auto problem = SetFieldFromText(text, field, add, message)) {
      return Error(node.Mark(), path, *problem);
    }
    return Status::OK();
  }

  void Record(const std::string& path, const YAML::Mark& mark) {
    (*locations_)[path] = ToLocation(file_, mark);
  }

  Status Error(const YAML::Mark& mark, std::string_view path, std::string_view message) const {
    return PositionedError(ToLocation(file_, mark), path, message);
  }

  const std::string& file_;
  const EnvLookup& env_;
  LocationMap* locations_;
};

bool IsVariableName(std::string_view name) {
  if (name.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; });
}

// Optimal string alignment distance: Levenshtein plus adjacent swaps.
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t rows = a.size() + 1;
  const size_t cols = b.size() + 1;
  std::vector<size_t> dist(rows * cols);
  for (size_t i = 0; i < rows; ++i) dist[i * cols] = i;
  for (size_t j = 0; j < cols; ++j) dist[j] = j;
  for (size_t i = 1; i < rows; ++i) {
    for (size_t j = 1; j < cols; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = std::min({dist[(i - 1) * cols + j] + 1, dist[i * cols + j - 1] + 1,
                              dist[(i - 1) * cols + j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        best = std::min(best, dist[(i - 2) * cols + j - 2] + 1);
      }
      dist[i * cols + j] = best;
    }
  }
  return dist[rows * cols - 1];
}

}  // namespace

bool IsInternalField(const FieldDescriptor* field) {
  return field == spec::KafkaSourceSpec::descriptor()->FindFieldByName("upstream_watermarks") ||
         field == spec::KafkaSinkSpec::descriptor()->FindFieldByName("forward_watermarks");
}

std::optional<std::string> SetFieldFromText(std::string text, const FieldDescriptor* field,
                                            bool add, Message* message) {
  const Reflection* reflection = message->GetReflection();
  std::optional<std::string> problem;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      add ? reflection->AddString(message, field, std::move(text))
          : reflection->SetString(message, field, std::move(text));
      break;
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t parsed = 0;
      problem = ParseInteger(text, &parsed);
      if (!problem) {
        add ? reflection->AddInt32(message, field, parsed)
            : reflection->SetInt32(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t parsed = 0;
      problem = ParseInteger(text, &parsed);
      if (!problem) {
        add ? reflection->AddInt64(message, field, parsed)
            : reflection->SetInt64(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t parsed = 0;
      problem = ParseInteger(text, &parsed);
      if (!problem) {
        add ? reflection->AddUInt32(message, field, parsed)
            : reflection->SetUInt32(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t parsed = 0;
      problem = ParseInteger(text, &parsed);
      if (!problem) {
        add ? reflection->AddUInt64(message, field, parsed)
            : reflection->SetUInt64(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double parsed = 0;
      problem = ParseDouble(text, &parsed);
      if (!problem) {
        add ? reflection->AddDouble(message, field, parsed)
            : reflection->SetDouble(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      double parsed = 0;
      problem = ParseDouble(text, &parsed);
      if (!problem) {
        const auto narrowed = static_cast<float>(parsed);
        add ? reflection->AddFloat(message, field, narrowed)
            : reflection->SetFloat(message, field, narrowed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool parsed = false;
      problem = ParseBool(text, &parsed);
      if (!problem) {
        add ? reflection->AddBool(message, field, parsed)
            : reflection->SetBool(message, field, parsed);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumValueDescriptor* found = field->enum_type()->FindValueByName(text);
      if (found == nullptr) {
        std::string names;
        for (int idx = 0; idx < field->enum_type()->value_count(); ++idx) {
          if (idx > 0) names += ", ";
          names += field->enum_type()->value(idx)->name();
        }
        problem = "expected one of " + names + ", got '" + text + "'";
      } else {
        add ? reflection->AddEnum(message, field, found)
            : reflection->SetEnum(message, field, found);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      problem = "expected a mapping, got '" + text + "'";
      break;
  }
  return problem;
}

Status YamlToProto(const YAML::Node& node, const std::string& file, const EnvLookup& env,
                   Message* message, LocationMap* locations) {
  (*locations)[""] = ToLocation(file, node.Mark());
  Converter converter(file, env, locations);
  return converter.FillMessage(node, node.Mark(), "", message);
}

std::string UnsetVariableMessage(std::string_view name) {
  return "environment variable '" + std::string(name) + "' is not set (write ${" +
         std::string(name) + ":-default} to give a default)";
}

Result<std::string> SubstituteEnv(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] != '$') {
      out += text[pos++];
      continue;
    }
    if (text.substr(pos, 3) == "$${") {
      out += "${";
      pos += 3;
      continue;
    }
    if (text.substr(pos, 2) != "${") {
      out += text[pos++];
      continue;
    }
    const size_t close = text.find('}', pos + 2);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unterminated '${' in '" + std::string(text) +
                                     "' (write '$${' for a literal '${')");
    }
    const std::string_view inner = text.substr(pos + 2, close - pos - 2);
    const size_t sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    if (!IsVariableName(name)) {
      return Status::InvalidArgument("invalid environment variable reference '${" +
                                     std::string(inner) +
                                     "}' (expected ${NAME} or ${NAME:-default})");
    }
    std::optional<std::string> found = env(name);
    const bool keep = found && *found == kKeepReference;
    if (keep) found.reset();
    if (sep != std::string_view::npos) {
      if (found && !found->empty()) {
        out += *found;
      } else {
        out += inner.substr(sep + 2);
      }
    } else if (found) {
      out += *found;
    } else if (keep) {
      out += "${" + std::string(name) + "}";
    } else {
      return Status::InvalidArgument(UnsetVariableMessage(name));
    }
    pos = close + 1;
  }
  return out;
}

Status PositionedError(const SourceLocation& location, std::string_view path,
                       std::string_view message) {
  std::string out = location.file;
  if (location.line > 0) {
    out += ':' + std::to_string(location.line) + ':' + std::to_string(location.column);
  }
  if (!out.empty()) out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += message;
  return Status::InvalidArgument(std::move(out));
}

std::optional<std::string> ClosestName(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  const std::string lower_word = Lower(word);
  // A third of the word's length, at least one edit and at most three: close
  // enough to be a typo, far enough apart not to suggest nonsense.
  const size_t limit = std::clamp<size_t>(lower_word.size() / 3, 1, 3);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(lower_word, Lower(candidate));
    // Replacing every letter is not a typo: 'c' is not a misspelt 'a'.
    if (distance >= lower_word.size() || distance >= candidate.size()) continue;
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace eddy
