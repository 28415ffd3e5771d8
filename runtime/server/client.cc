#include "runtime/server/client.h"

#include <httplib.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>

#include "runtime/server/json_writer.h"

namespace eddy::server {
namespace {

struct Reply {
  int status = 0;
  std::string body;
  std::string error;  // transport failure
};

std::string ReadToken(const ClientOptions& options) {
  if (const char* token = std::getenv("EDDY_TOKEN"); token != nullptr && *token != '\0')
    return token;
  std::string path = options.token_file;
  if (path.empty()) {
    if (const char* env = std::getenv("EDDY_TOKEN_FILE"); env != nullptr) path = env;
  }
  if (path.empty()) return "";
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string token;
    if (words >> token && token[0] != '#') return token;
  }
  return "";
}

Reply Call(const ClientOptions& options, const std::string& method, const std::string& path,
           const std::string& body = "", const std::string& content_type = "application/json") {
  Reply reply;
  std::unique_ptr<httplib::Client> client;
  try {
    client = std::make_unique<httplib::Client>(options.server);
  } catch (const std::exception& e) {
    reply.error = "bad --server '" + options.server + "': " + e.what();
    return reply;
  }
  if (!client->is_valid()) {
    reply.error =
        "bad --server '" + options.server + "' (expected http://HOST:PORT or https://HOST:PORT)";
    return reply;
  }
  if (!options.ca_cert.empty()) client->set_ca_cert_path(options.ca_cert.c_str());
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(options.timeout_seconds + 65, 0);
  client->set_write_timeout(options.timeout_seconds, 0);
  const std::string token = ReadToken(options);
  if (!token.empty()) client->set_bearer_token_auth(token.c_str());
  httplib::Result result = method == "GET" ? client->Get(path.c_str())
                           : method == "DELETE"
                               ? client->Delete(path.c_str())
                               : client->Post(path.c_str(), body, content_type.c_str());
  if (!result) {
    reply.error =
        "cannot reach the server at " + options.server + ": " + httplib::to_string(result.error());
    return reply;
  }
  reply.status = result->status;
  reply.body = result->body;
  return reply;
}

std::string ErrorMessage(const Reply& reply) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view message;
  if (parser.parse(reply.body).get(doc) == simdjson::SUCCESS &&
      doc["error"].get(message) == simdjson::SUCCESS) {
    return std::string(message);
  }
  return "HTTP " + std::to_string(reply.status);
}

// Prints errors; returns the exit code for a failed reply, or nullopt for
// a 2xx one.
std::optional<int> Failed(const Reply& reply) {
  if (!reply.error.empty()) {
    std::fprintf(stderr, "error: %s\n", reply.error.c_str());
    return 2;
  }
  if (reply.status >= 200 && reply.status < 300) return std::nullopt;
  std::fprintf(stderr, "error: %s\n", ErrorMessage(reply).c_str());
  return reply.status >= 500 ? 2 : 1;
}

std::string Str(simdjson::dom::element element, const char* key) {
  std::string_view value;
  if (element[key].get(value) == simdjson::SUCCESS) return std::string(value);
  int64_t number = 0;
  if (element[key].get(number) == simdjson::SUCCESS) return std::to_string(number);
  return "-";
}

std::string Checkpoint(simdjson::dom::element job) {
  simdjson::dom::element checkpoint;
  if (job["last_checkpoint"].get(checkpoint) != simdjson::SUCCESS || checkpoint.is_null())
    return "-";
  return Str(checkpoint, "name");
}

std::string Age(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &utc);
  return buf;
}

// Prints the body as JSON (--json) or through `table`.
int Print(const ClientOptions& options, const Reply& reply,
          const std::function<void(simdjson::dom::element)>& table) {
  if (auto code = Failed(reply)) return *code;
  if (options.json) {
    std::fputs(reply.body.c_str(), stdout);
    if (!reply.body.empty() && reply.body.back() != '\n') std::fputc('\n', stdout);
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(reply.body).get(doc) != simdjson::SUCCESS) {
    std::fprintf(stderr, "error: the server's answer is not JSON\n");
    return 2;
  }
  table(doc);
  return 0;
}

void JobLine(simdjson::dom::element job) {
  std::printf("%-28s %-11s %8s %10s %8s  %s\n", Str(job, "id").c_str(), Str(job, "state").c_str(),
              Str(job, "current_batch").c_str(), Str(job, "lag").c_str(),
              Str(job, "restarts").c_str(), Checkpoint(job).c_str());
}

void JobHeader() {
  std::printf("%-28s %-11s %8s %10s %8s  %s\n", "ID", "STATE", "BATCH", "LAG", "RESTARTS",
              "LAST CHECKPOINT");
}

void JobDetail(simdjson::dom::element job) {
  auto row = [](const char* name, const std::string& value) {
    std::printf("%-20s %s\n", name, value.c_str());
  };
  row("id", Str(job, "id"));
  row("state", Str(job, "state"));
  row("desired state", Str(job, "desired_state"));
  row("file", Str(job, "file_name"));
  int64_t submitted = 0;
  if (job["submitted_unix_ms"].get(submitted) != simdjson::SUCCESS) submitted = 0;
  row("submitted (UTC)", Age(submitted));
  row("current batch", Str(job, "current_batch"));
  row("lag", Str(job, "lag"));
  row("records in", Str(job, "records_in"));
  row("records out", Str(job, "records_out"));
  row("dead letters", Str(job, "dead_letters"));
  simdjson::dom::element batch;
  if (job["last_batch"].get(batch) == simdjson::SUCCESS && !batch.is_null()) {
    double rate = 0;
    if (batch["records_per_second"].get(rate) != simdjson::SUCCESS) rate = 0;
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.0f records/s", rate);
    row("last batch rate", buf);
  }
  row("restarts", Str(job, "restarts"));
  row("last checkpoint", Checkpoint(job));
  const std::string error = Str(job, "last_error");
  row("last error", error.empty() ? "-" : error);
  simdjson::dom::array models;
  if (job["model_metrics"].get(models) == simdjson::SUCCESS) {
    for (simdjson::dom::element metric : models) {
      double value = 0;
      if (metric["value"].get(value) != simdjson::SUCCESS) value = 0;
      std::printf("%-20s %s = %g\n", "model", Str(metric, "series").c_str(), value);
    }
  }
}

std::string JobPath(const std::string& id) {
  return "/api/v1/jobs/" + httplib::detail::encode_query_param(id);
}

}  // namespace

int SubmitCommand(const ClientOptions& options, const std::string& job_file) {
  std::ifstream in(job_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "error: cannot read %s\n", job_file.c_str());
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string path = "/api/v1/jobs?file=" + httplib::detail::encode_query_param(job_file);
  const Reply reply = Call(options, "POST", path, text.str(), "application/yaml");
  return Print(options, reply, [](simdjson::dom::element job) {
    std::printf("submitted %s (%s)\n", Str(job, "id").c_str(), Str(job, "state").c_str());
  });
}

int JobsCommand(const ClientOptions& options) {
  return Print(options, Call(options, "GET", "/api/v1/jobs"), [](simdjson::dom::element doc) {
    JobHeader();
    simdjson::dom::array jobs;
    if (doc["jobs"].get(jobs) != simdjson::SUCCESS) return;
    for (simdjson::dom::element job : jobs) JobLine(job);
  });
}

int StatusCommand(const ClientOptions& options, const std::string& id) {
  return Print(options, Call(options, "GET", JobPath(id)), JobDetail);
}

int StopCommand(const ClientOptions& options, const std::string& id, int wait_seconds) {
  const std::string path =
      JobPath(id) + "/stop" + (wait_seconds > 0 ? "?wait=" + std::to_string(wait_seconds) : "");
  return Print(options, Call(options, "POST", path), [](simdjson::dom::element job) {
    std::printf("%s: %s\n", Str(job, "id").c_str(), Str(job, "state").c_str());
  });
}

int CancelCommand(const ClientOptions& options, const std::string& id, int wait_seconds) {
  const std::string path =
      JobPath(id) + "/cancel" + (wait_seconds > 0 ? "?wait=" + std::to_string(wait_seconds) : "");
  return Print(options, Call(options, "POST", path), [](simdjson::dom::element job) {
    std::printf("%s: %s\n", Str(job, "id").c_str(), Str(job, "state").c_str());
  });
}

int ResumeCommand(const ClientOptions& options, const std::string& id,
                  const std::string& checkpoint) {
  std::string body;
  if (!checkpoint.empty()) body = "{\"checkpoint\":" + JsonString(checkpoint) + "}";
  return Print(options, Call(options, "POST", JobPath(id) + "/resume", body),
               [](simdjson::dom::element job) {
                 std::printf("%s: %s\n", Str(job, "id").c_str(), Str(job, "state").c_str());
               });
}

int SavepointCommand(const ClientOptions& options, const std::string& id) {
  return Print(options, Call(options, "POST", JobPath(id) + "/savepoint"),
               [&id](simdjson::dom::element) {
                 std::printf("%s: savepoint requested (at the next batch boundary)\n", id.c_str());
               });
}

int DeleteCommand(const ClientOptions& options, const std::string& id) {
  return Print(options, Call(options, "DELETE", JobPath(id)), [](simdjson::dom::element doc) {
    std::printf("deleted %s\n", Str(doc, "deleted").c_str());
  });
}

}  // namespace eddy::server
