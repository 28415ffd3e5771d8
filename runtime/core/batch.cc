#include "runtime/core/batch.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "runtime/core/value_text.h"

namespace eddy {

// The pool of emptied buffers (batch.h). Per type, because a column's
// buffers grow only in its type's vectors: an int64 column's buffers, taken
// again by an int64 column, already have the room it needs.
class BufferPool {
 public:
  using Buffers = Column::Buffers;

  // Buffers for a column of `type`: the roomiest pooled ones if there are,
  // else new. Roomiest, so that the same few buffers serve batch after
  // batch and each has soon grown to the largest column it serves; a small
  // one handed to a large column would grow again.
  std::shared_ptr<Buffers> Take(TypeId type) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& free = free_[Slot(type)];
      if (!free.empty()) {
        size_t roomiest = 0;
        for (size_t idx = 1; idx < free.size(); ++idx) {
          if (free[idx].bytes > free[roomiest].bytes) roomiest = idx;
        }
        std::swap(free[roomiest], free.back());
        std::shared_ptr<Buffers> buffers = std::move(free.back().buffers);
        pooled_bytes_ -= free.back().bytes;
        free.pop_back();
        return buffers;
      }
    }
    return std::make_shared<Buffers>();
  }

  // Keeps `buffers` (held by nothing else) for a later Take, emptied; frees
  // them instead when the pool is full or they are too large to keep.
  void Put(TypeId type, std::shared_ptr<Buffers> buffers) {
    Buffers& data = *buffers;
    data.bools.clear();
    data.ints.clear();
    data.doubles.clear();
    data.offsets.clear();
    data.chars.clear();
    data.validity.clear();
    const size_t bytes = Capacity(data);
    if (bytes > kMaxPooledBuffersBytes) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto& free = free_[Slot(type)];
    if (free.size() >= kMaxPooledPerType || pooled_bytes_ + bytes > kMaxPooledBytes) return;
    if (free.capacity() == 0) free.reserve(kMaxPooledPerType);
    pooled_bytes_ += bytes;
    free.push_back({std::move(buffers), bytes});
  }

  static BufferPool& Get() {
    static BufferPool pool;
    return pool;
  }
  // False once the pool was destroyed at exit: columns destroyed after it
  // free their buffers.
  static bool Alive() { return alive_.load(std::memory_order_acquire); }

  BufferPool() { alive_.store(true, std::memory_order_release); }
  ~BufferPool() { alive_.store(false, std::memory_order_release); }

 private:
  // Enough for the columns of every live batch of a job with a few
  // partitions per thread; the bytes bound what an idle job holds on to.
  static constexpr size_t kMaxPooledPerType = 512;
  static constexpr size_t kMaxPooledBytes = size_t{256} << 20;
  static constexpr size_t kMaxPooledBuffersBytes = size_t{64} << 20;

  static size_t Slot(TypeId type) {
    switch (type) {
      case TypeId::kBool:
        return 0;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        return 1;
      case TypeId::kDouble:
        return 2;
      case TypeId::kString:
        return 3;
    }
    return 1;
  }
  static size_t Capacity(const Buffers& data) {
    return data.bools.capacity() + data.ints.capacity() * sizeof(int64_t) +
           data.doubles.capacity() * sizeof(double) + data.offsets.capacity() * sizeof(uint32_t) +
           data.chars.capacity() + data.validity.capacity();
  }

  static inline std::atomic<bool> alive_{false};
  std::mutex mutex_;
  struct Pooled {
    std::shared_ptr<Buffers> buffers;
    size_t bytes;  // their capacity
  };
  std::array<std::vector<Pooled>, 4> free_;
  size_t pooled_bytes_ = 0;
};

Column::Column(TypeId type) : type_(type) {}

Column& Column::operator=(const Column& other) {
  if (this == &other) return *this;
  std::shared_ptr<Buffers> shared = other.buffers_;  // before Release: `other` may hold ours
  Release();
  type_ = other.type_;
  size_ = other.size_;
  buffers_ = std::move(shared);
  return *this;
}

Column& Column::operator=(Column&& other) noexcept {
  if (this == &other) return *this;
  Release();
  type_ = other.type_;
  size_ = other.size_;
  buffers_ = std::move(other.buffers_);
  other.size_ = 0;
  return *this;
}

void Column::Release() noexcept {
  if (buffers_ == nullptr) return;
  // use_count() == 1: no other column holds them, nor can one start to
  // (only a holder can copy), so the pool may have them.
  if (buffers_.use_count() == 1 && BufferPool::Alive()) {
    // What the copy released on another thread happens before Put empties
    // the buffers (use_count() is a relaxed load).
    std::atomic_thread_fence(std::memory_order_acquire);
    BufferPool::Get().Put(type_, std::move(buffers_));
  }
  buffers_.reset();
}

// An empty column's view: no values; a string column's one offset.
const Column::Buffers& Column::EmptyBuffers(TypeId type) {
  static const Buffers kEmpty;
  static const Buffers kEmptyString = [] {
    Buffers buffers;
    buffers.offsets.push_back(0);
    return buffers;
  }();
  return type == TypeId::kString ? kEmptyString : kEmpty;
}

void Column::Detach() {
  std::shared_ptr<Buffers> own = BufferPool::Get().Take(type_);
  const Buffers& from = data();
  // Assignment keeps the pooled buffers' capacity when it is enough.
  own->bools = from.bools;
  own->ints = from.ints;
  own->doubles = from.doubles;
  own->offsets = from.offsets;
  own->chars = from.chars;
  own->validity = from.validity;
  Release();
  buffers_ = std::move(own);
}

void Column::Reserve(size_t rows) {
  Buffers& data = Mutable();
  switch (type_) {
    case TypeId::kBool:
      data.bools.reserve(rows);
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      data.ints.reserve(rows);
      break;
    case TypeId::kDouble:
      data.doubles.reserve(rows);
      break;
    case TypeId::kString:
      data.offsets.reserve(rows + 1);
      break;
  }
}

void Column::Clear() {
  size_ = 0;
  if (buffers_ == nullptr || buffers_.use_count() != 1) {
    // Shared: let the copies keep theirs.
    Release();
    return;
  }
  Buffers& data = *buffers_;  // kept, with its capacity, for the next rows
  data.bools.clear();
  data.ints.clear();
  data.doubles.clear();
  data.offsets.clear();
  data.chars.clear();
  data.validity.clear();
  if (type_ == TypeId::kString) data.offsets.push_back(0);
}

void Column::MarkValid(Buffers& data) {
  if (!data.validity.empty()) data.validity.push_back(1);
}

void Column::AppendNull() {
  Buffers& data = Mutable();
  if (data.validity.empty()) data.validity.assign(size_, 1);
  data.validity.push_back(0);
  switch (type_) {
    case TypeId::kBool:
      data.bools.push_back(0);
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      data.ints.push_back(0);
      break;
    case TypeId::kDouble:
      data.doubles.push_back(0.0);
      break;
    case TypeId::kString:
      data.offsets.push_back(static_cast<uint32_t>(data.chars.size()));
      break;
  }
  ++size_;
}

void Column::AppendBool(bool value) {
  assert(type_ == TypeId::kBool);
  Buffers& data = Mutable();
  data.bools.push_back(value ? 1 : 0);
  MarkValid(data);
  ++size_;
}

void Column::AppendInt64(int64_t value) {
  assert(type_ == TypeId::kInt64 || type_ == TypeId::kTimestamp);
  Buffers& data = Mutable();
  data.ints.push_back(value);
  MarkValid(data);
  ++size_;
}

void Column::AppendDouble(double value) {
  assert(type_ == TypeId::kDouble);
  Buffers& data = Mutable();
  data.doubles.push_back(value);
  MarkValid(data);
  ++size_;
}

void Column::AppendString(std::string_view value) {
  assert(type_ == TypeId::kString);
  Buffers& data = Mutable();
  data.chars.append(value.data(), value.size());
  data.offsets.push_back(static_cast<uint32_t>(data.chars.size()));
  MarkValid(data);
  ++size_;
}

void Column::AppendFrom(const Column& other, size_t row) {
  assert(other.type_ == type_);
  if (other.IsNull(row)) {
    AppendNull();
    return;
  }
  switch (type_) {
    case TypeId::kBool:
      AppendBool(other.GetBool(row));
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      AppendInt64(other.GetInt64(row));
      break;
    case TypeId::kDouble:
      AppendDouble(other.GetDouble(row));
      break;
    case TypeId::kString:
      AppendString(other.GetString(row));
      break;
  }
}

void Column::AppendColumn(const Column& other) {
  assert(other.type_ == type_);
  if (other.size_ == 0) return;
  if (size_ == 0) {
    // All of it into nothing: share its buffers.
    std::shared_ptr<Buffers> shared = other.buffers_;
    Release();
    buffers_ = std::move(shared);
    size_ = other.size_;
    return;
  }
  const Buffers& from = other.data();
  Buffers& data = Mutable();
  if (!from.validity.empty() || !data.validity.empty()) {
    if (data.validity.empty()) data.validity.assign(size_, 1);
    if (from.validity.empty()) {
      data.validity.insert(data.validity.end(), other.size_, 1);
    } else {
      data.validity.insert(data.validity.end(), from.validity.begin(), from.validity.end());
    }
  }
  switch (type_) {
    case TypeId::kBool:
      data.bools.insert(data.bools.end(), from.bools.begin(), from.bools.end());
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      data.ints.insert(data.ints.end(), from.ints.begin(), from.ints.end());
      break;
    case TypeId::kDouble:
      data.doubles.insert(data.doubles.end(), from.doubles.begin(), from.doubles.end());
      break;
    case TypeId::kString: {
      const uint32_t base = static_cast<uint32_t>(data.chars.size());
      data.chars.append(from.chars);
      data.offsets.reserve(data.offsets.size() + other.size_);
      for (size_t row = 1; row <= other.size_; ++row)
        data.offsets.push_back(base + from.offsets[row]);
      break;
    }
  }
  size_ += other.size_;
}

void Column::ResizeFixed(size_t rows) {
  assert(type_ != TypeId::kString);
  Buffers& data = Mutable();
  switch (type_) {
    case TypeId::kBool:
      data.bools.resize(rows, 0);
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      data.ints.resize(rows, 0);
      break;
    case TypeId::kDouble:
      data.doubles.resize(rows, 0.0);
      break;
    case TypeId::kString:
      break;
  }
  if (!data.validity.empty()) data.validity.resize(rows, 1);
  size_ = rows;
}

void Column::SetNull(size_t row) {
  assert(row < size_);
  Buffers& data = Mutable();
  if (data.validity.empty()) data.validity.assign(size_, 1);
  data.validity[row] = 0;
}

size_t Column::NullCount() const {
  size_t nulls = 0;
  for (uint8_t valid : data().validity) nulls += valid == 0;
  return nulls;
}

Column Column::Gather(std::span<const uint32_t> rows) const {
  Column out(type_);
  if (rows.empty()) return out;
  const Buffers& from = data();
  Buffers& to = out.Mutable();
  out.size_ = rows.size();
  if (!from.validity.empty()) {
    to.validity.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) to.validity[i] = from.validity[rows[i]];
  }
  switch (type_) {
    case TypeId::kBool:
      to.bools.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) to.bools[i] = from.bools[rows[i]];
      break;
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      to.ints.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) to.ints[i] = from.ints[rows[i]];
      break;
    case TypeId::kDouble:
      to.doubles.resize(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) to.doubles[i] = from.doubles[rows[i]];
      break;
    case TypeId::kString:
      to.offsets.reserve(rows.size() + 1);
      for (uint32_t row : rows) {
        to.chars.append(from.chars.data() + from.offsets[row],
                        from.offsets[row + 1] - from.offsets[row]);
        to.offsets.push_back(static_cast<uint32_t>(to.chars.size()));
      }
      break;
  }
  return out;
}

std::string Column::ValueToString(size_t row) const {
  if (IsNull(row)) return "NULL";
  switch (type_) {
    case TypeId::kBool:
      return GetBool(row) ? "true" : "false";
    case TypeId::kInt64:
      return std::to_string(GetInt64(row));
    case TypeId::kDouble: {
      char buf[kValueTextBuffer];
      return std::string(FormatDoubleTo(GetDouble(row), buf));
    }
    case TypeId::kString:
      return std::string(GetString(row));
    case TypeId::kTimestamp:
      return FormatTimestamp(GetInt64(row));
  }
  return "?";
}

size_t Column::ApproximateBytes() const {
  const Buffers& data = this->data();
  return data.bools.size() + data.ints.size() * 8 + data.doubles.size() * 8 +
         data.offsets.size() * 4 + data.chars.size() + data.validity.size();
}

bool Column::Equals(const Column& other) const {
  if (type_ != other.type_ || size_ != other.size_) return false;
  for (size_t row = 0; row < size_; ++row) {
    if (IsNull(row) != other.IsNull(row)) return false;
    if (IsNull(row)) continue;
    switch (type_) {
      case TypeId::kBool:
        if (GetBool(row) != other.GetBool(row)) return false;
        break;
      case TypeId::kInt64:
      case TypeId::kTimestamp:
        if (GetInt64(row) != other.GetInt64(row)) return false;
        break;
      case TypeId::kDouble:
        if (GetDouble(row) != other.GetDouble(row) &&
            !(std::isnan(GetDouble(row)) && std::isnan(other.GetDouble(row))))
          return false;
        break;
      case TypeId::kString:
        if (GetString(row) != other.GetString(row)) return false;
        break;
    }
  }
  return true;
}

size_t RunColumn::RunOf(size_t row) const {
  return static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), row) - ends_.begin());
}

bool RunColumn::LastRunEquals(const Column& from, size_t run) const {
  if (ends_.empty()) return false;
  const size_t last = ends_.size() - 1;
  const bool null = run == kNoRun || from.IsNull(run);
  if (values_.IsNull(last) || null) return values_.IsNull(last) && null;
  if (type() == TypeId::kString) return values_.GetString(last) == from.GetString(run);
  return values_.GetInt64(last) == from.GetInt64(run);
}

void RunColumn::AddRows(bool extends_last, size_t rows) {
  const auto end = static_cast<uint32_t>(size() + rows);
  if (extends_last) {
    ends_.back() = end;
  } else {
    ends_.push_back(end);
  }
}

void RunColumn::AppendRunFrom(const Column& from, size_t run, size_t rows) {
  if (rows == 0) return;
  const bool same = LastRunEquals(from, run);
  if (!same && run == kNoRun) values_.AppendNull();
  if (!same && run != kNoRun) values_.AppendFrom(from, run);
  AddRows(same, rows);
}

void RunColumn::AppendStringRun(std::string_view value, size_t rows) {
  if (rows == 0) return;
  const bool same = !ends_.empty() && !values_.IsNull(ends_.size() - 1) &&
                    values_.GetString(ends_.size() - 1) == value;
  if (!same) values_.AppendString(value);
  AddRows(same, rows);
}

void RunColumn::AppendInt64Run(int64_t value, size_t rows) {
  if (rows == 0) return;
  const bool same = !ends_.empty() && !values_.IsNull(ends_.size() - 1) &&
                    values_.GetInt64(ends_.size() - 1) == value;
  if (!same) values_.AppendInt64(value);
  AddRows(same, rows);
}

void RunColumn::AppendColumn(const RunColumn& other) {
  uint32_t begin = 0;
  for (size_t run = 0; run < other.ends_.size(); ++run) {
    AppendRunFrom(other.values_, run, other.ends_[run] - begin);
    begin = other.ends_[run];
  }
}

RunColumn RunColumn::Gather(std::span<const uint32_t> rows) const {
  RunColumn out(type());
  size_t run = 0;
  for (const uint32_t row : rows) {
    // Rows come in order (a filter's): walk the runs, else search.
    if (run >= ends_.size() || row >= ends_[run] || (run > 0 && row < ends_[run - 1])) {
      run = RunOf(row);
    }
    out.AppendRunFrom(values_, run, 1);
  }
  return out;
}

void RunColumn::Clear() {
  values_.Clear();
  ends_.clear();
}

Column RunColumn::Decode() const {
  Column out(type());
  out.Reserve(size());
  uint32_t begin = 0;
  for (size_t run = 0; run < ends_.size(); ++run) {
    for (uint32_t row = begin; row < ends_[run]; ++row) out.AppendFrom(values_, run);
    begin = ends_[run];
  }
  return out;
}

void SourceMeta::Append(std::string_view topic_name, int32_t partition_id, int64_t record_offset,
                        const std::string_view* record_key, std::optional<TimestampMicros> ts) {
  topic.AppendString(topic_name);
  partition.AppendInt64(partition_id);
  offset.AppendInt64(record_offset);
  if (record_key != nullptr) {
    key.AppendString(*record_key);
  } else {
    key.AppendNull();
  }
  if (ts.has_value()) {
    timestamp.AppendInt64(*ts);
  } else {
    timestamp.AppendNull();
  }
}

void SourceMeta::AppendFrom(const SourceMeta& other, size_t row) {
  topic.AppendFrom(other.topic, row);
  partition.AppendFrom(other.partition, row);
  offset.AppendFrom(other.offset, row);
  key.AppendFrom(other.key, row);
  timestamp.AppendFrom(other.timestamp, row);
}

void SourceMeta::AppendAll(const SourceMeta& other) {
  topic.AppendColumn(other.topic);
  partition.AppendColumn(other.partition);
  offset.AppendColumn(other.offset);
  key.AppendColumn(other.key);
  timestamp.AppendColumn(other.timestamp);
}

SourceMeta SourceMeta::Gather(std::span<const uint32_t> rows) const {
  SourceMeta out;
  if (empty()) return out;
  out.topic = topic.Gather(rows);
  out.partition = partition.Gather(rows);
  out.offset = offset.Gather(rows);
  out.key = key.Gather(rows);
  out.timestamp = timestamp.Gather(rows);
  return out;
}

void SourceMeta::Reserve(size_t rows) {
  topic.Reserve(rows);
  partition.Reserve(rows);
  offset.Reserve(rows);
  key.Reserve(rows);
  timestamp.Reserve(rows);
}

void SourceMeta::Clear() {
  topic.Clear();
  partition.Clear();
  offset.Clear();
  key.Clear();
  timestamp.Clear();
}

Batch::Batch(Schema schema) : schema_(std::move(schema)) {
  columns_.reserve(schema_.size());
  for (const Field& field : schema_.fields()) columns_.emplace_back(field.type);
}

const Column* Batch::FindColumn(std::string_view name) const {
  auto idx = schema_.IndexOf(name);
  return idx ? &columns_[*idx] : nullptr;
}

void Batch::AddColumn(Field field, Column column) {
  if (columns_.empty()) num_rows_ = column.size();
  assert(column.size() == num_rows_);
  schema_.AddField(std::move(field));
  columns_.push_back(std::move(column));
}

Status Batch::SetNumRows(size_t rows) {
  for (size_t idx = 0; idx < columns_.size(); ++idx) {
    if (columns_[idx].size() != rows) {
      return Status::Internal("column '" + schema_.field(idx).name + "' has " +
                              std::to_string(columns_[idx].size()) + " rows, batch has " +
                              std::to_string(rows));
    }
  }
  if (!meta_.empty() && meta_.size() != rows) {
    return Status::Internal("source metadata has " + std::to_string(meta_.size()) +
                            " rows, batch has " + std::to_string(rows));
  }
  num_rows_ = rows;
  return Status::OK();
}

Batch Batch::Gather(std::span<const uint32_t> rows) const {
  Batch out;
  out.schema_ = schema_;
  out.columns_.reserve(columns_.size());
  for (const Column& column : columns_) out.columns_.push_back(column.Gather(rows));
  out.meta_ = meta_.Gather(rows);
  out.num_rows_ = rows.size();
  return out;
}

Status Batch::Append(const Batch& other) {
  if (other.num_rows_ == 0) return Status::OK();
  if (num_rows_ == 0 && columns_.empty() && schema_.size() == 0) {
    *this = other;
    return Status::OK();
  }
  if (!(other.schema_ == schema_)) {
    return Status::Internal("cannot append batch with schema {" + other.schema_.ToString() +
                            "} to batch with schema {" + schema_.ToString() + "}");
  }
  // Source metadata survives only when both sides carry it.
  const bool keep_meta = (num_rows_ == 0 || !meta_.empty()) && !other.meta_.empty();
  for (size_t idx = 0; idx < columns_.size(); ++idx)
    columns_[idx].AppendColumn(other.columns_[idx]);
  if (keep_meta) {
    meta_.AppendAll(other.meta_);
  } else {
    meta_.Clear();
  }
  num_rows_ += other.num_rows_;
  return Status::OK();
}

std::string Batch::RowToString(size_t row) const {
  std::string out;
  for (size_t idx = 0; idx < columns_.size(); ++idx) {
    if (idx > 0) out += ", ";
    out += schema_.field(idx).name;
    out += '=';
    out += columns_[idx].ValueToString(row);
  }
  return out;
}

std::string Batch::ToString(size_t max_rows) const {
  std::string out;
  for (size_t row = 0; row < num_rows_ && row < max_rows; ++row) {
    out += RowToString(row);
    out += '\n';
  }
  if (num_rows_ > max_rows) out += "... (" + std::to_string(num_rows_ - max_rows) + " more)\n";
  return out;
}

size_t Batch::ApproximateBytes() const {
  size_t bytes = 0;
  for (const Column& column : columns_) bytes += column.ApproximateBytes();
  return bytes;
}

namespace {

bool ReadDigits(std::string_view text, size_t& pos, size_t count, int64_t* value) {
  if (pos + count > text.size()) return false;
  int64_t result = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  pos += count;
  *value = result;
  return true;
}

}  // namespace

std::string FormatTimestamp(TimestampMicros micros) {
  char buf[kValueTextBuffer];
  return std::string(FormatTimestampTo(micros, buf));
}

std::optional<TimestampMicros> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int64_t year, month, day, hour = 0, minute = 0, second = 0, micros = 0;
  if (!ReadDigits(text, pos, 4, &year) || pos >= text.size() || text[pos++] != '-')
    return std::nullopt;
  if (!ReadDigits(text, pos, 2, &month) || pos >= text.size() || text[pos++] != '-')
    return std::nullopt;
  if (!ReadDigits(text, pos, 2, &day)) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!ReadDigits(text, pos, 2, &hour) || pos >= text.size() || text[pos++] != ':')
      return std::nullopt;
    if (!ReadDigits(text, pos, 2, &minute)) return std::nullopt;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, pos, 2, &second)) return std::nullopt;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int64_t scale = 100000;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (scale > 0) micros += (text[pos] - '0') * scale;
          scale /= 10;
          ++pos;
          ++digits;
        }
        if (digits == 0) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (pos < text.size()) {
      const char zone = text[pos];
      if (zone == 'Z' || zone == 'z') {
        ++pos;
      } else if (zone == '+' || zone == '-') {
        ++pos;
        int64_t offset_hours, offset_minutes = 0;
        if (!ReadDigits(text, pos, 2, &offset_hours)) return std::nullopt;
        if (pos < text.size() && text[pos] == ':') ++pos;
        if (pos < text.size() && !ReadDigits(text, pos, 2, &offset_minutes)) return std::nullopt;
        offset_seconds = (offset_hours * 3600 + offset_minutes * 60) * (zone == '+' ? 1 : -1);
      } else {
        return std::nullopt;
      }
    }
    if (pos != text.size()) return std::nullopt;
  }
  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * 1000000 + micros;
}

}  // namespace eddy
