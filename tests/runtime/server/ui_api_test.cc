// The web UI's endpoints (runtime/server/ui_routes.h) and the JobMonitor
// behind them, in-process: a JobMonitor fed with made-up batch reports, an
// httplib server on loopback with the UI's routes, and exact answers.

#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <thread>

#include "runtime/core/json_string.h"
#include "runtime/server/auth.h"
#include "runtime/server/job_monitor.h"
#include "runtime/server/json_writer.h"
#include "runtime/server/ui_routes.h"
#include "runtime/spec/secrets.h"
#include "runtime/ui/ui_assets.h"

namespace eddy::server {
namespace {

constexpr char kAdmin[] = "admin-token-0123456789";
constexpr char kRead[] = "read-token-0123456789";

NodeStats Node(const std::string& name, DagNode::Kind kind, int64_t in, int64_t out,
               int64_t dead = 0) {
  NodeStats node;
  node.name = name;
  node.kind = kind;
  node.rows_in = in;
  node.rows_out = out;
  node.dead_letters = dead;
  return node;
}

// Batch `id` read `rows` rows: source -> learner -> sink.
BatchReport Report(int64_t id, int64_t rows) {
  BatchReport report;
  report.batch_id = id;
  report.records_in = rows;
  report.records_out = rows;
  report.lag = 100 - id;
  report.total_seconds = 0.5;
  report.fetch_seconds = 0.1;
  report.process_seconds = 0.2;
  report.sink_seconds = 0.15;
  report.nodes = {Node("gen", DagNode::Kind::kSource, rows, rows),
                  Node("tree", DagNode::Kind::kOperator, rows, rows, id == 2 ? 1 : 0),
                  Node("out", DagNode::Kind::kSink, rows, rows)};
  // Watermark 1.5 s behind the batch's end (unix_ms = id * 1000).
  report.watermarks = {{"gen", TimestampMicros{id * 1000000 - 1500000}}};
  OperatorStatus status;
  status.figures = {{"model_version", static_cast<double>(id)}, {"accuracy", 0.5 + 0.1 * id}};
  status.series = {{"cluster_weight", {1.0, 2.0}}};
  report.operator_status = {{"tree", status}};
  if (id == 2) {
    report.checkpointed = true;
    report.checkpoint_seconds = 0.25;
    report.checkpoint_bytes = 4096;
    report.state_sizes = {{"tree", 2048, 3}};
  }
  return report;
}

simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS) << body;
  return doc;
}

class UiApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto auth = TokenAuth::Parse(std::string(kAdmin) + " admin\n" + kRead + " read\n", "tokens");
    ASSERT_TRUE(auth.ok()) << auth.status().ToString();
    auth_ = std::move(auth).value();
    for (int64_t id = 1; id <= 3; ++id) monitor_->RecordBatch(Report(id, id * 10), id * 1000);
    record_.set_id("job-a");
    record_.set_file_name("job-a.yaml");
    RegisterUi(http_, &auth_, [this](const std::string& id) -> std::optional<UiJob> {
      if (id != "job-a") return std::nullopt;
      return UiJob{record_, monitor_};
    });
    port_ = http_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    listener_ = std::thread([this] { http_.listen_after_bind(); });
    // A stop() before the listener runs would be lost.
    while (!http_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    http_.stop();
    if (listener_.joinable()) listener_.join();
  }

  httplib::Result Get(const std::string& path, const std::string& token = kRead) {
    httplib::Client client("127.0.0.1", port_);
    if (!token.empty()) client.set_bearer_token_auth(token);
    return client.Get(path);
  }

  TokenAuth auth_;
  std::shared_ptr<JobMonitor> monitor_ = std::make_shared<JobMonitor>();
  JobRecord record_;
  httplib::Server http_;
  int port_ = 0;
  std::thread listener_;
};

TEST_F(UiApiTest, HistoryHoldsEveryBatchsPhasesWatermarksCheckpointsAndQuality) {
  auto res = Get("/api/v1/jobs/job-a/history");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  simdjson::dom::parser parser;
  auto doc = Parse(parser, res->body);
  EXPECT_EQ(simdjson::minify(doc["sources"]), R"(["gen"])");
  auto points = doc["points"].get_array().value();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(simdjson::minify(points.at(1)),
            R"({"batch_id":2,"unix_ms":2000,"records_in":20,"records_out":20,"dead_letters":0,)"
            R"("records_per_second":40,"lag":98,"seconds":0.5,"fetch_seconds":0.1,)"
            R"("process_seconds":0.2,"sink_seconds":0.15,"checkpoint_seconds":0.25,)"
            R"("run_start":false,"watermark_delay_seconds":[1.5]})");
  EXPECT_EQ(simdjson::minify(doc["checkpoints"]),
            R"([{"batch_id":2,"unix_ms":2000,"seconds":0.25,"bytes":4096,"error":"",)"
            R"("state":[{"operator":"tree","bytes":2048,"estimated_keys":3}]}])");
  auto learners = doc["learners"].get_array().value();
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(std::string(learners.at(0)["operator"].get_string().value()), "tree");
  EXPECT_EQ(simdjson::minify(learners.at(0)["points"].at(2)),
            R"({"batch_id":3,"unix_ms":3000,"figures":{"model_version":3,"accuracy":0.8},)"
            R"("series":{"cluster_weight":[1,2]}})");

  // since_batch: only what the page has not seen yet.
  res = Get("/api/v1/jobs/job-a/history?since_batch=2");
  ASSERT_TRUE(res);
  doc = Parse(parser, res->body);
  ASSERT_EQ(doc["points"].get_array().value().size(), 1u);
  EXPECT_EQ(int64_t(doc["points"].at(0)["batch_id"]), 3);
  EXPECT_EQ(doc["learners"].at(0)["points"].get_array().value().size(), 1u);

  res = Get("/api/v1/jobs/job-a/history?since_batch=two");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, R"({"error":"since_batch: expected a batch id"})"
                       "\n");
}

TEST_F(UiApiTest, OperatorsShowLastBatchAndRatesOverTheWindow) {
  auto res = Get("/api/v1/jobs/job-a/operators");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  simdjson::dom::parser parser;
  auto doc = Parse(parser, res->body);
  EXPECT_EQ(int64_t(doc["batch_id"]), 3);
  // Rows of batches 2 and 3 (20 + 30) over the 2 s since batch 1 ended.
  EXPECT_EQ(simdjson::minify(doc["nodes"].at(1)),
            R"({"name":"tree","kind":"operator","rows_in":30,"rows_out":30,"bytes_out":0,)"
            R"("dead_letters":0,"rows_in_per_second":25,"rows_out_per_second":25,)"
            R"("total_rows_in":60,"total_rows_out":60,"total_dead_letters":1,)"
            R"("seconds_per_batch":null,"state_bytes":2048})");
  EXPECT_EQ(std::string(doc["nodes"].at(0)["kind"].get_string().value()), "source");
  EXPECT_EQ(std::string(doc["nodes"].at(2)["kind"].get_string().value()), "sink");
  EXPECT_DOUBLE_EQ(monitor_->RecordsPerSecond(), 25.0);
}

TEST_F(UiApiTest, HistoryKeepsTheNewestPointsAndRatesSpanOnlyTheWindow) {
  MonitorOptions options;
  options.points = 4;
  options.rate_window_ms = 2000;
  JobMonitor small(options);
  EXPECT_EQ(small.RecordsPerSecond(), 0);
  for (int64_t id = 1; id <= 6; ++id) small.RecordBatch(Report(id, id), id * 1000);
  JsonWriter json;
  small.WriteHistory(json, -1);
  simdjson::dom::parser parser;
  auto doc = Parse(parser, json.str());
  auto points = doc["points"].get_array().value();
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(int64_t(points.at(0)["batch_id"]), 3);
  // Window of 2 s before batch 6: batches 5 and 6 (11 rows) since batch 4 ended.
  EXPECT_DOUBLE_EQ(small.RecordsPerSecond(), 5.5);
}

TEST_F(UiApiTest, DeadLettersKeepReasonAndOriginNewestFirstNeverTheData) {
  MonitorOptions options;
  options.dead_letters = 2;
  auto monitor = std::make_shared<JobMonitor>(options);
  DeadLetters letters;
  for (int idx = 0; idx < 3; ++idx) {
    DeadLetter letter;
    letter.reason = "field 'price': expected double, got string #" + std::to_string(idx);
    letter.node = "clicks";
    letter.topic = "ads";
    letter.partition = 1;
    letter.offset = 40 + idx;
    letter.key = "secret-key";
    letter.value = "{\"price\":\"secret-value\"}";
    letters.push_back(letter);
  }
  monitor->RecordDeadLetters(letters, 7, 7000);
  JsonWriter json;
  monitor->WriteDeadLetters(json);
  EXPECT_EQ(json.str(),
            R"({"total":3,"dead_letters":[)"
            R"({"batch_id":7,"unix_ms":7000,"node":"clicks","reason":"field 'price': expected )"
            R"(double, got string #2","topic":"ads","partition":1,"offset":42},)"
            R"({"batch_id":7,"unix_ms":7000,"node":"clicks","reason":"field 'price': expected )"
            R"(double, got string #1","topic":"ads","partition":1,"offset":41}]})");
  EXPECT_EQ(json.str().find("secret"), std::string::npos);
}

TEST_F(UiApiTest, JobFileIsServedAsSubmittedWithSecretValuesScrubbed) {
  ::setenv("UI_TEST_PASSWORD", "s3cret-pw-value", 1);
  const std::string text =
      "name: job-a\ndescription: the password is s3cret-pw-value\n"
      "kafka:\n  properties:\n    sasl.password: ${UI_TEST_PASSWORD}\n"
      "sources: [{name: g, generator: {kind: ysb}}]\nsinks: [{name: o, stdout: {}}]\n";
  record_.set_job_text(text);
  auto res = Get("/api/v1/jobs/job-a/file");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  std::string expected = text;
  expected.replace(expected.find("s3cret-pw-value"), 15, kRedacted);
  EXPECT_EQ(res->body,
            std::string(R"({"file_name":"job-a.yaml","text":)") + JsonString(expected) + "}\n");
  ::unsetenv("UI_TEST_PASSWORD");
}

TEST_F(UiApiTest, WhoamiTellsTheRoleAndUnknownJobsAre404) {
  auto res = Get("/api/v1/whoami", kAdmin);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "{\"role\":\"admin\",\"tokens_required\":true}\n");
  res = Get("/api/v1/whoami", kRead);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "{\"role\":\"read\",\"tokens_required\":true}\n");
  for (const char* path : {"/api/v1/jobs/nope/history", "/api/v1/jobs/nope/operators",
                           "/api/v1/jobs/nope/dead-letters", "/api/v1/jobs/nope/file"}) {
    res = Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(res->body, "{\"error\":\"no job 'nope'\"}\n");
  }
}

TEST(UiRoutes, WithoutTokensEveryoneIsAdmin) {
  httplib::Server http;
  RegisterUi(http, nullptr, [](const std::string&) { return std::nullopt; });
  const int port = http.bind_to_any_port("127.0.0.1");
  std::thread listener([&http] { http.listen_after_bind(); });
  while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/api/v1/whoami");
  http.stop();
  listener.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "{\"role\":\"admin\",\"tokens_required\":false}\n");
}

TEST_F(UiApiTest, PagesAreEmbeddedAndDeepLinksGetTheIndex) {
  auto index = Get("/ui/", "");
  ASSERT_TRUE(index);
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("/ui/assets/app.js"), std::string::npos);
  EXPECT_EQ(index->get_header_value("Content-Security-Policy").rfind("default-src 'self'", 0), 0u);
  auto deep = Get("/ui/jobs/job-a", "");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->body, index->body);
  auto script = Get("/ui/assets/app.js", "");
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script->body, std::string(ui::FindAsset("assets/app.js")->body()));
  EXPECT_GT(script->body.size(), 10000u);  // uPlot and dagre are in it
  EXPECT_EQ(script->get_header_value("Cache-Control"), "no-cache");
  // index.html links each file by its content's hash: those are kept for good.
  const size_t link = index->body.find("/ui/assets/app.js?v=");
  ASSERT_NE(link, std::string::npos) << index->body;
  const std::string versioned = index->body.substr(link, index->body.find('"', link) - link);
  EXPECT_EQ(versioned.size(), std::string("/ui/assets/app.js?v=").size() + 12);
  auto cached = Get(versioned, "");
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->body, script->body);
  EXPECT_EQ(cached->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  auto style = Get("/ui/assets/app.css", "");
  ASSERT_TRUE(style);
  EXPECT_NE(style->body.find(".uplot"), std::string::npos);
  auto missing = Get("/ui/assets/nope.js", "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto root = Get("/", "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 302);
  EXPECT_EQ(root->get_header_value("Location"), "/ui/");
}

}  // namespace
}  // namespace eddy::server
