// Security of `eddy serve`: tokens and roles, TLS, request limits and
// malformed requests, and secrets that never reach logs, API responses,
// metrics or files on disk. The first tests check the pieces directly; the
// rest run the server as its own process and talk to it over the network.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <regex>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/server/auth.h"
#include "runtime/server/json_writer.h"
#include "runtime/spec/job_spec_loader.h"
#include "runtime/spec/secrets.h"
#include "tests/integration/kafka_test_util.h"
#include "tests/integration/server_test_util.h"

namespace eddy {
namespace {

constexpr char kAdminToken[] = "admin-7d2f9c1e5a8b3046aa";
constexpr char kReadToken[] = "reader-0b6e4d2c9f1a7358bb";
constexpr char kWrongToken[] = "wrong-5c3a1e9d7b2f4680cc";

// --- The pieces ---

TEST(ServerSecurity, TokenFileRolesAndChecks) {
  auto auth = server::TokenAuth::Parse(
      "# comment\n\nadmin-7d2f9c1e5a8b3046aa admin\nreader-0b6e4d2c9f1a7358bb read\n", "tokens");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->size(), 2u);
  EXPECT_EQ(auth->Check("Bearer admin-7d2f9c1e5a8b3046aa"), server::Role::kAdmin);
  EXPECT_EQ(auth->Check("Bearer reader-0b6e4d2c9f1a7358bb"), server::Role::kRead);
  EXPECT_EQ(auth->Check("Bearer reader-0b6e4d2c9f1a7358b"), server::Role::kNone);
  EXPECT_EQ(auth->Check("admin-7d2f9c1e5a8b3046aa"), server::Role::kNone);
  EXPECT_EQ(auth->Check("Basic admin-7d2f9c1e5a8b3046aa"), server::Role::kNone);
  EXPECT_EQ(auth->Check(""), server::Role::kNone);
  EXPECT_EQ(server::TokenAuth::Parse("short admin\n", "t").status().message(),
            "t:1: token is shorter than 16 characters (make one with: openssl rand -hex 32)");
  EXPECT_EQ(server::TokenAuth::Parse("0123456789abcdef0123 root\n", "t").status().message(),
            "t:1: unknown role 'root' (expected read or admin)");
  EXPECT_EQ(server::TokenAuth::Parse("0123456789abcdef0123\n", "t").status().message(),
            "t:1: expected 'TOKEN ROLE' (role: read or admin)");
  EXPECT_FALSE(server::TokenAuth::Parse("# nothing\n", "t").ok());

  // A token file others can read is refused.
  const std::string dir = testing::MakeTempDir("eddy-auth");
  testing::WriteFile(dir + "/tokens", "0123456789abcdef0123 admin\n");
  ::chmod((dir + "/tokens").c_str(), 0644);
  EXPECT_EQ(server::TokenAuth::Load(dir + "/tokens").status().code(), StatusCode::kInvalidArgument);
  ::chmod((dir + "/tokens").c_str(), 0600);
  EXPECT_TRUE(server::TokenAuth::Load(dir + "/tokens").ok());
}

TEST(ServerSecurity, SecretKeysAreRedactedAndInlineSecretsRefused) {
  EXPECT_TRUE(IsSecretKey("sasl.password"));
  EXPECT_TRUE(IsSecretKey("sasl.username"));
  EXPECT_TRUE(IsSecretKey("ssl.key.password"));
  EXPECT_TRUE(IsSecretKey("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(IsSecretKey("API_TOKEN"));
  EXPECT_FALSE(IsSecretKey("bootstrap.servers"));
  EXPECT_FALSE(IsSecretKey("key"));

  const std::string inline_secret =
      "name: j\nkafka:\n  properties:\n    sasl.password: hunter2\n"
      "sources: [{name: g, generator: {kind: ysb}}]\nsinks: [{name: o, stdout: {}}]\n";
  EXPECT_EQ(
      CheckNoInlineSecrets(inline_secret, "job.yaml").message(),
      "job.yaml:4:20: kafka.properties.sasl.password: secret values must not be written in "
      "the job file; take them from the server's environment: ${VAR}, or VAR_FILE=/path/to/file "
      "with ${VAR} (docs/server.md, Secrets)");
  const std::string referenced =
      "name: j\nkafka:\n  properties:\n    sasl.password: ${PW}\n"
      "sources:\n  - name: g\n    generator: {kind: ysb}\n"
      "sinks:\n  - name: o\n    kafka: {topic: t, properties: {sasl.username: \"${USER_NAME}\"}}\n";
  EXPECT_TRUE(CheckNoInlineSecrets(referenced, "job.yaml").ok());

  auto job =
      LoadJobText(referenced, "job.yaml", [](std::string_view name) -> std::optional<std::string> {
        return name == "PW" ? "hunter2" : "alice";
      });
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto values = SecretValues(job->spec);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"alice", "hunter2"}));
  RedactSpec(&job->spec);
  EXPECT_EQ(job->spec.kafka().properties().at("sasl.password"), kRedacted);
  EXPECT_EQ(job->spec.sinks(0).kafka().properties().at("sasl.username"), kRedacted);
  EXPECT_EQ(job->spec.sinks(0).kafka().topic(), "t");
  EXPECT_TRUE(SecretValues(job->spec).empty());
  EXPECT_EQ(Scrub("auth failed for hunter2 (hunter2)", {"hunter2"}),
            std::string("auth failed for ") + kRedacted + " (" + kRedacted + ")");
}

TEST(ServerSecurity, JsonOutputEscapesEverythingItQuotes) {
  // Error messages quote job files and request paths: nothing in them may
  // break out of the JSON string.
  EXPECT_EQ(server::JsonError("a\"b\\c\nd\x01"), "{\"error\":\"a\\\"b\\\\c\\nd\\u0001\"}\n");
  server::JsonWriter json;
  json.BeginObject()
      .Key("k\"")
      .String("v")
      .Key("n")
      .Int(-3)
      .Key("d")
      .Double(0.5)
      .Key("inf")
      .Double(1.0 / 0.0)
      .Key("a")
      .BeginArray()
      .Bool(true)
      .Null()
      .EndArray()
      .EndObject();
  EXPECT_EQ(json.str(), "{\"k\\\"\":\"v\",\"n\":-3,\"d\":0.5,\"inf\":null,\"a\":[true,null]}");
}

// --- The server as a process ---

using testing::ServerProcess;
using testing::WaitFor;

std::string SetUpDir(const std::string& prefix) {
  return testing::MakeServerDir(prefix,
                                std::string(kAdminToken) + " admin\n" + kReadToken + " read\n");
}

std::string Field(const std::string& body, const std::string& key) {
  return testing::JsonField(body, key);
}

// Sends `bytes` on a fresh TCP connection and returns what comes back
// within 2 s. (The write side stays open: httplib does not answer a client
// that has half-closed its connection.)
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "<connect failed>";
  }
  timeval timeout{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  (void)!::write(fd, bytes.data(), bytes.size());
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

const char kGoodJob[] =
    "name: gen\n"
    "sources:\n"
    "  - name: g\n"
    "    generator: { kind: ysb, count: 100, rate: 1000, seed: 3, partitions: 1 }\n"
    "sinks:\n"
    "  - name: out\n"
    "    stdout: { max_rows: 0 }\n";

TEST(ServerSecurity, TokensAndRolesAreEnforcedAndRefusalsLoggedWithoutTokens) {
  const std::string dir = SetUpDir("eddy-sec-auth");
  ServerProcess server(dir);
  ASSERT_TRUE(server.Start({"--metrics-address", "off"})) << server.Log();

  auto anonymous = server.Client();
  auto res = anonymous.Get("/api/v1/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
  res = anonymous.Post("/api/v1/jobs", kGoodJob, "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);

  auto wrong = server.Client(kWrongToken);
  res = wrong.Get("/api/v1/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(Field(res->body, "error"), "invalid token");

  auto reader = server.Client(kReadToken);
  res = reader.Get("/api/v1/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"jobs\":[]}\n");
  for (const char* path : {"/api/v1/jobs", "/api/v1/jobs/gen/stop", "/api/v1/jobs/gen/cancel",
                           "/api/v1/jobs/gen/resume", "/api/v1/jobs/gen/savepoint"}) {
    res = reader.Post(path, kGoodJob, "application/yaml");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 403) << path;
  }
  res = reader.Delete("/api/v1/jobs/gen");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);

  auto admin = server.Client(kAdminToken);
  res = admin.Post("/api/v1/jobs?file=gen.yaml", kGoodJob, "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201) << res->body;
  res = reader.Get("/api/v1/jobs/gen");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  // The CLI with a read-only token: reading works, changing is refused.
  const std::string env =
      "EDDY_SERVER=http://" + server.address() + " EDDY_TOKEN=" + kReadToken + " ";
  EXPECT_EQ(testing::RunShell(env + EDDY_BINARY " jobs").exit_code, 0);
  auto refused = testing::RunShell(env + EDDY_BINARY " stop gen");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("needs an admin token"), std::string::npos) << refused.output;

  const std::string log = server.Log();
  EXPECT_NE(log.find("api refused status=401 method=GET path=/api/v1/jobs remote=127.0.0.1 "
                     "reason=\"no token\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("reason=\"unknown or malformed token\""), std::string::npos);
  EXPECT_NE(log.find("api refused status=403 method=DELETE path=/api/v1/jobs/gen"),
            std::string::npos);
  for (const char* token : {kAdminToken, kReadToken, kWrongToken}) {
    EXPECT_EQ(log.find(token), std::string::npos) << token;
  }
}

TEST(ServerSecurity, OversizeAndMalformedRequestsAreRefusedAndTheServerStaysUp) {
  const std::string dir = SetUpDir("eddy-sec-limits");
  ServerProcess server(dir);
  ASSERT_TRUE(server.Start({"--metrics-address", "off", "--max-body-bytes", "4096"}))
      << server.Log();
  auto admin = server.Client(kAdminToken);

  auto res = admin.Post("/api/v1/jobs", std::string(10000, '#'), "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  res = admin.Post("/api/v1/jobs", "", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);

  // A bad job file: the same message as `eddy validate`.
  const std::string bad = dir + "/bad.yaml";
  testing::WriteFile(bad,
                     "name: bad\nsources:\n  - name: s\n    kafka: { topic: x }\nsinks: [{name: o, "
                     "stdout: {}}]\n");
  res =
      admin.Post(("/api/v1/jobs?file=" + bad).c_str(), testing::ReadFile(bad), "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  auto validate = testing::RunShell(std::string(EDDY_BINARY) + " validate " + bad);
  EXPECT_EQ(validate.exit_code, 1);
  EXPECT_EQ(Field(res->body, "error") + "\n", validate.output);
  EXPECT_EQ(
      Field(res->body, "error").rfind(bad + ":4:14: sources[0].kafka: unknown key 'topic'", 0), 0u)
      << res->body;
  res = admin.Post("/api/v1/jobs?file=j.yaml", "name: x\nsources: [\n", "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(Field(res->body, "error").rfind("j.yaml:", 0), 0u) << res->body;
  res = admin.Post("/api/v1/jobs", std::string("\x00\xff\xfe garbage", 12), "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // A name that cannot be an id.
  res = admin.Post("/api/v1/jobs?file=j.yaml", std::string(kGoodJob).replace(6, 3, "\"a/b\""),
                   "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  // An inline secret.
  res = admin.Post("/api/v1/jobs?file=j.yaml",
                   std::string(kGoodJob) + "kafka: { properties: { sasl.password: hunter2 } }\n",
                   "application/yaml");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(Field(res->body, "error").rfind("j.yaml:8:", 0), 0u) << res->body;
  EXPECT_EQ(res->body.find("hunter2"), std::string::npos);

  res = admin.Post("/api/v1/jobs?file=gen.yaml", kGoodJob, "application/yaml");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  ASSERT_TRUE(WaitFor(
      [&] { return Field(admin.Get("/api/v1/jobs/gen")->body, "state") == "FINISHED"; }, 20));
  for (const char* body :
       {"{", "[1,2]", "{\"checkpoint\": 5}", "{\"path\": \"/etc\"}", "\xff\xfe"}) {
    res = admin.Post("/api/v1/jobs/gen/resume", body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body << " -> " << res->body;
  }
  res = admin.Post("/api/v1/jobs/gen/resume", "{\"checkpoint\": \"../../../../etc\"}",
                   "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404) << res->body;
  res = admin.Get("/api/v1/jobs/no-such-job");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = admin.Get("/api/v1/nothing/here");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(Field(res->body, "error"), "no such endpoint: GET /api/v1/nothing/here");

  // Not HTTP at all, and a body that never comes: refused, not a crash; the
  // refusal is logged and the server carries on. (httplib answers the
  // garbage with 400, though not every time before it closes the socket.)
  const std::string garbage = RawExchange(server.port(), "hello there\x16\x03\x01\r\n\r\n");
  EXPECT_TRUE(garbage.empty() || garbage.rfind("HTTP/1.1 400", 0) == 0) << garbage;
  EXPECT_TRUE(WaitFor(
      [&] { return server.Log().find("api refused status=400 method=hello") != std::string::npos; },
      5))
      << server.Log();
  const std::string huge = RawExchange(
      server.port(), "POST /api/v1/jobs HTTP/1.1\r\nAuthorization: Bearer " +
                         std::string(kAdminToken) + "\r\nContent-Length: 999999999\r\n\r\n");
  // A POST without a length would be read until the timeout: refused at once.
  const std::string no_length =
      RawExchange(server.port(), "POST /api/v1/jobs/gen/stop HTTP/1.1\r\nAuthorization: Bearer " +
                                     std::string(kAdminToken) + "\r\n\r\n");
  EXPECT_EQ(no_length.rfind("HTTP/1.1 411", 0), 0u) << no_length;
  // (httplib refuses it with 413 once it has skipped the announced bytes,
  // or drops the connection when they never come.)
  EXPECT_TRUE(huge.empty() || huge.rfind("HTTP/1.1 413", 0) == 0) << huge;
  res = admin.Get("/api/v1/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(server.Kill(SIGTERM), 0) << server.Log();
}

TEST(ServerSecurity, TlsWithATestCertificate) {
  const std::string dir = SetUpDir("eddy-sec-tls");
  const auto made = testing::RunShell(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  ServerProcess server(dir);
  ASSERT_TRUE(server.Start(
      {"--metrics-address", "off", "--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"}))
      << server.Log();
  EXPECT_NE(server.Log().find("url=https://"), std::string::npos);

  httplib::Client secure("https://" + server.address());
  secure.set_ca_cert_path((dir + "/cert.pem").c_str());
  secure.enable_server_certificate_verification(true);
  secure.set_bearer_token_auth(kReadToken);
  auto res = secure.Get("/api/v1/jobs");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  secure.set_bearer_token_auth(kWrongToken);
  res = secure.Get("/api/v1/jobs");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);

  // Without the CA the certificate is not trusted; plain HTTP gets nothing.
  httplib::Client untrusted("https://" + server.address());
  untrusted.enable_server_certificate_verification(true);
  untrusted.set_ca_cert_path((dir + "/tokens").c_str());
  EXPECT_FALSE(untrusted.Get("/api/v1/jobs"));
  auto plain = server.Client(kReadToken).Get("/api/v1/jobs");
  EXPECT_TRUE(!plain || plain->status != 200);

  const auto cli = testing::RunShell("EDDY_TOKEN=" + std::string(kReadToken) +
                                     " " EDDY_BINARY " jobs --json --server https://" +
                                     server.address() + " --ca-cert " + dir + "/cert.pem");
  EXPECT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(cli.output, "{\"jobs\":[]}\n");
}

// Everything below `dir`, each file's bytes.
std::vector<std::pair<std::string, std::string>> AllFiles(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file())
      files.emplace_back(entry.path().string(), testing::ReadFile(entry.path().string()));
  }
  return files;
}

TEST(ServerSecurity, ASaslPasswordNeverAppearsInLogsResponsesMetricsOrFiles) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap();
  ASSERT_TRUE((*broker)->CreateTopic("sasl-out", 1).ok());
  std::mt19937_64 random(std::random_device{}());
  const std::string password = "pw-" + std::to_string(random()) + "-" + std::to_string(random());

  const std::string dir = SetUpDir("eddy-sec-secrets");
  testing::WriteFile(dir + "/kafka-password", password + "\n");
  ::chmod((dir + "/kafka-password").c_str(), 0600);
  ServerProcess server(dir);
  const std::string password_file = "KAFKA_PASSWORD_FILE=" + dir + "/kafka-password";
  ASSERT_TRUE(server.Start({"--metrics-address", "127.0.0.1:0"}, {password_file})) << server.Log();

  // One job with the password configured that runs (the broker ignores SASL
  // settings on a PLAINTEXT connection) and checkpoints every batch, one
  // that must authenticate and fails (the embedded broker has no SASL).
  auto job = [&](const std::string& name, const std::string& protocol) {
    return "name: " + name +
           "\n"
           "kafka:\n"
           "  brokers: \"" +
           bootstrap +
           "\"\n"
           "  properties:\n"
           "    security.protocol: " +
           protocol +
           "\n"
           "    sasl.mechanism: PLAIN\n"
           "    sasl.username: eddy\n"
           "    sasl.password: ${KAFKA_PASSWORD}\n"
           "sources:\n"
           "  - name: g\n"
           "    generator: { kind: ysb, count: 3000, rate: 3000, seed: 5, partitions: 2 }\n"
           "sinks:\n"
           "  - name: out\n"
           "    kafka: { topic: sasl-out }\n"
           "trigger: { interval: 200ms }\n"
           "checkpoint: { every_batches: 1 }\n";
  };
  auto admin = server.Client(kAdminToken);
  std::vector<std::string> responses;
  for (const auto& [name, protocol] :
       {std::pair{"sasl-ok", "PLAINTEXT"}, std::pair{"sasl-fail", "SASL_PLAINTEXT"}}) {
    auto res = admin.Post(("/api/v1/jobs?file=" + std::string(name) + ".yaml").c_str(),
                          job(name, protocol), "application/yaml");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 201) << res->body;
    responses.push_back(res->body);
  }
  EXPECT_TRUE(WaitFor(
      [&] { return Field(admin.Get("/api/v1/jobs/sasl-ok")->body, "state") == "FINISHED"; }, 30))
      << admin.Get("/api/v1/jobs/sasl-ok")->body;
  EXPECT_TRUE(WaitFor(
      [&] { return Field(admin.Get("/api/v1/jobs/sasl-fail")->body, "restarts") >= "1"; }, 30));
  EXPECT_EQ(testing::ConsumeAll(bootstrap, "sasl-out").size(), 3000u);

  for (const std::string id : {"sasl-ok", "sasl-fail"}) {
    for (const std::string suffix : {"", "/spec", "/dag", "/checkpoints"}) {
      auto res = admin.Get(("/api/v1/jobs/" + id + suffix).c_str());
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 200) << id << suffix;
      responses.push_back(res->body);
    }
  }
  responses.push_back(admin.Get("/api/v1/jobs")->body);
  const std::string spec = admin.Get("/api/v1/jobs/sasl-ok/spec")->body;
  EXPECT_NE(spec.find(std::string("\"sasl.password\":\"") + kRedacted + "\""), std::string::npos)
      << spec;
  EXPECT_NE(Field(admin.Get("/api/v1/jobs/sasl-fail")->body, "last_error"), "");

  // The metrics endpoint, found in the log.
  std::smatch match;
  const std::string log_now = server.Log();
  ASSERT_TRUE(std::regex_search(
      log_now, match, std::regex("metrics listening url=http://127.0.0.1:(\\d+)/metrics")));
  httplib::Client metrics("127.0.0.1", std::stoi(match[1].str()));
  auto scrape = metrics.Get("/metrics");
  ASSERT_TRUE(scrape);
  EXPECT_NE(scrape->body.find("job=\"sasl-ok\""), std::string::npos);
  responses.push_back(scrape->body);
  for (const std::string& body : responses)
    EXPECT_EQ(body.find(password), std::string::npos) << body;

  // Stop the server so every file is complete, then scan all of them:
  // registry records, checkpoint manifests, RocksDB files, dead letters.
  EXPECT_EQ(server.Kill(SIGTERM), 0);
  const std::string log = server.Log();
  EXPECT_EQ(log.find(password), std::string::npos);
  for (const char* token : {kAdminToken, kReadToken}) EXPECT_EQ(log.find(token), std::string::npos);
  size_t manifests = 0;
  const auto files = AllFiles(dir + "/data");
  for (const auto& [path, bytes] : files) {
    EXPECT_EQ(bytes.find(password), std::string::npos) << path;
    if (path.find("/checkpoints/chk-") != std::string::npos && path.size() > 9 &&
        path.substr(path.size() - 9) == "/MANIFEST") {
      ++manifests;
      EXPECT_NE(bytes.find(kRedacted), std::string::npos) << path;
    }
  }
  EXPECT_GE(manifests, 1u);
}

}  // namespace
}  // namespace eddy
