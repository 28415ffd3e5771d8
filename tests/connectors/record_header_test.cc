// The exactly-once record headers (connectors/kafka/record_header.h): the
// binary position, the writer fingerprint, reading both the compact and
// the older six-header format, and the writer's recorded offsets.

#include "connectors/kafka/record_header.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace eddy {
namespace {

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
using Headers = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;

void Add(rd_kafka_headers_t* headers, const char* name, std::string_view value) {
  rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
}

std::string Encoded(const RecordPosition& position) {
  char bytes[kMaxPositionBytes];
  return std::string(bytes, EncodePosition(position, bytes));
}

std::string LittleEndian(uint64_t value) {
  std::string bytes(8, '\0');
  for (size_t idx = 0; idx < 8; ++idx) bytes[idx] = static_cast<char>(value >> (8 * idx));
  return bytes;
}

TEST(RecordHeader, PositionIsAVersionByteAndThreeVarints) {
  // 300 = 0xac 0x02; the stage's task -1 zigzags to 1.
  EXPECT_EQ(Encoded({3, 300, -1}), std::string("\x01\x03\xac\x02\x01", 5));
  EXPECT_EQ(Encoded({1, 0, 0}), std::string("\x01\x01\x00\x00", 4));
  EXPECT_EQ(Encoded({1, 0, 5}), std::string("\x01\x01\x00\x0a", 4));
}

TEST(RecordHeader, PositionsRoundTripAtTheirLimits) {
  for (const RecordPosition& position :
       {RecordPosition{1, 0, -1}, RecordPosition{127, 128, 63}, RecordPosition{128, 16383, -64},
        RecordPosition{INT64_MAX, INT64_MAX, INT32_MAX}, RecordPosition{0, 0, INT32_MIN}}) {
    const std::string bytes = Encoded(position);
    EXPECT_LE(bytes.size(), kMaxPositionBytes);
    EXPECT_EQ(DecodePosition(bytes), position) << position.batch << "/" << position.seq;
  }
}

TEST(RecordHeader, DecodeRefusesWhatIsNotOneWholePosition) {
  const std::string good = Encoded({3, 300, -1});
  EXPECT_FALSE(DecodePosition(""));
  EXPECT_FALSE(DecodePosition(std::string("\x02\x03\xac\x02\x01", 5)));  // another version
  EXPECT_FALSE(DecodePosition(good.substr(0, good.size() - 1)));         // truncated
  EXPECT_FALSE(DecodePosition(good.substr(0, 3)));                       // inside a varint
  EXPECT_FALSE(DecodePosition(good + "x"));                              // trailing bytes
  EXPECT_FALSE(DecodePosition(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00",
                                          13)));  // a batch past int64
}

TEST(RecordHeader, FingerprintsSeparateTheFieldsAndNeverChange) {
  EXPECT_NE(WriterFingerprint("ab", "c", "d"), WriterFingerprint("a", "bc", "d"));
  EXPECT_NE(WriterFingerprint("job", "run", "out"), WriterFingerprint("job", "run", "out#1"));
  EXPECT_NE(WriterFingerprint("job", "run1", "out"), WriterFingerprint("job", "run2", "out"));
  // Output topics keep it: recovery after an upgrade must compute the same.
  EXPECT_EQ(WriterFingerprint("job", "0123456789abcdef", "out"), 0x427443b53134de84ULL);
}

TEST(RecordHeader, ReadsTheCompactFormat) {
  Headers headers(rd_kafka_headers_new(3));
  Add(headers.get(), "user", "x");
  Add(headers.get(), kWriterHeader, LittleEndian(0x0102030405060708ULL));
  Add(headers.get(), kPositionHeader, Encoded({7, 42, 3}));
  const auto origin = ReadOrigin(headers.get());
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->writer, 0x0102030405060708ULL);
  EXPECT_EQ(origin->position, (RecordPosition{7, 42, 3}));
}

TEST(RecordHeader, ReadsTheSixTextHeadersOfEarlierVersionsAsTheSameWriter) {
  Headers headers(rd_kafka_headers_new(6));
  Add(headers.get(), "eddy.job", "job");
  Add(headers.get(), "eddy.run", "0123456789abcdef");
  Add(headers.get(), "eddy.sink", "out");
  Add(headers.get(), "eddy.batch", "12");
  Add(headers.get(), "eddy.seq", "5");
  Add(headers.get(), "eddy.task", "-1");
  const auto origin = ReadOrigin(headers.get());
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->writer, WriterFingerprint("job", "0123456789abcdef", "out"));
  EXPECT_EQ(origin->position, (RecordPosition{12, 5, -1}));
}

TEST(RecordHeader, RecordsWithoutACompleteOriginHaveNone) {
  EXPECT_FALSE(ReadOrigin(nullptr));
  Headers legacy(rd_kafka_headers_new(4));
  Add(legacy.get(), "eddy.job", "job");
  Add(legacy.get(), "eddy.run", "r");
  Add(legacy.get(), "eddy.sink", "out");
  Add(legacy.get(), "eddy.batch", "12x");  // not a number
  Add(legacy.get(), "eddy.seq", "5");
  EXPECT_FALSE(ReadOrigin(legacy.get()));
  Headers short_writer(rd_kafka_headers_new(2));
  Add(short_writer.get(), kWriterHeader, "1234567");
  Add(short_writer.get(), kPositionHeader, Encoded({1, 0, 0}));
  EXPECT_FALSE(ReadOrigin(short_writer.get()));
  Headers bad_position(rd_kafka_headers_new(2));
  Add(bad_position.get(), kWriterHeader, LittleEndian(1));
  Add(bad_position.get(), kPositionHeader, "\x01");
  EXPECT_FALSE(ReadOrigin(bad_position.get()));
}

TEST(RecordHeader, OffsetsRoundTripAndAnythingElseIsNone) {
  EXPECT_EQ(EncodeOffsets({0, 17, 123456789012}), "o1:0,17,123456789012");
  EXPECT_EQ(DecodeOffsets("o1:0,17,123456789012"), (std::vector<int64_t>{0, 17, 123456789012}));
  EXPECT_EQ(DecodeOffsets(EncodeOffsets({})), std::vector<int64_t>{});
  for (const char* bad : {"", "12", "o2:1", "o1:1,", "o1:,1", "o1:1;2", "o1:x"}) {
    EXPECT_EQ(DecodeOffsets(bad), std::vector<int64_t>{}) << bad;
  }
}

}  // namespace
}  // namespace eddy
