#include "runtime/server/local_ui.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "runtime/core/host_port.h"
#include "runtime/server/job_json.h"
#include "runtime/server/job_monitor.h"
#include "runtime/server/job_supervisor.h"
#include "runtime/server/json_writer.h"
#include "runtime/server/ui_routes.h"

namespace eddy::server {
namespace {

bool IsLoopbackHost(std::string host) {
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

class LocalUiImpl final : public LocalUi {
 public:
  LocalUiImpl(const LocalUiOptions& options, JobPlan& plan)
      : options_(options),
        id_(plan.job.spec.name()),
        checkpoints_dir_(StateDirectory(plan.job) + "/checkpoints") {
    plan.dead_letter = MonitorDeadLetters(std::move(plan.dead_letter), monitor_);
    // The plan is the executor's once the job runs: what the pages need of
    // it is taken now.
    JsonWriter dag;
    WriteDag(dag, id_, plan);
    dag_json_ = dag.str();
    record_.set_id(id_);
    record_.set_job_text(options.job_text);
    record_.set_file_name(options.file_name);
    started_unix_ms_ = UnixMillisNow();
    monitor_->RecordRunStart();
  }

  ~LocalUiImpl() override {
    closing_ = true;
    http_.stop();
    if (listener_.joinable()) listener_.join();
    if (forwarder_.joinable()) forwarder_.join();
  }

  Status Listen(const std::string& host, int port) {
    Routes();
    port_ = port == 0 ? http_.bind_to_any_port(host) : (http_.bind_to_port(host, port) ? port : -1);
    if (port_ <= 0) return Status::Unavailable("--ui: cannot listen on " + options_.address);
    listener_ = std::thread([this] { http_.listen_after_bind(); });
    return Status::OK();
  }

  int port() const override { return port_; }

  void Attach(ExecutorOptions& executor, const std::atomic<bool>& external_stop) override {
    executor.stop = &stop_;
    executor.cancel = &cancel_;
    executor.checkpoint_requested = &savepoint_;
    auto on_batch = executor.on_batch;
    executor.on_batch = [this, on_batch](const BatchReport& report) {
      if (on_batch) on_batch(report);
      monitor_->RecordBatch(report, UnixMillisNow());
      std::lock_guard<std::mutex> lock(mutex_);
      current_batch_ = report.batch_id;
      lag_ = report.lag;
      records_in_ += report.records_in;
      records_out_ += report.records_out;
      dead_letters_ += report.dead_letters;
    };
    auto on_checkpoint = executor.on_checkpoint;
    executor.on_checkpoint = [this, on_checkpoint](const std::string& path, int64_t batch_id) {
      if (on_checkpoint) on_checkpoint(path, batch_id);
      std::lock_guard<std::mutex> lock(mutex_);
      checkpoint_name_ = std::filesystem::path(path).filename().string();
      checkpoint_batch_ = batch_id;
      checkpoint_unix_ms_ = UnixMillisNow();
    };
    // The executor watches one flag: the page's stop, or the signal's.
    forwarder_ = std::thread([this, &external_stop] {
      while (!closing_) {
        if (external_stop.load()) stop_ = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }

  void SetEnded(const std::string& state, const std::string& error) override {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
    error_ = error;
  }

 private:
  void WriteJob(JsonWriter& json) const {
    std::lock_guard<std::mutex> lock(mutex_);
    json.BeginObject()
        .Key("id")
        .String(id_)
        .Key("state")
        .String(state_)
        .Key("desired_state")
        .String(cancel_ ? kCancelled
                : stop_ ? kStopped
                        : kRunning)
        .Key("file_name")
        .String(options_.file_name)
        .Key("submitted_unix_ms")
        .Int(started_unix_ms_)
        .Key("restarts")
        .Int(0)
        .Key("run_started_unix_ms")
        .Int(started_unix_ms_)
        .Key("records_per_second")
        .Double(monitor_->RecordsPerSecond())
        .Key("current_batch");
    if (current_batch_ < 0) {
      json.Null().Key("lag").Null();
    } else {
      json.Int(current_batch_).Key("lag").Int(lag_);
    }
    json.Key("last_error").String(error_).Key("last_checkpoint");
    if (checkpoint_name_.empty()) {
      json.Null();
    } else {
      json.BeginObject()
          .Key("name")
          .String(checkpoint_name_)
          .Key("batch_id")
          .Int(checkpoint_batch_)
          .Key("created_unix_ms")
          .Int(checkpoint_unix_ms_)
          .EndObject();
    }
    json.Key("records_in")
        .Int(records_in_)
        .Key("records_out")
        .Int(records_out_)
        .Key("dead_letters")
        .Int(dead_letters_)
        .Key("savepoint_pending")
        .Bool(savepoint_.load())
        .EndObject();
  }

  // `handle` for this job's id, 404 for any other.
  void WithJob(const httplib::Request& req, httplib::Response& res,
               const std::function<void()>& handle) {
    if (req.matches[1].str() != id_) {
      ReplyJson(res, 404, JsonError("no job '" + req.matches[1].str() + "'"));
      return;
    }
    handle();
  }

  void Answer(httplib::Response& res, int status) {
    JsonWriter json;
    WriteJob(json);
    ReplyJson(res, status, json.str());
  }

  void Routes() {
    // No tokens: refuse what a page of another site could send (a form's
    // POST) and names that are not this machine's (DNS rebinding).
    http_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      const std::string origin = req.get_header_value("Origin");
      const bool foreign_origin =
          !origin.empty() && origin != "http://" + req.get_header_value("Host");
      // A Host header without a port is a host alone.
      const std::string host_header = req.get_header_value("Host");
      auto host = ParseHostPort(host_header);
      if (!IsLoopbackHost(host.ok() ? host->host : host_header) ||
          (req.method != "GET" && foreign_origin)) {
        ReplyJson(res, 403, JsonError("the local UI answers only pages it served, on loopback"));
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http_.Get("/api/v1/jobs", [this](const httplib::Request&, httplib::Response& res) {
      JsonWriter json;
      json.BeginObject().Key("jobs").BeginArray();
      WriteJob(json);
      json.EndArray().EndObject();
      ReplyJson(res, 200, json.str());
    });
    http_.Get(R"(/api/v1/jobs/([^/]+))",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&] { Answer(res, 200); });
              });
    http_.Get(R"(/api/v1/jobs/([^/]+)/dag)",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&] { ReplyJson(res, 200, dag_json_); });
              });
    http_.Get(R"(/api/v1/jobs/([^/]+)/checkpoints)",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&] {
                  JsonWriter json;
                  Status listed = WriteCheckpoints(json, id_, checkpoints_dir_);
                  ReplyJson(res, listed.ok() ? 200 : 500,
                            listed.ok() ? json.str() : JsonError(listed.message()));
                });
              });
    http_.Post(R"(/api/v1/jobs/([^/]+)/(stop|cancel|savepoint|resume))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 WithJob(req, res, [&] { Act(req.matches[2].str(), res); });
               });
    RegisterUi(http_, nullptr, [this](const std::string& id) -> std::optional<UiJob> {
      if (id != id_) return std::nullopt;
      return UiJob{record_, monitor_};
    });
  }

  void Act(const std::string& action, httplib::Response& res) {
    bool running = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running = state_ == kRunning;
      if (running && action == "stop") state_ = kStopping;
      if (running && action == "cancel") state_ = kCancelling;
    }
    if (action == "resume") {
      ReplyJson(res, 409, JsonError("`eddy run` ends with its job; run it again to resume"));
      return;
    }
    if (!running) {
      ReplyJson(res, 409, JsonError("job '" + id_ + "' is not running"));
      return;
    }
    if (action == "savepoint") {
      savepoint_ = true;
    } else {
      if (action == "cancel") cancel_ = true;
      stop_ = true;
    }
    Answer(res, 202);
  }

  const LocalUiOptions options_;
  const std::string id_;
  const std::string checkpoints_dir_;
  const std::shared_ptr<JobMonitor> monitor_ = std::make_shared<JobMonitor>();
  std::string dag_json_;
  JobRecord record_;
  int64_t started_unix_ms_ = 0;

  mutable std::mutex mutex_;  // guards the fields below
  std::string state_ = kRunning;
  std::string error_;
  int64_t current_batch_ = -1;
  int64_t lag_ = 0;
  int64_t records_in_ = 0;
  int64_t records_out_ = 0;
  int64_t dead_letters_ = 0;
  std::string checkpoint_name_;
  int64_t checkpoint_batch_ = -1;
  int64_t checkpoint_unix_ms_ = 0;

  std::atomic<bool> stop_{false};
  std::atomic<bool> cancel_{false};
  std::atomic<bool> savepoint_{false};
  std::atomic<bool> closing_{false};
  httplib::Server http_;
  int port_ = 0;
  std::thread listener_;
  std::thread forwarder_;
};

}  // namespace

Result<std::unique_ptr<LocalUi>> LocalUi::Start(const LocalUiOptions& options, JobPlan& plan) {
  auto address = ParseHostPort(options.address);
  if (!address.ok()) return Status::InvalidArgument("--ui: " + address.status().message());
  if (!IsLoopbackHost(address->host)) {
    return Status::InvalidArgument(
        "--ui " + options.address +
        ": the local UI has no tokens, so it listens on loopback only (127.0.0.1:PORT); "
        "use `eddy serve` to share jobs with tokens and TLS");
  }
  std::string host = address->host;
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto ui = std::make_unique<LocalUiImpl>(options, plan);
  EDDY_RETURN_IF_ERROR(ui->Listen(host, address->port));
  return std::unique_ptr<LocalUi>(std::move(ui));
}

}  // namespace eddy::server
