#pragma once
// The exactly-once header of the Kafka records Eddy writes
// (docs/exactly-once.md): one binary header instead of the six text ones of
// earlier versions, because librdkafka allocates every header (and the
// header list) per record and its broker thread chases each one when it
// writes the batch — the headers were most of what exactly-once cost
// (tests/bench/README.md).
//
//   eddy.run  version byte 1; the writer's fingerprint, 8 bytes
//             little-endian (WriterFingerprint: XxHash64 of its job name,
//             run id and sink name); varint batch; varint seq (the record's
//             position among its writer's records of that batch in that
//             partition); zigzag varint task (-1: the batch-wide stage).
//             12-34 bytes, 14 or so in practice.
//
// The name is the old run header's: what it holds names the job's run, so
// it differs between two runs that write the same records (compare outputs
// without it), like the eddy.job and eddy.run it replaces.
//
// Recovery also reads the six text headers (eddy.job, eddy.run, eddy.sink,
// eddy.batch, eddy.seq, eddy.task): a job interrupted by an upgrade finds
// its last records in either format. They are told apart by eddy.batch,
// which only the old format has.

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eddy {

inline constexpr char kOriginHeader[] = "eddy.run";

// Identifies one writer (a sink of one run of one job) among every writer
// of a topic. Fields are length-prefixed, so no two triples share an input.
uint64_t WriterFingerprint(std::string_view job, std::string_view run, std::string_view writer);

// Where a record stands in its writer's output: batch id, its sequence
// number among the writer's records of that batch in that partition, and
// the task that wrote it.
struct RecordPosition {
  int64_t batch = 0;
  int64_t seq = 0;
  int32_t task = -1;
  bool operator==(const RecordPosition&) const = default;
};

// Who wrote a record, and where it stands.
struct RecordOrigin {
  uint64_t writer = 0;
  RecordPosition position;
  bool operator==(const RecordOrigin&) const = default;
};

// The longest encoded origin.
inline constexpr size_t kMaxOriginBytes = 1 + 8 + 10 + 10 + 5;
// Writes `origin` (batch and seq >= 0) to `out`; returns the bytes used.
size_t EncodeOrigin(const RecordOrigin& origin, char* out);
// nullopt unless `bytes` is one whole version-1 origin.
std::optional<RecordOrigin> DecodeOrigin(std::string_view bytes);

// From a record's headers, in either format; nullopt for a record Eddy's
// exactly-once writer did not write (or `headers` null).
std::optional<RecordOrigin> ReadOrigin(rd_kafka_headers_t* headers);

// A writer's position in its topic (Sink::Position): per partition, the
// offset at or after which its next records will land. Text, "o1:" and the
// offsets separated by commas.
std::string EncodeOffsets(const std::vector<int64_t>& offsets);
// Empty unless `text` is what EncodeOffsets writes.
std::vector<int64_t> DecodeOffsets(std::string_view text);

}  // namespace eddy
