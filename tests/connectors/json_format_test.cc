#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "connectors/format/format.h"

namespace eddy {
namespace {

using ColumnSpecs = google::protobuf::RepeatedPtrField<spec::ColumnSpec>;

void AddColumn(ColumnSpecs* columns, const std::string& name, const std::string& type,
               bool nullable = false, const std::string& path = "") {
  spec::ColumnSpec* column = columns->Add();
  column->set_name(name);
  column->set_type(type);
  column->set_nullable(nullable);
  column->set_path(path);
}

spec::FormatSpec Json() {
  spec::FormatSpec format;
  format.set_type("json");
  return format;
}

RawRecord Record(std::string_view value, int64_t offset = 0) {
  RawRecord record;
  record.value = value;
  record.topic = "orders";
  record.partition = 2;
  record.offset = offset;
  return record;
}

std::unique_ptr<Decoder> MustDecoder(const ColumnSpecs& columns) {
  auto decoder = MakeDecoder(Json(), columns, "");
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return std::move(decoder).value();
}

// Decodes `values` and returns the rows rendered one per line, plus the dead
// letters' reasons.
struct Decoded {
  Batch batch;
  DeadLetters dead_letters;
};

Decoded DecodeAll(const Decoder& decoder, const std::vector<std::string>& values) {
  std::vector<RawRecord> records;
  for (size_t idx = 0; idx < values.size(); ++idx)
    records.push_back(Record(values[idx], 100 + idx));
  Decoded out{Batch(decoder.schema()), {}};
  Status status = decoder.Decode(records, &out.batch, &out.dead_letters);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

ColumnSpecs OrderColumns() {
  ColumnSpecs columns;
  AddColumn(&columns, "id", "int64");
  AddColumn(&columns, "price", "double");
  AddColumn(&columns, "paid", "bool");
  AddColumn(&columns, "name", "string");
  AddColumn(&columns, "ts", "timestamp");
  return columns;
}

TEST(JsonFormatTest, DecodesTypedFieldsInAnyOrderAndIgnoresUnknownOnes) {
  auto decoder = MustDecoder(OrderColumns());
  Decoded out = DecodeAll(
      *decoder,
      {R"({"id": 7, "price": 9.5, "paid": true, "name": "caf\u00e9 \"x\"", "ts": 1767225600123})",
       R"({"ts": "2026-01-02T03:04:05.5Z", "extra": {"deep": [1, 2, {"x": null}]}, "name": "b",
          "paid": false, "price": 3, "id": -12})"});
  ASSERT_TRUE(out.dead_letters.empty()) << out.dead_letters[0].reason;
  EXPECT_EQ(out.batch.ToString(),
            "id=7, price=9.5, paid=true, name=café \"x\", ts=2026-01-01T00:00:00.123000Z\n"
            "id=-12, price=3, paid=false, name=b, ts=2026-01-02T03:04:05.500000Z\n");
}

TEST(JsonFormatTest, FillsSourceMetadataFromTheRecord) {
  auto decoder = MustDecoder(OrderColumns());
  const std::string value = R"({"id":1,"price":1,"paid":true,"name":"n","ts":0})";
  RawRecord with_key = Record(value, 41);
  const std::string key = "k1";
  with_key.key = key;
  with_key.timestamp = 5000;
  RawRecord without_key = Record(value, 42);
  std::vector<RawRecord> records = {with_key, without_key};
  Batch batch(decoder->schema());
  DeadLetters dead_letters;
  ASSERT_TRUE(decoder->Decode(records, &batch, &dead_letters).ok());
  ASSERT_EQ(batch.num_rows(), 2u);
  ASSERT_EQ(batch.meta().size(), 2u);
  EXPECT_EQ(batch.meta().topic.GetString(0), "orders");
  EXPECT_EQ(batch.meta().partition.GetInt64(1), 2);
  EXPECT_EQ(batch.meta().offset.GetInt64(0), 41);
  EXPECT_EQ(batch.meta().offset.GetInt64(1), 42);
  EXPECT_EQ(batch.meta().key.GetString(0), "k1");
  EXPECT_TRUE(batch.meta().key.IsNull(1));
  EXPECT_EQ(batch.meta().timestamp.GetInt64(0), 5000);
  EXPECT_TRUE(batch.meta().timestamp.IsNull(1));
}

TEST(JsonFormatTest, ReadsDottedPathsIntoNestedObjects) {
  ColumnSpecs columns;
  AddColumn(&columns, "lat", "double", false, "device.location.lat");
  AddColumn(&columns, "device_id", "string", false, "device.id");
  AddColumn(&columns, "lon", "double", true, "device.location.lon");
  auto decoder = MustDecoder(columns);
  Decoded out =
      DecodeAll(*decoder, {
                              R"({"device": {"location": {"lon": 2.25, "lat": 48.5}, "id": "d1"}})",
                              R"({"device": {"id": "d2", "location": {"lat": -1}}})",
                              R"({"device": {"id": "d3", "location": null}})",
                              R"({"device": {"id": "d4", "location": "north"}})",
                          });
  EXPECT_EQ(out.batch.ToString(),
            "lat=48.5, device_id=d1, lon=2.25\n"
            "lat=-1, device_id=d2, lon=NULL\n");
  ASSERT_EQ(out.dead_letters.size(), 2u);
  EXPECT_EQ(out.dead_letters[0].reason, "missing required field 'device.location.lat'");
  EXPECT_EQ(out.dead_letters[1].reason, "field 'device.location': expected object, got string");
}

TEST(JsonFormatTest, MissingOrNullFieldsAreNullOnlyWhenNullable) {
  ColumnSpecs columns;
  AddColumn(&columns, "id", "int64");
  AddColumn(&columns, "note", "string", /*nullable=*/true);
  auto decoder = MustDecoder(columns);
  Decoded out = DecodeAll(*decoder, {R"({"id": 1})", R"({"id": 2, "note": null})",
                                     R"({"note": "x"})", R"({"id": null, "note": "y"})"});
  EXPECT_EQ(out.batch.ToString(), "id=1, note=NULL\nid=2, note=NULL\n");
  ASSERT_EQ(out.dead_letters.size(), 2u);
  EXPECT_EQ(out.dead_letters[0].reason, "missing required field 'id'");
  EXPECT_EQ(out.dead_letters[0].offset, 102);
  EXPECT_EQ(out.dead_letters[1].reason, "missing required field 'id'");
  EXPECT_EQ(out.dead_letters[1].offset, 103);
}

TEST(JsonFormatTest, TypeMismatchesBecomeDeadLettersWithPreciseReasons) {
  auto decoder = MustDecoder(OrderColumns());
  Decoded out = DecodeAll(
      *decoder,
      {
          R"({"id": 1, "price": "9.5", "paid": true, "name": "a", "ts": 0})",
          R"({"id": 1.5, "price": 1, "paid": true, "name": "a", "ts": 0})",
          R"({"id": 1, "price": 1, "paid": "yes", "name": "a", "ts": 0})",
          R"({"id": 1, "price": 1, "paid": true, "name": 5, "ts": 0})",
          R"({"id": 1, "price": 1, "paid": true, "name": "a", "ts": "yesterday"})",
          R"({"id": 1, "price": 1, "paid": true, "name": "a", "ts": true})",
          R"({"id": 18446744073709551615, "price": 1, "paid": true, "name": "a", "ts": 0})",
          R"({"id": 4.0, "price": 1, "paid": true, "name": "a", "ts": 1.5})",
      });
  std::vector<std::string> reasons;
  for (const DeadLetter& letter : out.dead_letters) reasons.push_back(letter.reason);
  EXPECT_EQ(reasons, (std::vector<std::string>{
                         "field 'price': expected double, got string",
                         "field 'id': expected int64, got non-integer number 1.5",
                         "field 'paid': expected bool, got string",
                         "field 'name': expected string, got number",
                         "field 'ts': invalid timestamp 'yesterday'",
                         "field 'ts': expected timestamp (ISO 8601 string or epoch milliseconds), "
                         "got boolean",
                         "field 'id': integer 18446744073709551615 is out of int64 range",
                     }));
  // An integral double is an int64; fractional epoch millis keep microseconds.
  EXPECT_EQ(out.batch.ToString(),
            "id=4, price=1, paid=true, name=a, ts=1970-01-01T00:00:00.001500Z\n");
}

TEST(JsonFormatTest, AFailedRecordLeavesNoPartialRow) {
  auto decoder = MustDecoder(OrderColumns());
  // The bad record has good leading columns before the failing one.
  Decoded out =
      DecodeAll(*decoder, {
                              R"({"id": 1, "price": 1.5, "paid": true, "name": "good", "ts": 0})",
                              R"({"id": 2, "price": 2.5, "paid": false, "name": "bad", "ts": "x"})",
                              R"({"id": 3, "price": 3.5, "paid": true, "name": "good2", "ts": 0})",
                          });
  ASSERT_EQ(out.dead_letters.size(), 1u);
  ASSERT_EQ(out.batch.num_rows(), 2u);
  for (size_t column = 0; column < out.batch.num_columns(); ++column) {
    EXPECT_EQ(out.batch.column(column).size(), 2u) << column;
  }
  EXPECT_EQ(out.batch.column(3).GetString(1), "good2");
  EXPECT_EQ(out.batch.meta().offset.GetInt64(1), 102);
}

TEST(JsonFormatTest, MalformedAndNonObjectRecordsBecomeDeadLetters) {
  ColumnSpecs columns;
  AddColumn(&columns, "a", "int64", true);
  auto decoder = MustDecoder(columns);
  Decoded out = DecodeAll(*decoder, {R"({"a": 1, "b": "unterminated})", R"({"a": })", R"([1, 2])",
                                     R"("text")", R"({"a": 1}})", "", R"({"a" 1})"});
  ASSERT_EQ(out.dead_letters.size(), 7u);
  EXPECT_EQ(out.batch.num_rows(), 0u);
  EXPECT_EQ(out.dead_letters[0].reason, "malformed JSON: A string is opened, but never closed.");
  EXPECT_EQ(out.dead_letters[1].reason.rfind("malformed JSON at byte 6: ", 0), 0u)
      << out.dead_letters[1].reason;
  EXPECT_EQ(out.dead_letters[2].reason, "expected a JSON object, got array");
  EXPECT_EQ(out.dead_letters[3].reason, "expected a JSON object, got string");
  EXPECT_EQ(out.dead_letters[4].reason,
            "malformed JSON at byte 8: unexpected content after the object");
  EXPECT_EQ(out.dead_letters[5].reason, "malformed JSON: Empty: no JSON found");
  EXPECT_EQ(out.dead_letters[6].reason.rfind("malformed JSON at byte 5: ", 0), 0u)
      << out.dead_letters[6].reason;
}

TEST(JsonFormatTest, DeadLettersCarryOriginAndOriginalBytes) {
  ColumnSpecs columns;
  AddColumn(&columns, "a", "int64");
  auto decoder = MustDecoder(columns);
  const std::string value = R"({"a": "x"})";
  RawRecord record = Record(value, 77);
  const std::string key = "the-key";
  record.key = key;
  std::vector<RawRecord> records = {record};
  Batch batch(decoder->schema());
  DeadLetters dead_letters;
  ASSERT_TRUE(decoder->Decode(records, &batch, &dead_letters).ok());
  ASSERT_EQ(dead_letters.size(), 1u);
  EXPECT_EQ(dead_letters[0].reason, "field 'a': expected int64, got string");
  EXPECT_EQ(dead_letters[0].topic, "orders");
  EXPECT_EQ(dead_letters[0].partition, 2);
  EXPECT_EQ(dead_letters[0].offset, 77);
  EXPECT_EQ(dead_letters[0].key, std::optional<std::string>("the-key"));
  EXPECT_EQ(dead_letters[0].value, value);
}

TEST(JsonFormatTest, MatchesEscapedKeysAndLastDuplicateWins) {
  ColumnSpecs columns;
  AddColumn(&columns, "name", "string");
  auto decoder = MustDecoder(columns);
  Decoded out =
      DecodeAll(*decoder, {R"({"na\u006de": "escaped"})", R"({"name": "a", "name": "b"})"});
  EXPECT_EQ(out.batch.ToString(), "name=escaped\nname=b\n");
}

TEST(JsonFormatTest, DecodesConcurrentlyFromManyThreads) {
  auto decoder = MustDecoder(OrderColumns());
  std::vector<std::string> values;
  for (int idx = 0; idx < 500; ++idx) {
    values.push_back(R"({"id": )" + std::to_string(idx) +
                     R"(, "price": 0.5, "paid": true, "name": ")" +
                     std::string(static_cast<size_t>(idx % 37), 'x') + R"(", "ts": 1000})");
  }
  values.push_back(R"({"id": "bad"})");
  std::vector<Decoded> results(4);
  std::vector<std::thread> threads;
  for (size_t thread = 0; thread < results.size(); ++thread) {
    threads.emplace_back([&, thread] { results[thread] = DecodeAll(*decoder, values); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Decoded& result : results) {
    ASSERT_EQ(result.batch.num_rows(), 500u);
    ASSERT_EQ(result.dead_letters.size(), 1u);
    EXPECT_EQ(result.batch.column(0).GetInt64(499), 499);
    EXPECT_EQ(result.batch.column(3).GetString(36), std::string(36, 'x'));
  }
}

TEST(JsonFormatTest, EncodesOneObjectPerRowInSchemaOrder) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"price", TypeId::kDouble, true},
                 Field{"ok", TypeId::kBool, true}, Field{"name", TypeId::kString, true},
                 Field{"ts", TypeId::kTimestamp, true}});
  Batch batch(schema);
  batch.column(0).AppendInt64(-5);
  batch.column(1).AppendDouble(0.1);
  batch.column(2).AppendBool(true);
  batch.column(3).AppendString("q\"b\\s\n\t\x01 é");
  batch.column(4).AppendInt64(1767225600123456);
  batch.column(0).AppendInt64(std::numeric_limits<int64_t>::min());
  batch.column(1).AppendDouble(std::nan(""));
  batch.column(2).AppendNull();
  batch.column(3).AppendString(std::string("bad\xff utf8 \xe2\x82", 12));
  batch.column(4).AppendNull();
  batch.column(0).AppendInt64(3);
  batch.column(1).AppendDouble(1e100);
  batch.column(2).AppendBool(false);
  batch.column(3).AppendNull();
  batch.column(4).AppendInt64(-1);
  ASSERT_TRUE(batch.SetNumRows(3).ok());

  auto encoder = MakeEncoder(Json(), schema, "");
  ASSERT_TRUE(encoder.ok());
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(
      rows.row(0),
      R"({"id":-5,"price":0.1,"ok":true,"name":"q\"b\\s\n\t\u0001 é","ts":"2026-01-01T00:00:00.123456Z"})");
  EXPECT_EQ(
      rows.row(1),
      R"({"id":-9223372036854775808,"price":null,"ok":null,"name":"bad\ufffd utf8 \ufffd\ufffd","ts":null})");
  EXPECT_EQ(rows.row(2),
            R"({"id":3,"price":1e+100,"ok":false,"name":null,"ts":"1969-12-31T23:59:59.999999Z"})");
  EXPECT_EQ((*encoder)->Header(), "");
}

TEST(JsonFormatTest, EncodedTimestampsMatchFormatTimestamp) {
  Schema schema({Field{"ts", TypeId::kTimestamp, false}});
  const std::vector<int64_t> values = {0,
                                       1,
                                       -1,
                                       951782400000000 /* 2000-02-29 */,
                                       -62135596800000000 /* 0001-01-01 */,
                                       253402300799999999 /* 9999-12-31 */,
                                       1767225600123456};
  Batch batch(schema);
  for (int64_t value : values) batch.column(0).AppendInt64(value);
  ASSERT_TRUE(batch.SetNumRows(values.size()).ok());
  auto encoder = MakeEncoder(Json(), schema, "");
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  for (size_t idx = 0; idx < values.size(); ++idx) {
    EXPECT_EQ(rows.row(idx), "{\"ts\":\"" + FormatTimestamp(values[idx]) + "\"}");
  }
}

TEST(JsonFormatTest, EncodeThenDecodeRoundTrips) {
  ColumnSpecs columns;
  AddColumn(&columns, "id", "int64");
  AddColumn(&columns, "price", "double", true);
  AddColumn(&columns, "name", "string", true);
  AddColumn(&columns, "ts", "timestamp", true);
  auto decoder = MustDecoder(columns);
  Batch batch(decoder->schema());
  const std::vector<double> doubles = {0.1, 1.0 / 3, -2.5e-300, 123456789.125, 1e21};
  for (size_t row = 0; row < doubles.size(); ++row) {
    batch.column(0).AppendInt64(static_cast<int64_t>(row) * 1000000007);
    batch.column(1).AppendDouble(doubles[row]);
    if (row == 2) {
      batch.column(2).AppendNull();
    } else {
      batch.column(2).AppendString("row \"" + std::to_string(row) + "\"\n\x7f");
    }
    batch.column(3).AppendInt64(1767225600000000 + static_cast<int64_t>(row) * 1001);
  }
  ASSERT_TRUE(batch.SetNumRows(doubles.size()).ok());
  auto encoder = MakeEncoder(Json(), batch.schema(), "");
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  std::vector<std::string> values;
  for (size_t row = 0; row < rows.size(); ++row) values.emplace_back(rows.row(row));
  Decoded out = DecodeAll(*decoder, values);
  ASSERT_TRUE(out.dead_letters.empty());
  for (size_t column = 0; column < batch.num_columns(); ++column) {
    EXPECT_TRUE(out.batch.column(column).Equals(batch.column(column))) << column;
  }
}

TEST(FormatTest, ResolvesDeclaredColumns) {
  ColumnSpecs columns;
  AddColumn(&columns, "a", "int", true);
  AddColumn(&columns, "b", "TIMESTAMP");
  spec::FormatSpec format;  // empty type means json
  auto schema = ResolveSchema(format, columns, "");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->ToString(), "a:int64?, b:timestamp");
}

TEST(FormatTest, RejectsBadColumnsAndFormats) {
  ColumnSpecs typo;
  AddColumn(&typo, "x", "flaot");
  EXPECT_EQ(ResolveSchema(Json(), typo, "").status().message(),
            "column 'x': unknown type 'flaot' (expected bool, int64, double, string, timestamp)");
  EXPECT_EQ(MakeDecoder(Json(), typo, "").status().code(), StatusCode::kInvalidArgument);

  ColumnSpecs duplicate;
  AddColumn(&duplicate, "x", "int64");
  AddColumn(&duplicate, "x", "string");
  EXPECT_EQ(ResolveSchema(Json(), duplicate, "").status().message(), "duplicate column 'x'");

  ColumnSpecs good;
  AddColumn(&good, "x", "int64");
  spec::FormatSpec xml;
  xml.set_type("xml");
  EXPECT_EQ(ResolveSchema(xml, good, "").status().message(),
            "unknown format 'xml' (expected json, csv, protobuf, raw)");
  EXPECT_EQ(MakeEncoder(xml, Schema(), "").status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(ResolveSchema(Json(), ColumnSpecs(), "").status().message(),
            "format json needs declared columns (schema)");

  ColumnSpecs overlapping;
  AddColumn(&overlapping, "a", "int64", false, "x.y");
  AddColumn(&overlapping, "b", "int64", false, "x");
  EXPECT_EQ(MakeDecoder(Json(), overlapping, "").status().message(),
            "column 'b': path 'x' overlaps the path of another column");
}

}  // namespace
}  // namespace eddy
