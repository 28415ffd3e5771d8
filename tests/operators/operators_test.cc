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
