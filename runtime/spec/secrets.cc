#include "runtime/spec/secrets.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>

namespace eddy {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Calls `visit(value)` for every secret string in `message`, recursively;
// `visit` may change the value in place.
void VisitSecrets(Message* message, const std::function<void(std::string*)>& visit) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->is_map()) {
      const auto* entry = field->message_type();
      const FieldDescriptor* key = entry->FindFieldByName("key");
      const FieldDescriptor* value = entry->FindFieldByName("value");
      const int size = reflection->FieldSize(*message, field);
      for (int idx = 0; idx < size; ++idx) {
        Message* item = reflection->MutableRepeatedMessage(message, field, idx);
        const Reflection* item_reflection = item->GetReflection();
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
            key->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
            IsSecretKey(item_reflection->GetString(*item, key))) {
          std::string text = item_reflection->GetString(*item, value);
          visit(&text);
          item_reflection->SetString(item, value, text);
        } else if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          VisitSecrets(item_reflection->MutableMessage(item, value), visit);
        }
      }
      continue;
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        const int size = reflection->FieldSize(*message, field);
        for (int idx = 0; idx < size; ++idx) {
          VisitSecrets(reflection->MutableRepeatedMessage(message, field, idx), visit);
        }
      } else {
        VisitSecrets(reflection->MutableMessage(message, field), visit);
      }
      continue;
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING || !IsSecretKey(field->name()))
      continue;
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(*message, field);
      for (int idx = 0; idx < size; ++idx) {
        std::string text = reflection->GetRepeatedString(*message, field, idx);
        visit(&text);
        reflection->SetRepeatedString(message, field, idx, text);
      }
    } else {
      std::string text = reflection->GetString(*message, field);
      visit(&text);
      reflection->SetString(message, field, text);
    }
  }
}

Status InlineSecretError(const std::string& file, const YAML::Mark& mark, const std::string& path) {
  std::string where = file;
  if (!mark.is_null())
    where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  return Status::InvalidArgument(
      where + ": " + path +
      ": secret values must not be written in the job file; take them from the server's "
      "environment: ${VAR}, or VAR_FILE=/path/to/file with ${VAR} (docs/server.md, Secrets)");
}

Status CheckNode(const YAML::Node& node, const std::string& file, const std::string& path) {
  if (node.IsMap()) {
    for (const auto& item : node) {
      if (!item.first.IsScalar()) continue;
      const std::string key = item.first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      if (IsCredentialKey(key) && item.second.IsScalar() &&
          item.second.Scalar().find("${") == std::string::npos && !item.second.Scalar().empty()) {
        return InlineSecretError(file, item.second.Mark(), child);
      }
      if (Status status = CheckNode(item.second, file, child); !status.ok()) return status;
    }
  } else if (node.IsSequence()) {
    for (size_t idx = 0; idx < node.size(); ++idx) {
      if (Status status = CheckNode(node[idx], file, path + "[" + std::to_string(idx) + "]");
          !status.ok()) {
        return status;
      }
    }
  }
  return Status::OK();
}

}  // namespace

bool IsCredentialKey(std::string_view key) {
  const std::string lower = Lower(key);
  for (const char* word : {"password", "secret", "token", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return lower == "sasl.jaas.config";
}

bool IsSecretKey(std::string_view key) {
  if (IsCredentialKey(key)) return true;
  const std::string lower = Lower(key);
  for (const char* prefix : {"sasl.", "ssl.key.", "ssl.keystore."}) {
    if (lower.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

void RedactSpec(google::protobuf::Message* spec) {
  VisitSecrets(spec, [](std::string* value) {
    if (!value->empty()) *value = kRedacted;
  });
}

std::vector<std::string> SecretValues(const google::protobuf::Message& spec) {
  std::unique_ptr<Message> copy(spec.New());
  copy->CopyFrom(spec);
  std::vector<std::string> values;
  VisitSecrets(copy.get(), [&values](std::string* value) {
    if (!value->empty() && *value != kRedacted) values.push_back(*value);
  });
  return values;
}

Status CheckNoInlineSecrets(std::string_view yaml, const std::string& file_name) {
  try {
    for (const YAML::Node& document : YAML::LoadAll(std::string(yaml))) {
      if (Status status = CheckNode(document, file_name, ""); !status.ok()) return status;
    }
  } catch (const std::exception&) {
    // Not YAML: the loader reports it with its position.
  }
  return Status::OK();
}

std::string Scrub(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), kRedacted);
      pos += sizeof(kRedacted) - 1;
    }
  }
  return text;
}

}  // namespace eddy
