#include <gtest/gtest.h>

#include <cmath>

#include "connectors/format/format.h"

namespace eddy {
namespace {

using ColumnSpecs = google::protobuf::RepeatedPtrField<spec::ColumnSpec>;

void AddColumn(ColumnSpecs* columns, const std::string& name, const std::string& type,
               bool nullable = false) {
  spec::ColumnSpec* column = columns->Add();
  column->set_name(name);
  column->set_type(type);
  column->set_nullable(nullable);
}

spec::FormatSpec Csv(const std::string& delimiter = "", bool header = false) {
  spec::FormatSpec format;
  format.set_type("csv");
  format.set_delimiter(delimiter);
  format.set_header(header);
  return format;
}

struct Decoded {
  Batch batch;
  DeadLetters dead_letters;
  std::vector<std::string> reasons() const {
    std::vector<std::string> out;
    for (const DeadLetter& letter : dead_letters) out.push_back(letter.reason);
    return out;
  }
};

Decoded DecodeAll(const Decoder& decoder, const std::vector<std::string>& values) {
  std::vector<RawRecord> records;
  for (size_t idx = 0; idx < values.size(); ++idx) {
    RawRecord record;
    record.value = values[idx];
    record.topic = "file";
    record.offset = static_cast<int64_t>(idx);
    records.push_back(record);
  }
  Decoded out{Batch(decoder.schema()), {}};
  Status status = decoder.Decode(records, &out.batch, &out.dead_letters);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

std::unique_ptr<Decoder> MustDecoder(const spec::FormatSpec& format, const ColumnSpecs& columns) {
  auto decoder = MakeDecoder(format, columns, "");
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return std::move(decoder).value();
}

ColumnSpecs TradeColumns() {
  ColumnSpecs columns;
  AddColumn(&columns, "id", "int64");
  AddColumn(&columns, "symbol", "string", true);
  AddColumn(&columns, "price", "double", true);
  AddColumn(&columns, "buy", "bool", true);
  AddColumn(&columns, "ts", "timestamp", true);
  return columns;
}

TEST(CsvFormatTest, DecodesTypedColumnsByPosition) {
  auto decoder = MustDecoder(Csv(), TradeColumns());
  Decoded out = DecodeAll(*decoder, {
                                        "1,ACME,10.25,true,2026-01-01T00:00:01Z",
                                        "2,BETA,-3,FALSE,1767225600500\n",
                                        "+3,GAMMA,1.5e1,1,2026-01-01 10:00:00+02:00\r\n",
                                        "4.0,DELTA,nan,0,0",
                                    });
  EXPECT_TRUE(out.dead_letters.empty()) << out.reasons()[0];
  EXPECT_EQ(out.batch.ToString(),
            "id=1, symbol=ACME, price=10.25, buy=true, ts=2026-01-01T00:00:01.000000Z\n"
            "id=2, symbol=BETA, price=-3, buy=false, ts=2026-01-01T00:00:00.500000Z\n"
            "id=3, symbol=GAMMA, price=15, buy=true, ts=2026-01-01T08:00:00.000000Z\n"
            "id=4, symbol=DELTA, price=nan, buy=false, ts=1970-01-01T00:00:00.000000Z\n");
  EXPECT_EQ(out.batch.meta().offset.GetInt64(3), 3);
  EXPECT_EQ(out.batch.meta().topic.GetString(0), "file");
}

TEST(CsvFormatTest, HandlesRfc4180Quoting) {
  ColumnSpecs columns;
  AddColumn(&columns, "a", "string", true);
  AddColumn(&columns, "b", "string", true);
  AddColumn(&columns, "c", "int64", true);
  auto decoder = MustDecoder(Csv(), columns);
  Decoded out = DecodeAll(*decoder, {
                                        R"("x,y","say ""hi""",1)",
                                        "\"multi\nline\",\"\",2",
                                        R"(,"""",)",
                                        R"(" padded ",plain "quote" inside,"3")",
                                        R"("a""b""c","",)",
                                    });
  EXPECT_TRUE(out.dead_letters.empty()) << out.reasons()[0];
  ASSERT_EQ(out.batch.num_rows(), 5u);
  const Column& a = out.batch.column(0);
  const Column& b = out.batch.column(1);
  const Column& c = out.batch.column(2);
  EXPECT_EQ(a.GetString(0), "x,y");
  EXPECT_EQ(b.GetString(0), "say \"hi\"");
  EXPECT_EQ(a.GetString(1), "multi\nline");
  EXPECT_FALSE(b.IsNull(1));  // a quoted empty string is not NULL
  EXPECT_EQ(b.GetString(1), "");
  EXPECT_TRUE(a.IsNull(2));  // an unquoted empty field is
  EXPECT_EQ(b.GetString(2), "\"");
  EXPECT_TRUE(c.IsNull(2));
  EXPECT_EQ(a.GetString(3), " padded ");
  EXPECT_EQ(b.GetString(3), "plain \"quote\" inside");
  EXPECT_EQ(c.GetInt64(3), 3);
  EXPECT_EQ(a.GetString(4), "a\"b\"c");
  EXPECT_EQ(b.GetString(4), "");
}

TEST(CsvFormatTest, UsesTheConfiguredDelimiter) {
  ColumnSpecs columns;
  AddColumn(&columns, "a", "string");
  AddColumn(&columns, "b", "int64");
  auto decoder = MustDecoder(Csv(";"), columns);
  Decoded out = DecodeAll(*decoder, {"x,y;1", "\"p;q\";2"});
  EXPECT_TRUE(out.dead_letters.empty());
  EXPECT_EQ(out.batch.ToString(), "a=x,y, b=1\na=p;q, b=2\n");

  auto tab = MustDecoder(Csv("\t"), columns);
  Decoded tabbed = DecodeAll(*tab, {"x y\t 7 "});
  EXPECT_EQ(tabbed.batch.ToString(), "a=x y, b=7\n");

  EXPECT_EQ(MakeDecoder(Csv("::"), columns, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeEncoder(Csv("\""), Schema(), "").status().code(), StatusCode::kInvalidArgument);
}

TEST(CsvFormatTest, BadRecordsBecomeDeadLettersWithoutPartialRows) {
  auto decoder = MustDecoder(Csv(), TradeColumns());
  Decoded out = DecodeAll(*decoder, {
                                        "1,A,1.5,true,0",
                                        "2,B,1.5,true",
                                        "3,C,1.5,true,0,extra",
                                        ",D,1.5,true,0",
                                        "5,E,cheap,true,0",
                                        "6,F,1.5,maybe,0",
                                        "7,G,1.5,true,tomorrow",
                                        "8.5,H,1,true,0",
                                        "9,\"unterminated,1,true,0",
                                        "10,\"x\"y,1,true,0",
                                        "11,K,2.5,false,",
                                    });
  EXPECT_EQ(out.reasons(), (std::vector<std::string>{
                               "expected 5 fields, got 4",
                               "expected 5 fields, got 6",
                               "missing required field 'id'",
                               "field 'price': expected double, got 'cheap'",
                               "field 'buy': expected bool, got 'maybe'",
                               "field 'ts': expected timestamp, got 'tomorrow'",
                               "field 'id': expected int64, got '8.5'",
                               "malformed CSV: unterminated quoted field 2",
                               "malformed CSV: unexpected character after the closing quote of "
                               "field 2",
                           }));
  EXPECT_EQ(out.dead_letters[0].offset, 1);
  EXPECT_EQ(out.dead_letters[0].value, "2,B,1.5,true");
  EXPECT_EQ(out.batch.ToString(),
            "id=1, symbol=A, price=1.5, buy=true, ts=1970-01-01T00:00:00.000000Z\n"
            "id=11, symbol=K, price=2.5, buy=false, ts=NULL\n");
  for (size_t column = 0; column < out.batch.num_columns(); ++column) {
    EXPECT_EQ(out.batch.column(column).size(), 2u);
  }
}

TEST(CsvFormatTest, EncodesWithQuotingOnlyWhereNeeded) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"text", TypeId::kString, true},
                 Field{"price", TypeId::kDouble, true}, Field{"ok", TypeId::kBool, true},
                 Field{"at time", TypeId::kTimestamp, true}});
  Batch batch(schema);
  batch.column(0).AppendInt64(1);
  batch.column(1).AppendString("plain");
  batch.column(2).AppendDouble(0.1);
  batch.column(3).AppendBool(true);
  batch.column(4).AppendInt64(1767225600000000);
  batch.column(0).AppendInt64(2);
  batch.column(1).AppendString("a,b \"c\"\nd");
  batch.column(2).AppendNull();
  batch.column(3).AppendNull();
  batch.column(4).AppendNull();
  batch.column(0).AppendInt64(3);
  batch.column(1).AppendString("");
  batch.column(2).AppendDouble(-1e-7);
  batch.column(3).AppendBool(false);
  batch.column(4).AppendInt64(5);
  batch.column(0).AppendInt64(4);
  batch.column(1).AppendNull();
  batch.column(2).AppendDouble(INFINITY);
  batch.column(3).AppendBool(true);
  batch.column(4).AppendNull();
  ASSERT_TRUE(batch.SetNumRows(4).ok());

  auto encoder = MakeEncoder(Csv(",", true), schema, "");
  ASSERT_TRUE(encoder.ok());
  EXPECT_EQ((*encoder)->Header(), "id,text,price,ok,at time");
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.row(0), "1,plain,0.1,true,2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(rows.row(1), "2,\"a,b \"\"c\"\"\nd\",,,");
  EXPECT_EQ(rows.row(2), "3,\"\",-1e-07,false,1970-01-01T00:00:00.000005Z");
  EXPECT_EQ(rows.row(3), "4,,inf,true,");

  auto no_header = MakeEncoder(Csv(";"), schema, "");
  EXPECT_EQ((*no_header)->Header(), "");
  auto semicolon = MakeEncoder(Csv(";", true), Schema({Field{"a;b", TypeId::kString, true}}), "");
  EXPECT_EQ((*semicolon)->Header(), "\"a;b\"");
}

TEST(CsvFormatTest, EncodeThenDecodeRoundTrips) {
  auto decoder = MustDecoder(Csv("|"), TradeColumns());
  Batch batch(decoder->schema());
  const std::vector<std::string> symbols = {"", "a|b", "q\"q", "x"};
  for (size_t row = 0; row < symbols.size(); ++row) {
    batch.column(0).AppendInt64(static_cast<int64_t>(row) - 2);
    batch.column(1).AppendString(symbols[row]);
    if (row == 1) {
      batch.column(2).AppendNull();
    } else {
      batch.column(2).AppendDouble(1.0 / (static_cast<double>(row) + 3));
    }
    batch.column(3).AppendBool(row % 2 == 0);
    batch.column(4).AppendInt64(1767225600000001 + static_cast<int64_t>(row));
  }
  ASSERT_TRUE(batch.SetNumRows(symbols.size()).ok());
  auto encoder = MakeEncoder(Csv("|"), batch.schema(), "");
  EncodedRows rows;
  ASSERT_TRUE((*encoder)->Encode(batch, &rows).ok());
  std::vector<std::string> values;
  for (size_t row = 0; row < rows.size(); ++row) values.emplace_back(rows.row(row));
  Decoded out = DecodeAll(*decoder, values);
  ASSERT_TRUE(out.dead_letters.empty()) << out.reasons()[0];
  for (size_t column = 0; column < batch.num_columns(); ++column) {
    EXPECT_TRUE(out.batch.column(column).Equals(batch.column(column))) << column;
  }
}

TEST(CsvFormatTest, NeedsDeclaredColumns) {
  EXPECT_EQ(ResolveSchema(Csv(), ColumnSpecs(), "").status().message(),
            "format csv needs declared columns (schema)");
}

}  // namespace
}  // namespace eddy
