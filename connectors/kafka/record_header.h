#pragma once
// The exactly-once headers of the Kafka records Eddy writes
// (docs/exactly-once.md), in binary, so that a record costs two small
// headers rather than six text ones:
//
//   eddy.job  8 bytes: the writer's fingerprint, XxHash64 of its job name,
//             run id and sink name (WriterFingerprint), little-endian.
//   eddy      version byte 1, then varint batch, varint seq and the
//             zigzag varint task (-1: the batch-wide stage); 4-12 bytes.
//
// Two headers, not one: what names the job (eddy.job, like the run id it
// hashes) differs between two jobs that write the same records, and what
// places a record (eddy) does not, so tools and tests can compare outputs
// of two jobs by the second alone.
//
// Recovery also reads the six text headers Eddy wrote before (eddy.job,
// eddy.run, eddy.sink, eddy.batch, eddy.seq, eddy.task): a job that was
// interrupted by an upgrade finds its last records in either format.

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eddy {

inline constexpr char kWriterHeader[] = "eddy.job";
inline constexpr char kPositionHeader[] = "eddy";

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

// The longest encoded position.
inline constexpr size_t kMaxPositionBytes = 1 + 10 + 10 + 5;
// Writes `position` (batch and seq >= 0) to `out`; returns the bytes used.
size_t EncodePosition(const RecordPosition& position, char* out);
// nullopt unless `bytes` is one whole version-1 position.
std::optional<RecordPosition> DecodePosition(std::string_view bytes);

// Who wrote a record, and where it stands.
struct RecordOrigin {
  uint64_t writer = 0;
  RecordPosition position;
};
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
