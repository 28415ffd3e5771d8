#pragma once
// Record formats: decode record bytes straight into the columns of a Batch,
// and encode a Batch's rows back into bytes. json (simdjson), csv, protobuf
// (dynamic messages from a .proto file) and raw (the bytes as one string
// column `value`).
//
// Thread-safety: Decoder and Encoder are immutable after creation; Decode and
// Encode may run concurrently from many tasks.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/dead_letter.h"
#include "runtime/core/status.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy {

// One record as read from a source, before decoding. Views stay valid for
// the duration of the Decode call.
struct RawRecord {
  std::string_view value;
  std::optional<std::string_view> key;
  std::string_view topic;  // or the source name for file and generator sources
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<TimestampMicros> timestamp;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual const Schema& schema() const = 0;
  // Appends one row per decodable record to `out` (columns and meta, which
  // must have schema()) and one DeadLetter (reason, origin, original bytes)
  // per record that is not. Never fails on data; a non-OK Status is a bug.
  virtual Status Decode(std::span<const RawRecord> records, Batch* out,
                        DeadLetters* dead_letters) const = 0;
};

// Encoded rows: row i is data[offsets[i], offsets[i+1]).
struct EncodedRows {
  std::string data;
  std::vector<size_t> offsets{0};

  size_t size() const { return offsets.size() - 1; }
  std::string_view row(size_t idx) const {
    return std::string_view(data.data() + offsets[idx], offsets[idx + 1] - offsets[idx]);
  }
  void Clear() {
    data.clear();
    offsets.assign(1, 0);
  }
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // Appends one encoded record per row of `batch` (whose schema is the one
  // the encoder was made for).
  virtual Status Encode(const Batch& batch, EncodedRows* out) const = 0;
  // A header line for file sinks (csv with header: true), else empty.
  virtual std::string Header() const { return {}; }
  // The string column of `batch` whose values are, byte for byte, what
  // Encode would write (a NULL: an empty record), when the encoding is the
  // identity (raw of a string column); else null. A sink can then write
  // straight from the batch instead of encoding a copy.
  virtual const Column* Passthrough(const Batch& batch) const {
    (void)batch;
    return nullptr;
  }
};

// The schema records of `format` decode into: the declared `columns` when
// given, else derived from the protobuf message (protobuf) or the single
// column `value` (raw). `base_dir` resolves relative .proto paths.
Result<Schema> ResolveSchema(const spec::FormatSpec& format,
                             const google::protobuf::RepeatedPtrField<spec::ColumnSpec>& columns,
                             const std::string& base_dir);

Result<std::unique_ptr<Decoder>> MakeDecoder(
    const spec::FormatSpec& format,
    const google::protobuf::RepeatedPtrField<spec::ColumnSpec>& columns,
    const std::string& base_dir);

Result<std::unique_ptr<Encoder>> MakeEncoder(const spec::FormatSpec& format, const Schema& schema,
                                             const std::string& base_dir);

}  // namespace eddy
