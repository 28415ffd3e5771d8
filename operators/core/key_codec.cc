#include "operators/core/key_codec.h"

#include <cstring>

namespace eddy {

void AppendOrderedInt64(int64_t value, std::string* out) {
  const uint64_t bits = static_cast<uint64_t>(value) ^ (uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(bits >> shift));
}

int64_t ReadOrderedInt64(std::string_view bytes) {
  uint64_t bits = 0;
  for (int idx = 0; idx < 8; ++idx) bits = (bits << 8) | static_cast<uint8_t>(bytes[idx]);
  return static_cast<int64_t>(bits ^ (uint64_t{1} << 63));
}

void EncodeKey(const std::vector<Column>& columns, size_t row, std::string* out) {
  for (const Column& column : columns) {
    if (column.IsNull(row)) {
      out->push_back('\0');
      continue;
    }
    out->push_back('\1');
    switch (column.type()) {
      case TypeId::kBool:
        out->push_back(column.GetBool(row) ? '\1' : '\0');
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        AppendOrderedInt64(column.GetInt64(row), out);
        break;
      case TypeId::kDouble: {
        double value = column.GetDouble(row);
        if (value == 0) value = 0;  // -0.0 and 0.0 are one key
        uint64_t bits;
        std::memcpy(&bits, &value, sizeof(bits));
        AppendOrderedInt64(static_cast<int64_t>(bits), out);
        break;
      }
      case TypeId::kString: {
        const std::string_view text = column.GetString(row);
        const uint32_t size = static_cast<uint32_t>(text.size());
        for (int shift = 24; shift >= 0; shift -= 8)
          out->push_back(static_cast<char>(size >> shift));
        out->append(text);
        break;
      }
    }
  }
}

Status DecodeKey(std::string_view* bytes, std::vector<Column>* columns) {
  auto need = [&](size_t count) { return bytes->size() >= count; };
  for (Column& column : *columns) {
    if (!need(1)) return Status::Corruption("truncated key");
    const char present = (*bytes)[0];
    bytes->remove_prefix(1);
    if (present == '\0') {
      column.AppendNull();
      continue;
    }
    switch (column.type()) {
      case TypeId::kBool:
        if (!need(1)) return Status::Corruption("truncated key");
        column.AppendBool((*bytes)[0] != '\0');
        bytes->remove_prefix(1);
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        if (!need(8)) return Status::Corruption("truncated key");
        column.AppendInt64(ReadOrderedInt64(*bytes));
        bytes->remove_prefix(8);
        break;
      case TypeId::kDouble: {
        if (!need(8)) return Status::Corruption("truncated key");
        const uint64_t bits = static_cast<uint64_t>(ReadOrderedInt64(*bytes));
        double value;
        std::memcpy(&value, &bits, sizeof(value));
        column.AppendDouble(value);
        bytes->remove_prefix(8);
        break;
      }
      case TypeId::kString: {
        if (!need(4)) return Status::Corruption("truncated key");
        uint32_t size = 0;
        for (int idx = 0; idx < 4; ++idx) size = (size << 8) | static_cast<uint8_t>((*bytes)[idx]);
        bytes->remove_prefix(4);
        if (!need(size)) return Status::Corruption("truncated key");
        column.AppendString(bytes->substr(0, size));
        bytes->remove_prefix(size);
        break;
      }
    }
  }
  return Status::OK();
}

}  // namespace eddy
