#include "runtime/server/server.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/core/host_port.h"
#include "runtime/engine/job_plan.h"
#include "runtime/server/auth.h"
#include "runtime/server/job_json.h"
#include "runtime/server/job_registry.h"
#include "runtime/server/json_writer.h"
#include "runtime/server/ui_routes.h"
#include "runtime/spec/secrets.h"
#include "runtime/sql/sql.h"
#include "state/checkpoint_store.h"

namespace eddy::server {
namespace {

namespace fs = std::filesystem;

// Starts one in-process broker the first time a job asks for "embedded";
// every job of the server shares it.
class EmbeddedBrokers {
 public:
  Result<std::string> Resolve(const std::string& brokers, const std::string& topic,
                              int partitions) {
    if (brokers != "embedded") return brokers;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!broker_) {
      EDDY_ASSIGN_OR_RETURN(broker_, EmbeddedBroker::Start({}));
      spdlog::info("embedded Kafka broker listening at {} (in memory)", broker_->bootstrap());
    }
    if (!topic.empty()) EDDY_RETURN_IF_ERROR(broker_->CreateTopic(topic, partitions));
    return broker_->bootstrap();
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<EmbeddedBroker> broker_;
};

int HttpStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void Reply(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json.back() == '\n' ? json : json + "\n", "application/json");
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(JsonError(message), "application/json");
}

std::string StateDir(const std::string& job_dir) { return (fs::path(job_dir) / "state").string(); }

// Everything the API knows about one job.
class JobServer {
 public:
  JobServer(const ServeOptions& options, std::unique_ptr<JobRegistry> registry,
            std::unique_ptr<MetricsRegistry> metrics)
      : options_(options), registry_(std::move(registry)), metrics_(std::move(metrics)) {}

  ~JobServer() { ShutdownAll(); }

  // Creates a supervisor for every registered job and starts those whose
  // desired state is RUNNING: they resume from their latest state.
  void Recover() {
    for (const JobRecord& record : registry_->List()) {
      JobSupervisor& job = AddSupervisor(record);
      if (record.desired_state() == kRunning) {
        spdlog::info("server: resuming job={} (was {})", record.id(),
                     record.state().empty() ? kSubmitted : record.state());
        job.Start(ResumePath(record));
      }
    }
  }

  void ShutdownAll() {
    std::map<std::string, std::shared_ptr<JobSupervisor>> jobs;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs.swap(jobs_);
    }
    // Ask every job first, then wait: they stop in parallel.
    for (auto& [id, job] : jobs) {
      if (job->Active()) spdlog::info("server: stopping job={} for shutdown", id);
    }
    std::vector<std::thread> waiters;
    for (auto& [id, job] : jobs) {
      waiters.emplace_back([&job = job] { job->Shutdown(); });
    }
    for (std::thread& waiter : waiters) waiter.join();
  }

  void Register(httplib::Server& http) {
    http.Post("/api/v1/jobs",
              [this](const httplib::Request& req, httplib::Response& res) { Submit(req, res); });
    http.Get("/api/v1/jobs", [this](const httplib::Request&, httplib::Response& res) {
      JsonWriter json;
      json.BeginObject().Key("jobs").BeginArray();
      for (const JobSnapshot& snapshot : Snapshots()) WriteJob(json, snapshot, /*detail=*/false);
      json.EndArray().EndObject();
      Reply(res, 200, json.str());
    });
    http.Get(R"(/api/v1/jobs/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               WithJob(req, res, [&](JobSupervisor& job) {
                 JsonWriter json;
                 WriteJob(json, job.Snapshot(), /*detail=*/true);
                 Reply(res, 200, json.str());
               });
             });
    http.Get(R"(/api/v1/jobs/([^/]+)/dag)",
             [this](const httplib::Request& req, httplib::Response& res) {
               WithJob(req, res, [&](JobSupervisor& job) { Dag(job.Snapshot().record, res); });
             });
    http.Get(R"(/api/v1/jobs/([^/]+)/spec)",
             [this](const httplib::Request& req, httplib::Response& res) {
               WithJob(req, res, [&](JobSupervisor& job) { Spec(job.Snapshot().record, res); });
             });
    http.Get(R"(/api/v1/jobs/([^/]+)/checkpoints)", [this](const httplib::Request& req,
                                                           httplib::Response& res) {
      WithJob(req, res, [&](JobSupervisor& job) { Checkpoints(job.Snapshot().record, res); });
    });
    http.Post(R"(/api/v1/jobs/([^/]+)/stop)", [this](const httplib::Request& req,
                                                     httplib::Response& res) {
      WithJob(req, res, [&](JobSupervisor& job) { End(req, res, job, /*cancel=*/false); });
    });
    http.Post(R"(/api/v1/jobs/([^/]+)/cancel)",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&](JobSupervisor& job) { End(req, res, job, /*cancel=*/true); });
              });
    http.Post(R"(/api/v1/jobs/([^/]+)/resume)",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&](JobSupervisor& job) { Resume(req, res, job); });
              });
    http.Post(R"(/api/v1/jobs/([^/]+)/savepoint)",
              [this](const httplib::Request& req, httplib::Response& res) {
                WithJob(req, res, [&](JobSupervisor& job) {
                  if (!job.RequestSavepoint()) {
                    ReplyError(res, 409,
                               "job '" + req.matches[1].str() +
                                   "' is not running; a savepoint needs a running job");
                    return;
                  }
                  JsonWriter json;
                  json.BeginObject()
                      .Key("id")
                      .String(req.matches[1].str())
                      .Key("savepoint_requested")
                      .Bool(true)
                      .EndObject();
                  Reply(res, 202, json.str());
                });
              });
    http.Delete(R"(/api/v1/jobs/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { Delete(req, res); });
  }

  // What the web UI's endpoints read of job `id` (ui_routes.h).
  std::optional<UiJob> FindUi(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return UiJob{it->second->Snapshot().record, it->second->monitor()};
  }

 private:
  JobSupervisor& AddSupervisor(const JobRecord& record) {
    SupervisorOptions options;
    options.restart = options_.restart;
    options.context.resolve_brokers = [this](const std::string& brokers, const std::string& topic,
                                             int partitions) {
      return brokers_.Resolve(brokers, topic, partitions);
    };
    options.metrics = metrics_.get();
    options.job_dir = registry_->JobDir(record.id());
    options.threads = options_.job_threads;
    options.persist = [this](const JobRecord& updated) {
      Status status = registry_->Put(updated);
      // A deleted job's last words: nothing to persist.
      if (!status.ok() && status.code() != StatusCode::kNotFound) {
        spdlog::error("server: cannot persist job={}: {}", updated.id(), status.ToString());
      }
    };
    auto supervisor = std::make_shared<JobSupervisor>(record, std::move(options));
    JobSupervisor& ref = *supervisor;
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_[record.id()] = std::move(supervisor);
    return ref;
  }

  // The chk-... path a record asks to resume from, or "" for its latest state.
  std::string ResumePath(const JobRecord& record) const {
    if (record.resume_from().empty()) return "";
    return (fs::path(StateDir(registry_->JobDir(record.id()))) / "checkpoints" /
            record.resume_from())
        .string();
  }

  std::vector<JobSnapshot> Snapshots() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<JobSnapshot> out;
    for (const auto& [id, job] : jobs_) out.push_back(job->Snapshot());
    return out;
  }

  void WithJob(const httplib::Request& req, httplib::Response& res,
               const std::function<void(JobSupervisor&)>& handle) {
    const std::string id = req.matches[1].str();
    std::shared_ptr<JobSupervisor> job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = jobs_.find(id);
      if (it != jobs_.end()) job = it->second;
    }
    if (job == nullptr) {
      ReplyError(res, 404, "no job '" + id + "'");
      return;
    }
    handle(*job);
  }

  // The job file is checked exactly as `eddy validate` checks it, so a bad
  // file gets the same FILE:LINE:COL: KEY: message.
  Result<std::unique_ptr<JobPlan>> Validate(const JobRecord& record) const {
    EDDY_RETURN_IF_ERROR(CheckAnyJobForInlineSecrets(record.job_text(), record.file_name()));
    EDDY_ASSIGN_OR_RETURN(LoadedJob job, LoadRecordJob(record, registry_->JobDir(record.id())));
    ConnectorContext context;
    context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
      return Result<std::string>(brokers);
    };
    EDDY_ASSIGN_OR_RETURN(auto plan, PlanJob(std::move(job), std::move(context)));
    RedactSpec(&plan->job.spec);
    return plan;
  }

  void Submit(const httplib::Request& req, httplib::Response& res) {
    if (req.body.empty()) {
      ReplyError(res, 400, "empty body: send the job file (YAML or SQL) as the request body");
      return;
    }
    JobRecord record;
    record.set_job_text(req.body);
    // A job in SQL is named *.sql, or sent as application/sql.
    const std::string fallback = req.get_header_value("Content-Type").starts_with("application/sql")
                                     ? "job.sql"
                                     : "job.yaml";
    std::string file_name = req.has_param("file") ? req.get_param_value("file") : fallback;
    if (file_name.empty() || file_name.size() > 256) file_name = fallback;
    record.set_file_name(file_name);
    // The id is the job's name: load once to learn it.
    auto loaded = LoadAnyJobText(record.job_text(), file_name);
    if (!loaded.ok()) {
      ReplyError(res, 400, loaded.status().message());
      return;
    }
    record.set_id(loaded->spec.name());
    if (loaded->spec.scale().mode() == "kafka") {
      // The server runs a job in its own process; instances of a scaled-out
      // job are processes of their own (docs/scale-out.md).
      ReplyError(res, 400,
                 loaded
                     ->ErrorAt("scale.mode",
                               "a scaled-out job runs as `eddy run JOB` on each instance "
                               "(a StatefulSet's pods), not under eddy serve")
                     .message());
      return;
    }
    if (!IsValidJobId(record.id())) {
      ReplyError(res, 400,
                 loaded
                     ->ErrorAt("name",
                               "a job run by the server needs a name of letters, "
                               "digits, '.', '_' and '-' (at most 100), as it "
                               "is the job's id")
                     .message());
      return;
    }
    auto plan = Validate(record);
    if (!plan.ok()) {
      ReplyError(res, 400, plan.status().message());
      return;
    }
    std::lock_guard<std::mutex> lifecycle(lifecycle_);
    record.set_submitted_unix_ms(UnixMillisNow());
    record.set_desired_state(kRunning);
    record.set_state(kSubmitted);
    if (Status added = registry_->Add(record); !added.ok()) {
      ReplyError(res, HttpStatus(added), added.message());
      return;
    }
    JobSupervisor& job = AddSupervisor(record);
    job.Start();
    spdlog::info("server: submitted job={} from {}", record.id(), file_name);
    JsonWriter json;
    WriteJob(json, job.Snapshot(), /*detail=*/false);
    res.set_header("Location", "/api/v1/jobs/" + record.id());
    Reply(res, 201, json.str());
  }

  // Stop or cancel; with ?wait=SECONDS (at most 60) the answer comes once
  // the job has ended (or the wait ran out).
  void End(const httplib::Request& req, httplib::Response& res, JobSupervisor& job, bool cancel) {
    {
      std::lock_guard<std::mutex> lifecycle(lifecycle_);
      if (cancel) {
        job.Cancel();
      } else {
        job.Stop();
      }
    }
    // Waiting holds no lock: other jobs' requests go on meanwhile.
    const bool ended = WaitInactive(req, job);
    JsonWriter json;
    WriteJob(json, job.Snapshot(), /*detail=*/false);
    Reply(res, ended ? 200 : 202, json.str());
  }

  bool WaitInactive(const httplib::Request& req, JobSupervisor& job) {
    int wait_seconds = 0;
    if (req.has_param("wait")) {
      try {
        wait_seconds = std::clamp(std::stoi(req.get_param_value("wait")), 0, 60);
      } catch (const std::exception&) {
        wait_seconds = 0;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    while (job.Active() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !job.Active();
  }

  void Resume(const httplib::Request& req, httplib::Response& res, JobSupervisor& job) {
    std::string checkpoint;
    if (!req.body.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (parser.parse(req.body).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
        ReplyError(res, 400,
                   "malformed body: expected a JSON object such as {\"checkpoint\": "
                   "\"chk-000000000012\"}");
        return;
      }
      for (auto field : doc.get_object()) {
        if (field.key != "checkpoint") {
          ReplyError(res, 400,
                     "unknown field '" + std::string(field.key) + "' (expected: checkpoint)");
          return;
        }
        std::string_view value;
        if (field.value.get(value) != simdjson::SUCCESS) {
          ReplyError(res, 400, "checkpoint: expected a string such as \"chk-000000000012\"");
          return;
        }
        checkpoint = std::string(value);
      }
    }
    std::lock_guard<std::mutex> lifecycle(lifecycle_);
    JobSnapshot snapshot = job.Snapshot();
    if (job.Active()) {
      ReplyError(res, 409,
                 "job '" + snapshot.record.id() + "' is " + snapshot.state +
                     "; stop or cancel it before resuming");
      return;
    }
    std::string path;
    if (!checkpoint.empty()) {
      // Only the job's own checkpoints, by name: never a path from outside.
      CheckpointStore store(
          (fs::path(StateDir(registry_->JobDir(snapshot.record.id()))) / "checkpoints").string(),
          0);
      auto listed = store.List();
      if (!listed.ok()) {
        ReplyError(res, 500, listed.status().message());
        return;
      }
      for (const CheckpointInfo& info : *listed) {
        if (fs::path(info.path).filename() == checkpoint) path = info.path;
      }
      if (path.empty()) {
        ReplyError(res, 404,
                   "job '" + snapshot.record.id() + "' has no checkpoint '" + checkpoint +
                       "' (GET /api/v1/jobs/" + snapshot.record.id() + "/checkpoints lists them)");
        return;
      }
    }
    JobRecord record = snapshot.record;
    record.set_desired_state(kRunning);
    record.set_resume_from(checkpoint);
    if (Status put = registry_->Put(record); !put.ok()) {
      ReplyError(res, 500, put.message());
      return;
    }
    job.Start(path);
    spdlog::info("server: resumed job={}{}{}", record.id(), checkpoint.empty() ? "" : " from ",
                 checkpoint);
    JsonWriter json;
    WriteJob(json, job.Snapshot(), /*detail=*/false);
    Reply(res, 200, json.str());
  }

  void Delete(const httplib::Request& req, httplib::Response& res) {
    const std::string id = req.matches[1].str();
    std::lock_guard<std::mutex> lifecycle(lifecycle_);
    std::shared_ptr<JobSupervisor> job;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) {
        ReplyError(res, 404, "no job '" + id + "'");
        return;
      }
      if (it->second->Active()) {
        ReplyError(res, 409,
                   "job '" + id + "' is " + it->second->Snapshot().state +
                       "; stop or cancel it before deleting");
        return;
      }
      job = std::move(it->second);
      jobs_.erase(it);
    }
    job->Shutdown();  // joins its (already finished) thread before its state goes
    job.reset();
    if (Status removed = registry_->Remove(id); !removed.ok()) {
      ReplyError(res, HttpStatus(removed), removed.message());
      return;
    }
    spdlog::info("server: deleted job={} and its state", id);
    JsonWriter json;
    json.BeginObject().Key("deleted").String(id).EndObject();
    Reply(res, 200, json.str());
  }

  void Dag(const JobRecord& record, httplib::Response& res) {
    auto plan = Validate(record);
    if (!plan.ok()) {
      ReplyError(res, 500, plan.status().message());
      return;
    }
    JsonWriter json;
    WriteDag(json, record.id(), **plan);
    Reply(res, 200, json.str());
  }

  void Spec(const JobRecord& record, httplib::Response& res) {
    auto plan = Validate(record);
    if (!plan.ok()) {
      ReplyError(res, 500, plan.status().message());
      return;
    }
    std::string text;
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString((*plan)->job.spec, &text, print).ok()) {
      ReplyError(res, 500, "cannot print the job spec");
      return;
    }
    Reply(res, 200, text);
  }

  void Checkpoints(const JobRecord& record, httplib::Response& res) {
    JsonWriter json;
    Status listed = WriteCheckpoints(
        json, record.id(),
        (fs::path(StateDir(registry_->JobDir(record.id()))) / "checkpoints").string());
    if (!listed.ok()) {
      ReplyError(res, 500, listed.message());
      return;
    }
    Reply(res, 200, json.str());
  }

  // Learning operators' series for this job, from the metrics registry.
  void WriteModelMetrics(JsonWriter& json, const std::string& id) const {
    json.BeginArray();
    if (metrics_ != nullptr) {
      const std::string label = "job=\"" + id + "\"";
      std::istringstream lines(metrics_->Scrape());
      std::string line;
      while (std::getline(lines, line)) {
        if (line.rfind("eddy_model_", 0) != 0 || line.find(label) == std::string::npos) continue;
        const size_t space = line.rfind(' ');
        if (space == std::string::npos) continue;
        double value = 0;
        try {
          value = std::stod(line.substr(space + 1));
        } catch (const std::exception&) {
          continue;
        }
        json.BeginObject()
            .Key("series")
            .String(line.substr(0, space))
            .Key("value")
            .Double(value)
            .EndObject();
      }
    }
    json.EndArray();
  }

  void WriteJob(JsonWriter& json, const JobSnapshot& job, bool detail) const {
    const JobRecord& record = job.record;
    json.BeginObject()
        .Key("id")
        .String(record.id())
        .Key("state")
        .String(job.state)
        .Key("desired_state")
        .String(record.desired_state())
        .Key("file_name")
        .String(record.file_name())
        .Key("submitted_unix_ms")
        .Int(record.submitted_unix_ms())
        .Key("restarts")
        .Int(job.restarts)
        .Key("run_started_unix_ms")
        .Int(job.started_unix_ms)
        .Key("records_per_second")
        .Double(job.records_per_second)
        .Key("current_batch");
    if (job.last_batch) {
      json.Int(job.last_batch->batch_id);
    } else {
      json.Null();
    }
    json.Key("lag");
    if (job.last_batch) {
      json.Int(job.last_batch->lag);
    } else {
      json.Null();
    }
    json.Key("last_error").String(job.last_error);
    json.Key("last_checkpoint");
    if (job.last_checkpoint.empty()) {
      json.Null();
    } else {
      json.BeginObject()
          .Key("name")
          .String(fs::path(job.last_checkpoint).filename().string())
          .Key("batch_id")
          .Int(job.last_checkpoint_batch)
          .Key("created_unix_ms")
          .Int(job.last_checkpoint_unix_ms)
          .EndObject();
    }
    if (detail) {
      json.Key("consecutive_failures")
          .Int(job.consecutive_failures)
          .Key("next_restart_unix_ms")
          .Int(job.next_restart_unix_ms)
          .Key("batches_this_run")
          .Int(job.batches)
          .Key("records_in")
          .Int(job.records_in)
          .Key("records_out")
          .Int(job.records_out)
          .Key("dead_letters")
          .Int(job.dead_letters)
          .Key("savepoint_pending")
          .Bool(job.savepoint_pending)
          .Key("last_batch");
      if (!job.last_batch) {
        json.Null();
      } else {
        const BatchReport& batch = *job.last_batch;
        json.BeginObject()
            .Key("batch_id")
            .Int(batch.batch_id)
            .Key("finished_unix_ms")
            .Int(job.last_batch_unix_ms)
            .Key("records_in")
            .Int(batch.records_in)
            .Key("records_out")
            .Int(batch.records_out)
            .Key("dead_letters")
            .Int(batch.dead_letters)
            .Key("records_per_second")
            .Double(batch.total_seconds > 0
                        ? static_cast<double>(batch.records_in) / batch.total_seconds
                        : 0)
            .Key("seconds")
            .Double(batch.total_seconds)
            .Key("fetch_seconds")
            .Double(batch.fetch_seconds)
            .Key("process_seconds")
            .Double(batch.process_seconds)
            .Key("sink_seconds")
            .Double(batch.sink_seconds)
            .Key("late_records")
            .Int(batch.late_records)
            .Key("partitions")
            .BeginArray();
        for (const PartitionProgress& part : batch.partitions) {
          json.BeginObject()
              .Key("source")
              .String(part.source)
              .Key("topic")
              .String(part.topic)
              .Key("partition")
              .Int(part.partition)
              .Key("next_offset")
              .Int(part.next_offset)
              .Key("latest_offset")
              .Int(part.latest_offset)
              .Key("lag")
              .Int(ConsumerLag(part))
              .EndObject();
        }
        json.EndArray().Key("watermarks").BeginArray();
        for (const auto& [source, watermark] : batch.watermarks) {
          json.BeginObject().Key("source").String(source).Key("watermark_micros");
          if (watermark) {
            json.Int(*watermark);
          } else {
            json.Null();
          }
          json.EndObject();
        }
        json.EndArray().EndObject();
      }
      json.Key("model_metrics");
      WriteModelMetrics(json, record.id());
    }
    json.EndObject();
  }

  const ServeOptions& options_;
  std::unique_ptr<JobRegistry> registry_;
  std::unique_ptr<MetricsRegistry> metrics_;
  EmbeddedBrokers brokers_;
  // Serializes submit, stop, cancel, resume and delete, so a job is never
  // deleted while another request is changing it.
  std::mutex lifecycle_;
  mutable std::mutex mutex_;  // guards jobs_
  // Shared so that a request still using a job outlives its deletion.
  std::map<std::string, std::shared_ptr<JobSupervisor>> jobs_;
};

// Holds an exclusive lock on DATA_DIR/server.lock for the process' life:
// two servers on one data directory would run every job twice.
class DataDirLock {
 public:
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec)
      return Status::IOError("cannot create data directory " + data_dir + ": " + ec.message());
    const std::string path = (fs::path(data_dir) / "server.lock").string();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError("cannot open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return Status::Unavailable("another eddy server uses data directory " + data_dir);
    }
    return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
  }
  ~DataDirLock() { ::close(fd_); }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

const char* RoleName(Role role) {
  return role == Role::kAdmin ? "admin" : role == Role::kRead ? "read" : "none";
}

// Access control, before any body is read: every /api/ request needs a
// token; anything but GET needs an admin token. Refusals are logged with the
// client's address, never the token.
httplib::Server::HandlerResponse Authorize(const TokenAuth& auth, const httplib::Request& req,
                                           httplib::Response& res) {
  if (req.path.rfind("/api/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
  const Role role = auth.Check(req.get_header_value("Authorization"));
  const bool read_only_request = req.method == "GET" || req.method == "HEAD";
  if (role == Role::kNone) {
    const bool present = req.has_header("Authorization");
    spdlog::warn("api refused status=401 method={} path={} remote={} reason=\"{}\"", req.method,
                 req.path, req.remote_addr, present ? "unknown or malformed token" : "no token");
    res.set_header("WWW-Authenticate", "Bearer");
    ReplyError(res, 401,
               present ? "invalid token" : "missing bearer token (Authorization: Bearer TOKEN)");
    return httplib::Server::HandlerResponse::Handled;
  }
  if (!read_only_request && role != Role::kAdmin) {
    spdlog::warn(
        "api refused status=403 method={} path={} remote={} role={} reason=\"needs admin\"",
        req.method, req.path, req.remote_addr, RoleName(role));
    ReplyError(res, 403,
               "this token's role (" + std::string(RoleName(role)) + ") may only read; " +
                   req.method + " needs an admin token");
    return httplib::Server::HandlerResponse::Handled;
  }
  // httplib reads a body without a length until the connection closes,
  // i.e. until the read timeout: refuse such requests at once instead.
  const bool has_body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (has_body_method && !req.has_header("Content-Length") &&
      req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
    spdlog::warn("api refused status=411 method={} path={} remote={}", req.method, req.path,
                 req.remote_addr);
    ReplyError(res, 411, "Content-Length required (curl: add -d '' to a POST without a body)");
    return httplib::Server::HandlerResponse::Handled;
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

}  // namespace

int ServeCommand(const ServeOptions& options, const std::atomic<bool>& stop) {
  auto address = ParseHostPort(options.address);
  if (!address.ok()) {
    spdlog::error("--address {}: expected HOST:PORT", options.address);
    return 1;
  }
  const std::string host = address->host;
  const int port = address->port;
  if (options.token_file.empty()) {
    spdlog::error("--token-file is required: lines of 'TOKEN ROLE' (docs/server.md)");
    return 1;
  }
  auto auth = TokenAuth::Load(options.token_file);
  if (!auth.ok()) {
    spdlog::error("{}", auth.status().message());
    return 1;
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    spdlog::error("--tls-cert and --tls-key go together");
    return 1;
  }
  auto lock = DataDirLock::Acquire(options.data_dir);
  if (!lock.ok()) {
    spdlog::error("{}", lock.status().message());
    return 1;
  }
  auto registry = JobRegistry::Open(options.data_dir);
  if (!registry.ok()) {
    spdlog::error("{}", registry.status().ToString());
    return 1;
  }
  std::unique_ptr<MetricsRegistry> metrics;
  if (!MetricsDisabled(options.metrics_address)) {
    auto started = StartMetrics(options.metrics_address);
    if (started.ok()) {
      metrics = std::move(started).value();
      spdlog::info("metrics listening url=http://{}:{}/metrics",
                   options.metrics_address.substr(0, options.metrics_address.rfind(':')),
                   metrics->port());
    } else if (options.metrics_address_explicit) {
      spdlog::error("{}", started.status().message());
      return 1;
    } else {
      spdlog::warn("metrics endpoint disabled reason=\"{}\"", started.status().message());
      metrics = NewMetricsRegistry();
    }
  } else {
    metrics = NewMetricsRegistry();
  }

  std::unique_ptr<httplib::Server> http;
  const bool tls = !options.tls_cert.empty();
  if (tls) {
    auto secure =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
    if (!secure->is_valid()) {
      spdlog::error("cannot use TLS certificate {} with key {} (unreadable, or not a PEM pair)",
                    options.tls_cert, options.tls_key);
      return 1;
    }
    http = std::move(secure);
  } else {
    http = std::make_unique<httplib::Server>();
  }
  JobServer server(options, std::move(registry).value(), std::move(metrics));

  http->set_payload_max_length(options.max_body_bytes);
  http->set_read_timeout(options.request_timeout_seconds, 0);
  http->set_write_timeout(options.request_timeout_seconds, 0);
  http->set_keep_alive_timeout(5);
  const TokenAuth& tokens = *auth;
  http->set_pre_routing_handler([&tokens](const httplib::Request& req, httplib::Response& res) {
    return Authorize(tokens, req, res);
  });
  http->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("api error method={} path={} exception=\"{}\"", req.method, req.path, what);
        ReplyError(res, 500, "internal error");
      });
  httplib::Server::HandlerWithResponse on_error = [](const httplib::Request& req,
                                                     httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = "HTTP error " + std::to_string(res.status);
    if (res.status == 400) message = "malformed request";
    if (res.status == 413) message = "request body too large";
    if (res.status == 404) message = "no such endpoint: " + req.method + " " + req.path;
    ReplyError(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  };
  http->set_error_handler(on_error);
  // Every other refusal (400, 404, 409, 413, ...) is logged too; 401, 403
  // and 411 were logged by Authorize. Never headers or bodies.
  http->set_logger([](const httplib::Request& req, const httplib::Response& res) {
    if (res.status < 400 || res.status == 401 || res.status == 403 || res.status == 411) return;
    spdlog::warn("api refused status={} method={} path={} remote={}", res.status, req.method,
                 req.path, req.remote_addr);
  });
  http->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    Reply(res, 200, "{\"status\":\"ok\"}");
  });
  server.Register(*http);
  RegisterUi(*http, &tokens, [&server](const std::string& id) { return server.FindUi(id); });

  int bound = port;
  if (port == 0) {
    bound = http->bind_to_any_port(host);
  } else if (!http->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    spdlog::error("cannot listen on {}", options.address);
    return 1;
  }
  server.Recover();
  std::thread listener([&http] { http->listen_after_bind(); });
  spdlog::info("server listening url={}://{}:{}/api/v1/ data_dir={} tokens={}",
               tls ? "https" : "http", host, bound, options.data_dir, tokens.size());
  if (!options.address_file.empty()) {
    const std::string temp = options.address_file + ".tmp";
    std::ofstream(temp) << host << ":" << bound << "\n";
    fs::rename(temp, options.address_file);
  }
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("server stopping: jobs finish their current batch");
  http->stop();
  listener.join();
  server.ShutdownAll();
  spdlog::info("server stopped");
  return 0;
}

}  // namespace eddy::server
