// Accumulator implementations for operators/aggregate/aggregate.h.
//
// Layout: every family keeps its groups' state in struct-of-arrays vectors
// indexed by group (counts_, sums_, has_...), so Update is one tight loop
// over the batch's rows after a single switch on the argument type. Only
// state that is inherently variable-sized (distinct sets, sketches, string
// min/max/first/last) owns heap memory per group.
//
// Serialized state: kStateVersion, AggregateKind, argument type tag, then a
// family-specific body made of LEB128 varints, zigzag varints for signed
// integers and little-endian IEEE doubles. The formats are documented in
// docs/aggregates.md; Load validates every length and invariant it relies on
// (sorted sets, register ranges, bucket bounds) and reports Corruption
// instead of trusting the bytes.

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "operators/aggregate/accumulators_internal.h"

namespace eddy::agg {

namespace {

// ---------------------------------------------------------------------------
// Encoding helpers.

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
void PutFixed64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void PutDouble(std::string* out, double v) { PutFixed64(out, std::bit_cast<uint64_t>(v)); }
void PutBytes(std::string* out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out->append(bytes);
}

// Reads serialized state; every method returns false instead of reading
// past the end or accepting a malformed varint.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  bool done() const { return pos_ == data_.size(); }

  bool Byte(uint8_t* v) {
    if (pos_ >= data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t byte;
      if (!Byte(&byte)) return false;
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && byte > 1) return false;
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool SignedVarint(int64_t* v) {
    uint64_t raw;
    if (!Varint(&raw)) return false;
    *v = UnZigZag(raw);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (remaining() < 8) return false;
    uint64_t result = 0;
    for (int i = 0; i < 8; ++i) {
      result |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += 8;
    *v = result;
    return true;
  }
  bool Double(double* v) {
    uint64_t bits;
    if (!Fixed64(&bits)) return false;
    *v = std::bit_cast<double>(bits);
    return true;
  }
  bool Bytes(std::string_view* v) {
    uint64_t len;
    if (!Varint(&len) || len > remaining()) return false;
    *v = data_.substr(pos_, len);
    pos_ += len;
    return true;
  }
  // A 0/1 flag byte.
  bool Flag(bool* v) {
    uint8_t byte;
    if (!Byte(&byte) || byte > 1) return false;
    *v = byte == 1;
    return true;
  }
  bool RawBytes(size_t len, std::string_view* v) {
    if (len > remaining()) return false;
    *v = data_.substr(pos_, len);
    pos_ += len;
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

Status Malformed(std::string_view what) {
  return Status::Corruption("malformed aggregate state: " + std::string(what));
}

// Type tag of count(*), which has no argument.
constexpr uint8_t kNoArgumentTag = 0xFF;

// Shared group bookkeeping, state header and Load's framing. Subclasses keep
// the per-group vectors.
class AccumulatorsBase : public Accumulators {
 public:
  AccumulatorsBase(AggregateKind kind, uint8_t type_tag) : kind_(kind), type_tag_(type_tag) {}

  void AddGroups(size_t count) final {
    groups_ += count;
    Resize(groups_);
  }
  size_t size() const final { return groups_; }

  Status Load(size_t group, std::string_view serialized) final {
    assert(group < groups_);
    Reader reader(serialized);
    uint8_t version, kind, tag;
    if (!reader.Byte(&version) || !reader.Byte(&kind) || !reader.Byte(&tag)) {
      return Malformed("truncated header");
    }
    if (version != kStateVersion) {
      return Malformed("unsupported state version " + std::to_string(version));
    }
    if (kind != static_cast<uint8_t>(kind_) || tag != type_tag_) {
      return Malformed("state of a different aggregate or argument type (kind " +
                       std::to_string(kind) + ", type " + std::to_string(tag) + ")");
    }
    EDDY_RETURN_IF_ERROR(LoadBody(group, reader));
    if (!reader.done()) return Malformed(std::to_string(reader.remaining()) + " trailing bytes");
    return Status::OK();
  }

  void Serialize(size_t group, std::string* out) const final {
    assert(group < groups_);
    out->push_back(static_cast<char>(kStateVersion));
    out->push_back(static_cast<char>(kind_));
    out->push_back(static_cast<char>(type_tag_));
    SerializeBody(group, out);
  }

 protected:
  // Grows the per-group vectors to `groups` (new groups empty).
  virtual void Resize(size_t groups) = 0;
  // Parses the body completely before touching `group`, so a failed Load
  // leaves the group empty.
  virtual Status LoadBody(size_t group, Reader& reader) = 0;
  virtual void SerializeBody(size_t group, std::string* out) const = 0;

  size_t groups_ = 0;
  AggregateKind kind_;
  uint8_t type_tag_;
};

uint8_t TagOf(TypeId type) { return static_cast<uint8_t>(type); }

// Calls fn(row) for every row whose value is not NULL (every row when
// `values` is null, as for count(*)). The no-NULL case gets its own loop.
template <typename Fn>
inline void ForEachValid(const Column* values, size_t rows, Fn&& fn) {
  if (values == nullptr || !values->MayHaveNulls()) {
    for (size_t row = 0; row < rows; ++row) fn(row);
  } else {
    const uint8_t* valid = values->validity().data();
    for (size_t row = 0; row < rows; ++row) {
      if (valid[row]) fn(row);
    }
  }
}

// Typed row readers, built once per Update outside the row loop.
struct Int64Source {
  using View = int64_t;
  const int64_t* data;
  explicit Int64Source(const Column& c) : data(c.int64s().data()) {}
  int64_t operator()(size_t row) const { return data[row]; }
};
struct DoubleSource {
  using View = double;
  const double* data;
  explicit DoubleSource(const Column& c) : data(c.doubles().data()) {}
  double operator()(size_t row) const { return data[row]; }
};
struct BoolSource {
  using View = uint8_t;
  const uint8_t* data;
  explicit BoolSource(const Column& c) : data(c.bools().data()) {}
  uint8_t operator()(size_t row) const { return data[row]; }
};
struct StringSource {
  using View = std::string_view;
  const Column* column;
  explicit StringSource(const Column& c) : column(&c) {}
  std::string_view operator()(size_t row) const { return column->GetString(row); }
};

// Int64 and double inputs both feed double-valued accumulators (avg,
// stddev, percentile).
struct Int64AsDoubleSource {
  const int64_t* data;
  explicit Int64AsDoubleSource(const Column& c) : data(c.int64s().data()) {}
  double operator()(size_t row) const { return static_cast<double>(data[row]); }
};

template <typename Fn>
inline void WithNumericSource(const Column& values, Fn&& fn) {
  if (values.type() == TypeId::kDouble) {
    fn(DoubleSource(values));
  } else {
    fn(Int64AsDoubleSource(values));
  }
}

// Neumaier's compensated summation: the running error is kept in `comp`
// and added once at the end, so long sums of doubles lose ~1 ulp, not ~n.
inline void CompensatedAdd(double& sum, double& comp, double x) {
  const double t = sum + x;
  if (std::fabs(sum) >= std::fabs(x)) {
    comp += (sum - t) + x;
  } else {
    comp += (x - t) + sum;
  }
  sum = t;
}
inline double CompensatedResult(double sum, double comp) {
  // With an infinity or NaN in the input the compensation is NaN; the plain
  // sum is then the right answer.
  return std::isfinite(sum) ? sum + comp : sum;
}

// ---------------------------------------------------------------------------
// count(*) and count(x)

class CountAccumulators final : public AccumulatorsBase {
 public:
  explicit CountAccumulators(bool star)
      : AccumulatorsBase(AggregateKind::kCount, star ? kNoArgumentTag : 0), star_(star) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    assert(star_ || values != nullptr);
    int64_t* counts = counts_.data();
    ForEachValid(star_ ? nullptr : values, group_of_row.size(),
                 [&](size_t row) { ++counts[group_of_row[row]]; });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    counts_[target] += static_cast<const CountAccumulators&>(other).counts_[source];
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) out->AppendInt64(counts_[g]);
  }

 protected:
  void Resize(size_t groups) override { counts_.resize(groups, 0); }
  Status LoadBody(size_t group, Reader& reader) override {
    uint64_t count;
    if (!reader.Varint(&count) || count > static_cast<uint64_t>(INT64_MAX)) {
      return Malformed("bad count");
    }
    counts_[group] = static_cast<int64_t>(count);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutVarint(out, static_cast<uint64_t>(counts_[group]));
  }

 private:
  bool star_;
  std::vector<int64_t> counts_;
};

// ---------------------------------------------------------------------------
// sum: int64 (two's-complement wrapping, like Java/Spark's non-ANSI mode)
// or double (compensated).

class IntSumAccumulators final : public AccumulatorsBase {
 public:
  IntSumAccumulators() : AccumulatorsBase(AggregateKind::kSum, TagOf(TypeId::kInt64)) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    const int64_t* data = values->int64s().data();
    uint64_t* sums = sums_.data();
    uint8_t* has = has_.data();
    ForEachValid(values, group_of_row.size(), [&](size_t row) {
      const uint32_t g = group_of_row[row];
      sums[g] += static_cast<uint64_t>(data[row]);  // unsigned: wrapping is defined
      has[g] = 1;
    });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const IntSumAccumulators&>(other);
    if (!o.has_[source]) return;
    sums_[target] += o.sums_[source];
    has_[target] = 1;
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      if (has_[g]) {
        out->AppendInt64(static_cast<int64_t>(sums_[g]));
      } else {
        out->AppendNull();
      }
    }
  }

 protected:
  void Resize(size_t groups) override {
    sums_.resize(groups, 0);
    has_.resize(groups, 0);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    bool has;
    int64_t sum = 0;
    if (!reader.Flag(&has) || (has && !reader.SignedVarint(&sum))) return Malformed("bad sum");
    has_[group] = has;
    sums_[group] = static_cast<uint64_t>(sum);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    out->push_back(static_cast<char>(has_[group]));
    if (has_[group]) PutVarint(out, ZigZag(static_cast<int64_t>(sums_[group])));
  }

 private:
  std::vector<uint64_t> sums_;
  std::vector<uint8_t> has_;
};

// Shared by sum(double) and avg: a compensated sum and a count of values.
class DoubleSumAccumulators final : public AccumulatorsBase {
 public:
  // kind kAvg: Finalize returns sum / count instead of the sum.
  DoubleSumAccumulators(AggregateKind kind, TypeId argument_type)
      : AccumulatorsBase(kind, TagOf(argument_type)), average_(kind == AggregateKind::kAvg) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    double* sums = sums_.data();
    double* comps = comps_.data();
    int64_t* counts = counts_.data();
    WithNumericSource(*values, [&](auto source) {
      ForEachValid(values, group_of_row.size(), [&](size_t row) {
        const uint32_t g = group_of_row[row];
        CompensatedAdd(sums[g], comps[g], source(row));
        ++counts[g];
      });
    });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const DoubleSumAccumulators&>(other);
    if (o.counts_[source] == 0) return;
    CompensatedAdd(sums_[target], comps_[target], o.sums_[source]);
    comps_[target] += o.comps_[source];
    counts_[target] += o.counts_[source];
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      if (counts_[g] == 0) {
        out->AppendNull();
        continue;
      }
      const double sum = CompensatedResult(sums_[g], comps_[g]);
      out->AppendDouble(average_ ? sum / static_cast<double>(counts_[g]) : sum);
    }
  }

 protected:
  void Resize(size_t groups) override {
    sums_.resize(groups, 0);
    comps_.resize(groups, 0);
    counts_.resize(groups, 0);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    uint64_t count;
    double sum = 0, comp = 0;
    if (!reader.Varint(&count) || count > static_cast<uint64_t>(INT64_MAX)) {
      return Malformed("bad count");
    }
    if (count > 0 && (!reader.Double(&sum) || !reader.Double(&comp))) {
      return Malformed("truncated sum");
    }
    counts_[group] = static_cast<int64_t>(count);
    sums_[group] = sum;
    comps_[group] = comp;
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutVarint(out, static_cast<uint64_t>(counts_[group]));
    if (counts_[group] > 0) {
      PutDouble(out, sums_[group]);
      PutDouble(out, comps_[group]);
    }
  }

 private:
  bool average_;
  std::vector<double> sums_;
  std::vector<double> comps_;
  std::vector<int64_t> counts_;
};

// ---------------------------------------------------------------------------
// stddev and variance: Welford's update per row, Chan et al.'s pairwise
// combination for Merge.

class MomentAccumulators final : public AccumulatorsBase {
 public:
  MomentAccumulators(AggregateKind kind, TypeId argument_type)
      : AccumulatorsBase(kind, TagOf(argument_type)), stddev_(kind == AggregateKind::kStddev) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    int64_t* counts = counts_.data();
    double* means = means_.data();
    double* m2s = m2s_.data();
    WithNumericSource(*values, [&](auto source) {
      ForEachValid(values, group_of_row.size(), [&](size_t row) {
        const uint32_t g = group_of_row[row];
        const double x = source(row);
        const int64_t n = ++counts[g];
        const double delta = x - means[g];
        means[g] += delta / static_cast<double>(n);
        m2s[g] += delta * (x - means[g]);
      });
    });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const MomentAccumulators&>(other);
    const int64_t nb = o.counts_[source];
    if (nb == 0) return;
    const int64_t na = counts_[target];
    if (na == 0) {
      counts_[target] = nb;
      means_[target] = o.means_[source];
      m2s_[target] = o.m2s_[source];
      return;
    }
    const double n = static_cast<double>(na + nb);
    const double delta = o.means_[source] - means_[target];
    means_[target] += delta * (static_cast<double>(nb) / n);
    m2s_[target] +=
        o.m2s_[source] + delta * delta * (static_cast<double>(na) * static_cast<double>(nb) / n);
    counts_[target] = na + nb;
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      if (counts_[g] < 2) {
        out->AppendNull();
        continue;
      }
      // m2 is a sum of squares; rounding must not make it negative.
      const double variance = std::max(0.0, m2s_[g]) / static_cast<double>(counts_[g] - 1);
      out->AppendDouble(stddev_ ? std::sqrt(variance) : variance);
    }
  }

 protected:
  void Resize(size_t groups) override {
    counts_.resize(groups, 0);
    means_.resize(groups, 0);
    m2s_.resize(groups, 0);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    uint64_t count;
    double mean = 0, m2 = 0;
    if (!reader.Varint(&count) || count > static_cast<uint64_t>(INT64_MAX)) {
      return Malformed("bad count");
    }
    if (count > 0 && (!reader.Double(&mean) || !reader.Double(&m2))) {
      return Malformed("truncated moments");
    }
    counts_[group] = static_cast<int64_t>(count);
    means_[group] = mean;
    m2s_[group] = m2;
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutVarint(out, static_cast<uint64_t>(counts_[group]));
    if (counts_[group] > 0) {
      PutDouble(out, means_[group]);
      PutDouble(out, m2s_[group]);
    }
  }

 private:
  bool stddev_;
  std::vector<int64_t> counts_;
  std::vector<double> means_;
  std::vector<double> m2s_;
};

// ---------------------------------------------------------------------------
// Per-type storage for min, max, first and last.

template <typename T>
struct ValueTraits;

template <>
struct ValueTraits<int64_t> {
  using Source = Int64Source;
  using View = int64_t;
  static bool Less(int64_t a, int64_t b) { return a < b; }
  static void Assign(int64_t& dst, int64_t v) { dst = v; }
  static void Append(Column* out, int64_t v) { out->AppendInt64(v); }
  static void Put(std::string* out, int64_t v) { PutVarint(out, ZigZag(v)); }
  static bool Read(Reader& reader, int64_t* v) { return reader.SignedVarint(v); }
};

template <>
struct ValueTraits<double> {
  using Source = DoubleSource;
  using View = double;
  static void Assign(double& dst, double v) { dst = v; }
  // NaN orders above every other value, as in Spark.
  static bool Less(double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  }
  static void Append(Column* out, double v) { out->AppendDouble(v); }
  static void Put(std::string* out, double v) { PutDouble(out, v); }
  static bool Read(Reader& reader, double* v) { return reader.Double(v); }
};

template <>
struct ValueTraits<uint8_t> {  // bool
  using Source = BoolSource;
  using View = uint8_t;
  static bool Less(uint8_t a, uint8_t b) { return a < b; }
  static void Assign(uint8_t& dst, uint8_t v) { dst = v; }
  static void Append(Column* out, uint8_t v) { out->AppendBool(v != 0); }
  static void Put(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
  static bool Read(Reader& reader, uint8_t* v) {
    bool flag;
    if (!reader.Flag(&flag)) return false;
    *v = flag ? 1 : 0;
    return true;
  }
};

template <>
struct ValueTraits<std::string> {
  using Source = StringSource;
  using View = std::string_view;
  static bool Less(std::string_view a, std::string_view b) { return a < b; }  // bytewise
  // Reuses the string's buffer: no allocation unless the value grows.
  static void Assign(std::string& dst, std::string_view v) { dst.assign(v); }
  static void Append(Column* out, const std::string& v) { out->AppendString(v); }
  static void Put(std::string* out, const std::string& v) { PutBytes(out, v); }
  static bool Read(Reader& reader, std::string* v) {
    std::string_view bytes;
    if (!reader.Bytes(&bytes)) return false;
    v->assign(bytes);
    return true;
  }
};

// Dispatches on the argument type to a template over the stored type.
template <template <typename, bool> class Impl, bool kFlag, typename... Args>
std::unique_ptr<Accumulators> MakeTyped(TypeId type, Args... args) {
  switch (type) {
    case TypeId::kInt64:
    case TypeId::kTimestamp:
      return std::make_unique<Impl<int64_t, kFlag>>(type, args...);
    case TypeId::kDouble:
      return std::make_unique<Impl<double, kFlag>>(type, args...);
    case TypeId::kBool:
      return std::make_unique<Impl<uint8_t, kFlag>>(type, args...);
    case TypeId::kString:
      return std::make_unique<Impl<std::string, kFlag>>(type, args...);
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// min and max. Ties keep the value already held, so -0.0 vs 0.0 resolves to
// whichever came first (deterministically).

template <typename T, bool kMax>
class MinMaxAccumulators final : public AccumulatorsBase {
  using Traits = ValueTraits<T>;

 public:
  explicit MinMaxAccumulators(TypeId type)
      : AccumulatorsBase(kMax ? AggregateKind::kMax : AggregateKind::kMin, TagOf(type)) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    const typename Traits::Source source(*values);
    ForEachValid(values, group_of_row.size(), [&](size_t row) {
      const uint32_t g = group_of_row[row];
      const typename Traits::View v = source(row);
      if (!has_[g] || Better(v, values_[g])) {
        Traits::Assign(values_[g], v);
        has_[g] = 1;
      }
    });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const MinMaxAccumulators&>(other);
    if (!o.has_[source]) return;
    if (!has_[target] || Better(o.values_[source], values_[target])) {
      values_[target] = o.values_[source];
      has_[target] = 1;
    }
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      if (has_[g]) {
        Traits::Append(out, values_[g]);
      } else {
        out->AppendNull();
      }
    }
  }

 protected:
  void Resize(size_t groups) override {
    values_.resize(groups);
    has_.resize(groups, 0);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    bool has;
    T value{};
    if (!reader.Flag(&has) || (has && !Traits::Read(reader, &value))) {
      return Malformed("bad min/max value");
    }
    has_[group] = has;
    values_[group] = std::move(value);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    out->push_back(static_cast<char>(has_[group]));
    if (has_[group]) Traits::Put(out, values_[group]);
  }

 private:
  static bool Better(typename Traits::View candidate, typename Traits::View held) {
    return kMax ? Traits::Less(held, candidate) : Traits::Less(candidate, held);
  }

  std::vector<T> values_;
  std::vector<uint8_t> has_;
};

// ---------------------------------------------------------------------------
// first and last by event time. A row's value may be NULL: first returns the
// value of the earliest row, whatever it is. Ties on time: first keeps the
// earliest arrival, last takes the latest. Merge treats the target's rows as
// having arrived before the source's. Without event times (an empty span)
// every row has time 0, i.e. arrival order decides.

template <typename T, bool kLast>
class FirstLastAccumulators final : public AccumulatorsBase {
  using Traits = ValueTraits<T>;

 public:
  explicit FirstLastAccumulators(TypeId type)
      : AccumulatorsBase(kLast ? AggregateKind::kLast : AggregateKind::kFirst, TagOf(type)) {}

  void Update(const Column* values, std::span<const int64_t> event_times,
              std::span<const uint32_t> group_of_row) override {
    const size_t rows = group_of_row.size();
    assert(event_times.empty() || event_times.size() == rows);
    // Pass 1: pick each group's winning row by time alone, so a string value
    // is copied once per group and batch, not once per improving row.
    touched_.clear();
    for (size_t row = 0; row < rows; ++row) {
      const uint32_t g = group_of_row[row];
      const int64_t t = event_times.empty() ? 0 : event_times[row];
      if (!has_[g] || Better(t, times_[g])) {
        times_[g] = t;
        has_[g] = 1;
        if (winner_[g] < 0) touched_.push_back(g);
        winner_[g] = static_cast<int64_t>(row);
      }
    }
    // Pass 2: copy the winners' values.
    const typename Traits::Source source(*values);
    for (uint32_t g : touched_) {
      const size_t row = static_cast<size_t>(winner_[g]);
      winner_[g] = -1;
      if (values->IsNull(row)) {
        value_null_[g] = 1;
        values_[g] = T{};
      } else {
        value_null_[g] = 0;
        Traits::Assign(values_[g], source(row));
      }
    }
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const FirstLastAccumulators&>(other);
    if (!o.has_[source]) return;
    if (!has_[target] || Better(o.times_[source], times_[target])) {
      times_[target] = o.times_[source];
      has_[target] = 1;
      value_null_[target] = o.value_null_[source];
      values_[target] = o.values_[source];
    }
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      if (has_[g] && !value_null_[g]) {
        Traits::Append(out, values_[g]);
      } else {
        out->AppendNull();
      }
    }
  }

 protected:
  void Resize(size_t groups) override {
    times_.resize(groups, 0);
    has_.resize(groups, 0);
    value_null_.resize(groups, 0);
    values_.resize(groups);
    winner_.resize(groups, -1);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    bool has, is_null = false;
    int64_t time = 0;
    T value{};
    if (!reader.Flag(&has)) return Malformed("bad first/last flag");
    if (has) {
      if (!reader.SignedVarint(&time) || !reader.Flag(&is_null) ||
          (!is_null && !Traits::Read(reader, &value))) {
        return Malformed("bad first/last value");
      }
    }
    has_[group] = has;
    times_[group] = time;
    value_null_[group] = is_null;
    values_[group] = std::move(value);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    out->push_back(static_cast<char>(has_[group]));
    if (!has_[group]) return;
    PutVarint(out, ZigZag(times_[group]));
    out->push_back(static_cast<char>(value_null_[group]));
    if (!value_null_[group]) Traits::Put(out, values_[group]);
  }

 private:
  // Whether a row at time `candidate` arriving after the held one replaces it.
  static bool Better(int64_t candidate, int64_t held) {
    return kLast ? candidate >= held : candidate < held;
  }

  std::vector<int64_t> times_;
  std::vector<uint8_t> has_;
  std::vector<uint8_t> value_null_;
  std::vector<T> values_;
  // Scratch for Update: the winning row per group (-1: none), and the
  // groups that have one.
  std::vector<int64_t> winner_;
  std::vector<uint32_t> touched_;
};

// ---------------------------------------------------------------------------
// Canonical 64-bit keys of fixed-width values, shared by count_distinct and
// the HyperLogLog hash. Doubles are normalized so that values SQL considers
// equal are one key: -0.0 is 0.0, and every NaN is the same NaN.

inline uint64_t CanonicalDoubleBits(double v) {
  if (v == 0) return 0;
  if (std::isnan(v)) return 0x7FF8000000000000ULL;
  return std::bit_cast<uint64_t>(v);
}

// Visits (row, key) for every non-NULL row of a fixed-width column.
template <typename Fn>
void ForEachFixedKey(const Column& values, size_t rows, Fn&& fn) {
  switch (values.type()) {
    case TypeId::kInt64:
    case TypeId::kTimestamp: {
      const int64_t* data = values.int64s().data();
      ForEachValid(&values, rows, [&](size_t row) { fn(row, static_cast<uint64_t>(data[row])); });
      break;
    }
    case TypeId::kDouble: {
      const double* data = values.doubles().data();
      ForEachValid(&values, rows, [&](size_t row) { fn(row, CanonicalDoubleBits(data[row])); });
      break;
    }
    case TypeId::kBool: {
      const uint8_t* data = values.bools().data();
      ForEachValid(&values, rows, [&](size_t row) { fn(row, data[row] != 0 ? 1u : 0u); });
      break;
    }
    case TypeId::kString:
      assert(false);
      break;
  }
}

// Collects a batch's (group, key) pairs and hands each group's keys back
// sorted and without duplicates: a counting sort by group, then a sort of
// each group's slice, which stays in cache (about 5x faster than sorting all
// pairs at once). Scratch memory is kept across batches.
template <typename K>
class GroupedKeys {
 public:
  void Reset(size_t rows) {
    groups_.clear();
    keys_.clear();
    groups_.reserve(rows);
    keys_.reserve(rows);
  }
  void Add(uint32_t group, K key) {
    groups_.push_back(group);
    keys_.push_back(key);
  }
  // Calls fn(group, std::span<const K> keys) for every group with keys.
  template <typename Fn>
  void ForEachGroup(size_t num_groups, Fn&& fn) {
    if (keys_.empty()) return;
    starts_.assign(num_groups + 1, 0);
    for (uint32_t g : groups_) ++starts_[g + 1];
    for (size_t g = 0; g < num_groups; ++g) starts_[g + 1] += starts_[g];
    cursor_.assign(starts_.begin(), starts_.end() - 1);
    sorted_.resize(keys_.size());
    for (size_t i = 0; i < keys_.size(); ++i) sorted_[cursor_[groups_[i]]++] = keys_[i];
    for (size_t g = 0; g < num_groups; ++g) {
      const auto begin = sorted_.begin() + starts_[g];
      auto end = sorted_.begin() + starts_[g + 1];
      if (begin == end) continue;
      std::sort(begin, end);
      end = std::unique(begin, end);
      fn(static_cast<uint32_t>(g), std::span<const K>(&*begin, static_cast<size_t>(end - begin)));
    }
  }

 private:
  std::vector<uint32_t> groups_;
  std::vector<K> keys_;
  std::vector<size_t> starts_;
  std::vector<size_t> cursor_;
  std::vector<K> sorted_;
};

// Writes a sorted set of distinct integers as a count, the first value and
// then the (positive) gaps, all varints.
void PutSortedSet(std::string* out, const std::vector<uint64_t>& set) {
  PutVarint(out, set.size());
  uint64_t prev = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    PutVarint(out, i == 0 ? set[i] : set[i] - prev);
    prev = set[i];
  }
}

bool ReadSortedSet(Reader& reader, size_t max_size, std::vector<uint64_t>* set) {
  uint64_t count;
  // Each element takes at least one byte: a bound before reserving memory.
  if (!reader.Varint(&count) || count > max_size || count > reader.remaining()) return false;
  set->reserve(count);
  uint64_t prev = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t v;
    if (!reader.Varint(&v)) return false;
    if (i > 0) {
      if (v == 0 || v > UINT64_MAX - prev) return false;  // not strictly increasing
      v += prev;
    }
    set->push_back(v);
    prev = v;
  }
  return true;
}

// ---------------------------------------------------------------------------
// count_distinct: an exact sorted set per group. Update collects the batch's
// (group, key) pairs, sorts them once and merges each group's run into its
// set, so a batch costs O(rows log rows + touched set sizes).

class FixedDistinctAccumulators final : public AccumulatorsBase {
 public:
  explicit FixedDistinctAccumulators(TypeId type)
      : AccumulatorsBase(AggregateKind::kCountDistinct, TagOf(type)) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    pending_.Reset(group_of_row.size());
    ForEachFixedKey(*values, group_of_row.size(),
                    [&](size_t row, uint64_t key) { pending_.Add(group_of_row[row], key); });
    pending_.ForEachGroup(
        groups_, [&](uint32_t g, std::span<const uint64_t> keys) { UnionInto(sets_[g], keys); });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    UnionInto(sets_[target], static_cast<const FixedDistinctAccumulators&>(other).sets_[source]);
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) out->AppendInt64(static_cast<int64_t>(sets_[g].size()));
  }

 protected:
  void Resize(size_t groups) override { sets_.resize(groups); }
  Status LoadBody(size_t group, Reader& reader) override {
    std::vector<uint64_t> set;
    if (!ReadSortedSet(reader, SIZE_MAX, &set)) return Malformed("bad distinct set");
    sets_[group] = std::move(set);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutSortedSet(out, sets_[group]);
  }

 private:
  void UnionInto(std::vector<uint64_t>& set, std::span<const uint64_t> add) {
    if (add.empty()) return;
    if (set.empty()) {
      set.assign(add.begin(), add.end());
      return;
    }
    merged_.clear();
    merged_.reserve(set.size() + add.size());
    std::set_union(set.begin(), set.end(), add.begin(), add.end(), std::back_inserter(merged_));
    set.swap(merged_);
  }

  std::vector<std::vector<uint64_t>> sets_;
  GroupedKeys<uint64_t> pending_;
  std::vector<uint64_t> merged_;
};

class StringDistinctAccumulators final : public AccumulatorsBase {
 public:
  StringDistinctAccumulators()
      : AccumulatorsBase(AggregateKind::kCountDistinct, TagOf(TypeId::kString)) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    pending_.Reset(group_of_row.size());
    ForEachValid(values, group_of_row.size(),
                 [&](size_t row) { pending_.Add(group_of_row[row], values->GetString(row)); });
    pending_.ForEachGroup(groups_, [&](uint32_t g, std::span<const std::string_view> add) {
      std::vector<std::string>& set = sets_[g];
      std::vector<std::string> merged;
      merged.reserve(set.size() + add.size());
      size_t i = 0;
      for (const std::string_view v : add) {
        while (i < set.size() && std::string_view(set[i]) < v)
          merged.push_back(std::move(set[i++]));
        if (i < set.size() && std::string_view(set[i]) == v) continue;
        merged.emplace_back(v);
      }
      while (i < set.size()) merged.push_back(std::move(set[i++]));
      set.swap(merged);
    });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& add = static_cast<const StringDistinctAccumulators&>(other).sets_[source];
    std::vector<std::string>& set = sets_[target];
    std::vector<std::string> merged;
    merged.reserve(set.size() + add.size());
    std::set_union(std::make_move_iterator(set.begin()), std::make_move_iterator(set.end()),
                   add.begin(), add.end(), std::back_inserter(merged));
    set.swap(merged);
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) out->AppendInt64(static_cast<int64_t>(sets_[g].size()));
  }

 protected:
  void Resize(size_t groups) override { sets_.resize(groups); }
  Status LoadBody(size_t group, Reader& reader) override {
    uint64_t count;
    if (!reader.Varint(&count) || count > reader.remaining()) return Malformed("bad distinct set");
    std::vector<std::string> set;
    set.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      std::string_view v;
      if (!reader.Bytes(&v)) return Malformed("truncated distinct value");
      if (i > 0 && !(std::string_view(set.back()) < v)) return Malformed("distinct set not sorted");
      set.emplace_back(v);
    }
    sets_[group] = std::move(set);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutVarint(out, sets_[group].size());
    for (const std::string& v : sets_[group]) PutBytes(out, v);
  }

 private:
  std::vector<std::vector<std::string>> sets_;
  GroupedKeys<std::string_view> pending_;
};

// ---------------------------------------------------------------------------
// approx_count_distinct: HyperLogLog over XXH64 of the value's type tag and
// canonical bytes. Sparse groups hold the exact set of hashes (exact answer);
// past kHllSparseLimit hashes a group becomes 2^14 one-byte registers.
// Both forms depend only on the set of hashes seen, so Merge equals feeding
// both inputs to one sketch, bit for bit.

constexpr size_t kHllRegisters = size_t{1} << kHllPrecision;
constexpr int kHllRhoBits = 64 - kHllPrecision;  // hash bits after the index
constexpr uint8_t kHllMaxRegister = kHllRhoBits + 1;
constexpr size_t kHllPackedBytes = kHllRegisters * 6 / 8;  // 6 bits per register

uint64_t HashFixed(uint8_t tag, uint64_t key) {
  char buf[9];
  buf[0] = static_cast<char>(tag);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(key >> (8 * i));
  return XxHash64(std::string_view(buf, 9));
}

uint64_t HashString(std::string_view bytes, std::string* scratch) {
  scratch->clear();
  scratch->push_back(static_cast<char>(TypeId::kString));
  scratch->append(bytes);
  return XxHash64(*scratch);
}

inline void HllAdd(uint8_t* registers, uint64_t hash) {
  const size_t index = hash >> kHllRhoBits;
  const uint64_t rest = hash << kHllPrecision;
  const uint8_t rho =
      rest == 0 ? kHllMaxRegister : static_cast<uint8_t>(std::countl_zero(rest) + 1);
  if (rho > registers[index]) registers[index] = rho;
}

// Ertl, "New cardinality estimation algorithms for HyperLogLog sketches"
// (2017), improved raw estimator: unbiased over the whole range without
// HLL++'s empirical bias tables or a switch to linear counting.
double HllSigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1, z = x;
  while (true) {
    x *= x;
    const double previous = z;
    z += x * y;
    y += y;
    if (z == previous) return z;
  }
}
double HllTau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1, z = 1 - x;
  while (true) {
    x = std::sqrt(x);
    const double previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == previous) return z / 3;
  }
}
int64_t HllEstimate(const std::vector<uint8_t>& registers) {
  int histogram[kHllMaxRegister + 1] = {};
  for (uint8_t r : registers) ++histogram[r];
  const double m = static_cast<double>(kHllRegisters);
  double z = m * HllTau(1 - histogram[kHllMaxRegister] / m);
  for (int k = kHllRhoBits; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * HllSigma(histogram[0] / m);
  const double alpha_inf = 1 / (2 * std::log(2.0));
  return static_cast<int64_t>(std::llround(alpha_inf * m * m / z));
}

class HllAccumulators final : public AccumulatorsBase {
 public:
  explicit HllAccumulators(TypeId type)
      : AccumulatorsBase(AggregateKind::kApproxCountDistinct, TagOf(type)), type_(type) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    const size_t rows = group_of_row.size();
    pending_.Reset(rows);
    if (type_ == TypeId::kString) {
      ForEachValid(values, rows, [&](size_t row) {
        pending_.Add(group_of_row[row], HashString(values->GetString(row), &scratch_));
      });
    } else {
      const uint8_t tag = TagOf(type_);
      ForEachFixedKey(*values, rows, [&](size_t row, uint64_t key) {
        pending_.Add(group_of_row[row], HashFixed(tag, key));
      });
    }
    pending_.ForEachGroup(
        groups_, [&](uint32_t g, std::span<const uint64_t> hashes) { AddHashes(g, hashes); });
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const HllAccumulators&>(other);
    if (o.dense_[source].empty()) {
      AddHashes(target, o.sparse_[source]);
      return;
    }
    MakeDense(target);
    uint8_t* registers = dense_[target].data();
    const uint8_t* add = o.dense_[source].data();
    for (size_t i = 0; i < kHllRegisters; ++i) registers[i] = std::max(registers[i], add[i]);
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      out->AppendInt64(dense_[g].empty() ? static_cast<int64_t>(sparse_[g].size())
                                         : HllEstimate(dense_[g]));
    }
  }

 protected:
  void Resize(size_t groups) override {
    sparse_.resize(groups);
    dense_.resize(groups);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    uint8_t mode;
    if (!reader.Byte(&mode)) return Malformed("truncated HyperLogLog");
    if (mode == 0) {
      std::vector<uint64_t> hashes;
      if (!ReadSortedSet(reader, kHllSparseLimit, &hashes))
        return Malformed("bad sparse HyperLogLog");
      sparse_[group] = std::move(hashes);
      dense_[group].clear();
      return Status::OK();
    }
    std::string_view packed;
    if (mode != 1 || !reader.RawBytes(kHllPackedBytes, &packed)) {
      return Malformed("bad HyperLogLog mode or size");
    }
    std::vector<uint8_t> registers(kHllRegisters);
    for (size_t i = 0; i < kHllRegisters; i += 4) {
      const auto* p = reinterpret_cast<const uint8_t*>(packed.data()) + i / 4 * 3;
      const uint32_t bits = p[0] | (p[1] << 8) | (p[2] << 16);
      for (size_t j = 0; j < 4; ++j) {
        const uint8_t r = (bits >> (6 * j)) & 0x3F;
        if (r > kHllMaxRegister) return Malformed("HyperLogLog register out of range");
        registers[i + j] = r;
      }
    }
    dense_[group] = std::move(registers);
    sparse_[group].clear();
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    if (dense_[group].empty()) {
      out->push_back(0);
      PutSortedSet(out, sparse_[group]);
      return;
    }
    out->push_back(1);
    const uint8_t* registers = dense_[group].data();
    for (size_t i = 0; i < kHllRegisters; i += 4) {
      const uint32_t bits = registers[i] | (registers[i + 1] << 6) | (registers[i + 2] << 12) |
                            (registers[i + 3] << 18);
      out->push_back(static_cast<char>(bits));
      out->push_back(static_cast<char>(bits >> 8));
      out->push_back(static_cast<char>(bits >> 16));
    }
  }

 private:
  // Adds sorted, distinct hashes to group `g`.
  void AddHashes(uint32_t g, std::span<const uint64_t> hashes) {
    if (hashes.empty()) return;
    if (!dense_[g].empty()) {
      uint8_t* registers = dense_[g].data();
      for (uint64_t h : hashes) HllAdd(registers, h);
      return;
    }
    std::vector<uint64_t>& set = sparse_[g];
    merged_.clear();
    merged_.reserve(set.size() + hashes.size());
    std::set_union(set.begin(), set.end(), hashes.begin(), hashes.end(),
                   std::back_inserter(merged_));
    set.swap(merged_);
    if (set.size() > kHllSparseLimit) MakeDense(g);
  }
  void MakeDense(uint32_t g) {
    if (!dense_[g].empty()) return;
    dense_[g].assign(kHllRegisters, 0);
    for (uint64_t h : sparse_[g]) HllAdd(dense_[g].data(), h);
    std::vector<uint64_t>().swap(sparse_[g]);
  }

  TypeId type_;
  // Per group: the sorted hashes while sparse, else the registers.
  std::vector<std::vector<uint64_t>> sparse_;
  std::vector<std::vector<uint8_t>> dense_;
  GroupedKeys<uint64_t> pending_;
  std::vector<uint64_t> merged_;
  std::string scratch_;
};

// ---------------------------------------------------------------------------
// approx_percentile: DDSketch (Masson et al., VLDB 2019) with the
// logarithmic mapping. A positive value x goes to bucket ceil(log_g(x)),
// g = (1 + a) / (1 - a); a bucket's value 2 g^i / (g + 1) is within relative
// error a of everything in it. Negative values use a second store on |x|;
// zeros are counted apart. Each store keeps at most kDdMaxBuckets buckets:
// buckets below (highest bucket - kDdMaxBuckets + 1) fold into that lowest
// kept bucket. A store's counts are thus a function of the multiset of
// inputs alone, so Merge (adding buckets) equals feeding both inputs.

constexpr int32_t kDdMaxKey = 1 << 20;  // |log_g(x)| of any finite double is < 36000

struct DdStore {
  int32_t offset = 0;            // key of counts[0]
  std::vector<uint64_t> counts;  // empty: no values

  int32_t top() const { return offset + static_cast<int32_t>(counts.size()) - 1; }

  // Makes room for keys [lo, hi], folding buckets that fall below the
  // bucket limit into the lowest kept one.
  void EnsureRange(int32_t lo, int32_t hi) {
    if (counts.empty()) {
      offset = std::max(lo, hi - kDdMaxBuckets + 1);
      counts.assign(static_cast<size_t>(hi - offset + 1), 0);
      return;
    }
    const int32_t new_hi = std::max(hi, top());
    const int32_t new_lo = std::max(std::min(lo, offset), new_hi - kDdMaxBuckets + 1);
    if (new_lo == offset && new_hi == top()) return;
    std::vector<uint64_t> grown(static_cast<size_t>(new_hi - new_lo + 1), 0);
    for (size_t i = 0; i < counts.size(); ++i) {
      const int32_t key = std::max(offset + static_cast<int32_t>(i), new_lo);
      grown[static_cast<size_t>(key - new_lo)] += counts[i];
    }
    offset = new_lo;
    counts.swap(grown);
  }
  // REQUIRES: EnsureRange covered `key` (or a larger one).
  void Add(int32_t key, uint64_t count) {
    counts[static_cast<size_t>(std::max(key, offset) - offset)] += count;
  }
  void MergeFrom(const DdStore& other) {
    size_t first = 0, last = other.counts.size();
    while (first < last && other.counts[first] == 0) ++first;
    while (last > first && other.counts[last - 1] == 0) --last;
    if (first == last) return;
    EnsureRange(other.offset + static_cast<int32_t>(first),
                other.offset + static_cast<int32_t>(last - 1));
    for (size_t i = first; i < last; ++i)
      Add(other.offset + static_cast<int32_t>(i), other.counts[i]);
  }
  uint64_t Total() const {
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    return total;
  }
  // Canonical form: only the span between the first and last non-empty
  // bucket is written.
  void Serialize(std::string* out) const {
    size_t first = 0, last = counts.size();
    while (first < last && counts[first] == 0) ++first;
    while (last > first && counts[last - 1] == 0) --last;
    PutVarint(out, last - first);
    if (first == last) return;
    PutVarint(out, ZigZag(offset + static_cast<int64_t>(first)));
    for (size_t i = first; i < last; ++i) PutVarint(out, counts[i]);
  }
  // Validates as it reads: bucket count within the limit, keys within the
  // range of doubles, non-empty end buckets, no overflowing total.
  static bool Read(Reader& reader, DdStore* store, uint64_t* total) {
    uint64_t n;
    if (!reader.Varint(&n) || n > static_cast<uint64_t>(kDdMaxBuckets)) return false;
    if (n == 0) return true;
    int64_t first_key;
    if (!reader.SignedVarint(&first_key) || first_key < -kDdMaxKey ||
        first_key + static_cast<int64_t>(n) - 1 > kDdMaxKey) {
      return false;
    }
    store->offset = static_cast<int32_t>(first_key);
    store->counts.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t c;
      if (!reader.Varint(&c) || c > UINT64_MAX - *total) return false;
      if ((i == 0 || i == n - 1) && c == 0) return false;
      store->counts[i] = c;
      *total += c;
    }
    return true;
  }
};

class PercentileAccumulators final : public AccumulatorsBase {
 public:
  PercentileAccumulators(TypeId type, double q)
      : AccumulatorsBase(AggregateKind::kApproxPercentile, TagOf(type)),
        q_(q),
        gamma_((1 + kDdRelativeAccuracy) / (1 - kDdRelativeAccuracy)),
        inv_log_gamma_(1 / std::log(gamma_)) {}

  void Update(const Column* values, std::span<const int64_t>,
              std::span<const uint32_t> group_of_row) override {
    const size_t rows = group_of_row.size();
    // Pass 1: each row's bucket, and each touched group's key range per
    // sign, so every store grows at most once per batch.
    keys_.resize(rows);
    classes_.resize(rows);
    touched_.clear();
    WithNumericSource(*values, [&](auto source) {
      const uint8_t* valid = values->MayHaveNulls() ? values->validity().data() : nullptr;
      for (size_t row = 0; row < rows; ++row) {
        classes_[row] = kSkip;
        if (valid != nullptr && !valid[row]) continue;
        const double x = source(row);
        if (!std::isfinite(x)) continue;  // NaN and infinities have no bucket
        const uint32_t g = group_of_row[row];
        if (x == 0) {
          classes_[row] = kZero;
          continue;
        }
        const int32_t key = Key(std::fabs(x));
        keys_[row] = key;
        const int sign = x > 0 ? 0 : 1;
        classes_[row] = x > 0 ? kPositive : kNegative;
        if (!is_touched_[g]) {
          is_touched_[g] = 1;
          touched_.push_back(g);
        }
        Range& range = ranges_[2 * static_cast<size_t>(g) + sign];
        range.lo = std::min(range.lo, key);
        range.hi = std::max(range.hi, key);
      }
    });
    for (uint32_t g : touched_) {
      is_touched_[g] = 0;
      for (int sign = 0; sign < 2; ++sign) {
        Range& range = ranges_[2 * static_cast<size_t>(g) + sign];
        if (range.lo <= range.hi)
          (sign == 0 ? positive_ : negative_)[g].EnsureRange(range.lo, range.hi);
        range = Range{};
      }
    }
    // Pass 2: count.
    for (size_t row = 0; row < rows; ++row) {
      const uint32_t g = group_of_row[row];
      switch (classes_[row]) {
        case kSkip:
          break;
        case kZero:
          ++zeros_[g];
          break;
        case kPositive:
          positive_[g].Add(keys_[row], 1);
          break;
        case kNegative:
          negative_[g].Add(keys_[row], 1);
          break;
      }
    }
  }
  void Merge(size_t target, const Accumulators& other, size_t source) override {
    const auto& o = static_cast<const PercentileAccumulators&>(other);
    zeros_[target] += o.zeros_[source];
    positive_[target].MergeFrom(o.positive_[source]);
    negative_[target].MergeFrom(o.negative_[source]);
  }
  void Finalize(std::span<const uint32_t> groups, Column* out) const override {
    for (uint32_t g : groups) {
      const DdStore& pos = positive_[g];
      const DdStore& neg = negative_[g];
      const uint64_t total = zeros_[g] + pos.Total() + neg.Total();
      if (total == 0) {
        out->AppendNull();
        continue;
      }
      // The value of rank q * (n - 1) in ascending order: the most negative
      // values (largest |x|) first, then zeros, then positives.
      const double rank = q_ * static_cast<double>(total - 1);
      uint64_t seen = 0;
      bool found = false;
      for (size_t i = neg.counts.size(); i-- > 0 && !found;) {
        seen += neg.counts[i];
        if (static_cast<double>(seen) > rank) {
          out->AppendDouble(-Value(neg.offset + static_cast<int32_t>(i)));
          found = true;
        }
      }
      if (!found && zeros_[g] > 0) {
        seen += zeros_[g];
        if (static_cast<double>(seen) > rank) {
          out->AppendDouble(0.0);
          found = true;
        }
      }
      for (size_t i = 0; i < pos.counts.size() && !found; ++i) {
        seen += pos.counts[i];
        if (static_cast<double>(seen) > rank) {
          out->AppendDouble(Value(pos.offset + static_cast<int32_t>(i)));
          found = true;
        }
      }
      if (!found) out->AppendDouble(Value(pos.top()));  // unreachable: rank < total
    }
  }

 protected:
  void Resize(size_t groups) override {
    zeros_.resize(groups, 0);
    positive_.resize(groups);
    negative_.resize(groups);
    ranges_.resize(2 * groups);
    is_touched_.resize(groups, 0);
  }
  Status LoadBody(size_t group, Reader& reader) override {
    uint64_t zeros;
    DdStore pos, neg;
    if (!reader.Varint(&zeros)) return Malformed("truncated percentile sketch");
    uint64_t total = zeros;
    if (!DdStore::Read(reader, &pos, &total) || !DdStore::Read(reader, &neg, &total)) {
      return Malformed("bad percentile sketch buckets");
    }
    zeros_[group] = zeros;
    positive_[group] = std::move(pos);
    negative_[group] = std::move(neg);
    return Status::OK();
  }
  void SerializeBody(size_t group, std::string* out) const override {
    PutVarint(out, zeros_[group]);
    positive_[group].Serialize(out);
    negative_[group].Serialize(out);
  }

 private:
  enum RowClass : uint8_t { kSkip, kZero, kPositive, kNegative };
  struct Range {
    int32_t lo = std::numeric_limits<int32_t>::max();
    int32_t hi = std::numeric_limits<int32_t>::min();  // lo > hi: empty
  };

  int32_t Key(double magnitude) const {
    return static_cast<int32_t>(std::ceil(std::log(magnitude) * inv_log_gamma_));
  }
  double Value(int32_t key) const { return 2 * std::exp(key / inv_log_gamma_) / (gamma_ + 1); }

  double q_;
  double gamma_;
  double inv_log_gamma_;
  std::vector<uint64_t> zeros_;
  std::vector<DdStore> positive_;
  std::vector<DdStore> negative_;
  // Update scratch: per row key and class; per group and sign the batch's
  // key range (all empty between Updates).
  std::vector<int32_t> keys_;
  std::vector<RowClass> classes_;
  std::vector<Range> ranges_;
  std::vector<uint8_t> is_touched_;
  std::vector<uint32_t> touched_;
};

// Adapters so MakeTyped's (type) constructor shape fits each template.
template <typename T, bool kMax>
using MinMaxImpl = MinMaxAccumulators<T, kMax>;
template <typename T, bool kLast>
using FirstLastImpl = FirstLastAccumulators<T, kLast>;

}  // namespace

std::unique_ptr<Accumulators> MakeCountAccumulators(bool count_star) {
  return std::make_unique<CountAccumulators>(count_star);
}

std::unique_ptr<Accumulators> MakeSumAccumulators(TypeId argument_type) {
  if (argument_type == TypeId::kInt64) return std::make_unique<IntSumAccumulators>();
  return std::make_unique<DoubleSumAccumulators>(AggregateKind::kSum, argument_type);
}

std::unique_ptr<Accumulators> MakeMinMaxAccumulators(AggregateKind kind, TypeId argument_type) {
  if (kind == AggregateKind::kMax) return MakeTyped<MinMaxImpl, true>(argument_type);
  return MakeTyped<MinMaxImpl, false>(argument_type);
}

std::unique_ptr<Accumulators> MakeAvgAccumulators(TypeId argument_type) {
  return std::make_unique<DoubleSumAccumulators>(AggregateKind::kAvg, argument_type);
}

std::unique_ptr<Accumulators> MakeMomentAccumulators(AggregateKind kind, TypeId argument_type) {
  return std::make_unique<MomentAccumulators>(kind, argument_type);
}

std::unique_ptr<Accumulators> MakeCountDistinctAccumulators(TypeId argument_type) {
  if (argument_type == TypeId::kString) return std::make_unique<StringDistinctAccumulators>();
  return std::make_unique<FixedDistinctAccumulators>(argument_type);
}

std::unique_ptr<Accumulators> MakeHllAccumulators(TypeId argument_type) {
  return std::make_unique<HllAccumulators>(argument_type);
}

std::unique_ptr<Accumulators> MakeFirstLastAccumulators(AggregateKind kind, TypeId argument_type) {
  if (kind == AggregateKind::kLast) return MakeTyped<FirstLastImpl, true>(argument_type);
  return MakeTyped<FirstLastImpl, false>(argument_type);
}

std::unique_ptr<Accumulators> MakePercentileAccumulators(TypeId argument_type, double q) {
  return std::make_unique<PercentileAccumulators>(argument_type, q);
}

}  // namespace eddy::agg
