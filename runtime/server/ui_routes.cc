#include "runtime/server/ui_routes.h"

#include <string_view>

#include "runtime/server/json_writer.h"
#include "runtime/spec/job_spec_loader.h"
#include "runtime/spec/secrets.h"
#include "runtime/ui/ui_assets.h"

namespace eddy::server {
namespace {

// The pages load only their own files and talk only to this server.
// A file asked for by its content's hash (index.html links them so) never
// changes: browsers keep it.
void ServeAsset(const ui::Asset& asset, bool versioned, httplib::Response& res) {
  res.status = 200;
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", versioned ? "public, max-age=31536000, immutable" : "no-cache");
  std::string type = asset.content_type;
  if (type.rfind("text/", 0) == 0) type += "; charset=utf-8";
  res.set_content(std::string(asset.body()), type);
}

const char* RoleText(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kRead:
      return "read";
    case Role::kNone:
      break;
  }
  return "none";
}

// Runs `write` on job `id`'s monitor, or answers 404.
void WithMonitor(const FindUiJob& find, const httplib::Request& req, httplib::Response& res,
                 const std::function<void(const UiJob&, JsonWriter&)>& write) {
  const std::string id = req.matches[1].str();
  std::optional<UiJob> job = find(id);
  if (!job) {
    ReplyJson(res, 404, JsonError("no job '" + id + "'"));
    return;
  }
  JsonWriter json;
  write(*job, json);
  ReplyJson(res, 200, json.str());
}

// The job file as submitted. Inline credentials are refused at submit, so
// it holds ${VAR} references, not secrets; whatever the variables hold now
// is scrubbed all the same.
std::string JobFileText(const JobRecord& record) {
  std::string text = record.job_text();
  auto loaded = LoadJobText(record.job_text(), record.file_name());
  if (loaded.ok()) text = Scrub(std::move(text), SecretValues(loaded->spec));
  return text;
}

}  // namespace

void ReplyJson(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(json.empty() || json.back() != '\n' ? json + "\n" : json, "application/json");
}

void RegisterUi(httplib::Server& http, const TokenAuth* auth, FindUiJob find) {
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/"); });
  http.Get("/ui",
           [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/ui/"); });
  http.Get(R"(/ui/(.*))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.matches[1].str();
    const ui::Asset* asset = ui::FindAsset(path.empty() ? "index.html" : path);
    if (asset == nullptr) {
      ReplyJson(res, 404, JsonError("no such file: /ui/" + path));
      return;
    }
    ServeAsset(*asset, req.has_param("v") && path.rfind("assets/", 0) == 0, res);
  });
  // The pages ask first, with whatever token they hold: a 401 here is what
  // makes them ask for one.
  http.Get("/api/v1/whoami", [auth](const httplib::Request& req, httplib::Response& res) {
    const Role role =
        auth == nullptr ? Role::kAdmin : auth->Check(req.get_header_value("Authorization"));
    JsonWriter json;
    json.BeginObject()
        .Key("role")
        .String(RoleText(role))
        .Key("tokens_required")
        .Bool(auth != nullptr)
        .EndObject();
    ReplyJson(res, 200, json.str());
  });
  http.Get(R"(/api/v1/jobs/([^/]+)/history)",
           [find](const httplib::Request& req, httplib::Response& res) {
             int64_t since = -1;
             if (req.has_param("since_batch")) {
               try {
                 since = std::stoll(req.get_param_value("since_batch"));
               } catch (const std::exception&) {
                 ReplyJson(res, 400, JsonError("since_batch: expected a batch id"));
                 return;
               }
             }
             WithMonitor(find, req, res, [since](const UiJob& job, JsonWriter& json) {
               job.monitor->WriteHistory(json, since);
             });
           });
  http.Get(R"(/api/v1/jobs/([^/]+)/operators)",
           [find](const httplib::Request& req, httplib::Response& res) {
             WithMonitor(find, req, res, [](const UiJob& job, JsonWriter& json) {
               job.monitor->WriteOperators(json);
             });
           });
  http.Get(R"(/api/v1/jobs/([^/]+)/dead-letters)",
           [find](const httplib::Request& req, httplib::Response& res) {
             WithMonitor(find, req, res, [](const UiJob& job, JsonWriter& json) {
               job.monitor->WriteDeadLetters(json);
             });
           });
  http.Get(R"(/api/v1/jobs/([^/]+)/file)",
           [find](const httplib::Request& req, httplib::Response& res) {
             WithMonitor(find, req, res, [](const UiJob& job, JsonWriter& json) {
               json.BeginObject()
                   .Key("file_name")
                   .String(job.record.file_name())
                   .Key("text")
                   .String(JobFileText(job.record))
                   .EndObject();
             });
           });
}

}  // namespace eddy::server
