#pragma once
// Columnar micro-batch data: Column (one typed vector with a validity mask)
// and Batch (same-length columns under a Schema, plus the per-row source
// metadata of records read from Kafka or files).
//
// Storage follows Arrow/DuckDB: fixed-width values are contiguous (so an
// Eigen::Map can view a double column without copying), strings are one byte
// buffer plus offsets, and validity is one byte per row, kept empty while a
// column has no nulls so the common case costs nothing. A column's buffers
// are shared between its copies until one of them is modified (copy on
// write, Arrow's shared buffers): copying a column, selecting a bare column,
// handing a task's rows to the batch-wide stage or appending a whole column
// to an empty one costs a reference count, not a copy of the values.
//
// Buffers are recycled (DuckDB keeps its operators' vectors, Arrow has
// memory pools): when the last column holding a set of buffers lets go of
// it, the buffers go, emptied but with their capacity, to a process-wide
// pool, and the next column of that type that needs buffers takes them from
// there. So a steady job, whose batches have the same columns of about the
// same size batch after batch, neither allocates nor page-faults for its
// columns once warm (tests/integration/steady_allocation_test.cc). The pool
// keeps a bounded number of buffers of bounded size (batch.cc).
//
// Thread-safety: none; a Batch is owned by one task at a time. Copies of a
// column may live in different threads (the reference count is atomic, and
// a copy is detached before it is modified; the pool has a mutex). Values
// returned as string_view or span stay valid until the column is next
// modified.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/types.h"

namespace eddy {

class Column {
 public:
  explicit Column(TypeId type = TypeId::kInt64);
  ~Column() { Release(); }
  Column(const Column& other) = default;
  Column(Column&& other) noexcept = default;
  Column& operator=(const Column& other);
  Column& operator=(Column&& other) noexcept;

  TypeId type() const { return type_; }
  size_t size() const { return size_; }
  void Reserve(size_t rows);
  // For string columns: room for `bytes` more bytes of values.
  void ReserveChars(size_t bytes) {
    Buffers& data = Mutable();
    data.chars.reserve(data.chars.size() + bytes);
  }
  void Clear();
  // Bytes of a string column's values, all rows together.
  size_t CharBytes() const { return data().chars.size(); }

  // Appending. The Append for a type must match type() (Int64 also serves
  // timestamps); debug builds assert it.
  void AppendNull();
  void AppendBool(bool value);
  void AppendInt64(int64_t value);
  void AppendDouble(double value);
  void AppendString(std::string_view value);
  // Appends row `row` of `other`, which has the same type.
  void AppendFrom(const Column& other, size_t row);
  // Appends every row of `other`, which has the same type.
  void AppendColumn(const Column& other);

  // Resizes a fixed-width column to `rows`, new values zero and valid. For
  // vectorized kernels that then write through the mutable spans.
  void ResizeFixed(size_t rows);
  void SetNull(size_t row);

  bool IsNull(size_t row) const {
    const std::vector<uint8_t>& validity = data().validity;
    return !validity.empty() && validity[row] == 0;
  }
  bool MayHaveNulls() const { return !data().validity.empty(); }
  size_t NullCount() const;
  // One byte per row, 1 = valid. Empty means every row is valid.
  const std::vector<uint8_t>& validity() const { return data().validity; }

  bool GetBool(size_t row) const { return data().bools[row] != 0; }
  int64_t GetInt64(size_t row) const { return data().ints[row]; }
  double GetDouble(size_t row) const { return data().doubles[row]; }
  std::string_view GetString(size_t row) const {
    const Buffers& data = this->data();
    return std::string_view(data.chars.data() + data.offsets[row],
                            data.offsets[row + 1] - data.offsets[row]);
  }

  std::span<const uint8_t> bools() const { return data().bools; }
  std::span<const int64_t> int64s() const { return data().ints; }
  std::span<const double> doubles() const { return data().doubles; }
  // Writable views; a column sharing its buffers with a copy gets its own
  // first.
  std::span<uint8_t> mutable_bools() { return Mutable().bools; }
  std::span<int64_t> mutable_int64s() { return Mutable().ints; }
  std::span<double> mutable_doubles() { return Mutable().doubles; }
  // Whether this column's values are shared with another column (tests).
  bool SharesBuffersWith(const Column& other) const {
    return buffers_ != nullptr && buffers_ == other.buffers_;
  }

  // A new column holding rows `rows` (in that order) of this one.
  Column Gather(std::span<const uint32_t> rows) const;
  // Renders one value for humans and tests: NULL, true, 42, 1.5, text,
  // 2026-01-01T00:00:00.000000Z.
  std::string ValueToString(size_t row) const;
  size_t ApproximateBytes() const;

  bool Equals(const Column& other) const;

 private:
  struct Buffers {
    std::vector<uint8_t> bools;
    std::vector<int64_t> ints;  // kInt64 and kTimestamp
    std::vector<double> doubles;
    std::vector<uint32_t> offsets;  // kString: size_ + 1 entries into chars
    std::string chars;
    std::vector<uint8_t> validity;
  };
  static const Buffers& EmptyBuffers(TypeId type);
  const Buffers& data() const { return buffers_ ? *buffers_ : EmptyBuffers(type_); }
  // The buffers, this column's own: made, or copied from those it shares.
  Buffers& Mutable() {
    if (buffers_ == nullptr || buffers_.use_count() != 1) Detach();
    return *buffers_;
  }
  void Detach();
  void MarkValid(Buffers& data);
  // Lets go of the buffers: to the pool when no other column shares them.
  void Release() noexcept;
  friend class BufferPool;

  TypeId type_;
  size_t size_ = 0;
  // Null while the column has never held a value (no allocation).
  std::shared_ptr<Buffers> buffers_;
};

// A column whose value stays the same over runs of rows, stored once per run
// (run-length encoding, Arrow's RunEndEncoded): a source's topic and
// partition, the same for every record a task reads, cost a comparison per
// row instead of a copied string. Reads find a row's run by binary search
// over the run ends (one run for a task's rows; a few after a union).
class RunColumn {
 public:
  explicit RunColumn(TypeId type) : values_(type) {}

  TypeId type() const { return values_.type(); }
  size_t size() const { return ends_.empty() ? 0 : ends_.back(); }
  size_t runs() const { return ends_.size(); }

  void AppendNull() { AppendRunFrom(values_, kNoRun, 1); }
  void AppendString(std::string_view value) { AppendStringRun(value, 1); }
  void AppendInt64(int64_t value) { AppendInt64Run(value, 1); }
  // `rows` rows of `value`.
  void AppendStringRun(std::string_view value, size_t rows);
  void AppendInt64Run(int64_t value, size_t rows);
  void AppendFrom(const RunColumn& other, size_t row) {
    AppendRunFrom(other.values_, other.RunOf(row), 1);
  }
  void AppendColumn(const RunColumn& other);
  // Rows `rows` (in that order) of this column.
  RunColumn Gather(std::span<const uint32_t> rows) const;
  void Reserve(size_t rows) { (void)rows; }  // no per-row storage
  void Clear();

  bool IsNull(size_t row) const { return values_.IsNull(RunOf(row)); }
  std::string_view GetString(size_t row) const { return values_.GetString(RunOf(row)); }
  int64_t GetInt64(size_t row) const { return values_.GetInt64(RunOf(row)); }
  std::string ValueToString(size_t row) const { return values_.ValueToString(RunOf(row)); }
  // A plain column of every row, for expressions that read it.
  Column Decode() const;
  // The same values row for row, however they fall into runs.
  bool Equals(const RunColumn& other) const { return Decode().Equals(other.Decode()); }
  size_t ApproximateBytes() const {
    return values_.ApproximateBytes() + ends_.size() * sizeof(uint32_t);
  }

 private:
  static constexpr size_t kNoRun = static_cast<size_t>(-1);  // a NULL value
  size_t RunOf(size_t row) const;
  // Appends `rows` rows of run `run` of `from` (kNoRun: NULL), extending
  // the last run when its value is the same.
  void AppendRunFrom(const Column& from, size_t run, size_t rows);
  bool LastRunEquals(const Column& from, size_t run) const;
  // Adds `rows` rows to the last run, or as a new run whose value was just
  // appended to values_.
  void AddRows(bool extends_last, size_t rows);

  Column values_;               // one value per run
  std::vector<uint32_t> ends_;  // each run's end row (exclusive), ascending
};

// Where each row came from. Filled by sources; carried through row-preserving
// operators (filter, select) so a late failure can still name the record's
// topic, partition and offset; empty for rows an operator derives.
struct SourceMeta {
  RunColumn topic{TypeId::kString};  // once per run of rows from one partition
  RunColumn partition{TypeId::kInt64};
  Column offset{TypeId::kInt64};
  Column key{TypeId::kString};           // NULL when the record had no key
  Column timestamp{TypeId::kTimestamp};  // Kafka timestamp, NULL if unknown

  size_t size() const { return offset.size(); }
  bool empty() const { return offset.size() == 0; }
  void Append(std::string_view topic_name, int32_t partition_id, int64_t record_offset,
              const std::string_view* record_key, std::optional<TimestampMicros> ts);
  void AppendFrom(const SourceMeta& other, size_t row);
  void AppendAll(const SourceMeta& other);
  // Room for `rows` rows in each column.
  void Reserve(size_t rows);
  SourceMeta Gather(std::span<const uint32_t> rows) const;
  void Clear();
};

// Reserved column names through which expressions read SourceMeta.
inline constexpr std::string_view kMetaTopic = "_topic";
inline constexpr std::string_view kMetaPartition = "_partition";
inline constexpr std::string_view kMetaOffset = "_offset";
inline constexpr std::string_view kMetaKey = "_key";
inline constexpr std::string_view kMetaTimestamp = "_timestamp";

class Batch {
 public:
  Batch() = default;
  // An empty batch with one empty column per field.
  explicit Batch(Schema schema);

  const Schema& schema() const { return schema_; }
  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  Column& column(size_t idx) { return columns_[idx]; }
  const Column& column(size_t idx) const { return columns_[idx]; }
  const Column* FindColumn(std::string_view name) const;

  // Adds a column; it must have num_rows() rows unless the batch has no
  // columns yet, in which case it sets num_rows().
  void AddColumn(Field field, Column column);
  // Sets the row count after columns were filled directly; returns an error
  // if any column (or non-empty meta) disagrees.
  Status SetNumRows(size_t rows);

  SourceMeta& meta() { return meta_; }
  const SourceMeta& meta() const { return meta_; }

  // Rows `rows` of this batch (columns and meta), in that order.
  Batch Gather(std::span<const uint32_t> rows) const;
  // Appends all rows of `other`, whose schema must equal this one's.
  Status Append(const Batch& other);
  // One row as "name=value, ..." for tests and logs.
  std::string RowToString(size_t row) const;
  // Up to `max_rows` rows, one per line.
  std::string ToString(size_t max_rows = 20) const;
  size_t ApproximateBytes() const;

 private:
  Schema schema_;
  std::vector<Column> columns_;
  SourceMeta meta_;
  size_t num_rows_ = 0;
};

// Formats microseconds since the epoch as ISO 8601 UTC with microseconds.
std::string FormatTimestamp(TimestampMicros micros);
// Parses ISO 8601 / RFC 3339 ("2026-01-02T03:04:05.123Z", "+02:00" offsets,
// a space instead of T, or a bare date). Returns nullopt when it is not one.
std::optional<TimestampMicros> ParseTimestamp(std::string_view text);

}  // namespace eddy
