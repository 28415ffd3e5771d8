// The exactly-once record header (connectors/kafka/record_header.h): the
// binary origin, the writer fingerprint, reading both it and the older
// six-header format, and the writer's recorded offsets.

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

std::string Encoded(const RecordOrigin& origin) {
  char bytes[kMaxOriginBytes];
  return std::string(bytes, EncodeOrigin(origin, bytes));
}

constexpr uint64_t kWriter = 0x0102030405060708ULL;
const std::string kWriterBytes("\x08\x07\x06\x05\x04\x03\x02\x01", 8);

TEST(RecordHeader, OriginIsAVersionByteTheFingerprintAndThreeVarints) {
  // 300 = 0xac 0x02; the stage's task -1 zigzags to 1.
  EXPECT_EQ(Encoded({kWriter, {3, 300, -1}}),
            "\x01" + kWriterBytes + std::string("\x03\xac\x02\x01", 4));
  EXPECT_EQ(Encoded({kWriter, {1, 0, 0}}), "\x01" + kWriterBytes + std::string("\x01\x00\x00", 3));
  EXPECT_EQ(Encoded({kWriter, {1, 0, 5}}), "\x01" + kWriterBytes + std::string("\x01\x00\x0a", 3));
}

TEST(RecordHeader, OriginsRoundTripAtTheirLimits) {
  for (const RecordPosition& position :
       {RecordPosition{1, 0, -1}, RecordPosition{127, 128, 63}, RecordPosition{128, 16383, -64},
        RecordPosition{INT64_MAX, INT64_MAX, INT32_MAX}, RecordPosition{0, 0, INT32_MIN}}) {
    for (uint64_t writer : {uint64_t{0}, kWriter, UINT64_MAX}) {
      const RecordOrigin origin{writer, position};
      const std::string bytes = Encoded(origin);
      EXPECT_LE(bytes.size(), kMaxOriginBytes);
      EXPECT_EQ(DecodeOrigin(bytes), origin) << position.batch << "/" << position.seq;
    }
  }
}

TEST(RecordHeader, DecodeRefusesWhatIsNotOneWholeOrigin) {
  const std::string good = Encoded({kWriter, {3, 300, -1}});
  ASSERT_TRUE(DecodeOrigin(good));
  std::string other_version = good;
  other_version[0] = '\x02';
  EXPECT_FALSE(DecodeOrigin(""));
  EXPECT_FALSE(DecodeOrigin(other_version));
  EXPECT_FALSE(DecodeOrigin(good.substr(0, 8)));                // inside the fingerprint
  EXPECT_FALSE(DecodeOrigin(good.substr(0, good.size() - 1)));  // no task
  EXPECT_FALSE(DecodeOrigin(good.substr(0, 11)));               // inside a varint
  EXPECT_FALSE(DecodeOrigin(good + "x"));                       // trailing bytes
  EXPECT_FALSE(DecodeOrigin("\x01" + kWriterBytes +
                            std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00",
                                        12)));  // a batch past int64
  // An old-format run id is text, never version 1.
  EXPECT_FALSE(DecodeOrigin("0123456789abcdef"));
}

TEST(RecordHeader, FingerprintsSeparateTheFieldsAndNeverChange) {
  EXPECT_NE(WriterFingerprint("ab", "c", "d"), WriterFingerprint("a", "bc", "d"));
  EXPECT_NE(WriterFingerprint("job", "run", "out"), WriterFingerprint("job", "run", "out#1"));
  EXPECT_NE(WriterFingerprint("job", "run1", "out"), WriterFingerprint("job", "run2", "out"));
  // Output topics keep it: recovery after an upgrade must compute the same.
  EXPECT_EQ(WriterFingerprint("job", "0123456789abcdef", "out"), 0x427443b53134de84ULL);
}

TEST(RecordHeader, ReadsTheCompactFormat) {
  Headers headers(rd_kafka_headers_new(2));
  Add(headers.get(), "user", "x");
  Add(headers.get(), kOriginHeader, Encoded({kWriter, {7, 42, 3}}));
  EXPECT_EQ(ReadOrigin(headers.get()), (RecordOrigin{kWriter, {7, 42, 3}}));
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
  EXPECT_EQ(*origin,
            (RecordOrigin{WriterFingerprint("job", "0123456789abcdef", "out"), {12, 5, -1}}));
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
  Headers bad_origin(rd_kafka_headers_new(1));
  Add(bad_origin.get(), kOriginHeader, Encoded({kWriter, {1, 0, 0}}).substr(0, 10));
  EXPECT_FALSE(ReadOrigin(bad_origin.get()));
  Headers other(rd_kafka_headers_new(1));
  Add(other.get(), "eddy", "x");
  EXPECT_FALSE(ReadOrigin(other.get()));
}

TEST(RecordHeader, OffsetsRoundTripAndAnythingElseIsNone) {
  EXPECT_EQ(EncodeOffsets({0, 17, 123456789012}), "o1:0,17,123456789012");
  EXPECT_EQ(DecodeOffsets("o1:0,17,123456789012"), (std::vector<int64_t>{0, 17, 123456789012}));
  EXPECT_EQ(DecodeOffsets(EncodeOffsets({})), std::vector<int64_t>{});
  for (const char* bad : {"", "12", "o2:1", "o1:1,", "o1:,1", "o1:1;2", "o1:x"}) {
    EXPECT_EQ(DecodeOffsets(bad), std::vector<int64_t>{}) << bad;
  }
}

TEST(RecordHeader, WatermarksRoundTripAtTheirLimitsAndTornOnesAreNone) {
  for (const WatermarkRecord& record :
       {WatermarkRecord{0, 0, false}, WatermarkRecord{5, -1, true},
        WatermarkRecord{INT32_MAX, INT64_MIN, false}, WatermarkRecord{17, INT64_MAX, true},
        WatermarkRecord{3, 1'767'225'600'000'000, false}}) {
    char bytes[kMaxWatermarkBytes];
    const size_t size = EncodeWatermark(record, bytes);
    ASSERT_LE(size, kMaxWatermarkBytes);
    EXPECT_EQ(DecodeWatermark(std::string_view(bytes, size)), record);
    for (size_t cut = 0; cut < size; ++cut) {
      EXPECT_FALSE(DecodeWatermark(std::string_view(bytes, cut))) << cut;
    }
    Headers headers(rd_kafka_headers_new(1));
    Add(headers.get(), kWatermarkHeader, std::string(bytes, size));
    EXPECT_EQ(ReadWatermark(headers.get()), record);
  }
  // Version 1, writer 1, watermark -1 (zigzag 1), idle.
  EXPECT_EQ(DecodeWatermark(std::string("\x01\x01\x01\x01", 4)), (WatermarkRecord{1, -1, true}));
  EXPECT_FALSE(DecodeWatermark(std::string("\x02\x01\x01\x01", 4)));      // another version
  EXPECT_FALSE(DecodeWatermark(std::string("\x01\x01\x01\x02", 4)));      // idle is 0 or 1
  EXPECT_FALSE(DecodeWatermark(std::string("\x01\x01\x01\x01\x00", 5)));  // trailing byte
  EXPECT_FALSE(ReadWatermark(nullptr));
  Headers origin_only(rd_kafka_headers_new(1));
  Add(origin_only.get(), kOriginHeader, Encoded({kWriter, {1, 0, 0}}));
  EXPECT_FALSE(ReadWatermark(origin_only.get()));
}

}  // namespace
}  // namespace eddy
