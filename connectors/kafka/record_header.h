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

// The watermark record a shard of a scaled-out job writes to every
// partition of a repartition topic after a batch that moved its event time
// (docs/scale-out.md#event-time-across-stages): an empty value and one
// header, eddy.watermark = version byte 1; varint upstream shard; zigzag
// varint watermark (microseconds); one byte, 1 when the shard is idle.
// The reader's watermark is the smallest over the upstream shards, as a
// Flink operator takes the smallest over its input channels.
inline constexpr char kWatermarkHeader[] = "eddy.watermark";

struct WatermarkRecord {
  int32_t upstream = 0;  // the writing shard's partition
  int64_t watermark = 0;
  bool idle = false;  // the shard had no input for its sources' idle_timeout
  bool operator==(const WatermarkRecord&) const = default;
};

inline constexpr size_t kMaxWatermarkBytes = 1 + 5 + 10 + 1;
size_t EncodeWatermark(const WatermarkRecord& record, char* out);
std::optional<WatermarkRecord> DecodeWatermark(std::string_view bytes);
// nullopt unless `headers` hold a whole eddy.watermark header.
std::optional<WatermarkRecord> ReadWatermark(rd_kafka_headers_t* headers);

// A writer's position in its topic (Sink::Position): per partition, the
// offset at or after which its next records will land. Text, "o1:" and the
// offsets separated by commas.
std::string EncodeOffsets(const std::vector<int64_t>& offsets);
// Empty unless `text` is what EncodeOffsets writes.
std::vector<int64_t> DecodeOffsets(std::string_view text);

}  // namespace eddy
