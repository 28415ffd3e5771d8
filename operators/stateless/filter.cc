#include "operators/stateless/stateless_operators.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

// Keeps the rows whose predicate is true (NULL counts as false, as in SQL's
// WHERE). Rows whose predicate fails to evaluate are dead-lettered.
class FilterOperator final : public Operator {
 public:
  FilterOperator(std::string name, Schema schema, std::unique_ptr<Expression> predicate)
      : name_(std::move(name)), schema_(std::move(schema)), predicate_(std::move(predicate)) {}

  const std::string& name() const override { return name_; }
  const Schema& output_schema() const override { return schema_; }
  std::string Describe() const override { return "filter " + predicate_->ToString(); }

  bool SelectsRows() const override { return true; }

  Status SelectRows(const Batch& input, std::vector<uint32_t>* rows,
                    DeadLetters* dead_letters) const override {
    std::vector<RowError> errors;
    const Column verdict = predicate_->Evaluate(input, &errors);
    if (!errors.empty()) {
      std::vector<uint8_t> failed;
      RejectFailedRows(input, errors, name_, &failed, dead_letters);
    }
    // A failing row's verdict is NULL (Expression::Evaluate), so it is not
    // kept either.
    rows->clear();
    rows->reserve(input.num_rows());
    const auto values = verdict.bools();
    if (!verdict.MayHaveNulls()) {
      for (uint32_t row = 0; row < values.size(); ++row) {
        if (values[row]) rows->push_back(row);
      }
    } else {
      const auto& valid = verdict.validity();
      for (uint32_t row = 0; row < values.size(); ++row) {
        if (valid[row] && values[row]) rows->push_back(row);
      }
    }
    return Status::OK();
  }

  Status Process(size_t, const Batch& input, Batch* out, DeadLetters* dead_letters) const override {
    // The rows kept, in a vector each worker thread keeps from batch to
    // batch (Process is const and runs on many tasks at once).
    thread_local std::vector<uint32_t> keep;
    EDDY_RETURN_IF_ERROR(SelectRows(input, &keep, dead_letters));
    if (keep.size() == input.num_rows() && out->num_rows() == 0) {
      *out = input;
      return Status::OK();
    }
    return out->Append(input.Gather(keep));
  }

 private:
  std::string name_;
  Schema schema_;
  std::unique_ptr<Expression> predicate_;
};

}  // namespace

Result<std::unique_ptr<Operator>> MakeFilterOperator(const spec::OperatorSpec& spec,
                                                     const Schema& input_schema,
                                                     const SpecErrorReporter& error_at) {
  auto predicate = CompileExpressionOfType(spec.filter(), input_schema, TypeId::kBool);
  if (!predicate.ok()) return error_at("filter", predicate.status().message());
  return std::unique_ptr<Operator>(
      std::make_unique<FilterOperator>(spec.name(), input_schema, std::move(predicate).value()));
}

}  // namespace eddy
