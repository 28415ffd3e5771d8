#include "connectors/generator/generator_source.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>
#include <vector>

#include "connectors/generator/generators.h"

namespace eddy {
namespace generator {

GeneratorOptions::GeneratorOptions(const google::protobuf::Map<std::string, std::string>& options) {
  for (const auto& [name, value] : options) options_.emplace(name, value);
}

Result<int64_t> GeneratorOptions::Int(std::string_view name, int64_t default_value,
                                      int64_t min_value, int64_t max_value) {
  used_.emplace(name);
  auto it = options_.find(name);
  if (it == options_.end()) return default_value;
  const std::string& text = it->second;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument("option '" + std::string(name) +
                                   "': expected an integer, got '" + text + "'");
  }
  if (value < min_value || value > max_value) {
    return Status::InvalidArgument("option '" + std::string(name) + "' must be between " +
                                   std::to_string(min_value) + " and " + std::to_string(max_value) +
                                   ", got " + text);
  }
  return value;
}

Result<double> GeneratorOptions::Double(std::string_view name, double default_value,
                                        double min_value, double max_value) {
  used_.emplace(name);
  auto it = options_.find(name);
  if (it == options_.end()) return default_value;
  const std::string& text = it->second;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return Status::InvalidArgument("option '" + std::string(name) + "': expected a number, got '" +
                                   text + "'");
  }
  if (value < min_value || value > max_value) {
    char range[96];
    std::snprintf(range, sizeof(range), "between %g and %g", min_value, max_value);
    return Status::InvalidArgument("option '" + std::string(name) + "' must be " + range +
                                   ", got " + text);
  }
  return value;
}

std::string GeneratorOptions::String(std::string_view name, std::string_view default_value) {
  used_.emplace(name);
  auto it = options_.find(name);
  return it == options_.end() ? std::string(default_value) : it->second;
}

Status GeneratorOptions::CheckAllUsed(std::string_view kind) const {
  for (const auto& [name, value] : options_) {
    if (used_.count(name) > 0) continue;
    std::string known;
    for (const std::string& used : used_) known += (known.empty() ? "" : ", ") + used;
    return Status::InvalidArgument("unknown option '" + name + "' for generator kind '" +
                                   std::string(kind) +
                                   "' (known: " + (known.empty() ? "none" : known) + ")");
  }
  return Status::OK();
}

std::span<int64_t> ExtendInt64(Column* column, size_t rows) {
  const size_t old_rows = column->size();
  column->ResizeFixed(old_rows + rows);
  return column->mutable_int64s().subspan(old_rows, rows);
}

std::span<double> ExtendDouble(Column* column, size_t rows) {
  const size_t old_rows = column->size();
  column->ResizeFixed(old_rows + rows);
  return column->mutable_doubles().subspan(old_rows, rows);
}

}  // namespace generator

namespace {

using generator::RecordGenerator;
using generator::RecordSpan;

constexpr std::string_view kKinds =
    "ysb, ysb_campaigns, regression, classification, clusters, sea, agrawal, random_rbf, "
    "hyperplane, fashion_mnist";
// What an unbounded, unthrottled generator offers beyond the furthest offset
// read so far, per partition: enough that the trigger's per-partition cap,
// not the source, sizes every batch.
constexpr int64_t kUnboundedLookahead = 1'000'000;
// Rows generated between checks of the cancel flag.
constexpr size_t kChunkRows = 16 * 1024;
constexpr int64_t kMaxReserveRows = 4 * 1024 * 1024;
constexpr int32_t kMaxPartitions = 4096;
constexpr std::string_view kDefaultStartTime = "2026-01-01T00:00:00Z";

// Everything a generator spec resolves to, validated.
struct GeneratorConfig {
  std::string kind;
  uint64_t seed = 0;
  int64_t count = 0;  // 0: unbounded
  double rate = 0;    // records per second over all partitions; 0: unthrottled
  int32_t partitions = 1;
  TimestampMicros start_time = 0;
  std::unique_ptr<RecordGenerator> records;
};

Result<GeneratorConfig> BuildConfig(const spec::GeneratorSpec& spec) {
  GeneratorConfig config;
  config.kind = spec.kind();
  config.seed = spec.seed();
  if (spec.count() < 0) {
    return Status::InvalidArgument("generator 'count' must be >= 0 (0 = unbounded), got " +
                                   std::to_string(spec.count()));
  }
  config.count = spec.count();
  if (!std::isfinite(spec.rate()) || spec.rate() < 0) {
    return Status::InvalidArgument(
        "generator 'rate' must be >= 0 records per second (0 = as fast "
        "as batches allow), got " +
        std::to_string(spec.rate()));
  }
  config.rate = spec.rate();
  if (spec.partitions() < 0 || spec.partitions() > kMaxPartitions) {
    return Status::InvalidArgument("generator 'partitions' must be between 1 and " +
                                   std::to_string(kMaxPartitions) + ", got " +
                                   std::to_string(spec.partitions()));
  }
  config.partitions = spec.partitions() == 0 ? 1 : spec.partitions();
  const std::string_view start_text =
      spec.start_time().empty() ? kDefaultStartTime : std::string_view(spec.start_time());
  std::optional<TimestampMicros> start = ParseTimestamp(start_text);
  if (!start.has_value()) {
    return Status::InvalidArgument("generator 'start_time': not an ISO 8601 timestamp: '" +
                                   std::string(start_text) + "'");
  }
  config.start_time = *start;

  generator::GeneratorOptions options(spec.options());
  Result<std::unique_ptr<RecordGenerator>> records = Status::Internal("unset");
  if (config.kind == "ysb" || config.kind == "ysb_campaigns") {
    records = generator::MakeYsbGenerator(config.seed, config.kind == "ysb_campaigns", &options);
  } else if (config.kind == "regression" || config.kind == "classification" ||
             config.kind == "clusters") {
    records = generator::MakeLabelledGenerator(config.kind, config.seed, &options);
  } else if (generator::IsLabelledStreamKind(config.kind)) {
    records = generator::MakeLabelledStreamGenerator(config.kind, config.seed, &options);
  } else if (config.kind == "fashion_mnist") {
    records = generator::MakeFashionMnistGenerator(&options);
  } else if (config.kind.empty()) {
    return Status::InvalidArgument("generator 'kind' is missing (one of " + std::string(kKinds) +
                                   ")");
  } else {
    return Status::InvalidArgument("generator 'kind': unknown kind '" + config.kind + "' (one of " +
                                   std::string(kKinds) + ")");
  }
  if (!records.ok()) return records.status().WithContext("generator '" + config.kind + "'");
  EDDY_RETURN_IF_ERROR(options.CheckAllUsed(config.kind));
  config.records = std::move(records).value();

  if (std::optional<int64_t> fixed = config.records->fixed_count(); fixed.has_value()) {
    if (config.count != 0 && config.count != *fixed) {
      return Status::InvalidArgument("generator '" + config.kind + "': 'count' is " +
                                     std::to_string(config.count) + " but this kind has exactly " +
                                     std::to_string(*fixed) +
                                     " records (campaigns * ads_per_campaign); omit 'count'");
    }
    config.count = *fixed;
  }
  if (std::optional<int64_t> available = config.records->available_count(); available) {
    if (config.count > *available) {
      return Status::InvalidArgument("generator '" + config.kind + "': 'count' is " +
                                     std::to_string(config.count) + " but the data set has " +
                                     std::to_string(*available) + " records");
    }
    if (config.count == 0) config.count = *available;
  }
  return config;
}

Offsets ToOffsets(const std::vector<int64_t>& values) {
  Offsets offsets;
  offsets.reserve(values.size());
  for (int64_t value : values) offsets.push_back(Offset{value});
  return offsets;
}

// Records of partition `partition` among the first `total` records when
// record i lives in partition i % partitions.
int64_t RecordsInPartition(int64_t total, int32_t partition, int32_t partitions) {
  if (total <= partition) return 0;
  return (total - partition + partitions - 1) / partitions;
}

// A Source over a RecordGenerator: maps (partition, offset) to record
// indices, throttles availability by rate, stamps event times and source
// metadata. Thread-safety as for Source: Read may run concurrently for
// different partitions (it only reads config and bumps per-partition atomics).
class GeneratorSource final : public Source {
 public:
  GeneratorSource(std::string name, GeneratorConfig config)
      : name_(std::move(name)),
        config_(std::move(config)),
        period_us_(config_.rate > 0 ? 1e6 / config_.rate : 1000.0),
        read_end_(static_cast<size_t>(config_.partitions)) {}

  GeneratorSource(const GeneratorSource&) = delete;
  GeneratorSource& operator=(const GeneratorSource&) = delete;

  const std::string& name() const override { return name_; }
  const Schema& schema() const override { return config_.records->schema(); }

  Status Open() override {
    if (opened_) return Status::OK();
    partitions_.clear();
    for (int32_t p = 0; p < config_.partitions; ++p) partitions_.push_back({name_, PartitionId{p}});
    open_time_ = std::chrono::steady_clock::now();
    opened_ = true;
    return Status::OK();
  }

  const std::vector<SourcePartition>& partitions() const override { return partitions_; }

  Result<Offsets> InitialOffsets() override {
    if (!opened_) return NotOpened();
    return Offsets(partitions_.size(), Offset{0});
  }

  Result<Offsets> LatestOffsets() override {
    if (!opened_) return NotOpened();
    const int32_t parts = config_.partitions;
    std::vector<int64_t> latest(static_cast<size_t>(parts), 0);
    if (config_.rate > 0) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - open_time_).count();
      // Clamped so the conversion stays defined however long the job runs.
      const double produced = std::min(std::floor(config_.rate * seconds), 4e18);
      int64_t total = static_cast<int64_t>(produced) + resumed_records_;
      if (config_.count > 0) total = std::min(total, config_.count);
      for (int32_t p = 0; p < parts; ++p) latest[p] = RecordsInPartition(total, p, parts);
    } else if (config_.count > 0) {
      for (int32_t p = 0; p < parts; ++p) latest[p] = RecordsInPartition(config_.count, p, parts);
    } else {
      for (int32_t p = 0; p < parts; ++p) {
        latest[p] = read_end_[p].load(std::memory_order_relaxed) + kUnboundedLookahead;
      }
    }
    // Never report less than what was already read (e.g. offsets restored
    // from a checkpoint and read before the rate budget caught up).
    for (int32_t p = 0; p < parts; ++p) {
      latest[p] = std::max(latest[p], read_end_[p].load(std::memory_order_relaxed));
    }
    return ToOffsets(latest);
  }

  bool IsBounded() const override { return config_.count > 0; }

  // A rate-limited generator releases records over time; it is done only
  // once all `count` records have been read.
  bool Exhausted(const Offsets& next_offsets, const Offsets&) const override {
    if (config_.count <= 0) return false;
    int64_t read = 0;
    for (Offset offset : next_offsets) read += offset.value;
    return read >= config_.count;
  }

  // The rate budget restarts where the job resumes, so a job restored at
  // offset N does not wait for N / rate seconds before its next record.
  Status StartFrom(const Offsets& next_offsets) override {
    if (!opened_) return NotOpened();
    resumed_records_ = 0;
    for (Offset offset : next_offsets) resumed_records_ += offset.value;
    open_time_ = std::chrono::steady_clock::now();
    return Status::OK();
  }

  Status Read(const PartitionRange& range, const std::atomic<bool>& cancel, Batch* out,
              DeadLetters* dead_letters) override {
    if (!opened_) return NotOpened();
    const int32_t parts = config_.partitions;
    if (range.partition_index >= static_cast<size_t>(parts)) {
      return Status::InvalidArgument("source '" + name_ + "': no partition index " +
                                     std::to_string(range.partition_index) + " (it has " +
                                     std::to_string(parts) + ")");
    }
    const int32_t partition = static_cast<int32_t>(range.partition_index);
    const int64_t start = range.start.value, end = range.end.value;
    if (start < 0 || end < start) {
      return Status::InvalidArgument("source '" + name_ + "': bad range [" + std::to_string(start) +
                                     ", " + std::to_string(end) + ")");
    }
    if (config_.count > 0 && end > RecordsInPartition(config_.count, partition, parts)) {
      return Status::InvalidArgument(
          "source '" + name_ + "': range end " + std::to_string(end) + " of partition " +
          std::to_string(partition) + " is past its last record (" +
          std::to_string(RecordsInPartition(config_.count, partition, parts)) + " records)");
    }
    if (end > std::numeric_limits<int64_t>::max() / parts) {
      return Status::InvalidArgument("source '" + name_ + "': offset out of range");
    }

    const Schema& own_schema = schema();
    if (out->num_columns() == 0 && out->num_rows() == 0) {
      *out = Batch(own_schema);
    } else if (!(out->schema() == own_schema)) {
      return Status::Internal("source '" + name_ + "': cannot append to a batch with schema {" +
                              out->schema().ToString() + "}");
    }
    size_t rows_in_out = out->num_rows();
    if (out->meta().size() != rows_in_out) {
      return Status::Internal("source '" + name_ + "': output batch has no source metadata");
    }

    // One allocation per column for the whole range instead of regrowing
    // (and copying) chunk after chunk; capped so an absurd range fails by
    // running long (and being cancellable), not by one huge allocation.
    const size_t final_rows =
        rows_in_out + static_cast<size_t>(std::min<int64_t>(end - start, kMaxReserveRows));
    for (size_t idx = 0; idx < out->num_columns(); ++idx) out->column(idx).Reserve(final_rows);
    SourceMeta& meta = out->meta();
    for (Column* column : {&meta.offset, &meta.key, &meta.timestamp}) {
      column->Reserve(final_rows);
    }

    std::vector<TimestampMicros> event_times;
    for (int64_t offset = start; offset < end;) {
      if (cancel.load(std::memory_order_relaxed)) {
        return Status::Cancelled("source '" + name_ + "': read cancelled at offset " +
                                 std::to_string(offset));
      }
      const size_t rows =
          static_cast<size_t>(std::min<int64_t>(end - offset, static_cast<int64_t>(kChunkRows)));
      const RecordSpan records{offset * parts + partition, parts, rows};
      event_times.resize(rows);
      for (size_t row = 0; row < rows; ++row) event_times[row] = EventTime(records.index(row));
      config_.records->Fill(records, event_times, out);
      AppendMeta(partition, offset, event_times, &out->meta());
      rows_in_out += rows;
      // Keeps the batch consistent chunk by chunk, so a cancelled read
      // leaves whole rows behind.
      EDDY_RETURN_IF_ERROR(out->SetNumRows(rows_in_out));
      offset += static_cast<int64_t>(rows);
    }

    std::atomic<int64_t>& read_end = read_end_[static_cast<size_t>(partition)];
    int64_t seen = read_end.load(std::memory_order_relaxed);
    while (seen < end && !read_end.compare_exchange_weak(seen, end, std::memory_order_relaxed)) {
    }
    return Status::OK();
  }

 private:
  Status NotOpened() const {
    return Status::Internal("source '" + name_ + "': used before Open()");
  }

  TimestampMicros EventTime(uint64_t index) const {
    const double micros = std::min(static_cast<double>(index) * period_us_, 4e18);
    return config_.start_time + static_cast<int64_t>(micros);
  }

  void AppendMeta(int32_t partition, int64_t first_offset,
                  std::span<const TimestampMicros> event_times, SourceMeta* meta) const {
    const size_t rows = event_times.size();
    meta->topic.AppendStringRun(name_, rows);
    meta->partition.AppendInt64Run(partition, rows);
    std::span<int64_t> offsets = generator::ExtendInt64(&meta->offset, rows);
    for (size_t row = 0; row < rows; ++row) offsets[row] = first_offset + static_cast<int64_t>(row);
    for (size_t row = 0; row < rows; ++row) meta->key.AppendNull();
    std::span<int64_t> timestamps = generator::ExtendInt64(&meta->timestamp, rows);
    std::copy(event_times.begin(), event_times.end(), timestamps.begin());
  }

  const std::string name_;
  const GeneratorConfig config_;
  const double period_us_;  // event-time distance between consecutive records
  std::vector<SourcePartition> partitions_;
  bool opened_ = false;
  int64_t resumed_records_ = 0;  // records before the position StartFrom gave
  std::chrono::steady_clock::time_point open_time_;
  // Furthest offset read per partition (exclusive); written by Read.
  std::vector<std::atomic<int64_t>> read_end_;
};

Status CheckDeclaredSchema(const spec::SourceSpec& spec, const Schema& schema) {
  if (spec.schema_size() == 0) return Status::OK();
  const std::string hint =
      " (generator sources define their own columns {" + schema.ToString() + "}; omit 'schema:')";
  if (static_cast<size_t>(spec.schema_size()) != schema.size()) {
    return Status::InvalidArgument("'schema' lists " + std::to_string(spec.schema_size()) +
                                   " columns, the generator produces " +
                                   std::to_string(schema.size()) + hint);
  }
  for (int idx = 0; idx < spec.schema_size(); ++idx) {
    const spec::ColumnSpec& column = spec.schema(idx);
    const Field& field = schema.field(static_cast<size_t>(idx));
    std::optional<TypeId> type = ParseTypeName(column.type());
    if (column.name() != field.name || (!column.type().empty() && type != field.type)) {
      return Status::InvalidArgument("'schema' column " + std::to_string(idx) + " '" +
                                     column.name() + ":" + column.type() +
                                     "' does not match the generator's '" + field.name + ":" +
                                     std::string(TypeName(field.type)) + "'" + hint);
    }
  }
  return Status::OK();
}

}  // namespace

Result<Schema> GeneratorSchema(const spec::GeneratorSpec& spec) {
  EDDY_ASSIGN_OR_RETURN(GeneratorConfig config, BuildConfig(spec));
  return config.records->schema();
}

Result<std::unique_ptr<Source>> MakeGeneratorSource(const spec::SourceSpec& spec) {
  const std::string context = "source '" + spec.name() + "'";
  if (!spec.has_generator()) {
    return Status::InvalidArgument(context + ": not a generator source");
  }
  Result<GeneratorConfig> config = BuildConfig(spec.generator());
  if (!config.ok()) return config.status().WithContext(context);
  Status schema_status = CheckDeclaredSchema(spec, config->records->schema());
  if (!schema_status.ok()) return schema_status.WithContext(context);
  return std::unique_ptr<Source>(
      std::make_unique<GeneratorSource>(spec.name(), std::move(config).value()));
}

}  // namespace eddy
