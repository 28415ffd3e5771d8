#include <set>

#include "operators/stateless/stateless_operators.h"
#include "runtime/expr/expression.h"

namespace eddy {
namespace {

// The columns a select reads, and its items compiled a second time against
// a schema of only those columns, so that after a filter it evaluates over
// the kept rows of those columns alone (ProcessSelected). Empty `items`
// when the select reads every column: gathering them all is no saving.
struct NarrowSelect {
  std::vector<size_t> columns;  // indexes in the input schema, ascending
  Schema schema;                // those columns' fields, in that order
  std::vector<NamedExpression> items;
};

// Computes one output column per select item. A row for which any item
// fails (a cast that does not parse) is dead-lettered and left out.
class SelectOperator final : public Operator {
 public:
  SelectOperator(std::string name, std::vector<NamedExpression> items, NarrowSelect narrow)
      : name_(std::move(name)), items_(std::move(items)), narrow_(std::move(narrow)) {
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
    EDDY_RETURN_IF_ERROR(Evaluate(items_, input, &result, &errors));
    if (!errors.empty()) {
      std::vector<uint8_t> failed(input.num_rows(), 0);
      RejectFailedRows(input, errors, name_, &failed, dead_letters);
      std::vector<uint32_t> keep;
      for (uint32_t row = 0; row < input.num_rows(); ++row) {
        if (!failed[row]) keep.push_back(row);
      }
      result = result.Gather(keep);
    }
    return AppendTo(std::move(result), out);
  }

  bool ReadsSelectedRows() const override { return !narrow_.items.empty(); }

  // Gathers the kept rows of only the columns the items read (and the
  // source metadata, which the output carries), and evaluates the narrow
  // items over them; a bare column comes out as its gathered copy. Equal
  // to Process over input.Gather(rows) because each item reads the same
  // values either way. A row error sends the whole call down that dense
  // path instead, so its dead letters carry every column of the row, as
  // they always have: errors are rare, and identical output matters more.
  Status ProcessSelected(size_t input_index, const Batch& input, std::span<const uint32_t> rows,
                         Batch* out, DeadLetters* dead_letters) const override {
    if (narrow_.items.empty()) {
      return Operator::ProcessSelected(input_index, input, rows, out, dead_letters);
    }
    Batch narrow(narrow_.schema);
    for (size_t idx = 0; idx < narrow_.columns.size(); ++idx) {
      narrow.column(idx) = input.column(narrow_.columns[idx]).Gather(rows);
    }
    narrow.meta() = input.meta().Gather(rows);
    EDDY_RETURN_IF_ERROR(narrow.SetNumRows(rows.size()));
    std::vector<RowError> errors;
    Batch result;
    EDDY_RETURN_IF_ERROR(Evaluate(narrow_.items, narrow, &result, &errors));
    if (!errors.empty()) return Process(input_index, input.Gather(rows), out, dead_letters);
    return AppendTo(std::move(result), out);
  }

 private:
  // The items' columns over `input` (under the output schema), carrying
  // its source metadata; failing rows are NULL and listed in `errors`.
  Status Evaluate(const std::vector<NamedExpression>& items, const Batch& input, Batch* result,
                  std::vector<RowError>* errors) const {
    for (size_t idx = 0; idx < items.size(); ++idx) {
      result->AddColumn(schema_.field(idx), items[idx].expression->Evaluate(input, errors));
    }
    if (items.empty()) EDDY_RETURN_IF_ERROR(result->SetNumRows(input.num_rows()));
    result->meta() = input.meta();
    return Status::OK();
  }

  static Status AppendTo(Batch result, Batch* out) {
    if (out->num_rows() == 0) {
      *out = std::move(result);
      return Status::OK();
    }
    return out->Append(result);
  }

  std::string name_;
  std::vector<NamedExpression> items_;
  NarrowSelect narrow_;
  Schema schema_;
};

// The narrow form of a select whose `items` were compiled from `texts`
// against `input_schema`; empty items when it would read every column.
Result<NarrowSelect> MakeNarrowSelect(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                      const std::vector<NamedExpression>& items,
                                      const Schema& input_schema) {
  NarrowSelect narrow;
  std::set<size_t> read;
  for (const NamedExpression& item : items) {
    for (size_t column : item.expression->columns_read()) read.insert(column);
  }
  if (read.size() == input_schema.size()) return narrow;
  narrow.columns.assign(read.begin(), read.end());
  for (size_t column : narrow.columns) narrow.schema.AddField(input_schema.field(column));
  // The same texts bind to the same columns by name, so the items read the
  // same values and get the same names and types; checked all the same.
  for (const std::string& text : texts) {
    EDDY_ASSIGN_OR_RETURN(std::vector<NamedExpression> compiled,
                          CompileSelectItem(text, narrow.schema));
    for (NamedExpression& item : compiled) narrow.items.push_back(std::move(item));
  }
  bool same = narrow.items.size() == items.size();
  for (size_t idx = 0; same && idx < items.size(); ++idx) {
    const Expression& wide = *items[idx].expression;
    const Expression& slim = *narrow.items[idx].expression;
    same = items[idx].name == narrow.items[idx].name && wide.type() == slim.type() &&
           wide.nullable() == slim.nullable() && wide.ToString() == slim.ToString();
  }
  if (!same) return Status::Internal("the narrow select does not match the select it stands for");
  return narrow;
}

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
  auto narrow = MakeNarrowSelect(columns, items, input_schema);
  if (!narrow.ok()) return error_at("select", narrow.status().message());
  return std::unique_ptr<Operator>(
      std::make_unique<SelectOperator>(spec.name(), std::move(items), std::move(narrow).value()));
}

}  // namespace eddy
