#include "runtime/server/instance_api.h"

#include <httplib.h>

#include <thread>

#include "runtime/core/host_port.h"
#include "runtime/server/json_writer.h"
#include "runtime/server/ui_routes.h"

namespace eddy::server {
namespace {

class InstanceApiImpl final : public InstanceApi {
 public:
  explicit InstanceApiImpl(InstanceApiOptions options) : options_(std::move(options)) {}

  ~InstanceApiImpl() override {
    http_.stop();
    if (listener_.joinable()) listener_.join();
  }

  Status Listen(const std::string& host, int port) {
    http_.Get("/api/v1/instances", [this](const httplib::Request&, httplib::Response& res) {
      Result<std::string> body = options_.instances();
      if (body.ok()) {
        ReplyJson(res, 200, *body);
      } else {
        ReplyJson(res, 503, JsonError(body.status().message()));
      }
    });
    http_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      auto [healthy, body] = options_.health();
      ReplyJson(res, healthy ? 200 : 503, body);
    });
    port_ = port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
    if (port_ <= 0)
      return Status::Unavailable("--api-address: cannot listen on " + options_.address);
    listener_ = std::thread([this] { http_.listen_after_bind(); });
    return Status::OK();
  }

  int port() const override { return port_; }

 private:
  const InstanceApiOptions options_;
  httplib::Server http_;
  int port_ = 0;
  std::thread listener_;
};

}  // namespace

Result<std::unique_ptr<InstanceApi>> InstanceApi::Start(InstanceApiOptions options) {
  auto address = ParseHostPort(options.address);
  if (!address.ok()) return Status::InvalidArgument("--api-address: " + address.status().message());
  std::string host = address->host;
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto api = std::make_unique<InstanceApiImpl>(std::move(options));
  EDDY_RETURN_IF_ERROR(api->Listen(host, address->port));
  return std::unique_ptr<InstanceApi>(std::move(api));
}

}  // namespace eddy::server
