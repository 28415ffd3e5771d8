#include "runtime/core/json_string.h"

#include <cstdint>

namespace eddy {
namespace {

// Length of the valid UTF-8 sequence starting at text[pos] (2-4 bytes), or 0
// when the bytes there are not one (overlong forms and surrogates included).
size_t Utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t idx) { return static_cast<unsigned char>(text[idx]); };
  const unsigned char lead = byte(pos);
  size_t length;
  uint32_t min_code_point;
  uint32_t code_point;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    min_code_point = 0x80;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min_code_point = 0x800;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min_code_point = 0x10000;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (size_t idx = 1; idx < length; ++idx) {
    const unsigned char cont = byte(pos + idx);
    if ((cont & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (cont & 0x3F);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++pos;
      continue;
    }
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, pos);
      if (length > 0) {
        pos += length;
        continue;
      }
    }
    out->append(text.data() + run_start, pos - run_start);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (c < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out->append(escaped, sizeof(escaped));
        } else {
          out->append("\\ufffd");  // not valid UTF-8
        }
    }
    ++pos;
    run_start = pos;
  }
  out->append(text.data() + run_start, pos - run_start);
  out->push_back('"');
}

}  // namespace eddy
