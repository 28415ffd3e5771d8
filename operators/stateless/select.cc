#include <set>

#include "operators/stateless/stateless_operators.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

// Computes one output column per select item. A row for which any item
// fails (a cast that does not parse) is dead-lettered and left out.
class SelectOperator final : public Operator {
 public:
  SelectOperator(std::string name, std::vector<NamedExpression> items)
      : name_(std::move(name)), items_(std::move(items)) {
    for (const NamedExpression& item : items_) {
      schema_.AddField({item.name, item.expression->type(), item.expression->nullable()});
    }
  }

  const std::string& name() const override { return name_; }
  const Schema& output_schema() const override { return schema_; }

  std::string Describe() const override {
    std::string text = "select ";
    for (size_t idx = 0; idx < items_.size(); ++idx) {
      if (idx > 0) text += ", ";
      text += items_[idx].expression->ToString() + " AS " + items_[idx].name;
    }
    return text;
  }

  Status Process(size_t, const Batch& input, Batch* out, DeadLetters* dead_letters) const override {
    std::vector<RowError> errors;
    Batch result;
    for (size_t idx = 0; idx < items_.size(); ++idx) {
      result.AddColumn(schema_.field(idx), items_[idx].expression->Evaluate(input, &errors));
    }
    if (items_.empty()) EDDY_RETURN_IF_ERROR(result.SetNumRows(input.num_rows()));
    result.meta() = input.meta();
    if (!errors.empty()) {
      std::vector<uint8_t> failed(input.num_rows(), 0);
      RejectFailedRows(input, errors, name_, &failed, dead_letters);
      std::vector<uint32_t> keep;
      for (uint32_t row = 0; row < input.num_rows(); ++row) {
        if (!failed[row]) keep.push_back(row);
      }
      result = result.Gather(keep);
    }
    if (out->num_rows() == 0) {
      *out = std::move(result);
      return Status::OK();
    }
    return out->Append(result);
  }

 private:
  std::string name_;
  std::vector<NamedExpression> items_;
  Schema schema_;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeSelectOperator(const spec::OperatorSpec& spec,
                                                     const Schema& input_schema,
                                                     const SpecErrorReporter& error_at) {
  std::vector<NamedExpression> items;
  std::set<std::string> names;
  const auto& columns = spec.select().columns();
  if (columns.empty()) return error_at("select", "needs at least one column");
  for (int idx = 0; idx < columns.size(); ++idx) {
    const std::string field = "select.columns[" + std::to_string(idx) + "]";
    auto compiled = CompileSelectItem(columns[idx], input_schema);
    if (!compiled.ok()) return error_at(field, compiled.status().message());
    for (NamedExpression& item : *compiled) {
      if (!names.insert(item.name).second) {
        return error_at(field, "duplicate output column '" + item.name + "' (use AS to rename)");
      }
      items.push_back(std::move(item));
    }
  }
  return std::unique_ptr<Operator>(std::make_unique<SelectOperator>(spec.name(), std::move(items)));
}

}  // namespace eddy
