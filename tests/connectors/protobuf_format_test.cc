// Records are built byte by byte with the wire format (varints and
// length-delimited fields), so the decoder is checked against protobuf's
// encoding itself rather than against our own encoder.

#include <gtest/gtest.h>

#include <cstring>

#include "connectors/format/format.h"

namespace eddy {
namespace {

using ColumnSpecs = google::protobuf::RepeatedPtrField<spec::ColumnSpec>;

constexpr char kTestData[] = "tests/connectors/testdata";

void AddColumn(ColumnSpecs* columns, const std::string& name, const std::string& type,
               bool nullable = false, const std::string& path = "") {
  spec::ColumnSpec* column = columns->Add();
  column->set_name(name);
  column->set_type(type);
  column->set_nullable(nullable);
  column->set_path(path);
}

spec::FormatSpec OrderFormat() {
  spec::FormatSpec format;
  format.set_type("protobuf");
  format.set_proto_file("order.proto");
  format.set_message("eddy.test.Order");
  format.add_import_paths("protos");
  return format;
}

// Wire-format writers.
std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string VarintField(int number, uint64_t value) {
  return Varint(number << 3 | 0) + Varint(value);
}
std::string BytesField(int number, const std::string& bytes) {
  return Varint(number << 3 | 2) + Varint(bytes.size()) + bytes;
}
std::string DoubleField(int number, double value) {
  std::string out = Varint(number << 3 | 1);
  char bytes[8];
  std::memcpy(bytes, &value, 8);  // little-endian host
  return out + std::string(bytes, 8);
}

struct Decoded {
  Batch batch;
  DeadLetters dead_letters;
};

Decoded DecodeAll(const Decoder& decoder, const std::vector<std::string>& values) {
  std::vector<RawRecord> records;
  for (size_t idx = 0; idx < values.size(); ++idx) {
    RawRecord record;
    record.value = values[idx];
    record.topic = "orders";
    record.offset = static_cast<int64_t>(idx);
    records.push_back(record);
  }
  Decoded out{Batch(decoder.schema()), {}};
  Status status = decoder.Decode(records, &out.batch, &out.dead_letters);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

// id=5 symbol=AB price=2.5 quantity=-1 urgent side=SELL created=2026-01-01T00:00:00.123Z
// tags=[x] venue={code: V, fee: 0.25} sequence=7 payload="\0\1".
std::string FullOrder() {
  return VarintField(1, 5) + BytesField(2, "AB") + DoubleField(3, 2.5) +
         VarintField(4, static_cast<uint64_t>(int64_t{-1})) + VarintField(5, 1) +
         VarintField(6, 2) + BytesField(7, VarintField(1, 1767225600) + VarintField(2, 123000000)) +
         BytesField(9, "x") + BytesField(10, BytesField(1, "V") + DoubleField(2, 0.25)) +
         VarintField(11, 7) + BytesField(12, std::string("\0\1", 2));
}

TEST(ProtobufFormatTest, DerivesTheSchemaFromTheDescriptor) {
  auto schema = ResolveSchema(OrderFormat(), ColumnSpecs(), kTestData);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  // tags (repeated) and venue (a message) are skipped; created (a message)
  // and note (proto3 optional) have presence, so they are nullable.
  EXPECT_EQ(schema->ToString(),
            "id:int64, symbol:string, price:double, quantity:int64, urgent:bool, side:string, "
            "created:timestamp?, note:string?, sequence:int64, payload:string");
}

TEST(ProtobufFormatTest, DecodesEveryMappedFieldType) {
  auto decoder = MakeDecoder(OrderFormat(), ColumnSpecs(), kTestData);
  ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
  const std::string with_note = VarintField(1, 6) + BytesField(8, "rush");
  Decoded out = DecodeAll(**decoder, {FullOrder(), "", with_note});
  ASSERT_TRUE(out.dead_letters.empty()) << out.dead_letters[0].reason;
  ASSERT_EQ(out.batch.num_rows(), 3u);
  EXPECT_EQ(out.batch.RowToString(0),
            "id=5, symbol=AB, price=2.5, quantity=-1, urgent=true, side=SELL, "
            "created=2026-01-01T00:00:00.123000Z, note=NULL, sequence=7, payload=" +
                std::string("\0\1", 2));
  // An empty message: plain proto3 scalars read as their defaults.
  EXPECT_EQ(out.batch.RowToString(1),
            "id=0, symbol=, price=0, quantity=0, urgent=false, side=SIDE_UNKNOWN, created=NULL, "
            "note=NULL, sequence=0, payload=");
  EXPECT_EQ(out.batch.column(7).GetString(2), "rush");
  EXPECT_EQ(out.batch.meta().offset.GetInt64(2), 2);
}

TEST(ProtobufFormatTest, MapsDeclaredColumnsByNameAndDottedPath) {
  ColumnSpecs columns;
  AddColumn(&columns, "venue_code", "string", false, "venue.code");
  AddColumn(&columns, "fee", "double", true, "venue.fee");
  AddColumn(&columns, "id", "double");
  AddColumn(&columns, "side", "int64");
  AddColumn(&columns, "created", "timestamp");
  auto schema = ResolveSchema(OrderFormat(), columns, kTestData);
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->ToString(),
            "venue_code:string, fee:double?, id:double, side:int64, created:timestamp");
  auto decoder = MakeDecoder(OrderFormat(), columns, kTestData);
  ASSERT_TRUE(decoder.ok()) << decoder.status().ToString();
  const std::string no_venue = VarintField(1, 9) + BytesField(7, VarintField(1, 0));
  const std::string no_created = BytesField(10, BytesField(1, "V"));
  Decoded out = DecodeAll(**decoder, {FullOrder(), no_venue, no_created});
  EXPECT_EQ(out.batch.ToString(),
            "venue_code=V, fee=0.25, id=5, side=2, created=2026-01-01T00:00:00.123000Z\n");
  ASSERT_EQ(out.dead_letters.size(), 2u);
  EXPECT_EQ(out.dead_letters[0].reason, "missing required field 'venue.code'");
  EXPECT_EQ(out.dead_letters[0].offset, 1);
  EXPECT_EQ(out.dead_letters[1].reason, "missing required field 'created'");
}

TEST(ProtobufFormatTest, UndecodableRecordsBecomeDeadLetters) {
  auto decoder = MakeDecoder(OrderFormat(), ColumnSpecs(), kTestData);
  ASSERT_TRUE(decoder.ok());
  const std::string truncated = FullOrder().substr(0, 10);
  const std::string huge_sequence = VarintField(11, ~uint64_t{0});
  Decoded out = DecodeAll(
      **decoder, {truncated, std::string("\xff\xff\xff", 3), huge_sequence, VarintField(1, 3)});
  ASSERT_EQ(out.dead_letters.size(), 3u);
  EXPECT_EQ(out.dead_letters[0].reason, "malformed protobuf: cannot parse as eddy.test.Order");
  EXPECT_EQ(out.dead_letters[0].value, truncated);
  EXPECT_EQ(out.dead_letters[1].reason, "malformed protobuf: cannot parse as eddy.test.Order");
  EXPECT_EQ(out.dead_letters[2].reason,
            "field 'sequence': value 18446744073709551615 is out of int64 range");
  ASSERT_EQ(out.batch.num_rows(), 1u);
  EXPECT_EQ(out.batch.column(0).GetInt64(0), 3);
}

TEST(ProtobufFormatTest, EncodesRowsAsWireFormatMessages) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"symbol", TypeId::kString, true},
                 Field{"side", TypeId::kString, true}, Field{"created", TypeId::kTimestamp, true},
                 Field{"venue.fee", TypeId::kDouble, true}});
  Batch batch(schema);
  batch.column(0).AppendInt64(5);
  batch.column(1).AppendString("AB");
  batch.column(2).AppendString("SELL");
  batch.column(3).AppendInt64(1767225600123000);
  batch.column(4).AppendDouble(0.25);
  batch.column(0).AppendInt64(0);
  batch.column(1).AppendNull();
  batch.column(2).AppendNull();
  batch.column(3).AppendNull();
  batch.column(4).AppendNull();
  ASSERT_TRUE(batch.SetNumRows(2).ok());
  auto encoder = MakeEncoder(OrderFormat(), schema, kTestData);
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  // Fields in number order, as protobuf serializes them.
  EXPECT_EQ(rows.row(0), VarintField(1, 5) + BytesField(2, "AB") + VarintField(6, 2) +
                             BytesField(7, VarintField(1, 1767225600) + VarintField(2, 123000000)) +
                             BytesField(10, DoubleField(2, 0.25)));
  EXPECT_EQ(rows.row(1), "");  // all defaults or unset: the empty message
}

TEST(ProtobufFormatTest, EncodeThenDecodeRoundTrips) {
  auto decoder = MakeDecoder(OrderFormat(), ColumnSpecs(), kTestData);
  ASSERT_TRUE(decoder.ok());
  Decoded original = DecodeAll(**decoder, {FullOrder(), VarintField(1, 8) + BytesField(8, "n")});
  ASSERT_EQ(original.batch.num_rows(), 2u);
  auto encoder = MakeEncoder(OrderFormat(), (*decoder)->schema(), kTestData);
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(original.batch, &rows).ok());
  Decoded again = DecodeAll(**decoder, {std::string(rows.row(0)), std::string(rows.row(1))});
  ASSERT_TRUE(again.dead_letters.empty());
  EXPECT_EQ(again.batch.ToString(), original.batch.ToString());
}

TEST(ProtobufFormatTest, ReportsBadProtoFilesAndMessages) {
  spec::FormatSpec missing = OrderFormat();
  missing.set_proto_file("nope.proto");
  Status status = ResolveSchema(missing, ColumnSpecs(), kTestData).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("cannot load 'nope.proto'"), std::string::npos)
      << status.message();

  spec::FormatSpec no_import_path = OrderFormat();
  no_import_path.clear_import_paths();
  status = ResolveSchema(no_import_path, ColumnSpecs(), kTestData).status();
  EXPECT_NE(status.message().find("common.proto"), std::string::npos) << status.message();

  spec::FormatSpec broken = OrderFormat();
  broken.set_proto_file("bad.proto");
  broken.set_message("eddy.test.Broken");
  status = MakeDecoder(broken, ColumnSpecs(), kTestData).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("bad.proto:7:3: Expected \";\"."), std::string::npos)
      << status.message();

  spec::FormatSpec unknown = OrderFormat();
  unknown.set_message("Order");
  EXPECT_EQ(MakeDecoder(unknown, ColumnSpecs(), kTestData).status().message(),
            "protobuf format: message 'Order' not found in 'order.proto' (it defines "
            "eddy.test.Order; use the fully qualified name)");

  spec::FormatSpec incomplete;
  incomplete.set_type("protobuf");
  EXPECT_EQ(MakeDecoder(incomplete, ColumnSpecs(), kTestData).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ProtobufFormatTest, RejectsColumnsThatDoNotMatchTheMessage) {
  auto error_for = [](const std::string& name, const std::string& type, const std::string& path) {
    ColumnSpecs columns;
    AddColumn(&columns, name, type, true, path);
    return ResolveSchema(OrderFormat(), columns, kTestData).status().message();
  };
  EXPECT_EQ(error_for("qty", "int64", ""),
            "column 'qty': message eddy.test.Order has no field 'qty'");
  EXPECT_EQ(error_for("tags", "string", ""),
            "column 'tags': field 'tags' of eddy.test.Order is repeated, which the protobuf "
            "format does not support");
  EXPECT_EQ(error_for("price", "int64", ""),
            "column 'price': protobuf field 'price' of type double cannot be int64");
  EXPECT_EQ(error_for("venue", "string", ""),
            "column 'venue': protobuf field 'venue' of type eddy.common.Venue cannot be string; "
            "give a dotted path to one of its fields");
  EXPECT_EQ(error_for("x", "string", "symbol.code"),
            "column 'x': field 'symbol' of eddy.test.Order is not a message, so path "
            "'symbol.code' cannot go into it");
  Schema unknown_column({Field{"missing", TypeId::kInt64, true}});
  EXPECT_EQ(MakeEncoder(OrderFormat(), unknown_column, kTestData).status().message(),
            "column 'missing': message eddy.test.Order has no field 'missing'");
}

}  // namespace
}  // namespace eddy
