#pragma once
// HOST:PORT addresses as the CLI and job files give them ("127.0.0.1:9464",
// "[::1]:8089", "0.0.0.0:0" for any free port).

#include <string>
#include <string_view>

#include "runtime/core/status.h"

namespace eddy {

struct HostPort {
  std::string host;  // as written; an IPv6 host keeps its brackets
  int port = 0;      // 0..65535
};

// Splits `address` at its last colon: a non-empty host, and a port that is
// a whole number from 0 to 65535. InvalidArgument otherwise.
Result<HostPort> ParseHostPort(std::string_view address);

}  // namespace eddy
