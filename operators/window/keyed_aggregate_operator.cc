// A running aggregation per key with no window (update mode), with an
// optional event-time TTL.
//
// State layout: 'K' key -> last event time (8 bytes, ordered) + aggregate
// states; with a TTL also 'X' expiry key -> "" (timers in expiry order).

#include <unordered_map>

#include "operators/aggregate/aggregate_set.h"
#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "operators/core/stateful_operator.h"
#include "runtime/expr/expression.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

Result<size_t> ResolveTimeColumn(const std::string& explicit_column, const StatefulInput& input,
                                 std::string_view field, const SpecErrorReporter& error_at,
                                 std::string* name);
Result<std::vector<NamedExpression>> CompileKeys(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const Schema& schema,
    std::string_view field, const SpecErrorReporter& error_at);

namespace {

std::string StateKeyOf(std::string_view key) {
  std::string out(1, 'K');
  out.append(key);
  return out;
}

std::string ExpiryKey(int64_t expiry, std::string_view key) {
  std::string out(1, 'X');
  AppendOrderedInt64(expiry, &out);
  out.append(key);
  return out;
}

class KeyedAggregateOperator final : public StatefulOperator {
 public:
  KeyedAggregateOperator(std::string name, std::optional<size_t> time_index,
                         std::vector<NamedExpression> keys, AggregateSet aggregates, int64_t ttl,
                         std::string signature)
      : name_(std::move(name)),
        time_index_(time_index),
        keys_(std::move(keys)),
        aggregates_(std::move(aggregates)),
        ttl_(ttl),
        signature_(std::move(signature)) {
    for (const NamedExpression& key : keys_) {
      output_schema_.AddField({key.name, key.expression->type(), key.expression->nullable()});
    }
    for (const AggregateCall& call : aggregates_.calls()) {
      output_schema_.AddField({call.name, call.result_type, call.result_nullable});
    }
  }

  const std::string& name() const override { return name_; }
  std::string kind() const override { return "aggregate"; }
  const Schema& output_schema() const override { return output_schema_; }
  std::string Signature() const override { return signature_; }
  std::string Describe() const override { return "aggregate " + signature_; }
  bool needs_event_time() const override { return ttl_ > 0; }

  Status ProcessBatch(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                      Batch* out, Batch*, DeadLetters* dead_letters) override {
    const Batch& input = inputs.at(0);
    std::vector<RowError> errors;
    std::vector<Column> key_columns;
    for (const NamedExpression& key : keys_)
      key_columns.push_back(key.expression->Evaluate(input, &errors));
    // Evaluated once: the errors here, the values in Groups::Update.
    const std::vector<Column> arguments = aggregates_.EvaluateArguments(input, &errors);
    std::vector<uint8_t> rejected(input.num_rows(), 0);
    RejectFailedRows(input, errors, name_, &rejected, dead_letters);
    const Column* times = time_index_ ? &input.column(*time_index_) : nullptr;

    AggregateSet::Groups groups(aggregates_);
    std::vector<std::string> keys;
    std::vector<KeyGroupId> key_groups;
    std::vector<int64_t> last_times;
    std::unordered_map<std::string, uint32_t> index;
    std::vector<uint32_t> rows, group_of_row;
    std::vector<int64_t> row_times;
    std::string key;
    for (uint32_t row = 0; row < input.num_rows(); ++row) {
      if (rejected[row]) continue;
      key.clear();
      EncodeKey(key_columns, row, &key);
      auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(keys.size()));
      if (inserted) {
        keys.push_back(key);
        key_groups.push_back(KeyGroupForKey(key, context.key_groups));
        last_times.push_back(INT64_MIN);
        groups.Add();
      }
      const int64_t time = times != nullptr && !times->IsNull(row) ? times->GetInt64(row) : 0;
      last_times[it->second] = std::max(last_times[it->second], time);
      rows.push_back(row);
      row_times.push_back(time);
      group_of_row.push_back(it->second);
    }

    std::vector<std::string> state_keys;
    std::vector<StateKey> lookups;
    for (const std::string& k : keys) state_keys.push_back(StateKeyOf(k));
    for (size_t idx = 0; idx < keys.size(); ++idx)
      lookups.push_back({key_groups[idx], state_keys[idx]});
    std::vector<std::optional<std::string>> values;
    EDDY_RETURN_IF_ERROR(context.table->MultiGet(lookups, &values));
    for (size_t idx = 0; idx < values.size(); ++idx) {
      if (!values[idx]) continue;
      if (values[idx]->size() < 8)
        return Status::Corruption("aggregate '" + name_ + "': short state");
      const int64_t stored_time = ReadOrderedInt64(*values[idx]);
      if (ttl_ > 0) {
        context.writes->Delete(*context.table, key_groups[idx],
                               ExpiryKey(stored_time + ttl_, keys[idx]));
      }
      last_times[idx] = std::max(last_times[idx], stored_time);
      EDDY_RETURN_IF_ERROR(groups.Load(idx, std::string_view(*values[idx]).substr(8)));
    }
    groups.Update(arguments, rows, row_times, group_of_row);

    std::string value;
    for (size_t idx = 0; idx < keys.size(); ++idx) {
      value.clear();
      AppendOrderedInt64(last_times[idx], &value);
      groups.Serialize(idx, &value);
      context.writes->Put(*context.table, key_groups[idx], state_keys[idx], value);
      if (ttl_ > 0)
        context.writes->Put(*context.table, key_groups[idx],
                            ExpiryKey(last_times[idx] + ttl_, keys[idx]), "");
    }
    if (ttl_ > 0) EDDY_RETURN_IF_ERROR(Expire(context, index));

    if (keys.empty()) return Status::OK();
    std::vector<Column> columns;
    for (const NamedExpression& k : keys_) columns.emplace_back(k.expression->type());
    for (const std::string& k : keys) {
      std::string_view bytes = k;
      EDDY_RETURN_IF_ERROR(DecodeKey(&bytes, &columns));
    }
    std::vector<uint32_t> all(keys.size());
    for (uint32_t idx = 0; idx < all.size(); ++idx) all[idx] = idx;
    groups.Finalize(all, &columns);
    Batch result;
    for (size_t idx = 0; idx < columns.size(); ++idx)
      result.AddColumn(output_schema_.field(idx), std::move(columns[idx]));
    return out->Append(result);
  }

 private:
  // Drops keys whose expiry is at or before the next watermark, unless this
  // batch touched them (their new expiry is later).
  Status Expire(const StatefulBatchContext& context,
                const std::unordered_map<std::string, uint32_t>& touched) {
    if (!context.next_watermark || context.end_of_input) return Status::OK();
    const int64_t now = *context.next_watermark;
    for (int group = 0; group < context.key_groups; ++group) {
      const KeyGroupId id{static_cast<uint16_t>(group)};
      EDDY_RETURN_IF_ERROR(context.table->Scan(id, "X", [&](std::string_view k, std::string_view) {
        if (k.size() < 9) return true;
        const int64_t expiry = ReadOrderedInt64(k.substr(1));
        if (expiry > now) return false;
        const std::string key_bytes(k.substr(9));
        if (touched.count(key_bytes) > 0) return true;
        context.writes->Delete(*context.table, id, k);
        context.writes->Delete(*context.table, id, StateKeyOf(key_bytes));
        return true;
      }));
    }
    return Status::OK();
  }

  std::string name_;
  std::optional<size_t> time_index_;
  std::vector<NamedExpression> keys_;
  AggregateSet aggregates_;
  int64_t ttl_;
  std::string signature_;
  Schema output_schema_;
};

}  // namespace

Result<std::unique_ptr<StatefulOperator>> MakeKeyedAggregateOperator(
    const spec::OperatorSpec& spec, const StatefulInput& input, const SpecErrorReporter& error_at) {
  const spec::KeyedAggregateSpec& aggregate = spec.aggregate();
  if (aggregate.key().empty())
    return error_at("aggregate.key", "needs at least one key expression");
  EDDY_ASSIGN_OR_RETURN(auto keys,
                        CompileKeys(aggregate.key(), input.schema, "aggregate.key", error_at));
  EDDY_ASSIGN_OR_RETURN(AggregateSet aggregates,
                        AggregateSet::Compile(aggregate.aggregates(), input.schema,
                                              "aggregate.aggregates", error_at));
  int64_t ttl = 0;
  std::optional<size_t> time_index;
  std::string time_column;
  if (!aggregate.ttl().empty()) {
    auto parsed = ParseDurationMicros(aggregate.ttl());
    if (!parsed.ok()) return error_at("aggregate.ttl", parsed.status().message());
    ttl = *parsed;
    if (ttl <= 0) return error_at("aggregate.ttl", "must be positive");
    EDDY_ASSIGN_OR_RETURN(time_index,
                          ResolveTimeColumn(aggregate.time_column(), input, "aggregate.time_column",
                                            error_at, &time_column));
  }
  std::string signature = "key=(";
  for (size_t idx = 0; idx < keys.size(); ++idx)
    signature += (idx ? ", " : "") + keys[idx].expression->ToString();
  signature += ") aggregates=(" + aggregates.Canonical() + ")";
  if (ttl > 0) signature += " ttl=" + aggregate.ttl() + " time=" + time_column;
  return std::unique_ptr<StatefulOperator>(std::make_unique<KeyedAggregateOperator>(
      spec.name(), time_index, std::move(keys), std::move(aggregates), ttl, std::move(signature)));
}

}  // namespace eddy
