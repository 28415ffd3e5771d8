#include <gtest/gtest.h>

#include "connectors/format/format.h"

namespace eddy {
namespace {

using ColumnSpecs = google::protobuf::RepeatedPtrField<spec::ColumnSpec>;

spec::FormatSpec Raw() {
  spec::FormatSpec format;
  format.set_type("raw");
  return format;
}

TEST(RawFormatTest, SchemaIsOneNonNullStringColumnCalledValue) {
  auto schema = ResolveSchema(Raw(), ColumnSpecs(), "");
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->ToString(), "value:string");
}

TEST(RawFormatTest, DecodeCopiesTheBytesAndMetadata) {
  auto decoder = MakeDecoder(Raw(), ColumnSpecs(), "");
  ASSERT_TRUE(decoder.ok());
  const std::string binary("a\0b\n\xff", 5);
  const std::string key = "k";
  std::vector<RawRecord> records(3);
  records[0].value = "hello";
  records[0].topic = "t";
  records[0].offset = 10;
  records[1].value = binary;
  records[1].topic = "t";
  records[1].offset = 11;
  records[1].key = key;
  records[2].value = "";
  records[2].topic = "t";
  records[2].offset = 12;
  records[2].partition = 3;
  Batch batch((*decoder)->schema());
  DeadLetters dead_letters;
  ASSERT_TRUE((*decoder)->Decode(records, &batch, &dead_letters).ok());
  EXPECT_TRUE(dead_letters.empty());
  ASSERT_EQ(batch.num_rows(), 3u);
  EXPECT_EQ(batch.column(0).GetString(0), "hello");
  EXPECT_EQ(batch.column(0).GetString(1), binary);
  EXPECT_EQ(batch.column(0).GetString(2), "");
  EXPECT_FALSE(batch.column(0).IsNull(2));
  EXPECT_EQ(batch.meta().offset.GetInt64(1), 11);
  EXPECT_EQ(batch.meta().key.GetString(1), "k");
  EXPECT_EQ(batch.meta().partition.GetInt64(2), 3);

  // Appending to a batch that already has rows keeps them.
  ASSERT_TRUE((*decoder)->Decode(std::span(records).subspan(0, 1), &batch, &dead_letters).ok());
  EXPECT_EQ(batch.num_rows(), 4u);
  EXPECT_EQ(batch.column(0).GetString(3), "hello");
}

TEST(RawFormatTest, AcceptsOneDeclaredStringColumnOnly) {
  ColumnSpecs line;
  spec::ColumnSpec* column = line.Add();
  column->set_name("line");
  column->set_type("string");
  auto schema = ResolveSchema(Raw(), line, "");
  ASSERT_TRUE(schema.ok());
  EXPECT_EQ(schema->ToString(), "line:string");

  column->set_type("int64");
  EXPECT_EQ(
      MakeDecoder(Raw(), line, "").status().message(),
      "format raw decodes into exactly one string column (default `value`), got {line:int64}");
}

TEST(RawFormatTest, EncodeWritesTheValueColumn) {
  Schema schema({Field{"key", TypeId::kString, true}, Field{"value", TypeId::kString, true}});
  Batch batch(schema);
  batch.column(0).AppendString("k1");
  batch.column(1).AppendString(std::string("x\0y", 3));
  batch.column(0).AppendString("k2");
  batch.column(1).AppendNull();
  ASSERT_TRUE(batch.SetNumRows(2).ok());
  auto encoder = MakeEncoder(Raw(), schema, "");
  ASSERT_TRUE(encoder.ok());
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.row(0), std::string("x\0y", 3));
  EXPECT_EQ(rows.row(1), "");

  // What a sink may write instead of encoding: the value column itself.
  EXPECT_EQ((*encoder)->Passthrough(batch), &batch.column(1));
}

TEST(RawFormatTest, EncodeRendersASingleNonStringColumnAsText) {
  Schema schema({Field{"total", TypeId::kDouble, false}});
  Batch batch(schema);
  batch.column(0).AppendDouble(2.5);
  batch.column(0).AppendDouble(0.1);
  ASSERT_TRUE(batch.SetNumRows(2).ok());
  auto encoder = MakeEncoder(Raw(), schema, "");
  ASSERT_TRUE(encoder.ok());
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  EXPECT_EQ(rows.row(0), "2.5");
  EXPECT_EQ(rows.row(1), "0.1");
  // Text rendering is not the identity: no passthrough.
  EXPECT_EQ((*encoder)->Passthrough(batch), nullptr);

  Schema ambiguous({Field{"a", TypeId::kString, false}, Field{"b", TypeId::kString, false}});
  EXPECT_EQ(MakeEncoder(Raw(), ambiguous, "").status().message(),
            "format raw writes one column: the input needs a column called 'value' or exactly "
            "one column, got {a:string, b:string}");
}

}  // namespace
}  // namespace eddy
