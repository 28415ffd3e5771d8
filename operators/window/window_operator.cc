// Event-time window aggregation: tumbling, sliding and session windows, in
// append or update mode, with allowed lateness and a late output.
//
// State layout in the operator's table (every key also carries its key
// group, added by the state backend):
//   'W' key start          -> end (8 bytes, ordered) + the aggregate states
//   'T' end start key      -> ""   (a timer: windows by end time)
// Keys and times are encoded so that bytes sort like values
// (operators/core/key_codec.h); timers of a key group therefore scan in
// end-time order and firing stops at the first that is not due.

#include <algorithm>
#include <map>
#include <unordered_map>

#include "operators/aggregate/aggregate_set.h"
#include "operators/core/key_codec.h"
#include "operators/core/operator.h"
#include "operators/core/stateful_operator.h"
#include "runtime/core/value_text.h"
#include "runtime/expr/expression.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {
namespace {

enum class WindowType { kTumbling, kSliding, kSession };

constexpr char kWindowPrefix = 'W';
constexpr char kTimerPrefix = 'T';

std::string WindowKey(std::string_view key, int64_t start) {
  std::string out(1, kWindowPrefix);
  out.append(key);
  AppendOrderedInt64(start, &out);
  return out;
}

std::string TimerKey(int64_t end, int64_t start, std::string_view key) {
  std::string out(1, kTimerPrefix);
  AppendOrderedInt64(end, &out);
  AppendOrderedInt64(start, &out);
  out.append(key);
  return out;
}

// One window of one key touched or fired in this batch.
struct WindowGroup {
  KeyGroupId group;
  std::string key;  // encoded key columns
  int64_t start = 0;
  int64_t end = 0;
  bool stored = false;   // state existed before this batch
  bool touched = false;  // received rows in this batch
};

class WindowOperator final : public StatefulOperator {
 public:
  WindowOperator(std::string name, Schema input, size_t time_index, std::string time_column,
                 std::vector<NamedExpression> keys, AggregateSet aggregates, WindowType type,
                 int64_t size, int64_t slide, int64_t gap, int64_t lateness, bool append,
                 std::string signature, std::string description)
      : name_(std::move(name)),
        input_schema_(std::move(input)),
        time_index_(time_index),
        time_column_(std::move(time_column)),
        keys_(std::move(keys)),
        aggregates_(std::move(aggregates)),
        type_(type),
        size_(size),
        slide_(slide),
        gap_(gap),
        lateness_(lateness),
        append_(append),
        signature_(std::move(signature)),
        description_(std::move(description)) {
    for (const NamedExpression& key : keys_) {
      output_schema_.AddField({key.name, key.expression->type(), key.expression->nullable()});
    }
    output_schema_.AddField({"window_start", TypeId::kTimestamp, false});
    output_schema_.AddField({"window_end", TypeId::kTimestamp, false});
    for (const AggregateCall& call : aggregates_.calls()) {
      output_schema_.AddField({call.name, call.result_type, call.result_nullable});
    }
  }

  const std::string& name() const override { return name_; }
  std::string kind() const override { return "window"; }
  const Schema& output_schema() const override { return output_schema_; }
  const Schema* late_schema() const override { return &input_schema_; }
  std::string Signature() const override { return signature_; }
  bool needs_event_time() const override { return true; }
  std::string Describe() const override { return description_; }

  Status ProcessBatch(const StatefulBatchContext& context, const std::vector<Batch>& inputs,
                      Batch* out, Batch* late, DeadLetters* dead_letters) override {
    const Batch& input = inputs.at(0);
    const size_t rows = input.num_rows();
    // Keys, and rows that cannot be keyed or timed, first.
    std::vector<RowError> errors;
    std::vector<Column> key_columns;
    for (const NamedExpression& key : keys_)
      key_columns.push_back(key.expression->Evaluate(input, &errors));
    // Evaluated once: the errors here, the values in Groups::Update.
    const std::vector<Column> arguments = aggregates_.EvaluateArguments(input, &errors);
    std::vector<uint8_t>& rejected = scratch_.rejected;
    rejected.assign(rows, 0);
    RejectFailedRows(input, errors, name_, &rejected, dead_letters);
    const Column& times = input.column(time_index_);
    for (size_t row = 0; row < rows; ++row) {
      if (!rejected[row] && times.IsNull(row)) {
        rejected[row] = 1;
        dead_letters->push_back(
            RowDeadLetter(input, row, name_, "event time column '" + time_column_ + "' is NULL"));
      }
    }

    Pending pending(aggregates_, &scratch_);
    std::vector<uint32_t> late_rows;
    std::string key;
    if (type_ == WindowType::kSession) {
      EDDY_RETURN_IF_ERROR(
          AssignSessions(context, input, key_columns, rejected, &pending, &late_rows));
    } else {
      for (uint32_t row = 0; row < rows; ++row) {
        if (rejected[row]) continue;
        key.clear();
        EncodeKey(key_columns, row, &key);
        const KeyGroupId group = KeyGroupForKey(key, context.key_groups);
        const int64_t time = times.GetInt64(row);
        bool accepted = false;
        const int64_t last_start = FloorDiv(time, slide_) * slide_;
        for (int64_t start = last_start; start > time - size_; start -= slide_) {
          if (IsClosed(start + size_, context.watermark)) continue;
          const uint32_t index = pending.Find(group, key, start, start + size_);
          pending.Assign(row, time, index);
          accepted = true;
        }
        if (!accepted) late_rows.push_back(row);
      }
      EDDY_RETURN_IF_ERROR(LoadStored(context, &pending));
    }
    pending.groups.Update(arguments, pending.rows, pending.times, pending.group_of_row);

    // Windows that can receive no more rows fire (append) or are dropped
    // (update: they were emitted when they last changed).
    std::vector<uint32_t> due;
    EDDY_RETURN_IF_ERROR(CollectDue(context, &pending, &due));
    std::vector<uint8_t> is_due(pending.windows.size(), 0);
    for (uint32_t index : due) is_due[index] = 1;
    // Sessions merged into others go first: a merged session may keep the
    // start (and so the key) of one it replaces.
    for (const auto& [group, key_bytes, start, end] : pending.removed_sessions) {
      context.writes->Delete(*context.table, group, WindowKey(key_bytes, start));
      context.writes->Delete(*context.table, group, TimerKey(end, start, key_bytes));
    }
    std::string value;
    for (uint32_t index = 0; index < pending.windows.size(); ++index) {
      const WindowGroup& window = pending.windows[index];
      if (is_due[index]) {
        context.writes->Delete(*context.table, window.group, WindowKey(window.key, window.start));
        context.writes->Delete(*context.table, window.group,
                               TimerKey(window.end, window.start, window.key));
        continue;
      }
      if (!window.touched) continue;
      value.clear();
      AppendOrderedInt64(window.end, &value);
      pending.groups.Serialize(index, &value);
      context.writes->Put(*context.table, window.group, WindowKey(window.key, window.start), value);
      if (!window.stored) {
        context.writes->Put(*context.table, window.group,
                            TimerKey(window.end, window.start, window.key), "");
      }
    }

    std::vector<uint32_t> emit;
    if (append_) {
      emit = due;
      std::sort(emit.begin(), emit.end(), [&](uint32_t a, uint32_t b) {
        const WindowGroup& x = pending.windows[a];
        const WindowGroup& y = pending.windows[b];
        return std::tie(x.end, x.start, x.key) < std::tie(y.end, y.start, y.key);
      });
    } else {
      for (uint32_t index = 0; index < pending.windows.size(); ++index) {
        if (pending.windows[index].touched) emit.push_back(index);
      }
    }
    EDDY_RETURN_IF_ERROR(Emit(pending, emit, out));
    if (!late_rows.empty()) EDDY_RETURN_IF_ERROR(late->Append(input.Gather(late_rows)));
    return Status::OK();
  }

 private:
  // The windows and row assignments of one batch.
  // Per-row vectors a batch fills, kept from batch to batch so a steady
  // stream allocates them once (ProcessBatch runs once per batch, on the
  // batch-wide stage's thread).
  struct RowScratch {
    std::vector<uint8_t> rejected;
    std::vector<uint32_t> rows;
    std::vector<int64_t> times;
    std::vector<uint32_t> group_of_row;
    std::string window_id;
  };

  struct Pending {
    Pending(const AggregateSet& set, RowScratch* scratch)
        : groups(set),
          rows(scratch->rows),
          times(scratch->times),
          group_of_row(scratch->group_of_row),
          id(scratch->window_id) {
      rows.clear();
      times.clear();
      group_of_row.clear();
    }

    // Called per row: the id is built in a kept string and copied only
    // for a window new to this batch.
    uint32_t Find(KeyGroupId group, const std::string& key, int64_t start, int64_t end) {
      id.assign(2, '\0');
      id[0] = static_cast<char>(group.value >> 8);
      id[1] = static_cast<char>(group.value);
      id += key;
      AppendOrderedInt64(start, &id);
      if (auto found = index.find(id); found != index.end()) return found->second;
      const auto window = static_cast<uint32_t>(windows.size());
      index.emplace(id, window);
      windows.push_back({group, key, start, end, false, false});
      groups.Add();
      return window;
    }
    uint32_t AddWindow(KeyGroupId group, std::string key, int64_t start, int64_t end, bool stored) {
      windows.push_back({group, std::move(key), start, end, stored, false});
      groups.Add();
      return static_cast<uint32_t>(windows.size() - 1);
    }
    void Assign(uint32_t row, int64_t time, uint32_t window) {
      rows.push_back(row);
      times.push_back(time);
      group_of_row.push_back(window);
      windows[window].touched = true;
    }

    std::vector<WindowGroup> windows;
    std::unordered_map<std::string, uint32_t> index;
    AggregateSet::Groups groups;
    std::vector<uint32_t>& rows;
    std::vector<int64_t>& times;
    std::vector<uint32_t>& group_of_row;
    std::string& id;
    // Stored sessions merged into others: their keys are deleted.
    std::vector<std::tuple<KeyGroupId, std::string, int64_t, int64_t>> removed_sessions;
  };

  bool IsClosed(int64_t end, const std::optional<TimestampMicros>& watermark) const {
    return watermark.has_value() && end + lateness_ <= *watermark;
  }

  // Loads the stored state of the batch's windows with one MultiGet.
  Status LoadStored(const StatefulBatchContext& context, Pending* pending) {
    std::vector<std::string> keys;
    std::vector<StateKey> lookups;
    keys.reserve(pending->windows.size());
    for (const WindowGroup& window : pending->windows)
      keys.push_back(WindowKey(window.key, window.start));
    for (size_t idx = 0; idx < keys.size(); ++idx)
      lookups.push_back({pending->windows[idx].group, keys[idx]});
    std::vector<std::optional<std::string>> values;
    EDDY_RETURN_IF_ERROR(context.table->MultiGet(lookups, &values));
    for (size_t idx = 0; idx < values.size(); ++idx) {
      if (!values[idx]) continue;
      if (values[idx]->size() < 8)
        return Status::Corruption("window '" + name_ + "': short state value");
      pending->windows[idx].stored = true;
      EDDY_RETURN_IF_ERROR(pending->groups.Load(idx, std::string_view(*values[idx]).substr(8)));
    }
    return Status::OK();
  }

  // Session windows: a row opens [t, t + gap); overlapping sessions of a key
  // (stored or new) merge.
  Status AssignSessions(const StatefulBatchContext& context, const Batch& input,
                        const std::vector<Column>& key_columns,
                        const std::vector<uint8_t>& rejected, Pending* pending,
                        std::vector<uint32_t>* late_rows) {
    const Column& times = input.column(time_index_);
    // Rows per key, keys in order of first appearance.
    std::vector<std::string> key_order;
    std::unordered_map<std::string, std::vector<uint32_t>> rows_of_key;
    std::string key;
    for (uint32_t row = 0; row < input.num_rows(); ++row) {
      if (rejected[row]) continue;
      if (IsClosed(times.GetInt64(row) + gap_, context.watermark)) {
        late_rows->push_back(row);
        continue;
      }
      key.clear();
      EncodeKey(key_columns, row, &key);
      auto [it, inserted] = rows_of_key.try_emplace(key);
      if (inserted) key_order.push_back(key);
      it->second.push_back(row);
    }
    for (const std::string& key_bytes : key_order) {
      const KeyGroupId group = KeyGroupForKey(key_bytes, context.key_groups);
      struct Interval {
        int64_t start, end;
        int64_t stored_index;  // into `stored`, or -1 for a row
        uint32_t row;
      };
      std::vector<Interval> intervals;
      std::vector<std::string> stored;
      std::vector<std::pair<int64_t, int64_t>> stored_bounds;
      const std::string prefix = std::string(1, kWindowPrefix) + key_bytes;
      EDDY_RETURN_IF_ERROR(
          context.table->Scan(group, prefix, [&](std::string_view k, std::string_view v) {
            if (k.size() != prefix.size() + 8 || v.size() < 8) return true;
            const int64_t start = ReadOrderedInt64(k.substr(prefix.size()));
            const int64_t end = ReadOrderedInt64(v);
            intervals.push_back({start, end, static_cast<int64_t>(stored.size()), 0});
            stored.emplace_back(v.substr(8));
            stored_bounds.emplace_back(start, end);
            return true;
          }));
      for (uint32_t row : rows_of_key[key_bytes]) {
        const int64_t time = times.GetInt64(row);
        intervals.push_back({time, time + gap_, -1, row});
      }
      std::stable_sort(intervals.begin(), intervals.end(),
                       [](const Interval& a, const Interval& b) { return a.start < b.start; });
      size_t begin = 0;
      while (begin < intervals.size()) {
        int64_t end = intervals[begin].end;
        size_t stop = begin + 1;
        while (stop < intervals.size() && intervals[stop].start < end) {
          end = std::max(end, intervals[stop].end);
          ++stop;
        }
        const int64_t start = intervals[begin].start;
        // One stored session that is unchanged keeps its keys.
        int64_t stored_count = 0;
        int64_t only_stored = -1;
        for (size_t idx = begin; idx < stop; ++idx) {
          if (intervals[idx].stored_index >= 0) {
            ++stored_count;
            only_stored = intervals[idx].stored_index;
          }
        }
        const bool unchanged_keys = stored_count == 1 &&
                                    stored_bounds[only_stored].first == start &&
                                    stored_bounds[only_stored].second == end;
        const uint32_t window = pending->AddWindow(group, key_bytes, start, end, unchanged_keys);
        bool has_rows = false;
        for (size_t idx = begin; idx < stop; ++idx) {
          const Interval& interval = intervals[idx];
          if (interval.stored_index < 0) {
            pending->Assign(interval.row, interval.start, window);
            has_rows = true;
            continue;
          }
          AggregateSet::Groups loaded(aggregates_);
          loaded.Add();
          EDDY_RETURN_IF_ERROR(loaded.Load(0, stored[interval.stored_index]));
          pending->groups.Merge(window, loaded, 0);
          if (!unchanged_keys) {
            const auto& [old_start, old_end] = stored_bounds[interval.stored_index];
            pending->removed_sessions.emplace_back(group, key_bytes, old_start, old_end);
          }
        }
        pending->windows[window].stored = unchanged_keys;
        // A stored session that did not change and got no rows is left alone.
        pending->windows[window].touched = has_rows || !unchanged_keys;
        begin = stop;
      }
    }
    return Status::OK();
  }

  // Windows whose end plus the lateness is at or before the next watermark:
  // those of this batch, plus stored ones found through the timers.
  Status CollectDue(const StatefulBatchContext& context, Pending* pending,
                    std::vector<uint32_t>* due) {
    if (!context.next_watermark) return Status::OK();
    const int64_t threshold = *context.next_watermark - lateness_;
    std::map<std::tuple<uint16_t, std::string, int64_t>, uint32_t> in_batch;
    for (uint32_t index = 0; index < pending->windows.size(); ++index) {
      const WindowGroup& window = pending->windows[index];
      in_batch[{window.group.value, window.key, window.start}] = index;
      if (window.end <= threshold) due->push_back(index);
    }
    std::vector<uint32_t> loaded;
    std::vector<std::string> keys;
    const std::string prefix(1, kTimerPrefix);
    for (int group = 0; group < context.key_groups; ++group) {
      const KeyGroupId id{static_cast<uint16_t>(group)};
      EDDY_RETURN_IF_ERROR(
          context.table->Scan(id, prefix, [&](std::string_view k, std::string_view) {
            if (k.size() < 17) return true;
            const int64_t end = ReadOrderedInt64(k.substr(1));
            if (end > threshold) return false;  // timers are in end order
            const int64_t start = ReadOrderedInt64(k.substr(9));
            std::string key_bytes(k.substr(17));
            if (in_batch.count({id.value, key_bytes, start}) > 0) return true;
            // A session merged away in this batch is not due on its own.
            for (const auto& removed : pending->removed_sessions) {
              if (std::get<0>(removed) == id && std::get<1>(removed) == key_bytes &&
                  std::get<2>(removed) == start) {
                return true;
              }
            }
            const uint32_t index = pending->AddWindow(id, key_bytes, start, end, true);
            keys.push_back(WindowKey(key_bytes, start));
            loaded.push_back(index);
            due->push_back(index);
            return true;
          }));
    }
    if (loaded.empty()) return Status::OK();
    std::vector<StateKey> lookups;
    for (size_t idx = 0; idx < loaded.size(); ++idx) {
      lookups.push_back({pending->windows[loaded[idx]].group, keys[idx]});
    }
    std::vector<std::optional<std::string>> values;
    EDDY_RETURN_IF_ERROR(context.table->MultiGet(lookups, &values));
    for (size_t idx = 0; idx < loaded.size(); ++idx) {
      if (!values[idx] || values[idx]->size() < 8) {
        return Status::Corruption("window '" + name_ + "': a timer without its window state");
      }
      EDDY_RETURN_IF_ERROR(
          pending->groups.Load(loaded[idx], std::string_view(*values[idx]).substr(8)));
    }
    return Status::OK();
  }

  Status Emit(const Pending& pending, const std::vector<uint32_t>& emit, Batch* out) {
    if (emit.empty()) return Status::OK();
    std::vector<Column> columns;
    for (const NamedExpression& key : keys_) columns.emplace_back(key.expression->type());
    for (uint32_t index : emit) {
      std::string_view bytes = pending.windows[index].key;
      EDDY_RETURN_IF_ERROR(DecodeKey(&bytes, &columns));
    }
    Column starts(TypeId::kTimestamp);
    Column ends(TypeId::kTimestamp);
    for (uint32_t index : emit) {
      starts.AppendInt64(pending.windows[index].start);
      ends.AppendInt64(pending.windows[index].end);
    }
    columns.push_back(std::move(starts));
    columns.push_back(std::move(ends));
    pending.groups.Finalize(emit, &columns);
    Batch result;
    for (size_t idx = 0; idx < columns.size(); ++idx) {
      result.AddColumn(output_schema_.field(idx), std::move(columns[idx]));
    }
    return out->Append(result);
  }

  std::string name_;
  Schema input_schema_;
  size_t time_index_;
  std::string time_column_;
  std::vector<NamedExpression> keys_;
  AggregateSet aggregates_;
  WindowType type_;
  int64_t size_, slide_, gap_, lateness_;
  bool append_;
  std::string signature_;
  std::string description_;
  Schema output_schema_;
  RowScratch scratch_;
};

Result<int64_t> Duration(const std::string& text, std::string_view field, bool required,
                         const SpecErrorReporter& error_at) {
  if (text.empty()) {
    if (required) return error_at(field, "is required");
    return int64_t{0};
  }
  auto micros = ParseDurationMicros(text);
  if (!micros.ok()) return error_at(field, micros.status().message());
  return *micros;
}

}  // namespace

// Resolves the event-time column of a window or keyed aggregation.
Result<size_t> ResolveTimeColumn(const std::string& explicit_column, const StatefulInput& input,
                                 std::string_view field, const SpecErrorReporter& error_at,
                                 std::string* name) {
  *name = !explicit_column.empty() ? explicit_column : input.time_column.value_or("");
  if (name->empty()) {
    return error_at(field,
                    "needs event time: set event_time.column on the source, or time_column here");
  }
  const auto index = input.schema.IndexOf(*name);
  if (!index) {
    return error_at(field, "event-time column '" + *name + "' is not among the input's columns {" +
                               input.schema.ToString() + "}");
  }
  if (input.schema.field(*index).type != TypeId::kTimestamp) {
    return error_at(field, "event-time column '" + *name + "' must be a timestamp, it is " +
                               std::string(TypeName(input.schema.field(*index).type)));
  }
  return *index;
}

Result<std::vector<NamedExpression>> CompileKeys(
    const google::protobuf::RepeatedPtrField<std::string>& texts, const Schema& schema,
    std::string_view field, const SpecErrorReporter& error_at) {
  std::vector<NamedExpression> keys;
  for (int idx = 0; idx < texts.size(); ++idx) {
    const std::string path = std::string(field) + "[" + std::to_string(idx) + "]";
    auto compiled = CompileSelectItem(texts[idx], schema);
    if (!compiled.ok()) return error_at(path, compiled.status().message());
    if (compiled->size() != 1) return error_at(path, "a key is one expression, not *");
    keys.push_back(std::move(compiled->front()));
  }
  return keys;
}

Result<std::unique_ptr<StatefulOperator>> MakeWindowOperator(const spec::OperatorSpec& spec,
                                                             const StatefulInput& input,
                                                             const SpecErrorReporter& error_at) {
  const spec::WindowSpec& window = spec.window();
  WindowType type;
  if (window.type() == "tumbling") {
    type = WindowType::kTumbling;
  } else if (window.type() == "sliding") {
    type = WindowType::kSliding;
  } else if (window.type() == "session") {
    type = WindowType::kSession;
  } else {
    return error_at("window.type",
                    "expected tumbling, sliding or session, got '" + window.type() + "'");
  }
  int64_t size = 0, slide = 0, gap = 0;
  if (type == WindowType::kSession) {
    EDDY_ASSIGN_OR_RETURN(gap, Duration(window.gap(), "window.gap", true, error_at));
    if (gap <= 0) return error_at("window.gap", "must be positive");
    if (!window.size().empty())
      return error_at("window.size", "a session window has a gap, not a size");
  } else {
    EDDY_ASSIGN_OR_RETURN(size, Duration(window.size(), "window.size", true, error_at));
    if (size <= 0) return error_at("window.size", "must be positive");
    slide = size;
    if (type == WindowType::kSliding) {
      EDDY_ASSIGN_OR_RETURN(slide, Duration(window.slide(), "window.slide", true, error_at));
      if (slide <= 0 || slide > size)
        return error_at("window.slide", "must be positive and at most the size");
    } else if (!window.slide().empty()) {
      return error_at("window.slide", "only sliding windows have a slide");
    }
  }
  EDDY_ASSIGN_OR_RETURN(int64_t lateness, Duration(window.allowed_lateness(),
                                                   "window.allowed_lateness", false, error_at));
  if (lateness < 0) return error_at("window.allowed_lateness", "must not be negative");
  const std::string& mode = window.output_mode();
  if (!mode.empty() && mode != "append" && mode != "update") {
    return error_at("window.output_mode", "expected append or update, got '" + mode + "'");
  }
  std::string time_column;
  EDDY_ASSIGN_OR_RETURN(
      size_t time_index,
      ResolveTimeColumn(window.time_column(), input, "window.time_column", error_at, &time_column));
  EDDY_ASSIGN_OR_RETURN(auto keys, CompileKeys(window.key(), input.schema, "window.key", error_at));
  EDDY_ASSIGN_OR_RETURN(
      AggregateSet aggregates,
      AggregateSet::Compile(window.aggregates(), input.schema, "window.aggregates", error_at));
  for (const NamedExpression& key : keys) {
    if (key.name == "window_start" || key.name == "window_end") {
      return error_at("window.key", "'" + key.name + "' is the name of a window column");
    }
  }
  std::string key_text;
  for (size_t idx = 0; idx < keys.size(); ++idx) {
    key_text += (idx ? ", " : "") + keys[idx].expression->ToString();
  }
  const std::string columns = " time=" + time_column + " key=(" + key_text + ") aggregates=(" +
                              aggregates.Canonical() + ")";
  // The signature decides whether saved state can be read: its form stays
  // as it is, empty settings included.
  std::string signature = window.type() + " size=" + window.size() + " slide=" + window.slide() +
                          " gap=" + window.gap() + columns;
  // What `eddy validate` prints: only the settings this type of window has.
  std::string description = "window " + window.type();
  description += type == WindowType::kSession ? " gap=" + window.gap() : " size=" + window.size();
  if (type == WindowType::kSliding) description += " slide=" + window.slide();
  description += columns;
  if (lateness > 0) description += " allowed_lateness=" + window.allowed_lateness();
  if (mode == "update") description += " output_mode=update";
  return std::unique_ptr<StatefulOperator>(std::make_unique<WindowOperator>(
      spec.name(), input.schema, time_index, time_column, std::move(keys), std::move(aggregates),
      type, size, slide, gap, lateness, mode != "update", std::move(signature),
      std::move(description)));
}

}  // namespace eddy
