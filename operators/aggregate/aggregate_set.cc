#include "operators/aggregate/aggregate_set.h"

namespace eddy {
namespace {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool ReadVarint(std::string_view* bytes, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && !bytes->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>((*bytes)[0]);
    bytes->remove_prefix(1);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

Result<AggregateSet> AggregateSet::Compile(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const Schema& input,
    std::string_view field, const SpecErrorReporter& error_at) {
  AggregateSet set;
  if (texts.empty()) return error_at(field, "needs at least one aggregate, e.g. count(*) AS n");
  for (int idx = 0; idx < texts.size(); ++idx) {
    auto call = CompileAggregate(texts[idx], input);
    if (!call.ok()) {
      return error_at(std::string(field) + "[" + std::to_string(idx) + "]",
                      call.status().message());
    }
    set.calls_.push_back(std::move(call).value());
  }
  return set;
}

std::string AggregateSet::Canonical() const {
  std::string text;
  for (const AggregateCall& call : calls_) {
    if (!text.empty()) text += ", ";
    text += call.canonical + " AS " + call.name;
  }
  return text;
}

AggregateSet::Groups::Groups(const AggregateSet& set) : set_(&set) {
  for (const AggregateCall& call : set.calls_) accumulators_.push_back(MakeAccumulators(call));
}

size_t AggregateSet::Groups::Add() {
  for (auto& accumulators : accumulators_) accumulators->AddGroups(1);
  return size_++;
}

Status AggregateSet::Groups::Load(size_t group, std::string_view value) {
  for (auto& accumulators : accumulators_) {
    uint64_t size = 0;
    if (!ReadVarint(&value, &size) || size > value.size()) {
      return Status::Corruption("aggregate state: truncated value");
    }
    EDDY_RETURN_IF_ERROR(accumulators->Load(group, value.substr(0, size)));
    value.remove_prefix(size);
  }
  return Status::OK();
}

void AggregateSet::Groups::Serialize(size_t group, std::string* out) const {
  std::string state;
  for (const auto& accumulators : accumulators_) {
    state.clear();
    accumulators->Serialize(group, &state);
    AppendVarint(state.size(), out);
    out->append(state);
  }
}

std::vector<Column> AggregateSet::EvaluateArguments(const Batch& input,
                                                    std::vector<RowError>* errors) const {
  std::vector<Column> arguments;
  arguments.reserve(calls_.size());
  for (const AggregateCall& call : calls_) {
    arguments.push_back(call.argument ? call.argument->Evaluate(input, errors) : Column());
  }
  return arguments;
}

void AggregateSet::Groups::Update(const std::vector<Column>& arguments,
                                  std::span<const uint32_t> rows,
                                  std::span<const int64_t> event_times,
                                  std::span<const uint32_t> group_of_row) {
  // The batch's arguments (evaluated once), at the rows this update covers.
  for (size_t idx = 0; idx < accumulators_.size(); ++idx) {
    const AggregateCall& call = set_->calls_[idx];
    if (!call.argument) {
      accumulators_[idx]->Update(nullptr, event_times, group_of_row);
      continue;
    }
    const Column values = arguments[idx].Gather(rows);
    accumulators_[idx]->Update(&values, event_times, group_of_row);
  }
}

void AggregateSet::Groups::Merge(size_t target, const Groups& other, size_t source) {
  for (size_t idx = 0; idx < accumulators_.size(); ++idx) {
    accumulators_[idx]->Merge(target, *other.accumulators_[idx], source);
  }
}

void AggregateSet::Groups::Finalize(std::span<const uint32_t> groups,
                                    std::vector<Column>* out) const {
  for (size_t idx = 0; idx < accumulators_.size(); ++idx) {
    Column column(set_->calls_[idx].result_type);
    accumulators_[idx]->Finalize(groups, &column);
    out->push_back(std::move(column));
  }
}

}  // namespace eddy
