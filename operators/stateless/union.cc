#include "operators/stateless/stateless_operators.h"

namespace eddy {
namespace {

// Concatenates its inputs (UNION ALL). Inputs need the same column names and
// types in the same order; a column is nullable in the output when it is
// nullable in any input.
class UnionOperator final : public Operator {
 public:
  UnionOperator(std::string name, Schema schema, size_t inputs)
      : name_(std::move(name)), schema_(std::move(schema)), inputs_(inputs) {}

  const std::string& name() const override { return name_; }
  const Schema& output_schema() const override { return schema_; }
  std::string Describe() const override {
    return "union of " + std::to_string(inputs_) + " inputs";
  }

  Status Process(size_t, const Batch& input, Batch* out, DeadLetters*) const override {
    // Re-label the input with the union's schema (nullability may widen).
    Batch relabelled(schema_);
    for (size_t idx = 0; idx < input.num_columns(); ++idx) {
      relabelled.column(idx) = input.column(idx);
    }
    relabelled.meta() = input.meta();
    EDDY_RETURN_IF_ERROR(relabelled.SetNumRows(input.num_rows()));
    return out->Append(relabelled);
  }

 private:
  std::string name_;
  Schema schema_;
  size_t inputs_;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeUnionOperator(const spec::OperatorSpec& spec,
                                                    const std::vector<Schema>& input_schemas,
                                                    const SpecErrorReporter& error_at) {
  if (input_schemas.size() < 2) {
    return error_at("inputs",
                    "union needs at least two inputs, got " + std::to_string(input_schemas.size()));
  }
  Schema schema = input_schemas[0];
  for (size_t input = 1; input < input_schemas.size(); ++input) {
    const Schema& other = input_schemas[input];
    bool same = other.size() == schema.size();
    for (size_t idx = 0; same && idx < schema.size(); ++idx) {
      same = other.field(idx).name == schema.field(idx).name &&
             other.field(idx).type == schema.field(idx).type;
    }
    if (!same) {
      return error_at("inputs", "input '" + spec.inputs(static_cast<int>(input)) +
                                    "' has columns {" + other.ToString() + "} but input '" +
                                    spec.inputs(0) + "' has {" + input_schemas[0].ToString() +
                                    "}; union needs the same names and types in the same order");
    }
  }
  std::vector<Field> fields = schema.fields();
  for (const Schema& other : input_schemas) {
    for (size_t idx = 0; idx < fields.size(); ++idx)
      fields[idx].nullable |= other.field(idx).nullable;
  }
  return std::unique_ptr<Operator>(std::make_unique<UnionOperator>(
      spec.name(), Schema(std::move(fields)), input_schemas.size()));
}

}  // namespace eddy
