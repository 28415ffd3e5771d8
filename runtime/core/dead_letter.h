#pragma once
// A record the engine could not process: it is not an error of the job but
// data to route to the dead-letter sink, with its reason and origin, so that
// nothing is silently dropped.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eddy {

struct DeadLetter {
  std::string reason;  // human-readable, e.g. "field 'price': expected double, got string"
  std::string node;    // the source or operator that rejected the record
  std::string topic;   // origin; source name for non-Kafka sources; empty if unknown
  int32_t partition = -1;
  int64_t offset = -1;
  std::optional<std::string> key;
  // The original record bytes when the failure happened at decode time;
  // otherwise the row rendered as JSON.
  std::string value;
};

using DeadLetters = std::vector<DeadLetter>;

}  // namespace eddy
