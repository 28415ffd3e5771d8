#include "connectors/kafka/record_header.h"

#include <charconv>
#include <cstring>

#include "runtime/core/hash.h"

namespace eddy {
namespace {

constexpr uint8_t kVersion = 1;

// The text headers of the format before (see record_header.h).
constexpr char kLegacyJobHeader[] = "eddy.job";
constexpr char kLegacyRunHeader[] = "eddy.run";
constexpr char kLegacySinkHeader[] = "eddy.sink";
constexpr char kLegacyBatchHeader[] = "eddy.batch";
constexpr char kLegacySeqHeader[] = "eddy.seq";
constexpr char kLegacyTaskHeader[] = "eddy.task";

char* PutVarint(uint64_t value, char* out) {
  while (value >= 0x80) {
    *out++ = static_cast<char>(value | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<char>(value);
  return out;
}

// Advances `*at`; nullopt on a truncated or over-long varint.
std::optional<uint64_t> GetVarint(std::string_view bytes, size_t* at) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && *at < bytes.size(); shift += 7) {
    const auto byte = static_cast<uint8_t>(bytes[(*at)++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  return std::nullopt;
}

void AppendLengthPrefixed(std::string_view field, std::string* out) {
  char length[10];
  out->append(length, PutVarint(field.size(), length));
  out->append(field);
}

std::optional<std::string_view> Header(rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(value), size);
}

std::optional<int64_t> IntHeader(rd_kafka_headers_t* headers, const char* name) {
  const auto text = Header(headers, name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

std::optional<RecordOrigin> ReadLegacyOrigin(rd_kafka_headers_t* headers) {
  const auto job = Header(headers, kLegacyJobHeader);
  const auto run = Header(headers, kLegacyRunHeader);
  const auto sink = Header(headers, kLegacySinkHeader);
  const auto batch = IntHeader(headers, kLegacyBatchHeader);
  const auto seq = IntHeader(headers, kLegacySeqHeader);
  if (!job || !run || !sink || !batch || !seq) return std::nullopt;
  RecordOrigin origin;
  origin.writer = WriterFingerprint(*job, *run, *sink);
  origin.position.batch = *batch;
  origin.position.seq = *seq;
  origin.position.task = static_cast<int32_t>(IntHeader(headers, kLegacyTaskHeader).value_or(-1));
  return origin;
}

uint64_t ZigZag(int64_t value) {
  return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}

int64_t UnZigZag(uint64_t value) {
  return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

}  // namespace

uint64_t WriterFingerprint(std::string_view job, std::string_view run, std::string_view writer) {
  std::string input;
  input.reserve(job.size() + run.size() + writer.size() + 6);
  AppendLengthPrefixed(job, &input);
  AppendLengthPrefixed(run, &input);
  AppendLengthPrefixed(writer, &input);
  return XxHash64(input);
}

size_t EncodeOrigin(const RecordOrigin& origin, char* out) {
  char* at = out;
  *at++ = static_cast<char>(kVersion);
  for (size_t idx = 0; idx < 8; ++idx) *at++ = static_cast<char>(origin.writer >> (8 * idx));
  at = PutVarint(static_cast<uint64_t>(origin.position.batch), at);
  at = PutVarint(static_cast<uint64_t>(origin.position.seq), at);
  // Zigzag: the stage's -1 takes one byte.
  const int32_t task = origin.position.task;
  at = PutVarint((static_cast<uint32_t>(task) << 1) ^ static_cast<uint32_t>(task >> 31), at);
  return static_cast<size_t>(at - out);
}

std::optional<RecordOrigin> DecodeOrigin(std::string_view bytes) {
  if (bytes.size() < 9 || static_cast<uint8_t>(bytes[0]) != kVersion) return std::nullopt;
  RecordOrigin origin;
  for (size_t idx = 0; idx < 8; ++idx) {
    origin.writer |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[1 + idx])) << (8 * idx);
  }
  size_t at = 9;
  const auto batch = GetVarint(bytes, &at);
  const auto seq = batch ? GetVarint(bytes, &at) : std::nullopt;
  const auto task = seq ? GetVarint(bytes, &at) : std::nullopt;
  if (!task || at != bytes.size() || *batch > INT64_MAX || *seq > INT64_MAX || *task > UINT32_MAX) {
    return std::nullopt;
  }
  const auto zigzag = static_cast<uint32_t>(*task);
  origin.position.batch = static_cast<int64_t>(*batch);
  origin.position.seq = static_cast<int64_t>(*seq);
  origin.position.task = static_cast<int32_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
  return origin;
}

std::optional<RecordOrigin> ReadOrigin(rd_kafka_headers_t* headers) {
  if (headers == nullptr) return std::nullopt;
  if (Header(headers, kLegacyBatchHeader)) return ReadLegacyOrigin(headers);
  const auto origin = Header(headers, kOriginHeader);
  return origin ? DecodeOrigin(*origin) : std::nullopt;
}

size_t EncodeWatermark(const WatermarkRecord& record, char* out) {
  char* at = out;
  *at++ = static_cast<char>(kVersion);
  at = PutVarint(static_cast<uint32_t>(record.upstream), at);
  at = PutVarint(ZigZag(record.watermark), at);
  *at++ = static_cast<char>(record.idle ? 1 : 0);
  return static_cast<size_t>(at - out);
}

std::optional<WatermarkRecord> DecodeWatermark(std::string_view bytes) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) != kVersion) return std::nullopt;
  size_t at = 1;
  const auto upstream = GetVarint(bytes, &at);
  const auto watermark = upstream ? GetVarint(bytes, &at) : std::nullopt;
  if (!watermark || *upstream > INT32_MAX || at + 1 != bytes.size()) return std::nullopt;
  const auto idle = static_cast<uint8_t>(bytes[at]);
  if (idle > 1) return std::nullopt;
  WatermarkRecord record;
  record.upstream = static_cast<int32_t>(*upstream);
  record.watermark = UnZigZag(*watermark);
  record.idle = idle == 1;
  return record;
}

std::optional<WatermarkRecord> ReadWatermark(rd_kafka_headers_t* headers) {
  if (headers == nullptr) return std::nullopt;
  const auto bytes = Header(headers, kWatermarkHeader);
  return bytes ? DecodeWatermark(*bytes) : std::nullopt;
}

std::string EncodeOffsets(const std::vector<int64_t>& offsets) {
  std::string text = "o1:";
  for (size_t idx = 0; idx < offsets.size(); ++idx) {
    if (idx > 0) text += ',';
    text += std::to_string(offsets[idx]);
  }
  return text;
}

std::vector<int64_t> DecodeOffsets(std::string_view text) {
  constexpr std::string_view kPrefix = "o1:";
  if (text.substr(0, kPrefix.size()) != kPrefix) return {};
  std::vector<int64_t> offsets;
  const char* at = text.data() + kPrefix.size();
  const char* end = text.data() + text.size();
  while (at < end) {
    int64_t offset = 0;
    const auto [next, ec] = std::from_chars(at, end, offset);
    if (ec != std::errc()) return {};
    offsets.push_back(offset);
    at = next;
    if (at == end) break;
    if (*at != ',') return {};
    ++at;
    if (at == end) return {};  // a trailing comma
  }
  return offsets;
}

}  // namespace eddy
