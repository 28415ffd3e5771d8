#include "runtime/spec/offline_env.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <optional>
#include <utility>

#include "runtime/spec/yaml_to_proto.h"

namespace eddy {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Child(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

// Calls `visit(path, text)` for every string set in `message`, with paths as
// the loader records them ("sources[0].kafka.topics[1]", map entries by key),
// until it returns false.
bool VisitStrings(const Message& message, const std::string& path,
                  const std::function<bool(const std::string&, const std::string&)>& visit) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string field_path = Child(path, field->name());
    if (field->is_map()) {
      const FieldDescriptor* key = field->message_type()->map_key();
      const FieldDescriptor* value = field->message_type()->map_value();
      if (key->cpp_type() != FieldDescriptor::CPPTYPE_STRING) continue;
      for (int idx = 0; idx < reflection->FieldSize(message, field); ++idx) {
        const Message& entry = reflection->GetRepeatedMessage(message, field, idx);
        const Reflection* entry_reflection = entry.GetReflection();
        const std::string entry_path = Child(field_path, entry_reflection->GetString(entry, key));
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
          if (!visit(entry_path, entry_reflection->GetString(entry, value))) return false;
        } else if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          if (!VisitStrings(entry_reflection->GetMessage(entry, value), entry_path, visit)) {
            return false;
          }
        }
      }
      continue;
    }
    const bool is_message = field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    const bool is_string = field->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    if (!is_message && !is_string) continue;
    if (!field->is_repeated()) {
      if (is_message ? !VisitStrings(reflection->GetMessage(message, field), field_path, visit)
                     : !visit(field_path, reflection->GetString(message, field))) {
        return false;
      }
      continue;
    }
    for (int idx = 0; idx < reflection->FieldSize(message, field); ++idx) {
      const std::string item_path = field_path + "[" + std::to_string(idx) + "]";
      if (is_message
              ? !VisitStrings(reflection->GetRepeatedMessage(message, field, idx), item_path, visit)
              : !visit(item_path, reflection->GetRepeatedString(message, field, idx))) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

OfflineEnvironment::OfflineEnvironment(EnvLookup env)
    : unset_(std::make_shared<std::set<std::string>>()),
      lookup_([env = std::move(env), unset = unset_](std::string_view name) {
        std::optional<std::string> value = env(name);
        if (value) return value;
        unset->emplace(name);
        return std::optional<std::string>(std::string(kKeepReference));
      }) {}

Status OfflineEnvironment::CheckNeeded(
    const LoadedJob& job, const std::function<bool(std::string_view path)>& needed) const {
  if (unset_->empty()) return Status::OK();
  Status status;
  VisitStrings(job.spec, "", [&](const std::string& path, const std::string& text) {
    if (!needed(path)) return true;
    for (const std::string& name : *unset_) {
      if (text.find("${" + name + "}") == std::string::npos) continue;
      status = job.ErrorAt(path, UnsetVariableMessage(name));
      return false;
    }
    return true;
  });
  return status;
}

bool IsConnectionSetting(std::string_view path) {
  // A `kafka` field at the top (the job's defaults) or in a source, sink or
  // the dead letter: "kafka.brokers", "sources[2].kafka.topics[0]".
  return path == "kafka" || path.substr(0, 6) == "kafka." ||
         path.find(".kafka.") != std::string_view::npos ||
         (path.size() >= 6 && path.substr(path.size() - 6) == ".kafka");
}

}  // namespace eddy
