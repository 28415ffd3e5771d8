#pragma once
// XXH64 (xxHash, 64-bit; github.com/Cyan4973/xxHash, doc/xxhash_spec.md):
// a published, frozen algorithm, computed here with explicit little-endian
// loads, so a value hashes the same on every build, platform and compiler —
// unlike std::hash. Stored state depends on it twice: keys are laid out in
// key groups by XxHash64(key) (state/state_backend.h) and HyperLogLog
// sketches keep hashes (operators/aggregate/). Never change it.

#include <cstdint>
#include <string_view>

namespace eddy {

uint64_t XxHash64(std::string_view bytes, uint64_t seed = 0);

}  // namespace eddy
