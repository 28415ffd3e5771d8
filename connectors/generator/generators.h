#pragma once
// Internal to connectors/generator: the counter-based random functions every
// kind draws from, option parsing, and the per-kind record generators.
//
// Every value is Hash(seed, stream, index) for a fixed stream number per
// field (see docs/generators.md, "Reproducing values"), never the state of a
// sequential RNG: that is what makes record i independent of how the records
// around it were split into reads.

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <numbers>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "runtime/core/batch.h"
#include "runtime/core/status.h"
#include "runtime/core/types.h"
#include "runtime/spec/job_spec.pb.h"

namespace eddy::generator {

// ---------------------------------------------------------------------------
// Counter-based hashing (SplitMix64's finalizer).

inline constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
inline constexpr uint64_t kStreamMultiplier = 0xd1b54a32d192ed03ULL;

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The key of one field's value stream under `seed`; compute once per read,
// then HashAt per record.
inline uint64_t StreamKey(uint64_t seed, uint64_t stream) {
  return Mix64(Mix64(seed) + stream * kStreamMultiplier);
}

inline uint64_t HashAt(uint64_t key, uint64_t index) { return Mix64(key + index * kGolden); }

// Uniform in [0, 1) from the top 53 bits.
inline double ToUnit(uint64_t hash) { return static_cast<double>(hash >> 11) * 0x1.0p-53; }

// Uniform integer in [0, n): floor(hash * n / 2^64).
inline uint64_t Below(uint64_t hash, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(hash) * n) >> 64);
}

// Standard normal by Box-Muller from the hashes at 2*index and 2*index+1.
inline double StdNormal(uint64_t key, uint64_t index) {
  const double u1 = ToUnit(HashAt(key, 2 * index));
  const double u2 = ToUnit(HashAt(key, 2 * index + 1));
  return std::sqrt(-2.0 * std::log1p(-u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Stream numbers. Part of the documented data contract: changing one changes
// every job's generated data.
enum Stream : uint64_t {
  kYsbUser = 1,      // user_id uuid: hashes at 2i, 2i+1
  kYsbPage = 2,      // page_id uuid
  kYsbAdChoice = 3,  // which ad of the table
  kYsbAdType = 4,
  kYsbEventType = 5,
  kYsbIp = 6,
  kYsbAdUuid = 7,        // uuid of ad j: hashes at 2j, 2j+1
  kYsbCampaignUuid = 8,  // uuid of campaign c
  kClass = 20,           // true class / cluster of record i
  kLabelFlip = 21,       // whether record i's label is flipped
  kLabelOther = 22,      // which other class it is flipped to
  kTargetNoise = 23,     // regression noise
  kWeights = 30,         // regression w_j at index j, b at index d
  kPrototypes = 40,      // classification concept n uses stream 40 + n
  kCenters = 50,         // cluster centers
  // Labelled stream kinds (labelled_streams.cc).
  kDriftChoice = 24,        // gradual drift: old or new concept for record i
  kAgrawalSalary = 60,      // Agrawal attributes 60..68, in column order
  kAgrawalPerturb = 70,     // Agrawal perturbation of attribute k: 70 + k
  kRbfCentre = 80,          // random RBF centroid c, feature j at c*d + j
  kRbfClass = 81,           // class of centroid c
  kRbfStdDev = 82,          // standard deviation of centroid c
  kRbfWeight = 83,          // choice weight of centroid c
  kRbfDirection = 84,       // drift direction of centroid c, feature j at c*d + j
  kRbfChoice = 85,          // which centroid record i comes from
  kRbfMagnitude = 86,       // distance of record i from its centroid
  kHyperplaneWeights = 90,  // initial weight w_j at index j
  kFeatures = 1000,         // feature j of record i uses stream 1000 + j
  kHyperplaneWalk = 2000,   // random walk of drifting weight k uses stream 2000 + k
};

// ---------------------------------------------------------------------------
// Options.

// Reads the kind-specific `options:` map, remembering which names were used
// so that a misspelt option is an error rather than silently ignored.
class GeneratorOptions {
 public:
  explicit GeneratorOptions(const google::protobuf::Map<std::string, std::string>& options);

  Result<int64_t> Int(std::string_view name, int64_t default_value, int64_t min_value,
                      int64_t max_value);
  Result<double> Double(std::string_view name, double default_value, double min_value,
                        double max_value);
  std::string String(std::string_view name, std::string_view default_value);
  // InvalidArgument naming the first option no kind accessor asked for.
  Status CheckAllUsed(std::string_view kind) const;

 private:
  std::map<std::string, std::string, std::less<>> options_;
  std::set<std::string, std::less<>> used_;
};

// ---------------------------------------------------------------------------
// Record generators.

// Records first, first + stride, ..., (rows of them): one partition's range.
struct RecordSpan {
  int64_t first = 0;
  int64_t stride = 1;
  size_t rows = 0;

  uint64_t index(size_t row) const {
    return static_cast<uint64_t>(first + static_cast<int64_t>(row) * stride);
  }
};

// Produces one kind's columns. Fill is const and may run concurrently for
// different partitions.
class RecordGenerator {
 public:
  virtual ~RecordGenerator() = default;

  virtual const Schema& schema() const = 0;
  // The kind's own record count when it has one (ysb_campaigns).
  virtual std::optional<int64_t> fixed_count() const { return std::nullopt; }
  // How many records a kind reading a data set has: `count` may ask for
  // fewer (the first ones), and 0 means all (fashion_mnist).
  virtual std::optional<int64_t> available_count() const { return std::nullopt; }
  // Appends `records` to out's columns, which follow schema(). event_times
  // has one entry per record.
  virtual void Fill(const RecordSpan& records, std::span<const TimestampMicros> event_times,
                    Batch* out) const = 0;
};

// kind ysb or ysb_campaigns (`campaigns_table`).
Result<std::unique_ptr<RecordGenerator>> MakeYsbGenerator(uint64_t seed, bool campaigns_table,
                                                          GeneratorOptions* options);
// REQUIRES: kind is regression, classification or clusters.
Result<std::unique_ptr<RecordGenerator>> MakeLabelledGenerator(std::string_view kind, uint64_t seed,
                                                               GeneratorOptions* options);

// The published benchmark streams of labelled_streams.cc: sea, agrawal,
// random_rbf and hyperplane.
bool IsLabelledStreamKind(std::string_view kind);
// REQUIRES: IsLabelledStreamKind(kind).
Result<std::unique_ptr<RecordGenerator>> MakeLabelledStreamGenerator(std::string_view kind,
                                                                     uint64_t seed,
                                                                     GeneratorOptions* options);

// kind fashion_mnist: Debian's dataset-fashion-mnist files (fashion_mnist.cc).
Result<std::unique_ptr<RecordGenerator>> MakeFashionMnistGenerator(GeneratorOptions* options);

// Grows a fixed-width column by `rows` and returns the new tail to write.
std::span<int64_t> ExtendInt64(Column* column, size_t rows);
std::span<double> ExtendDouble(Column* column, size_t rows);

}  // namespace eddy::generator
