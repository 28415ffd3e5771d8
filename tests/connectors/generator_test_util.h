#pragma once
// Shared by the generator tests: the documented value functions
// (docs/generators.md, "Reproducing values"), written out independently of
// the implementation, and helpers to build, open and read a generator source.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "connectors/generator/generator_source.h"

namespace eddy::testing {

inline uint64_t DocMix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline uint64_t DocHash(uint64_t seed, uint64_t stream, uint64_t index) {
  const uint64_t key = DocMix64(DocMix64(seed) + stream * 0xd1b54a32d192ed03ULL);
  return DocMix64(key + index * 0x9e3779b97f4a7c15ULL);
}
inline double DocUnit(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<double>(DocHash(seed, stream, index) >> 11) / 9007199254740992.0;  // 2^53
}

// A generator source spec; `count` 0 is unbounded.
inline spec::SourceSpec GeneratorSpecFor(const std::string& kind, int64_t count, uint64_t seed = 7,
                                         std::map<std::string, std::string> options = {},
                                         int32_t partitions = 1) {
  spec::SourceSpec source;
  source.set_name("gen");
  spec::GeneratorSpec* gen = source.mutable_generator();
  gen->set_kind(kind);
  gen->set_count(count);
  gen->set_seed(seed);
  gen->set_partitions(partitions);
  for (const auto& [name, value] : options) (*gen->mutable_options())[name] = value;
  return source;
}

inline std::unique_ptr<Source> OpenSource(const spec::SourceSpec& spec) {
  Result<std::unique_ptr<Source>> source = MakeGeneratorSource(spec);
  EXPECT_TRUE(source.ok()) << source.status().ToString();
  if (!source.ok()) return nullptr;
  EXPECT_TRUE((*source)->Open().ok());
  return std::move(source).value();
}

// Offsets [start, end) of `partition`; a generator never dead-letters.
inline Batch ReadRange(Source* source, size_t partition, int64_t start, int64_t end) {
  std::atomic<bool> cancel{false};
  Batch batch;
  DeadLetters dead;
  Status status = source->Read({partition, start, end}, cancel, &batch, &dead);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(dead.empty());
  return batch;
}

}  // namespace eddy::testing
