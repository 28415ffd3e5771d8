// csv: RFC 4180 records, columns by position in schema order.
//
// Each record is split into fields (views into the record, or into a
// per-call scratch buffer for quoted fields with doubled quotes), the field
// count is checked, and every field is parsed into a row-local slot; only a
// record whose every field parsed is appended to the batch.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "connectors/format/format_internal.h"

namespace eddy::format_internal {
namespace {

struct CsvField {
  std::string_view text;
  bool quoted = false;
};

struct Slot {
  bool valid = false;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string_view string_value;

  bool has_value() const { return valid; }
};

// Splits `record` (one line; a trailing \n or \r\n is ignored) into fields.
// `scratch` must have capacity for record.size() bytes so views into it stay
// valid while it is appended to. Returns false with `reason` on malformed
// quoting.
bool SplitRecord(std::string_view record, char delimiter, std::vector<CsvField>* fields,
                 std::string* scratch, std::string* reason) {
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
  fields->clear();
  size_t pos = 0;
  while (true) {
    CsvField field;
    if (pos < record.size() && record[pos] == '"') {
      field.quoted = true;
      const size_t start = ++pos;
      // Text without doubled quotes is viewed in place; otherwise the field
      // is unescaped into `scratch` from `scratch_start`, `run` being the
      // start of the text not copied yet.
      bool unescaped = false;
      size_t scratch_start = 0;
      size_t run = start;
      while (true) {
        const size_t quote = record.find('"', pos);
        if (quote == std::string_view::npos) {
          *reason =
              "malformed CSV: unterminated quoted field " + std::to_string(fields->size() + 1);
          return false;
        }
        if (quote + 1 < record.size() && record[quote + 1] == '"') {
          if (!unescaped) {
            unescaped = true;
            scratch_start = scratch->size();
          }
          scratch->append(record.data() + run, quote + 1 - run);  // keeps one quote
          pos = run = quote + 2;
          continue;
        }
        if (!unescaped) {
          field.text = record.substr(start, quote - start);
        } else {
          scratch->append(record.data() + run, quote - run);
          field.text =
              std::string_view(scratch->data() + scratch_start, scratch->size() - scratch_start);
        }
        pos = quote + 1;
        break;
      }
      if (pos < record.size() && record[pos] != delimiter) {
        *reason = "malformed CSV: unexpected character after the closing quote of field " +
                  std::to_string(fields->size() + 1);
        return false;
      }
    } else {
      const size_t end = std::min(record.find(delimiter, pos), record.size());
      field.text = record.substr(pos, end - pos);
      pos = end;
    }
    fields->push_back(field);
    if (pos >= record.size()) return true;
    ++pos;  // the delimiter; a delimiter at the very end starts one more, empty field
  }
}

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDouble(std::string_view text, double* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool EqualsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t idx = 0; idx < text.size(); ++idx) {
    char c = text[idx];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[idx]) return false;
  }
  return true;
}

class CsvDecoder final : public Decoder {
 public:
  CsvDecoder(Schema schema, char delimiter) : schema_(std::move(schema)), delimiter_(delimiter) {}

  const Schema& schema() const override { return schema_; }

  Status Decode(std::span<const RawRecord> records, Batch* out,
                DeadLetters* dead_letters) const override {
    EDDY_RETURN_IF_ERROR(CheckOutputBatch(schema_, *out));
    std::vector<CsvField> fields;
    fields.reserve(schema_.size());
    std::vector<Slot> slots(schema_.size());
    std::string scratch;
    std::string reason;
    size_t appended = 0;
    for (const RawRecord& record : records) {
      scratch.clear();
      scratch.reserve(record.value.size());
      reason.clear();
      if (!DecodeRecord(record.value, &fields, &scratch, &slots, &reason)) {
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
  bool DecodeRecord(std::string_view value, std::vector<CsvField>* fields, std::string* scratch,
                    std::vector<Slot>* slots, std::string* reason) const {
    if (!SplitRecord(value, delimiter_, fields, scratch, reason)) return false;
    if (fields->size() != schema_.size()) {
      *reason = "expected " + std::to_string(schema_.size()) + " fields, got " +
                std::to_string(fields->size());
      return false;
    }
    for (size_t column = 0; column < schema_.size(); ++column) {
      if (!ParseField((*fields)[column], column, &(*slots)[column], reason)) return false;
    }
    return true;
  }

  bool ParseField(const CsvField& field, size_t column, Slot* slot, std::string* reason) const {
    const Field& spec = schema_.field(column);
    *slot = Slot{};
    // An empty unquoted field is NULL; for non-string columns a quoted empty
    // field has no other meaning, so it is NULL too.
    const std::string_view text =
        spec.type == TypeId::kString ? field.text : TrimSpaces(field.text);
    if (text.empty() && (!field.quoted || spec.type != TypeId::kString)) {
      if (!spec.nullable) {
        *reason = "missing required field '" + spec.name + "'";
        return false;
      }
      return true;
    }
    bool ok = true;
    switch (spec.type) {
      case TypeId::kString:
        slot->string_value = text;
        break;
      case TypeId::kBool:
        if (EqualsIgnoreCase(text, "true") || text == "1") {
          slot->bool_value = true;
        } else if (EqualsIgnoreCase(text, "false") || text == "0") {
          slot->bool_value = false;
        } else {
          ok = false;
        }
        break;
      case TypeId::kInt64:
        if (!ParseInt64(text, &slot->int_value)) {
          // Accept an integral decimal such as "3.0", as JSON does.
          double number;
          ok = ParseDouble(text, &number) && std::fabs(number) < 9223372036854775808.0 &&
               number == std::trunc(number);
          if (ok) slot->int_value = static_cast<int64_t>(number);
        }
        break;
      case TypeId::kDouble:
        ok = ParseDouble(text, &slot->double_value);
        break;
      case TypeId::kTimestamp: {
        int64_t millis;
        if (ParseInt64(text, &millis)) {
          constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1000;
          ok = millis <= kMaxMillis && millis >= -kMaxMillis;
          slot->int_value = millis * (ok ? 1000 : 0);
        } else if (std::optional<TimestampMicros> parsed = ParseTimestamp(text)) {
          slot->int_value = *parsed;
        } else {
          ok = false;
        }
        break;
      }
    }
    if (!ok) {
      *reason = "field '" + spec.name + "': expected " + std::string(TypeName(spec.type)) +
                ", got '" + Abbreviate(text) + "'";
      return false;
    }
    slot->valid = true;
    return true;
  }

  Schema schema_;
  char delimiter_;
};

// Appends `text` as one CSV field, quoted when it holds the delimiter, a
// quote or a line break, or is empty (an empty unquoted field reads as NULL).
void AppendCsvField(std::string_view text, char delimiter, std::string* out) {
  bool needs_quotes = text.empty();
  for (char c : text) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    out->append(text);
    return;
  }
  out->push_back('"');
  size_t run_start = 0;
  for (size_t pos = 0; pos < text.size(); ++pos) {
    if (text[pos] == '"') {
      out->append(text.data() + run_start, pos + 1 - run_start);
      out->push_back('"');
      run_start = pos + 1;
    }
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

class CsvEncoder final : public Encoder {
 public:
  CsvEncoder(const Schema& schema, char delimiter, bool header)
      : schema_(schema), delimiter_(delimiter) {
    if (header) {
      for (size_t idx = 0; idx < schema_.size(); ++idx) {
        if (idx > 0) header_.push_back(delimiter_);
        AppendCsvField(schema_.field(idx).name, delimiter_, &header_);
      }
    }
  }

  std::string Header() const override { return header_; }

  Status Encode(const Batch& batch, EncodedRows* out) const override {
    if (batch.num_columns() != schema_.size()) {
      return Status::Internal("csv encoder for {" + schema_.ToString() + "} got a batch with {" +
                              batch.schema().ToString() + "}");
    }
    std::string& data = out->data;
    out->offsets.reserve(out->offsets.size() + batch.num_rows());
    // One growth up front instead of repeated doubling (a rough estimate).
    data.reserve(data.size() + batch.ApproximateBytes() + batch.num_rows() * 24 * schema_.size());
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      for (size_t column_idx = 0; column_idx < schema_.size(); ++column_idx) {
        if (column_idx > 0) data.push_back(delimiter_);
        const Column& column = batch.column(column_idx);
        if (column.IsNull(row)) continue;
        switch (column.type()) {
          case TypeId::kBool:
            data += column.GetBool(row) ? "true" : "false";
            break;
          case TypeId::kInt64:
            AppendInt64Text(column.GetInt64(row), &data);
            break;
          case TypeId::kDouble:
            AppendDoubleText(column.GetDouble(row), &data);
            break;
          case TypeId::kString:
            AppendCsvField(column.GetString(row), delimiter_, &data);
            break;
          case TypeId::kTimestamp:
            AppendTimestampText(column.GetInt64(row), &data);
            break;
        }
      }
      out->offsets.push_back(data.size());
    }
    return Status::OK();
  }

 private:
  Schema schema_;
  char delimiter_;
  std::string header_;
};

Result<char> ParseDelimiter(const spec::FormatSpec& format) {
  if (format.delimiter().empty()) return ',';
  const std::string& delimiter = format.delimiter();
  if (delimiter.size() != 1 || delimiter[0] == '"' || delimiter[0] == '\n' ||
      delimiter[0] == '\r') {
    return Status::InvalidArgument(
        "csv delimiter must be one character other than a quote or "
        "line break, got '" +
        delimiter + "'");
  }
  return delimiter[0];
}

}  // namespace

Result<std::unique_ptr<Decoder>> MakeCsvDecoder(const spec::FormatSpec& format, Schema schema) {
  EDDY_ASSIGN_OR_RETURN(char delimiter, ParseDelimiter(format));
  return std::unique_ptr<Decoder>(std::make_unique<CsvDecoder>(std::move(schema), delimiter));
}

Result<std::unique_ptr<Encoder>> MakeCsvEncoder(const spec::FormatSpec& format,
                                                const Schema& schema) {
  EDDY_ASSIGN_OR_RETURN(char delimiter, ParseDelimiter(format));
  return std::unique_ptr<Encoder>(std::make_unique<CsvEncoder>(schema, delimiter, format.header()));
}

}  // namespace eddy::format_internal
