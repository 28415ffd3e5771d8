// protobuf: records are serialized messages of a type read at run time from
// a .proto file (compiler::Importer over the job's directory and the
// import paths) and handled as DynamicMessages through reflection.
//
// Well-known types (google/protobuf/timestamp.proto, ...) resolve even where
// their .proto files are not installed: the source tree falls back to the
// descriptors compiled into libprotobuf.

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>

#include "connectors/format/format_internal.h"

namespace eddy::format_internal {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

constexpr std::string_view kTimestampType = "google.protobuf.Timestamp";

// Disk first, then the well-known types compiled into libprotobuf, printed
// back to .proto text.
class FallbackSourceTree final : public pb::compiler::SourceTree {
 public:
  pb::compiler::DiskSourceTree& disk() { return disk_; }

  pb::io::ZeroCopyInputStream* Open(const std::string& filename) override {
    if (pb::io::ZeroCopyInputStream* stream = disk_.Open(filename)) return stream;
    // Make sure the generated Timestamp descriptor is linked and registered.
    (void)pb::Timestamp::descriptor();
    const pb::FileDescriptor* builtin =
        pb::DescriptorPool::generated_pool()->FindFileByName(filename);
    if (builtin == nullptr) return nullptr;
    std::lock_guard<std::mutex> lock(mutex_);
    std::string& text = builtin_texts_[filename];
    if (text.empty()) text = builtin->DebugString();
    return new pb::io::ArrayInputStream(text.data(), static_cast<int>(text.size()));
  }

  std::string GetLastErrorMessage() override { return disk_.GetLastErrorMessage(); }

 private:
  pb::compiler::DiskSourceTree disk_;
  std::mutex mutex_;
  std::map<std::string, std::string> builtin_texts_;  // kept alive for the streams
};

class CollectingErrors final : public pb::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    if (!text_.empty()) text_ += "; ";
    // The importer's lines and columns are 0-based; -1 means unknown.
    text_ += filename;
    if (line >= 0) text_ += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
    text_ += ": " + message;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The message type and everything that keeps its descriptor alive.
class MessageType {
 public:
  static Result<std::unique_ptr<MessageType>> Load(const spec::FormatSpec& format,
                                                   const std::string& base_dir) {
    if (format.proto_file().empty() || format.message().empty()) {
      return Status::InvalidArgument(
          "format protobuf needs proto_file (the .proto file) and message (the fully qualified "
          "message name)");
    }
    namespace fs = std::filesystem;
    const fs::path base = base_dir.empty() ? fs::path(".") : fs::path(base_dir);
    auto type = std::unique_ptr<MessageType>(new MessageType());
    pb::compiler::DiskSourceTree& disk = type->source_tree_.disk();
    std::string virtual_file = format.proto_file();
    const fs::path proto_path(format.proto_file());
    if (proto_path.is_absolute()) {
      disk.MapPath("", proto_path.parent_path().string());
      virtual_file = proto_path.filename().string();
    }
    disk.MapPath("", base.string());
    for (const std::string& import_path : format.import_paths()) {
      const fs::path path(import_path);
      disk.MapPath("", (path.is_absolute() ? path : base / path).string());
    }
    type->importer_ = std::make_unique<pb::compiler::Importer>(&type->source_tree_, &type->errors_);
    const pb::FileDescriptor* file = type->importer_->Import(virtual_file);
    if (file == nullptr) {
      std::string detail = type->errors_.text();
      if (detail.empty()) detail = type->source_tree_.GetLastErrorMessage();
      return Status::InvalidArgument("protobuf format: cannot load '" + format.proto_file() +
                                     "' (under '" + base.string() + "'): " + detail);
    }
    type->descriptor_ = type->importer_->pool()->FindMessageTypeByName(format.message());
    if (type->descriptor_ == nullptr) {
      std::string known;
      for (int idx = 0; idx < file->message_type_count(); ++idx) {
        if (!known.empty()) known += ", ";
        known += file->message_type(idx)->full_name();
      }
      return Status::InvalidArgument("protobuf format: message '" + format.message() +
                                     "' not found in '" + format.proto_file() + "' (it defines " +
                                     (known.empty() ? "no messages" : known) +
                                     "; use the fully qualified name)");
    }
    type->factory_ = std::make_unique<pb::DynamicMessageFactory>(type->importer_->pool());
    type->prototype_ = type->factory_->GetPrototype(type->descriptor_);
    return type;
  }

  const pb::Descriptor* descriptor() const { return descriptor_; }
  const pb::Message* prototype() const { return prototype_; }

 private:
  MessageType() = default;

  // Declaration order is destruction order in reverse: the factory's
  // prototypes go before the importer's pool they point into.
  FallbackSourceTree source_tree_;
  CollectingErrors errors_;
  std::unique_ptr<pb::compiler::Importer> importer_;
  std::unique_ptr<pb::DynamicMessageFactory> factory_;
  const pb::Descriptor* descriptor_ = nullptr;
  const pb::Message* prototype_ = nullptr;
};

bool IsTimestampMessage(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->full_name() == kTimestampType;
}

bool IsIntegerField(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

// The column type a field maps to when the schema is derived, or nullopt
// for fields that are skipped (repeated, maps, other messages).
std::optional<TypeId> DefaultType(const FieldDescriptor* field) {
  if (field->is_repeated()) return std::nullopt;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return TypeId::kInt64;
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return TypeId::kDouble;
    case FieldDescriptor::CPPTYPE_BOOL:
      return TypeId::kBool;
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_ENUM:
      return TypeId::kString;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (IsTimestampMessage(field)) return TypeId::kTimestamp;
      return std::nullopt;
  }
  return std::nullopt;
}

// Whether a column of `type` can hold field `field` (decoding) and be
// written into it (encoding). See docs/formats.md for the table.
bool Compatible(const FieldDescriptor* field, TypeId type) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return type == TypeId::kInt64 || type == TypeId::kDouble || type == TypeId::kTimestamp;
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return type == TypeId::kDouble;
    case FieldDescriptor::CPPTYPE_BOOL:
      return type == TypeId::kBool;
    case FieldDescriptor::CPPTYPE_STRING:
      return type == TypeId::kString || type == TypeId::kTimestamp;
    case FieldDescriptor::CPPTYPE_ENUM:
      return type == TypeId::kString || type == TypeId::kInt64;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return IsTimestampMessage(field) && type == TypeId::kTimestamp;
  }
  return false;
}

std::string FieldTypeName(const FieldDescriptor* field) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
    return field->message_type()->full_name();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) return field->enum_type()->full_name();
  return field->type_name();
}

// A column bound to a (possibly nested) field of the message.
struct Binding {
  std::string path;                            // dotted, for messages
  std::vector<const FieldDescriptor*> fields;  // fields.back() is the leaf
  TypeId type;
  bool nullable;
};

Result<Binding> Bind(const pb::Descriptor* message, const std::string& column,
                     const std::string& path, TypeId type, bool nullable) {
  Binding binding{path, {}, type, nullable};
  const pb::Descriptor* current = message;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string name =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const FieldDescriptor* field = current->FindFieldByName(name);
    if (field == nullptr) {
      return Status::InvalidArgument("column '" + column + "': message " + current->full_name() +
                                     " has no field '" + name + "'");
    }
    if (field->is_repeated()) {
      return Status::InvalidArgument("column '" + column + "': field '" + name + "' of " +
                                     current->full_name() +
                                     " is repeated, which the protobuf format does not support");
    }
    binding.fields.push_back(field);
    if (dot == std::string::npos) break;
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || IsTimestampMessage(field)) {
      return Status::InvalidArgument("column '" + column + "': field '" + name + "' of " +
                                     current->full_name() + " is not a message, so path '" + path +
                                     "' cannot go into it");
    }
    current = field->message_type();
    start = dot + 1;
  }
  const FieldDescriptor* leaf = binding.fields.back();
  if (!Compatible(leaf, type)) {
    std::string hint;
    if (leaf->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !IsTimestampMessage(leaf)) {
      hint = "; give a dotted path to one of its fields";
    }
    return Status::InvalidArgument("column '" + column + "': protobuf field '" + path +
                                   "' of type " + FieldTypeName(leaf) + " cannot be " +
                                   std::string(TypeName(type)) + hint);
  }
  return binding;
}

Result<std::vector<Binding>> BindColumns(const pb::Descriptor* message, const ColumnSpecs& columns,
                                         const Schema& schema) {
  std::vector<Binding> bindings;
  for (int idx = 0; idx < columns.size(); ++idx) {
    const spec::ColumnSpec& column = columns[idx];
    const Field& field = schema.field(idx);
    EDDY_ASSIGN_OR_RETURN(
        Binding binding,
        Bind(message, column.name(), column.path().empty() ? column.name() : column.path(),
             field.type, field.nullable));
    bindings.push_back(std::move(binding));
  }
  return bindings;
}

Schema DerivedSchema(const pb::Descriptor* message) {
  Schema schema;
  for (int idx = 0; idx < message->field_count(); ++idx) {
    const FieldDescriptor* field = message->field(idx);
    std::optional<TypeId> type = DefaultType(field);
    if (!type.has_value()) continue;
    schema.AddField(Field{field->name(), *type, field->has_presence() && !field->is_required()});
  }
  return schema;
}

std::vector<Binding> DerivedBindings(const pb::Descriptor* message, const Schema& schema) {
  std::vector<Binding> bindings;
  for (const Field& field : schema.fields()) {
    bindings.push_back(
        Binding{field.name, {message->FindFieldByName(field.name)}, field.type, field.nullable});
  }
  return bindings;
}

struct Slot {
  bool valid = false;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string string_value;  // reused across records: assign() keeps capacity

  bool has_value() const { return valid; }
};

constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1000;

class ProtobufDecoder final : public Decoder {
 public:
  ProtobufDecoder(std::unique_ptr<MessageType> type, Schema schema, std::vector<Binding> bindings)
      : type_(std::move(type)), schema_(std::move(schema)), bindings_(std::move(bindings)) {}

  const Schema& schema() const override { return schema_; }

  Status Decode(std::span<const RawRecord> records, Batch* out,
                DeadLetters* dead_letters) const override {
    EDDY_RETURN_IF_ERROR(CheckOutputBatch(schema_, *out));
    // One message per call, cleared between records: Decode runs
    // concurrently, so nothing mutable lives in the decoder.
    std::unique_ptr<pb::Message> message(type_->prototype()->New());
    std::vector<Slot> slots(bindings_.size());
    std::string reason;
    size_t appended = 0;
    for (const RawRecord& record : records) {
      message->Clear();
      if (record.value.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
          !message->ParsePartialFromArray(record.value.data(),
                                          static_cast<int>(record.value.size()))) {
        dead_letters->push_back(MakeDecodeDeadLetter(
            record, "malformed protobuf: cannot parse as " + type_->descriptor()->full_name()));
        continue;
      }
      reason.clear();
      bool ok = true;
      for (size_t column = 0; column < bindings_.size() && ok; ++column) {
        ok = ReadColumn(*message, bindings_[column], &slots[column], &reason);
      }
      if (!ok) {
        dead_letters->push_back(MakeDecodeDeadLetter(record, std::move(reason)));
        continue;
      }
      AppendSlots(slots, out);
      AppendMeta(record, out);
      ++appended;
    }
    return out->SetNumRows(out->num_rows() + appended);
  }

 private:
  bool ReadColumn(const pb::Message& root, const Binding& binding, Slot* slot,
                  std::string* reason) const {
    slot->valid = false;
    const pb::Message* message = &root;
    for (size_t idx = 0; idx + 1 < binding.fields.size(); ++idx) {
      const FieldDescriptor* field = binding.fields[idx];
      if (!message->GetReflection()->HasField(*message, field)) return Missing(binding, reason);
      message = &message->GetReflection()->GetMessage(*message, field);
    }
    const FieldDescriptor* field = binding.fields.back();
    const pb::Reflection* reflection = message->GetReflection();
    if (field->has_presence() && !reflection->HasField(*message, field)) {
      return Missing(binding, reason);
    }
    // Integers, widened to int64 first.
    int64_t integer = 0;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        integer = reflection->GetInt32(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        integer = reflection->GetInt64(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        integer = reflection->GetUInt32(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_UINT64: {
        const uint64_t value = reflection->GetUInt64(*message, field);
        if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
            binding.type != TypeId::kDouble) {
          *reason = "field '" + binding.path + "': value " + std::to_string(value) +
                    " is out of int64 range";
          return false;
        }
        if (binding.type == TypeId::kDouble) {
          slot->double_value = static_cast<double>(value);
          slot->valid = true;
          return true;
        }
        integer = static_cast<int64_t>(value);
        break;
      }
      default:
        break;
    }
    if (IsIntegerField(field)) {
      switch (binding.type) {
        case TypeId::kInt64:
          slot->int_value = integer;
          break;
        case TypeId::kDouble:
          slot->double_value = static_cast<double>(integer);
          break;
        case TypeId::kTimestamp:
          if (integer > kMaxMillis || integer < -kMaxMillis) {
            *reason = "field '" + binding.path + "': epoch milliseconds out of timestamp range";
            return false;
          }
          slot->int_value = integer * 1000;
          break;
        default:
          return false;  // excluded by Compatible()
      }
      slot->valid = true;
      return true;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_FLOAT:
        slot->double_value = reflection->GetFloat(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        slot->double_value = reflection->GetDouble(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        slot->bool_value = reflection->GetBool(*message, field);
        break;
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string& text =
            reflection->GetStringReference(*message, field, &slot->string_value);
        if (binding.type == TypeId::kTimestamp) {
          std::optional<TimestampMicros> parsed = ParseTimestamp(text);
          if (!parsed.has_value()) {
            *reason = "field '" + binding.path + "': invalid timestamp '" + Abbreviate(text) + "'";
            return false;
          }
          slot->int_value = *parsed;
        } else if (&text != &slot->string_value) {
          slot->string_value.assign(text);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const int number = reflection->GetEnumValue(*message, field);
        if (binding.type == TypeId::kInt64) {
          slot->int_value = number;
        } else if (const pb::EnumValueDescriptor* value =
                       field->enum_type()->FindValueByNumber(number)) {
          slot->string_value.assign(value->name());
        } else {
          slot->string_value.assign(std::to_string(number));  // an unknown open-enum value
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE: {  // google.protobuf.Timestamp
        const pb::Message& timestamp = reflection->GetMessage(*message, field);
        const pb::Descriptor* descriptor = timestamp.GetDescriptor();
        const pb::Reflection* ts_reflection = timestamp.GetReflection();
        const int64_t seconds =
            ts_reflection->GetInt64(timestamp, descriptor->FindFieldByName("seconds"));
        const int32_t nanos =
            ts_reflection->GetInt32(timestamp, descriptor->FindFieldByName("nanos"));
        if (seconds > std::numeric_limits<int64_t>::max() / 1000000 - 1 ||
            seconds < std::numeric_limits<int64_t>::min() / 1000000 + 1) {
          *reason = "field '" + binding.path + "': timestamp out of range";
          return false;
        }
        slot->int_value = seconds * 1000000 + nanos / 1000;
        break;
      }
      default:
        return false;
    }
    slot->valid = true;
    return true;
  }

  static bool Missing(const Binding& binding, std::string* reason) {
    if (binding.nullable) return true;
    *reason = "missing required field '" + binding.path + "'";
    return false;
  }

  std::unique_ptr<MessageType> type_;
  Schema schema_;
  std::vector<Binding> bindings_;
};

class ProtobufEncoder final : public Encoder {
 public:
  ProtobufEncoder(std::unique_ptr<MessageType> type, Schema schema, std::vector<Binding> bindings)
      : type_(std::move(type)), schema_(std::move(schema)), bindings_(std::move(bindings)) {}

  Status Encode(const Batch& batch, EncodedRows* out) const override {
    if (batch.num_columns() != schema_.size()) {
      return Status::Internal("protobuf encoder for {" + schema_.ToString() +
                              "} got a batch with {" + batch.schema().ToString() + "}");
    }
    std::unique_ptr<pb::Message> message(type_->prototype()->New());
    out->offsets.reserve(out->offsets.size() + batch.num_rows());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      message->Clear();
      for (size_t column = 0; column < bindings_.size(); ++column) {
        if (batch.column(column).IsNull(row)) continue;  // NULL: the field stays unset
        WriteColumn(batch.column(column), row, bindings_[column], message.get());
      }
      const size_t size = message->ByteSizeLong();
      const size_t start = out->data.size();
      out->data.resize(start + size);
      message->SerializeWithCachedSizesToArray(
          reinterpret_cast<uint8_t*>(out->data.data() + start));
      out->offsets.push_back(out->data.size());
    }
    return Status::OK();
  }

 private:
  // Narrower integer fields receive the value as a C++ conversion would
  // (documented): the encoder has no per-row error channel.
  static void WriteColumn(const Column& column, size_t row, const Binding& binding,
                          pb::Message* root) {
    pb::Message* message = root;
    for (size_t idx = 0; idx + 1 < binding.fields.size(); ++idx) {
      message = message->GetReflection()->MutableMessage(message, binding.fields[idx]);
    }
    const FieldDescriptor* field = binding.fields.back();
    const pb::Reflection* reflection = message->GetReflection();
    if (IsIntegerField(field)) {
      int64_t integer = 0;
      switch (column.type()) {
        case TypeId::kInt64:
          integer = column.GetInt64(row);
          break;
        case TypeId::kTimestamp:
          integer = FloorDiv(column.GetInt64(row), 1000);
          break;
        case TypeId::kDouble:
          integer = ClampToInt64(column.GetDouble(row));
          break;
        default:
          return;
      }
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          reflection->SetInt32(message, field, static_cast<int32_t>(integer));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          reflection->SetInt64(message, field, integer);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          reflection->SetUInt32(message, field, static_cast<uint32_t>(integer));
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          reflection->SetUInt64(message, field, static_cast<uint64_t>(integer));
          break;
        default:
          break;
      }
      return;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_FLOAT:
        reflection->SetFloat(message, field, static_cast<float>(column.GetDouble(row)));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(message, field, column.GetDouble(row));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(message, field, column.GetBool(row));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        if (column.type() == TypeId::kTimestamp) {
          std::string text;
          AppendTimestampText(column.GetInt64(row), &text);
          reflection->SetString(message, field, std::move(text));
        } else {
          reflection->SetString(message, field, std::string(column.GetString(row)));
        }
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        if (column.type() == TypeId::kInt64) {
          reflection->SetEnumValue(message, field, static_cast<int>(column.GetInt64(row)));
        } else if (const pb::EnumValueDescriptor* value =
                       field->enum_type()->FindValueByName(std::string(column.GetString(row)))) {
          reflection->SetEnum(message, field, value);
        }
        // An unknown enum name leaves the field at its default.
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: {  // google.protobuf.Timestamp
        pb::Message* timestamp = reflection->MutableMessage(message, field);
        const pb::Descriptor* descriptor = timestamp->GetDescriptor();
        const int64_t micros = column.GetInt64(row);
        const int64_t seconds = FloorDiv(micros, 1000000);
        timestamp->GetReflection()->SetInt64(timestamp, descriptor->FindFieldByName("seconds"),
                                             seconds);
        timestamp->GetReflection()->SetInt32(
            timestamp, descriptor->FindFieldByName("nanos"),
            static_cast<int32_t>((micros - seconds * 1000000) * 1000));
        break;
      }
      default:
        break;
    }
  }

  static int64_t FloorDiv(int64_t value, int64_t divisor) {
    int64_t quotient = value / divisor;
    if (value % divisor != 0 && value < 0) --quotient;
    return quotient;
  }

  static int64_t ClampToInt64(double value) {
    if (std::isnan(value)) return 0;
    if (value >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
    if (value <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(value);
  }

  std::unique_ptr<MessageType> type_;
  Schema schema_;
  std::vector<Binding> bindings_;
};

// Protobuf and the standard library may throw (bad_alloc, filesystem
// errors); keep that from crossing the module boundary.
template <typename Fn>
auto CatchExceptions(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("protobuf format: ") + e.what());
  }
}

}  // namespace

Result<Schema> ResolveProtobufSchema(const spec::FormatSpec& format, const ColumnSpecs& columns,
                                     const std::string& base_dir) {
  return CatchExceptions([&]() -> Result<Schema> {
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<MessageType> type, MessageType::Load(format, base_dir));
    if (columns.empty()) return DerivedSchema(type->descriptor());
    EDDY_ASSIGN_OR_RETURN(Schema schema, SchemaFromColumns(columns));
    EDDY_ASSIGN_OR_RETURN(std::vector<Binding> bindings,
                          BindColumns(type->descriptor(), columns, schema));
    (void)bindings;  // bound only to validate the columns early
    return schema;
  });
}

Result<std::unique_ptr<Decoder>> MakeProtobufDecoder(const spec::FormatSpec& format,
                                                     const ColumnSpecs& columns,
                                                     const std::string& base_dir) {
  return CatchExceptions([&]() -> Result<std::unique_ptr<Decoder>> {
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<MessageType> type, MessageType::Load(format, base_dir));
    Schema schema;
    std::vector<Binding> bindings;
    if (columns.empty()) {
      schema = DerivedSchema(type->descriptor());
      bindings = DerivedBindings(type->descriptor(), schema);
    } else {
      EDDY_ASSIGN_OR_RETURN(schema, SchemaFromColumns(columns));
      EDDY_ASSIGN_OR_RETURN(bindings, BindColumns(type->descriptor(), columns, schema));
    }
    return std::unique_ptr<Decoder>(
        std::make_unique<ProtobufDecoder>(std::move(type), std::move(schema), std::move(bindings)));
  });
}

Result<std::unique_ptr<Encoder>> MakeProtobufEncoder(const spec::FormatSpec& format,
                                                     const Schema& schema,
                                                     const std::string& base_dir) {
  return CatchExceptions([&]() -> Result<std::unique_ptr<Encoder>> {
    EDDY_ASSIGN_OR_RETURN(std::unique_ptr<MessageType> type, MessageType::Load(format, base_dir));
    std::vector<Binding> bindings;
    for (const Field& field : schema.fields()) {
      EDDY_ASSIGN_OR_RETURN(Binding binding, Bind(type->descriptor(), field.name, field.name,
                                                  field.type, field.nullable));
      bindings.push_back(std::move(binding));
    }
    return std::unique_ptr<Encoder>(
        std::make_unique<ProtobufEncoder>(std::move(type), schema, std::move(bindings)));
  });
}

}  // namespace eddy::format_internal
