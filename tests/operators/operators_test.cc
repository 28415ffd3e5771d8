#include <gtest/gtest.h>

#include "operators/operator_factory.h"

namespace eddy {
namespace {

Schema PriceSchema() {
  return Schema({{"id", TypeId::kInt64, false},
                 {"price", TypeId::kDouble, true},
                 {"raw", TypeId::kString, true}});
}

// Rows (id, price, raw) with source metadata partition 2, offsets 100+i.
Batch PriceBatch(const std::vector<std::tuple<int64_t, std::optional<double>, std::string>>& rows) {
  Batch batch(PriceSchema());
  for (const auto& [id, price, raw] : rows) {
    batch.column(0).AppendInt64(id);
    if (price) {
      batch.column(1).AppendDouble(*price);
    } else {
      batch.column(1).AppendNull();
    }
    batch.column(2).AppendString(raw);
    std::string_view key = "k";
    batch.meta().Append("prices", 2, 100 + static_cast<int64_t>(batch.meta().size()), &key,
                        std::nullopt);
  }
  EXPECT_TRUE(batch.SetNumRows(rows.size()).ok());
  return batch;
}

SpecErrorReporter Reporter(std::string* where) {
  return [where](std::string_view field, std::string_view message) {
    *where = std::string(field);
    return Status::InvalidArgument(std::string(field) + ": " + std::string(message));
  };
}

std::unique_ptr<Operator> Make(const std::string& yaml_kind, const std::vector<Schema>& inputs,
                               const std::function<void(spec::OperatorSpec*)>& fill) {
  spec::OperatorSpec spec;
  spec.set_name(yaml_kind);
  fill(&spec);
  std::string where;
  auto op = MakeOperator(spec, inputs, Reporter(&where));
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  return op.ok() ? std::move(op).value() : nullptr;
}

TEST(FilterOperator, KeepsRowsWhosePredicateIsTrueAndDropsNulls) {
  auto filter =
      Make("cheap", {PriceSchema()}, [](spec::OperatorSpec* s) { s->set_filter("price < 10"); });
  ASSERT_NE(filter, nullptr);
  Batch input = PriceBatch({{1, 5.0, "a"}, {2, 50.0, "b"}, {3, std::nullopt, "c"}, {4, 9.5, "d"}});
  Batch out(filter->output_schema());
  DeadLetters dead;
  ASSERT_TRUE(filter->Process(0, input, &out, &dead).ok());
  EXPECT_EQ(out.ToString(), "id=1, price=5, raw=a\nid=4, price=9.5, raw=d\n");
  ASSERT_EQ(out.meta().size(), 2u);
  EXPECT_EQ(out.meta().offset.GetInt64(0), 100);
  EXPECT_EQ(out.meta().offset.GetInt64(1), 103);
  EXPECT_TRUE(dead.empty());
}

// Dead letters as one comparable line each.
std::vector<std::string> Lines(const DeadLetters& letters) {
  std::vector<std::string> lines;
  for (const DeadLetter& letter : letters) {
    lines.push_back(letter.node + "|" + letter.topic + "|" + std::to_string(letter.partition) +
                    "|" + std::to_string(letter.offset) + "|" + letter.key.value_or("<none>") +
                    "|" + letter.value + "|" + letter.reason);
  }
  return lines;
}

// Equal schemas, rows, source metadata and null masks, column by column.
void ExpectSameBatch(const Batch& actual, const Batch& expected) {
  ASSERT_EQ(actual.schema(), expected.schema());
  ASSERT_EQ(actual.num_rows(), expected.num_rows());
  EXPECT_EQ(actual.ToString(1000), expected.ToString(1000));
  for (size_t idx = 0; idx < expected.num_columns(); ++idx) {
    EXPECT_TRUE(actual.column(idx).Equals(expected.column(idx))) << "column " << idx;
    EXPECT_EQ(actual.column(idx).MayHaveNulls(), expected.column(idx).MayHaveNulls())
        << "column " << idx;
  }
  ASSERT_EQ(actual.meta().size(), expected.meta().size());
  EXPECT_TRUE(actual.meta().offset.Equals(expected.meta().offset));
  EXPECT_TRUE(actual.meta().topic.Equals(expected.meta().topic));
  EXPECT_TRUE(actual.meta().key.Equals(expected.meta().key));
}

// SelectRows: ascending row numbers, NULL counts as false, a row whose
// predicate fails is dead-lettered and not kept; Process is its gather.
TEST(FilterOperator, SelectRowsListsTheKeptRowsInOrderAndDeadLettersFailures) {
  auto filter = Make("parsed", {PriceSchema()},
                     [](spec::OperatorSpec* s) { s->set_filter("CAST(raw AS int64) > price"); });
  ASSERT_NE(filter, nullptr);
  EXPECT_TRUE(filter->SelectsRows());
  Batch input = PriceBatch({{1, 5.0, "7"},
                            {2, 50.0, "8"},
                            {3, std::nullopt, "9"},
                            {4, 1.0, "x"},
                            {5, 2.0, "30"},
                            {6, 3.0, "y"}});
  std::vector<uint32_t> rows = {99};  // cleared first
  DeadLetters dead;
  ASSERT_TRUE(filter->SelectRows(input, &rows, &dead).ok());
  EXPECT_EQ(rows, (std::vector<uint32_t>{0, 4}));
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].offset, 103);
  EXPECT_EQ(dead[1].offset, 105);
  EXPECT_EQ(dead[0].node, "parsed");
  EXPECT_NE(dead[0].reason.find("x"), std::string::npos) << dead[0].reason;

  Batch out(filter->output_schema());
  DeadLetters process_dead;
  ASSERT_TRUE(filter->Process(0, input, &out, &process_dead).ok());
  ExpectSameBatch(out, input.Gather(rows));
  EXPECT_EQ(Lines(process_dead), Lines(dead));
}

TEST(FilterOperator, RejectsANonBooleanPredicateWithItsField) {
  spec::OperatorSpec spec;
  spec.set_name("bad");
  spec.set_filter("price + 1");
  std::string where;
  auto op = MakeOperator(spec, {PriceSchema()}, Reporter(&where));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(where, "filter");
  EXPECT_NE(op.status().message().find("bool"), std::string::npos) << op.status().message();
}

TEST(SelectOperator, ComputesColumnsAndDeadLettersRowsWhoseCastFails) {
  auto select = Make("shape", {PriceSchema()}, [](spec::OperatorSpec* s) {
    s->mutable_select()->add_columns("id");
    s->mutable_select()->add_columns("CAST(raw AS int64) AS parsed");
    s->mutable_select()->add_columns("price * 2 AS doubled");
  });
  ASSERT_NE(select, nullptr);
  EXPECT_EQ(select->output_schema().ToString(), "id:int64, parsed:int64?, doubled:double?");
  Batch input = PriceBatch({{1, 1.5, "10"}, {2, 2.0, "x1"}, {3, std::nullopt, "-7"}});
  Batch out(select->output_schema());
  DeadLetters dead;
  ASSERT_TRUE(select->Process(0, input, &out, &dead).ok());
  EXPECT_EQ(out.ToString(), "id=1, parsed=10, doubled=3\nid=3, parsed=-7, doubled=NULL\n");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].node, "shape");
  EXPECT_EQ(dead[0].topic, "prices");
  EXPECT_EQ(dead[0].partition, 2);
  EXPECT_EQ(dead[0].offset, 101);
  EXPECT_EQ(dead[0].key, std::optional<std::string>("k"));
  EXPECT_NE(dead[0].reason.find("x1"), std::string::npos) << dead[0].reason;
  EXPECT_EQ(dead[0].value, R"({"id":2,"price":2,"raw":"x1"})");
  // Surviving rows keep their origin.
  EXPECT_EQ(out.meta().offset.GetInt64(1), 102);
}

// ProcessSelected over rows of a batch equals Process over those rows
// gathered: bare columns, computed ones, metadata, and (through its dense
// fallback) a cast that fails, whose dead letter carries the whole row.
TEST(SelectOperator, ProcessSelectedEqualsProcessOverTheGatheredRows) {
  Batch input = PriceBatch({{1, 1.5, "10"},
                            {2, 2.0, "x1"},
                            {3, std::nullopt, "-7"},
                            {4, 4.0, "4"},
                            {5, 5.0, "y"},
                            {6, 6.0, "6"}});
  const std::vector<std::vector<std::string>> selects = {
      {"price"},                                            // bare
      {"price * 2 AS doubled", "_offset", "1 AS one"},      // computed, meta, literal
      {"id", "CAST(raw AS int64) AS parsed"},               // fails on rows 1 and 4
      {"coalesce(price, 0) AS price", "length(raw) AS n"},  // reads every column but id
  };
  const std::vector<std::vector<uint32_t>> row_lists = {{0, 2, 3, 5}, {1, 4}, {}, {0}};
  for (const auto& items : selects) {
    auto select = Make("shape", {PriceSchema()}, [&](spec::OperatorSpec* s) {
      for (const std::string& item : items) s->mutable_select()->add_columns(item);
    });
    ASSERT_NE(select, nullptr);
    EXPECT_TRUE(select->ReadsSelectedRows()) << items[0];
    for (const auto& rows : row_lists) {
      SCOPED_TRACE(items[0] + " over " + std::to_string(rows.size()) + " rows");
      Batch dense_out(select->output_schema());
      DeadLetters dense_dead;
      ASSERT_TRUE(select->Process(0, input.Gather(rows), &dense_out, &dense_dead).ok());
      Batch selected_out(select->output_schema());
      DeadLetters selected_dead;
      ASSERT_TRUE(select->ProcessSelected(0, input, rows, &selected_out, &selected_dead).ok());
      ExpectSameBatch(selected_out, dense_out);
      EXPECT_EQ(Lines(selected_dead), Lines(dense_dead));
    }
  }
}

// The failing select above dead-letters rows with every column, as it did
// before selection vectors, and a select of every column has nothing to
// save, so it takes the default (gather, then Process).
TEST(SelectOperator, SelectedRowsThatFailCarryTheWholeRowAndStarReadsDensely) {
  Batch input = PriceBatch({{1, 1.5, "10"}, {2, 2.0, "x1"}, {3, 3.0, "3"}});
  auto parse = Make("parse", {PriceSchema()}, [](spec::OperatorSpec* s) {
    s->mutable_select()->add_columns("CAST(raw AS int64) AS parsed");
  });
  ASSERT_NE(parse, nullptr);
  const std::vector<uint32_t> rows = {1, 2};
  Batch out(parse->output_schema());
  DeadLetters dead;
  ASSERT_TRUE(parse->ProcessSelected(0, input, rows, &out, &dead).ok());
  EXPECT_EQ(out.ToString(), "parsed=3\n");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].value, R"({"id":2,"price":2,"raw":"x1"})");
  EXPECT_EQ(dead[0].offset, 101);

  auto star = Make("all", {PriceSchema()},
                   [](spec::OperatorSpec* s) { s->mutable_select()->add_columns("*"); });
  ASSERT_NE(star, nullptr);
  EXPECT_FALSE(star->ReadsSelectedRows());
  EXPECT_FALSE(star->SelectsRows());
  Batch star_out(star->output_schema());
  DeadLetters star_dead;
  ASSERT_TRUE(star->ProcessSelected(0, input, rows, &star_out, &star_dead).ok());
  ExpectSameBatch(star_out, input.Gather(rows));
}

TEST(SelectOperator, RejectsDuplicateOutputNamesAtTheirItem) {
  spec::OperatorSpec spec;
  spec.set_name("dup");
  spec.mutable_select()->add_columns("id");
  spec.mutable_select()->add_columns("price AS id");
  std::string where;
  auto op = MakeOperator(spec, {PriceSchema()}, Reporter(&where));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(where, "select.columns[1]");
}

TEST(UnionOperator, ConcatenatesInputsAndWidensNullability) {
  Schema strict({{"id", TypeId::kInt64, false},
                 {"price", TypeId::kDouble, false},
                 {"raw", TypeId::kString, false}});
  auto merged = Make("all", {strict, PriceSchema()}, [](spec::OperatorSpec* s) {
    s->mutable_union_();
    s->add_inputs("a");
    s->add_inputs("b");
  });
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->output_schema().ToString(), "id:int64, price:double?, raw:string?");
  Batch out(merged->output_schema());
  DeadLetters dead;
  ASSERT_TRUE(merged->Process(1, PriceBatch({{1, std::nullopt, "x"}}), &out, &dead).ok());
  ASSERT_TRUE(merged->Process(0, PriceBatch({{2, 3.0, "y"}}), &out, &dead).ok());
  EXPECT_EQ(out.ToString(), "id=1, price=NULL, raw=x\nid=2, price=3, raw=y\n");
}

TEST(UnionOperator, RejectsInputsWithDifferentColumns) {
  Schema other({{"id", TypeId::kString, false}});
  spec::OperatorSpec spec;
  spec.set_name("all");
  spec.mutable_union_();
  spec.add_inputs("a");
  spec.add_inputs("b");
  std::string where;
  auto op = MakeOperator(spec, {PriceSchema(), other}, Reporter(&where));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(where, "inputs");
  EXPECT_NE(op.status().message().find("input 'b'"), std::string::npos) << op.status().message();
}

}  // namespace
}  // namespace eddy
