#pragma once
// `eddy run --api-address HOST:PORT` for an instance of a scaled-out job
// (docs/scale-out.md#the-instances-of-a-job): a small read-only HTTP API,
//   GET /api/v1/instances  every instance of the job (instance_reader.h), JSON
//   GET /healthz           this instance: 200 while it is alive and in its
//                          group, 503 otherwise (a Kubernetes probe)
// It changes nothing and tells what /metrics tells, so like /metrics it
// has no tokens and may listen on any address (0.0.0.0 in a pod).
//
// Lifecycle: Start before the instance runs, destroy after (the listener
// stops with it). Thread-safety: the handlers run on the listener's
// threads and call the functions given, which must be thread-safe.

#include <functional>
#include <memory>
#include <string>

#include "runtime/core/status.h"

namespace eddy::server {

struct InstanceApiOptions {
  std::string address;  // HOST:PORT; port 0 picks a free one
  // The body of GET /api/v1/instances (JSON), or why it cannot be read
  // (answered 503 with {"error": ...}).
  std::function<Result<std::string>()> instances;
  // GET /healthz: healthy or not, and a JSON body saying why.
  std::function<std::pair<bool, std::string>()> health;
};

class InstanceApi {
 public:
  static Result<std::unique_ptr<InstanceApi>> Start(InstanceApiOptions options);
  virtual ~InstanceApi() = default;
  virtual int port() const = 0;
};

}  // namespace eddy::server
