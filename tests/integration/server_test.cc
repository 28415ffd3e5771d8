// `eddy serve` end to end, through a real HTTP client and the CLI, against
// the server running as its own process:
//  - two jobs at once: one reads a topic with malformed records (they go to
//    its dead-letter topic); the other is fed malformed records it cannot
//    dead-letter, its dead-letter broker being unreachable, and keeps
//    failing and restarting with back-off; the first one's output is exact
//    throughout, across stop, resume from a named checkpoint, savepoint and
//    the CLI commands;
//  - a server killed with SIGKILL and started again resumes its running job
//    from its checkpoint, and no input is lost.

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/server/job_registry.h"
#include "tests/integration/kafka_test_util.h"
#include "tests/integration/server_test_util.h"

namespace eddy {
namespace {

constexpr char kAdminToken[] = "admin-token-4f1c2a9e7b3d5061";

using testing::ServerProcess;
using testing::WaitFor;

// The server as these tests run it: no metrics endpoint, quick restarts.
bool StartServer(ServerProcess& server) {
  return server.Start({"--metrics-address", "off", "--restart-max-delay", "1s"});
}

// An admin client; stop?wait= requests may take a while.
httplib::Client AdminClient(const ServerProcess& server) { return server.Client(kAdminToken, 70); }

std::string Field(const std::string& body, const std::string& key) {
  return testing::JsonField(body, key);
}

std::string GetJob(httplib::Client& client, const std::string& id) {
  auto res = client.Get(("/api/v1/jobs/" + id).c_str());
  return res ? res->body : "";
}

std::vector<testing::TestRecord> Records(int from, int to, int partitions) {
  std::vector<testing::TestRecord> records;
  for (int id = from; id < to; ++id) {
    testing::TestRecord record;
    record.partition = id % partitions;
    record.value = "{\"id\": " + std::to_string(id) + ", \"v\": \"r" + std::to_string(id) + "\"}";
    records.push_back(record);
  }
  return records;
}

// The ids in `topic`'s JSON records, in the order read (one entry per record).
std::multiset<int64_t> OutputIds(const std::string& bootstrap, const std::string& topic) {
  std::multiset<int64_t> ids;
  simdjson::dom::parser parser;
  for (const auto& record : testing::ConsumeAll(bootstrap, topic)) {
    simdjson::dom::element doc;
    int64_t id = -1;
    if (parser.parse(record.value).get(doc) == simdjson::SUCCESS &&
        doc["id"].get(id) == simdjson::SUCCESS) {
      ids.insert(id);
    } else {
      ids.insert(-1);
    }
  }
  return ids;
}

std::multiset<int64_t> Range(int64_t from, int64_t to) {
  std::multiset<int64_t> out;
  for (int64_t id = from; id < to; ++id) out.insert(id);
  return out;
}

std::string CopyJob(const std::string& name, const std::string& brokers, const std::string& in,
                    const std::string& out, const std::string& dlq, int cap = 40,
                    const std::string& dlq_brokers = "") {
  return "name: " + name +
         "\n"
         "kafka: { brokers: \"" +
         brokers +
         "\" }\n"
         "sources:\n"
         "  - name: in\n"
         "    kafka: { topics: [" +
         in +
         "], start: earliest }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: id, type: int64 }\n"
         "      - { name: v, type: string }\n"
         "operators:\n"
         "  - name: shaped\n"
         "    select: [id, v]\n"
         "sinks:\n"
         "  - name: out\n"
         "    kafka: { topic: " +
         out +
         " }\n"
         "    format: json\n"
         "dead_letter:\n"
         "  kafka: { topic: " +
         dlq + (dlq_brokers.empty() ? "" : ", brokers: \"" + dlq_brokers + "\"") +
         " }\n"
         "trigger: { interval: 100ms, max_records_per_partition: " +
         std::to_string(cap) +
         " }\n"
         "checkpoint: { every_batches: 2 }\n";
}

std::string SetUpDir(const std::string& prefix) {
  return testing::MakeServerDir(prefix, std::string(kAdminToken) + " admin\n");
}

TEST(Server, RegistryRecordsSurviveReopeningAndIgnoreHalfWrittenOnes) {
  const std::string dir = testing::MakeTempDir("eddy-registry");
  {
    auto registry = server::JobRegistry::Open(dir);
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    server::JobRecord record;
    record.set_id("a");
    record.set_job_text("name: a\n");
    record.set_desired_state("RUNNING");
    ASSERT_TRUE((*registry)->Add(record).ok());
    EXPECT_EQ((*registry)->Add(record).code(), StatusCode::kAlreadyExists);
    record.set_desired_state("STOPPED");
    ASSERT_TRUE((*registry)->Put(record).ok());
    record.set_id("b");
    ASSERT_TRUE((*registry)->Add(record).ok());
    ASSERT_TRUE((*registry)->Remove("b").ok());
    EXPECT_EQ((*registry)->Remove("b").code(), StatusCode::kNotFound);
  }
  // What a crash in the middle of a write leaves behind.
  testing::WriteFile(dir + "/jobs/.tmp-c.job", "partial");
  testing::WriteFile(dir + "/jobs/d.job", "not a record");
  auto reopened = server::JobRegistry::Open(dir);
  ASSERT_TRUE(reopened.ok());
  const auto records = (*reopened)->List();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].id(), "a");
  EXPECT_EQ(records[0].desired_state(), "STOPPED");
  EXPECT_EQ(records[0].job_text(), "name: a\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/jobs/.tmp-c.job"));
  EXPECT_TRUE(server::IsValidJobId("ad-pipeline_2.v1"));
  for (const char* id : {"", ".hidden", "a/b", "a b", "..", "x%2f"})
    EXPECT_FALSE(server::IsValidJobId(id)) << id;
}

TEST(Server, TwoJobsOneFailingAndRestartedTheOtherExactThroughItsLifecycle) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap();
  for (const char* topic : {"good-in", "good-out", "good-dlq"}) {
    ASSERT_TRUE((*broker)->CreateTopic(topic, 2).ok());
  }
  auto input = Records(0, 300, 2);
  for (int idx = 0; idx < 5; ++idx)
    input.push_back({idx % 2, std::nullopt, "not json " + std::to_string(idx)});
  testing::ProduceRecords(bootstrap, "good-in", input);

  const std::string dir = SetUpDir("eddy-server");
  ServerProcess server(dir);
  ASSERT_TRUE(StartServer(server)) << server.Log();
  auto client = AdminClient(server);

  const std::string good = CopyJob("good", bootstrap, "good-in", "good-out", "good-dlq");
  // The bad job reads malformed records too, but its dead-letter topic is on
  // a broker that does not exist (port 9 on loopback: nothing listens), so
  // it cannot run.
  ASSERT_TRUE((*broker)->CreateTopic("bad-in", 1).ok());
  ASSERT_TRUE((*broker)->CreateTopic("bad-out", 1).ok());
  testing::ProduceRecords(bootstrap, "bad-in",
                          {{0, std::nullopt, "not json"}, {0, std::nullopt, "{\"id\": 1}"}});
  const std::string bad =
      CopyJob("bad", bootstrap, "bad-in", "bad-out", "bad-dlq", 40, "127.0.0.1:9");
  auto submitted = client.Post("/api/v1/jobs?file=good.yaml", good, "application/yaml");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 201) << submitted->body;
  EXPECT_EQ(Field(submitted->body, "id"), "good");
  submitted = client.Post("/api/v1/jobs?file=bad.yaml", bad, "application/yaml");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 201) << submitted->body;
  // The same name again is a conflict, not a second copy.
  auto again = client.Post("/api/v1/jobs?file=good.yaml", good, "application/yaml");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << again->body;

  // The good job's output is exact while the bad one fails beside it.
  EXPECT_TRUE(WaitFor([&] { return OutputIds(bootstrap, "good-out").size() >= 300; }, 40));
  EXPECT_EQ(OutputIds(bootstrap, "good-out"), Range(0, 300));
  EXPECT_EQ(testing::ConsumeAll(bootstrap, "good-dlq").size(), 5u);

  // The bad job fails, waits, and is restarted (each attempt waits 10 s for
  // the broker before failing).
  EXPECT_TRUE(
      WaitFor([&] { return std::stoll("0" + Field(GetJob(client, "bad"), "restarts")) >= 2; }, 45))
      << GetJob(client, "bad");
  const std::string bad_status = GetJob(client, "bad");
  EXPECT_EQ(
      Field(bad_status, "last_error")
          .rfind(
              "Unavailable: dead-letter topic: Kafka topic 'bad-dlq': no answer from the brokers",
              0),
      0u)
      << bad_status;
  EXPECT_EQ(Field(bad_status, "records_out"), "0");
  const std::string good_status = GetJob(client, "good");
  EXPECT_EQ(Field(good_status, "state"), "RUNNING") << good_status;
  EXPECT_EQ(Field(good_status, "restarts"), "0");
  EXPECT_EQ(Field(good_status, "last_error"), "");
  EXPECT_EQ(Field(good_status, "records_out"), "300");
  EXPECT_EQ(Field(good_status, "dead_letters"), "5");

  // A running job cannot be deleted or resumed.
  auto refused = client.Delete("/api/v1/jobs/good");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409);
  refused = client.Post("/api/v1/jobs/good/resume", "", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 409);

  // A savepoint shows up in the job's checkpoints.
  auto savepoint = client.Post("/api/v1/jobs/good/savepoint", "", "application/json");
  ASSERT_TRUE(savepoint);
  EXPECT_EQ(savepoint->status, 202) << savepoint->body;
  EXPECT_TRUE(
      WaitFor([&] { return Field(GetJob(client, "good"), "savepoint_pending") == "false"; }, 20));

  // Stop: final checkpoint, then STOPPED.
  auto stopped = client.Post("/api/v1/jobs/good/stop?wait=30", "", "application/json");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->status, 200) << stopped->body;
  EXPECT_EQ(Field(stopped->body, "state"), "STOPPED");
  auto checkpoints = client.Get("/api/v1/jobs/good/checkpoints");
  ASSERT_TRUE(checkpoints);
  simdjson::dom::parser parser;
  simdjson::dom::element listed;
  ASSERT_EQ(parser.parse(checkpoints->body).get(listed), simdjson::SUCCESS);
  simdjson::dom::array list = listed["checkpoints"].get_array();
  ASSERT_GE(list.size(), 1u) << checkpoints->body;
  const std::string newest(list.at(0)["name"].get_string().value());
  // The final checkpoint is the one the job reports as its last.
  EXPECT_NE(Field(GetJob(client, "good"), "last_checkpoint").find(newest), std::string::npos);

  // New input while stopped, then resume from the named checkpoint: the job
  // continues where it stopped, every record exactly once.
  testing::ProduceRecords(bootstrap, "good-in", Records(300, 400, 2));
  auto resumed = client.Post("/api/v1/jobs/good/resume", "{\"checkpoint\": \"" + newest + "\"}",
                             "application/json");
  ASSERT_TRUE(resumed);
  EXPECT_EQ(resumed->status, 200) << resumed->body;
  EXPECT_TRUE(WaitFor([&] { return OutputIds(bootstrap, "good-out").size() >= 400; }, 30));
  EXPECT_EQ(OutputIds(bootstrap, "good-out"), Range(0, 400));
  auto unknown =
      client.Post("/api/v1/jobs/bad/resume", "{\"checkpoint\": \"../../etc\"}", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 409);  // still running (restarting)

  // The DAG, as `eddy validate` prints it.
  auto dag = client.Get("/api/v1/jobs/good/dag");
  ASSERT_TRUE(dag);
  EXPECT_EQ(dag->status, 200);
  EXPECT_NE(Field(dag->body, "text").find("operator shaped <- in"), std::string::npos) << dag->body;

  // The CLI, with the server and token from the environment.
  const std::string env = "EDDY_SERVER=" + server.Url() + " EDDY_TOKEN=" + kAdminToken + " ";
  auto jobs = testing::RunShell(env + EDDY_BINARY " jobs");
  EXPECT_EQ(jobs.exit_code, 0) << jobs.output;
  EXPECT_NE(jobs.output.find("ID"), std::string::npos) << jobs.output;
  EXPECT_NE(jobs.output.find("good"), std::string::npos) << jobs.output;
  auto jobs_json = testing::RunShell(env + EDDY_BINARY " jobs --json");
  EXPECT_EQ(jobs_json.exit_code, 0);
  EXPECT_NE(jobs_json.output.find("\"id\":\"bad\""), std::string::npos) << jobs_json.output;
  auto status = testing::RunShell(env + EDDY_BINARY " status good --json");
  EXPECT_EQ(Field(status.output, "state"), "RUNNING") << status.output;
  auto cli_stop = testing::RunShell(env + EDDY_BINARY " stop good --wait 30 --json");
  EXPECT_EQ(cli_stop.exit_code, 0) << cli_stop.output;
  EXPECT_EQ(Field(cli_stop.output, "state"), "STOPPED") << cli_stop.output;
  auto cli_resume = testing::RunShell(env + EDDY_BINARY " resume good");
  EXPECT_EQ(cli_resume.exit_code, 0) << cli_resume.output;
  EXPECT_EQ(cli_resume.output, "good: RUNNING\n");
  const std::string job_file = dir + "/good.yaml";
  testing::WriteFile(job_file, good);
  auto cli_submit = testing::RunShell(env + EDDY_BINARY " submit " + job_file);
  EXPECT_EQ(cli_submit.exit_code, 1);
  EXPECT_NE(cli_submit.output.find("already submitted"), std::string::npos) << cli_submit.output;
  auto no_server =
      testing::RunShell("EDDY_TOKEN=x " EDDY_BINARY " jobs --server http://127.0.0.1:9");
  EXPECT_EQ(no_server.exit_code, 2) << no_server.output;

  // Cancel the failing job during its back-off or its attempt, then delete it.
  auto cancelled = client.Post("/api/v1/jobs/bad/cancel?wait=30", "", "application/json");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 200) << cancelled->body;
  EXPECT_EQ(Field(cancelled->body, "state"), "CANCELLED");
  auto deleted = client.Delete("/api/v1/jobs/bad");
  ASSERT_TRUE(deleted);
  EXPECT_EQ(deleted->status, 200) << deleted->body;
  auto gone = client.Get("/api/v1/jobs/bad");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 404);

  // The good job never noticed: still exact, still running, never restarted.
  testing::ProduceRecords(bootstrap, "good-in", Records(400, 450, 2));
  EXPECT_TRUE(WaitFor([&] { return OutputIds(bootstrap, "good-out").size() >= 450; }, 30));
  EXPECT_EQ(OutputIds(bootstrap, "good-out"), Range(0, 450));  // two clean stops: no record twice
  EXPECT_EQ(Field(GetJob(client, "good"), "restarts"), "0");

  // SIGTERM: the server stops its jobs after their batch and exits 0.
  EXPECT_EQ(server.Kill(SIGTERM), 0) << server.Log();
}

TEST(Server, KilledWithSigkillAndRestartedResumesItsJobFromItsCheckpoint) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap();
  for (const char* topic : {"k-in", "k-out", "k-dlq"})
    ASSERT_TRUE((*broker)->CreateTopic(topic, 2).ok());
  testing::ProduceRecords(bootstrap, "k-in", Records(0, 4000, 2));

  const std::string dir = SetUpDir("eddy-server-kill");
  ServerProcess server(dir);
  ASSERT_TRUE(StartServer(server)) << server.Log();
  {
    auto client = AdminClient(server);
    auto submitted =
        client.Post("/api/v1/jobs?file=k.yaml",
                    CopyJob("k", bootstrap, "k-in", "k-out", "k-dlq", 10), "application/yaml");
    ASSERT_TRUE(submitted);
    ASSERT_EQ(submitted->status, 201) << submitted->body;
  }
  // Part of the input processed (batches of at most 20 records, back to
  // back while behind: 4,000 take 200 batches, seconds)...
  ASSERT_TRUE(WaitFor([&] { return OutputIds(bootstrap, "k-out").size() >= 60; }, 30));
  EXPECT_EQ(server.Kill(SIGKILL), 128 + SIGKILL);
  const size_t before_kill = OutputIds(bootstrap, "k-out").size();
  ASSERT_LT(before_kill, 4000u) << "the job finished before the kill; slow it down";
  // ... more input arrives while the server is down ...
  testing::ProduceRecords(bootstrap, "k-in", Records(4000, 4500, 2));

  ASSERT_TRUE(StartServer(server)) << server.Log();
  auto client = AdminClient(server);
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto ids = OutputIds(bootstrap, "k-out");
        return std::set<int64_t>(ids.begin(), ids.end()).size() >= 4500;
      },
      40))
      << server.Log();
  const auto ids = OutputIds(bootstrap, "k-out");
  // No input lost and, with exactly-once delivery (a batch cut by the kill
  // runs again and skips what it had written), none written twice: the job
  // resumed from its state rather than starting over.
  EXPECT_EQ(ids, Range(0, 4500));
  const std::string log = server.Log();
  EXPECT_NE(log.find("server: resuming job=k (was RUNNING)"), std::string::npos) << log;
  EXPECT_NE(log.find("job=k resuming after batch"), std::string::npos) << log;
  const std::string status = GetJob(client, "k");
  EXPECT_EQ(Field(status, "state"), "RUNNING") << status;
  EXPECT_EQ(Field(status, "desired_state"), "RUNNING");
}

}  // namespace
}  // namespace eddy

namespace eddy {
namespace {

// A job in SQL goes through the server as a YAML one does: `eddy submit
// job.sql` validates and runs it (the server reloads it from its registry
// by the .sql name); errors and inline credentials are refused with the
// SQL position.
TEST(Server, SqlJobsAreSubmittedRunAndRefusedAsYamlOnesAre) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok());
  const std::string bootstrap = (*broker)->bootstrap();
  for (const char* topic : {"sql-in", "sql-out"})
    ASSERT_TRUE((*broker)->CreateTopic(topic, 2).ok());
  testing::ProduceRecords(bootstrap, "sql-in", Records(0, 100, 2));

  const std::string dir = SetUpDir("eddy-server-sql");
  ServerProcess server(dir);
  ASSERT_TRUE(StartServer(server)) << server.Log();
  auto client = AdminClient(server);

  const std::string job =
      "SET name = 'sql-copy';\n"
      "SET kafka.brokers = '" +
      bootstrap +
      "';\n"
      "SET trigger.interval = '100ms';\n"
      "CREATE SOURCE input (id bigint NOT NULL, v text NOT NULL)\n"
      "  WITH (connector = 'kafka', topic = 'sql-in', format = 'json');\n"
      "CREATE SINK output WITH (connector = 'kafka', topic = 'sql-out', format = 'json')\n"
      "AS SELECT id, v FROM input WHERE id % 2 = 0;\n";
  const std::string job_file = dir + "/copy.sql";
  testing::WriteFile(job_file, job);
  const std::string env = "EDDY_SERVER=" + server.Url() + " EDDY_TOKEN=" + kAdminToken + " ";
  auto submitted = testing::RunShell(env + EDDY_BINARY " submit " + job_file);
  EXPECT_EQ(submitted.exit_code, 0) << submitted.output;
  EXPECT_NE(submitted.output.find("submitted sql-copy"), std::string::npos) << submitted.output;
  std::multiset<int64_t> even;
  for (int64_t id = 0; id < 100; id += 2) even.insert(id);
  EXPECT_TRUE(WaitFor([&] { return OutputIds(bootstrap, "sql-out").size() >= 50; }, 30));
  EXPECT_EQ(OutputIds(bootstrap, "sql-out"), even);

  // A mistake: the SQL file, line and column.
  auto bad =
      client.Post("/api/v1/jobs?file=bad.sql", "SET name = 'b';\nSELEC 1;", "application/sql");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(Field(bad->body, "error"),
            "bad.sql:2:1: syntax error at or near \"SELEC\" (expected PostgreSQL syntax, "
            "docs/sql.md)")
      << bad->body;
  // A credential written inline (no file name: application/sql says SQL).
  auto secret =
      client.Post("/api/v1/jobs", "SET kafka.properties.\"sasl.password\" = 'hunter2';\n" + job,
                  "application/sql");
  ASSERT_TRUE(secret);
  EXPECT_EQ(secret->status, 400);
  EXPECT_EQ(Field(secret->body, "error")
                .rfind("job.sql:1:1: kafka.properties.sasl.password: a credential", 0),
            0u)
      << secret->body;
  EXPECT_EQ(server.Kill(SIGTERM), 0) << server.Log();
}

}  // namespace
}  // namespace eddy
