// json: one JSON object per record, decoded with simdjson On-Demand.
//
// Columns are found by (dotted) path, in any order: the decoder walks each
// object once and looks each key up in a small tree built from the column
// paths, so unknown fields are skipped without being materialized. Values
// are first decoded into a row-local scratch slot per column and only
// appended to the batch once the whole record decoded, so a record that
// fails half-way leaves nothing behind.

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "connectors/format/format_internal.h"

namespace eddy::format_internal {
namespace {

namespace od = simdjson::ondemand;

// One segment of the column paths. The root is node 0.
struct PathNode {
  std::string key;
  std::string full_path;           // dotted path from the root, for messages
  int column = -1;                 // the column this path ends in, or -1
  std::vector<uint32_t> children;  // indices into the node vector
};

// A value decoded from the current record, held until the record is known
// to be good. Strings point into the parser's string buffer, which stays
// valid until the next document is parsed.
struct Slot {
  enum class State : uint8_t { kMissing, kNull, kValue };
  State state = State::kMissing;
  bool bool_value = false;
  int64_t int_value = 0;  // int64 and timestamp
  double double_value = 0;
  std::string_view string_value;

  bool has_value() const { return state == State::kValue; }
};

const char* JsonTypeName(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

// Epoch milliseconds beyond this overflow microseconds in an int64.
constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1000;

// Parser state for one record: the document (for error positions) and the
// buffer it was parsed from.
struct RecordContext {
  od::document* doc;
  const char* buffer;
  std::vector<Slot>* slots;
  std::string* reason;
};

class JsonDecoder final : public Decoder {
 public:
  JsonDecoder(Schema schema, std::vector<PathNode> nodes, std::vector<std::string> paths)
      : schema_(std::move(schema)), nodes_(std::move(nodes)), paths_(std::move(paths)) {}

  const Schema& schema() const override { return schema_; }

  Status Decode(std::span<const RawRecord> records, Batch* out,
                DeadLetters* dead_letters) const override {
    EDDY_RETURN_IF_ERROR(CheckOutputBatch(schema_, *out));
    // Parsers are expensive to create and reusable; Decode runs on many
    // threads at once, so each thread keeps its own parser and input buffer.
    thread_local od::parser parser;
    thread_local std::vector<char> padded;
    std::vector<Slot> slots(schema_.size());
    std::string reason;
    size_t appended = 0;
    ReserveRows(records.size(), out);
    for (const RawRecord& record : records) {
      const size_t length = record.value.size();
      if (padded.size() < length + simdjson::SIMDJSON_PADDING) {
        padded.resize(std::max(length + simdjson::SIMDJSON_PADDING, padded.size() * 2));
      }
      if (length > 0) std::memcpy(padded.data(), record.value.data(), length);
      std::fill(slots.begin(), slots.end(), Slot{});
      reason.clear();
      if (!DecodeRecord(parser, padded.data(), length, padded.size(), &slots, &reason)) {
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
  bool DecodeRecord(od::parser& parser, const char* buffer, size_t length, size_t capacity,
                    std::vector<Slot>* slots, std::string* reason) const {
    auto doc_result = parser.iterate(buffer, length, capacity);
    od::document doc;
    if (auto error = std::move(doc_result).get(doc)) {
      *reason = std::string("malformed JSON: ") + simdjson::error_message(error);
      return false;
    }
    RecordContext ctx{&doc, buffer, slots, reason};
    od::json_type type;
    if (auto error = doc.type().get(type)) return Malformed(ctx, error);
    if (type != od::json_type::object) {
      *reason = std::string("expected a JSON object, got ") + JsonTypeName(type);
      return false;
    }
    od::object object;
    if (auto error = doc.get_object().get(object)) return Malformed(ctx, error);
    if (!DecodeObject(ctx, object, 0)) return false;
    // After the object only whitespace may follow.
    const char* location = nullptr;
    if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) {
      *reason = "malformed JSON at byte " +
                std::to_string(location != nullptr ? location - buffer : 0) +
                ": unexpected content after the object";
      return false;
    }
    for (size_t column = 0; column < slots->size(); ++column) {
      const Slot& slot = (*slots)[column];
      if (slot.state != Slot::State::kValue && !schema_.field(column).nullable) {
        *reason = "missing required field '" + paths_[column] + "'";
        return false;
      }
    }
    return true;
  }

  bool Malformed(const RecordContext& ctx, simdjson::error_code error) const {
    const char* location = nullptr;
    if (ctx.doc->current_location().get(location) == simdjson::SUCCESS && location != nullptr) {
      *ctx.reason = "malformed JSON at byte " + std::to_string(location - ctx.buffer) + ": " +
                    simdjson::error_message(error);
    } else {
      *ctx.reason = std::string("malformed JSON: ") + simdjson::error_message(error);
    }
    return false;
  }

  bool DecodeObject(const RecordContext& ctx, od::object& object, uint32_t node_idx) const {
    const PathNode& node = nodes_[node_idx];
    for (auto field_result : object) {
      od::field field;
      if (auto error = std::move(field_result).get(field)) return Malformed(ctx, error);
      std::string_view key;
      if (auto error = field.unescaped_key().get(key)) return Malformed(ctx, error);
      const PathNode* child = nullptr;
      uint32_t child_idx = 0;
      for (uint32_t idx : node.children) {
        if (nodes_[idx].key == key) {
          child = &nodes_[idx];
          child_idx = idx;
          break;
        }
      }
      if (child == nullptr) continue;  // unknown field: skipped by the iterator
      od::value value = field.value();
      if (child->column >= 0) {
        if (!DecodeValue(ctx, value, child->column)) return false;
        continue;
      }
      od::json_type type;
      if (auto error = value.type().get(type)) return Malformed(ctx, error);
      if (type == od::json_type::null) {
        bool is_null = false;
        if (auto error = value.is_null().get(is_null)) return Malformed(ctx, error);
        if (!is_null) return Malformed(ctx, simdjson::N_ATOM_ERROR);
        continue;  // the columns below stay missing
      }
      if (type != od::json_type::object) {
        *ctx.reason =
            "field '" + child->full_path + "': expected object, got " + JsonTypeName(type);
        return false;
      }
      od::object nested;
      if (auto error = value.get_object().get(nested)) return Malformed(ctx, error);
      if (!DecodeObject(ctx, nested, child_idx)) return false;
    }
    return true;
  }

  bool Mismatch(const RecordContext& ctx, int column, od::json_type got) const {
    *ctx.reason = "field '" + paths_[column] + "': expected " +
                  std::string(TypeName(schema_.field(column).type)) + ", got " + JsonTypeName(got);
    return false;
  }

  bool DecodeValue(const RecordContext& ctx, od::value& value, int column) const {
    Slot& slot = (*ctx.slots)[column];
    od::json_type type;
    if (auto error = value.type().get(type)) return Malformed(ctx, error);
    if (type == od::json_type::null) {
      bool is_null = false;
      if (value.is_null().get(is_null) != simdjson::SUCCESS || !is_null) {
        return Malformed(ctx, simdjson::N_ATOM_ERROR);
      }
      slot.state = Slot::State::kNull;
      return true;
    }
    switch (schema_.field(column).type) {
      case TypeId::kBool: {
        if (type != od::json_type::boolean) return Mismatch(ctx, column, type);
        if (auto error = value.get_bool().get(slot.bool_value)) return Malformed(ctx, error);
        break;
      }
      case TypeId::kInt64: {
        if (type != od::json_type::number) return Mismatch(ctx, column, type);
        if (!DecodeInteger(ctx, value, column, &slot.int_value)) return false;
        break;
      }
      case TypeId::kDouble: {
        if (type != od::json_type::number) return Mismatch(ctx, column, type);
        if (auto error = value.get_double().get(slot.double_value)) return Malformed(ctx, error);
        break;
      }
      case TypeId::kString: {
        if (type != od::json_type::string) return Mismatch(ctx, column, type);
        if (auto error = value.get_string().get(slot.string_value)) return Malformed(ctx, error);
        break;
      }
      case TypeId::kTimestamp: {
        if (type == od::json_type::string) {
          std::string_view text;
          if (auto error = value.get_string().get(text)) return Malformed(ctx, error);
          std::optional<TimestampMicros> parsed = ParseTimestamp(text);
          if (!parsed.has_value()) {
            *ctx.reason =
                "field '" + paths_[column] + "': invalid timestamp '" + Abbreviate(text) + "'";
            return false;
          }
          slot.int_value = *parsed;
        } else if (type == od::json_type::number) {
          if (!DecodeMillis(ctx, value, column, &slot.int_value)) return false;
        } else {
          *ctx.reason = "field '" + paths_[column] +
                        "': expected timestamp (ISO 8601 string or epoch milliseconds), got " +
                        JsonTypeName(type);
          return false;
        }
        break;
      }
    }
    slot.state = Slot::State::kValue;
    return true;
  }

  // A JSON integer, or a double with an integral value that fits.
  bool DecodeInteger(const RecordContext& ctx, od::value& value, int column, int64_t* out) const {
    od::number_type number_type;
    if (auto error = value.get_number_type().get(number_type)) return Malformed(ctx, error);
    if (number_type == od::number_type::signed_integer) {
      if (auto error = value.get_int64().get(*out)) return Malformed(ctx, error);
      return true;
    }
    if (number_type == od::number_type::unsigned_integer) {
      const std::string_view token = value.raw_json_token();
      *ctx.reason = "field '" + paths_[column] + "': integer " + Abbreviate(TrimToken(token)) +
                    " is out of int64 range";
      return false;
    }
    double number;
    if (auto error = value.get_double().get(number)) return Malformed(ctx, error);
    // 2^63 is exactly representable; every double below it in magnitude
    // converts without overflow.
    if (number != std::trunc(number)) {
      std::string text;
      AppendDoubleText(number, &text);
      *ctx.reason =
          "field '" + paths_[column] + "': expected int64, got non-integer number " + text;
      return false;
    }
    if (!(std::fabs(number) < 9223372036854775808.0)) {
      *ctx.reason = "field '" + paths_[column] + "': integer " +
                    Abbreviate(TrimToken(value.raw_json_token())) + " is out of int64 range";
      return false;
    }
    *out = static_cast<int64_t>(number);
    return true;
  }

  // Epoch milliseconds (integer or fractional) to microseconds.
  bool DecodeMillis(const RecordContext& ctx, od::value& value, int column, int64_t* out) const {
    od::number_type number_type;
    if (auto error = value.get_number_type().get(number_type)) return Malformed(ctx, error);
    if (number_type == od::number_type::signed_integer) {
      int64_t millis;
      if (auto error = value.get_int64().get(millis)) return Malformed(ctx, error);
      if (millis > kMaxMillis || millis < -kMaxMillis) return OutOfRange(ctx, column);
      *out = millis * 1000;
      return true;
    }
    if (number_type == od::number_type::unsigned_integer) return OutOfRange(ctx, column);
    double millis;
    if (auto error = value.get_double().get(millis)) return Malformed(ctx, error);
    if (!(std::fabs(millis) < static_cast<double>(kMaxMillis))) return OutOfRange(ctx, column);
    *out = std::llround(millis * 1000.0);
    return true;
  }

  bool OutOfRange(const RecordContext& ctx, int column) const {
    *ctx.reason = "field '" + paths_[column] + "': epoch milliseconds out of timestamp range";
    return false;
  }

  static std::string_view TrimToken(std::string_view token) {
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' ||
                              token.back() == '\r')) {
      token.remove_suffix(1);
    }
    return token;
  }

  Schema schema_;
  std::vector<PathNode> nodes_;
  std::vector<std::string> paths_;  // per column, for messages
};

class JsonEncoder final : public Encoder {
 public:
  explicit JsonEncoder(const Schema& schema) : schema_(schema) {
    for (size_t idx = 0; idx < schema_.size(); ++idx) {
      std::string prefix = idx == 0 ? "{" : ",";
      AppendJsonString(schema_.field(idx).name, &prefix);
      prefix += ':';
      prefix_bytes_ += prefix.size();
      prefixes_.push_back(std::move(prefix));
    }
  }

  Status Encode(const Batch& batch, EncodedRows* out) const override {
    if (batch.num_columns() != schema_.size()) {
      return Status::Internal("json encoder for {" + schema_.ToString() + "} got a batch with {" +
                              batch.schema().ToString() + "}");
    }
    std::string& data = out->data;
    out->offsets.reserve(out->offsets.size() + batch.num_rows());
    // One growth up front instead of repeated doubling: keys plus a rough
    // text width per value (strings are counted by ApproximateBytes).
    data.reserve(data.size() + batch.ApproximateBytes() +
                 batch.num_rows() * (prefix_bytes_ + 2 + 24 * schema_.size()));
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      if (schema_.size() == 0) data += '{';
      for (size_t column_idx = 0; column_idx < schema_.size(); ++column_idx) {
        data += prefixes_[column_idx];
        const Column& column = batch.column(column_idx);
        if (column.IsNull(row)) {
          data += "null";
          continue;
        }
        switch (column.type()) {
          case TypeId::kBool:
            data += column.GetBool(row) ? "true" : "false";
            break;
          case TypeId::kInt64:
            AppendInt64Text(column.GetInt64(row), &data);
            break;
          case TypeId::kDouble: {
            const double value = column.GetDouble(row);
            if (std::isfinite(value)) {
              AppendDoubleText(value, &data);
            } else {
              data += "null";  // JSON has no NaN or infinity
            }
            break;
          }
          case TypeId::kString:
            AppendJsonString(column.GetString(row), &data);
            break;
          case TypeId::kTimestamp:
            data += '"';
            AppendTimestampText(column.GetInt64(row), &data);
            data += '"';
            break;
        }
      }
      data += '}';
      out->offsets.push_back(data.size());
    }
    return Status::OK();
  }

 private:
  Schema schema_;
  std::vector<std::string> prefixes_;  // `{"name":` for the first field, `,"name":` after
  size_t prefix_bytes_ = 0;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeJsonDecoder(const ColumnSpecs& columns, Schema schema) {
  std::vector<PathNode> nodes(1);  // the root
  std::vector<std::string> paths;
  for (int column = 0; column < columns.size(); ++column) {
    const spec::ColumnSpec& spec = columns[column];
    const std::string path = spec.path().empty() ? spec.name() : spec.path();
    uint32_t node = 0;
    size_t start = 0;
    while (true) {
      const size_t dot = spec.path().empty() ? std::string::npos : path.find('.', start);
      const std::string key =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (key.empty()) {
        return Status::InvalidArgument("column '" + spec.name() + "': invalid path '" + path + "'");
      }
      uint32_t child = 0;
      for (uint32_t idx : nodes[node].children) {
        if (nodes[idx].key == key) child = idx;
      }
      if (child == 0) {
        child = static_cast<uint32_t>(nodes.size());
        const std::string& parent_path = nodes[node].full_path;
        nodes.push_back(PathNode{key, parent_path.empty() ? key : parent_path + "." + key, -1, {}});
        nodes[node].children.push_back(child);
      }
      node = child;
      if (nodes[node].column >= 0) {
        return Status::InvalidArgument("column '" + spec.name() + "': path '" + path +
                                       "' overlaps the path of column '" +
                                       columns[nodes[node].column].name() + "'");
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (!nodes[node].children.empty()) {
      return Status::InvalidArgument("column '" + spec.name() + "': path '" + path +
                                     "' overlaps the path of another column");
    }
    nodes[node].column = column;
    paths.push_back(path);
  }
  return std::unique_ptr<Decoder>(
      std::make_unique<JsonDecoder>(std::move(schema), std::move(nodes), std::move(paths)));
}

Result<std::unique_ptr<Encoder>> MakeJsonEncoder(const Schema& schema) {
  return std::unique_ptr<Encoder>(std::make_unique<JsonEncoder>(schema));
}

}  // namespace eddy::format_internal
