// Every job under jobs/ exists twice, as YAML and as SQL (docs/sql.md). Each
// pair runs here on the same input, small, in once mode: sources as
// written (generators, or Kafka topics on an embedded broker over TCP with
// the same records), each sink redirected to a file of its own, and the
// outputs of the two forms compared byte for byte, dead letters included.

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/sql/sql.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

struct Outputs {
  std::map<std::string, std::string> files;  // sink name (or "dead letters") -> content
};

class SqlTwinsTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value().release();
    ASSERT_TRUE(broker_->CreateTopic("ad-events", 3).ok());
    // YSB-shaped ad events, a few malformed ones among them (dead letters).
    std::vector<testing::TestRecord> records;
    const char* types[] = {"view", "click", "purchase"};
    for (int idx = 0; idx < 300; ++idx) {
      testing::TestRecord record;
      record.partition = idx % 3;
      if (idx % 50 == 7) {
        record.value = R"({"user_id":"u1","event_time":"not a time"})";
      } else {
        char buf[512];
        std::snprintf(buf, sizeof(buf),
                      R"({"user_id":"u%d","page_id":"p%d","ad_id":"ad-%d","ad_type":"%s",)"
                      R"("event_type":"%s","event_time":"2026-01-01T00:00:%02d.%03dZ",)"
                      R"("ip_address":"%s"})",
                      idx % 17, idx % 5, idx % 11, idx % 2 ? "banner" : "video", types[idx % 3],
                      idx / 10, idx % 1000, idx % 4 ? "10.0.0.1" : "192.168.1.1");
        record.value = buf;
      }
      records.push_back(record);
    }
    testing::ProduceRecords(broker_->bootstrap(), "ad-events", records);
    // The fashion-mnist jobs read the first 300 images, as the producer job
    // writes them.
    ProduceImages();
  }

  static void ProduceImages() {
    EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
      if (name == "IMAGES") return std::string("300");
      if (name == "KAFKA_BROKERS") return std::string("embedded");
      return std::nullopt;
    };
    auto job = LoadAnyJobFile("jobs/fashion-mnist-producer.yaml", env);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    job->spec.mutable_state()->set_dir(testing::MakeTempDir("eddy-sql-twin-images"));
    auto plan = PlanJob(std::move(job).value(), Context());
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ExecutorOptions options;
    options.once = true;
    auto summary = RunJob(**plan, options);
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    ASSERT_EQ(summary->records_in, 300);
  }

  // Kafka connectors that name the embedded broker talk to broker_.
  static ConnectorContext Context() {
    ConnectorContext context;
    context.resolve_brokers = [](const std::string& brokers, const std::string& topic,
                                 int partitions) -> Result<std::string> {
      if (brokers != "embedded") return brokers;
      if (!topic.empty()) EDDY_RETURN_IF_ERROR(broker_->CreateTopic(topic, partitions));
      return broker_->bootstrap();
    };
    return context;
  }

  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }

  // Runs one form of the job with its sinks writing files under `dir`.
  Outputs Run(const std::string& file, const std::string& dir) {
    std::filesystem::create_directories(dir);
    const std::map<std::string, std::string> vars = {{"ROWS", "3000"},
                                                     {"IMAGES", "300"},
                                                     {"EVENTS", "30000"},
                                                     {"RATE", "0"},
                                                     {"OUT", dir + "/out"},
                                                     {"STATE_DIR", dir + "/state"},
                                                     {"KAFKA_BROKERS", "embedded"},
                                                     {"KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"}};
    EnvLookup env = [vars](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    auto job = LoadAnyJobFile(file, env);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok()) return {};
    spec::JobSpec& spec = job->spec;
    spec.mutable_state()->set_dir(dir + "/state");
    // SASL is for a real cluster; the embedded broker speaks plaintext.
    spec.mutable_kafka()->mutable_properties()->erase("sasl.mechanism");
    spec.mutable_kafka()->mutable_properties()->erase("sasl.username");
    spec.mutable_kafka()->mutable_properties()->erase("sasl.password");
    for (spec::SinkSpec& sink : *spec.mutable_sinks()) {
      sink.clear_kind();
      sink.mutable_file()->set_path(dir + "/" + sink.name() + ".out");
      // A file holds text: a binary format is compared as JSON.
      if (sink.format().type() == "protobuf") {
        sink.mutable_format()->Clear();
        sink.mutable_format()->set_type("json");
      }
    }
    spec.mutable_dead_letter()->mutable_file()->set_path(dir + "/dead-letters.out");
    auto plan = PlanJob(std::move(job).value(), Context());
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    if (!plan.ok()) return {};
    ExecutorOptions options;
    options.once = true;
    options.threads = 2;
    auto summary = RunJob(**plan, options);
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    Outputs outputs;
    for (const spec::SinkSpec& sink : (*plan)->job.spec.sinks()) {
      outputs.files[sink.name()] = testing::ReadFile(dir + "/" + sink.name() + ".out");
    }
    const std::string dead = dir + "/dead-letters.out";
    outputs.files["dead letters"] =
        std::filesystem::exists(dead) ? testing::ReadFile(dead) : std::string();
    return outputs;
  }

  static EmbeddedBroker* broker_;
};

EmbeddedBroker* SqlTwinsTest::broker_ = nullptr;

TEST_P(SqlTwinsTest, SqlTwinWritesWhatTheYamlJobWrites) {
  const std::string name = GetParam();
  const std::string dir = testing::MakeTempDir("eddy-sql-twin-" + name);
  const Outputs yaml = Run("jobs/" + name + ".yaml", dir + "/yaml");
  const Outputs sql = Run("jobs/" + name + ".sql", dir + "/sql");
  ASSERT_FALSE(yaml.files.empty());
  ASSERT_EQ(yaml.files.size(), sql.files.size());
  size_t rows = 0;
  for (const auto& [sink, content] : yaml.files) {
    SCOPED_TRACE(sink);
    ASSERT_EQ(sql.files.count(sink), 1u);
    // Whole files compared: identical rows, in the same order.
    EXPECT_EQ(sql.files.at(sink), content);
    rows += static_cast<size_t>(std::count(content.begin(), content.end(), '\n'));
  }
  // Something ran: a pair of empty outputs would prove nothing.
  EXPECT_GT(rows, 0u);
  std::filesystem::remove_all(dir);
}

const std::vector<std::string> kTwins = {"ad-generator",
                                         "ad-pipeline",
                                         "ad-pipeline-sasl",
                                         "fashion-mnist-hog-forest",
                                         "fashion-mnist-hog-mlp",
                                         "fashion-mnist-pixels-sgd",
                                         "fashion-mnist-producer",
                                         "learn-agrawal-adaptive-tree",
                                         "learn-kmeans-blobs",
                                         "learn-rbf-forest",
                                         "learn-regression",
                                         "learn-sea-hoeffding-tree",
                                         "learn-sea-leveraging-bagging",
                                         "learn-sgd-classifier",
                                         "learn-tree-regressor",
                                         "learn-windowed-accuracy",
                                         "ui-demo",
                                         "ysb-campaign-windows"};

// Jobs that cannot run bounded here, and why.
const std::map<std::string, std::string> kNotRunHere = {
    {"scale-out-clicks", "instances of a consumer group on a shared broker (docs/scale-out.md)"},
    {"scale-out-lookup", "instances of a consumer group on a shared broker (docs/scale-out.md)"},
    {"scale-out-page-windows",
     "instances of a consumer group on a shared broker (docs/scale-out.md)"},
    {"scale-out-pages", "instances of a consumer group on a shared broker (docs/scale-out.md)"}};

// A new YAML job without a twin in the list fails here.
TEST(SqlTwinsList, EveryYamlJobIsRunAsATwinOrSaysWhyNot) {
  for (const auto& entry : std::filesystem::directory_iterator("jobs")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().stem().string();
    if (kNotRunHere.count(name) != 0) continue;
    EXPECT_NE(std::find(kTwins.begin(), kTwins.end(), name), kTwins.end())
        << "jobs/" << name << ".yaml is not run against a SQL twin";
    EXPECT_TRUE(std::filesystem::exists("jobs/" + name + ".sql")) << name << " has no SQL twin";
  }
}

INSTANTIATE_TEST_SUITE_P(Jobs, SqlTwinsTest, ::testing::ValuesIn(kTwins),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace eddy
