#include "runtime/core/host_port.h"

#include <charconv>

namespace eddy {

Result<HostPort> ParseHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  HostPort parsed;
  if (colon != std::string_view::npos && colon > 0 && colon + 1 < address.size()) {
    const char* begin = address.data() + colon + 1;
    const char* end = address.data() + address.size();
    auto [ptr, error] = std::from_chars(begin, end, parsed.port);
    if (error == std::errc() && ptr == end && parsed.port >= 0 && parsed.port <= 65535) {
      parsed.host = std::string(address.substr(0, colon));
      return parsed;
    }
  }
  return Status::InvalidArgument("bad address '" + std::string(address) +
                                 "': expected HOST:PORT with a port from 0 to 65535");
}

}  // namespace eddy
