// The Fashion-MNIST example end to end on the embedded broker over TCP:
// jobs/fashion-mnist-producer.yaml writes the first 2,000 images to Kafka as
// PNG records, three damaged records are added by a plain producer, and
// jobs/fashion-mnist-hog-mlp.yaml decodes, extracts HOG features and learns
// them prequentially. Checks the exact counts (records, learned images,
// dead letters with their reasons) and the accuracy, which is deterministic
// (same offsets, same batches, seeded model) and so asserted exactly.

#include <gtest/gtest.h>
#include <simdjson.h>
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

constexpr int kImages = 2000;

// A FashionImage record (jobs/fashion_mnist.proto) written field by field:
// index (1, varint), label (2, varint), image (3, bytes).
std::string FashionImageRecord(int64_t index, int64_t label, const std::string& image) {
  std::string out;
  auto varint = [&out](uint64_t value) {
    while (value >= 0x80) {
      out.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<char>(value));
  };
  out.push_back(0x08);
  varint(static_cast<uint64_t>(index));
  out.push_back(0x10);
  varint(static_cast<uint64_t>(label));
  out.push_back(0x1a);
  varint(image.size());
  out += image;
  return out;
}

class ImagePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    dir_ = testing::MakeTempDir("eddy-images");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs jobs/`name`.yaml once against the broker, with `change` applied to
  // its spec.
  Result<RunSummary> RunJobFile(const std::string& name,
                                const std::function<void(spec::JobSpec*)>& change = {}) {
    const std::map<std::string, std::string> vars = {{"IMAGES", std::to_string(kImages)},
                                                     {"KAFKA_BROKERS", "embedded"}};
    EnvLookup env = [vars](std::string_view var) -> std::optional<std::string> {
      auto it = vars.find(std::string(var));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    auto job = LoadAnyJobFile("jobs/" + name + ".yaml", env);
    if (!job.ok()) return job.status();
    job->spec.mutable_state()->set_dir(dir_ + "/state-" + name);
    if (change) change(&job->spec);
    ConnectorContext context;
    EmbeddedBroker* broker = broker_.get();
    context.resolve_brokers = [broker](const std::string& brokers, const std::string& topic,
                                       int partitions) -> Result<std::string> {
      if (brokers != "embedded") return brokers;
      if (!topic.empty()) EDDY_RETURN_IF_ERROR(broker->CreateTopic(topic, partitions));
      return broker->bootstrap();
    };
    auto plan = PlanJob(std::move(job).value(), context);
    if (!plan.ok()) return plan.status();
    ExecutorOptions options;
    options.once = true;
    options.threads = 2;
    return RunJob(**plan, options);
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  std::string dir_;
};

TEST_F(ImagePipelineTest, PngsThroughKafkaAreLearnedWithHogAndAnMlpAndBadOnesDeadLettered) {
  Result<RunSummary> produced = RunJobFile("fashion-mnist-producer");
  ASSERT_TRUE(produced.ok()) << produced.status().ToString();

  // Exactly the first 2,000 images, image i in partition i % 8, in order.
  std::vector<testing::TestRecord> records =
      testing::ConsumeAll(broker_->bootstrap(), "fashion-mnist");
  ASSERT_EQ(records.size(), static_cast<size_t>(kImages));
  for (const testing::TestRecord& record : records) {
    ASSERT_TRUE(record.value.find("\x89PNG") != std::string::npos);
  }
  EXPECT_EQ(records[0].partition, 0);

  // Damaged records after them: not an image, a truncated PNG, no image.
  const std::string png = records[0].value.substr(records[0].value.find("\x89PNG"));
  std::vector<testing::TestRecord> damaged(3);
  damaged[0].value = FashionImageRecord(90'000, 1, "this is no image");
  damaged[1].value = FashionImageRecord(90'001, 2, png.substr(0, png.size() / 2));
  damaged[2].value = FashionImageRecord(90'002, 3, "");
  for (testing::TestRecord& record : damaged) record.partition = 0;
  testing::ProduceRecords(broker_->bootstrap(), "fashion-mnist", damaged);

  const std::string quality = dir_ + "/quality.jsonl";
  const std::string dead = dir_ + "/dead.jsonl";
  Result<RunSummary> learned = RunJobFile("fashion-mnist-hog-mlp", [&](spec::JobSpec* spec) {
    spec::SinkSpec* sink = spec->mutable_sinks(0);
    sink->clear_kind();
    sink->mutable_file()->set_path(quality);
    spec->mutable_dead_letter()->mutable_file()->set_path(dead);
  });
  ASSERT_TRUE(learned.ok()) << learned.status().ToString();

  // One metrics row per batch; the last covers every decoded image.
  const std::string text = testing::ReadFile(quality);
  const std::string last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  simdjson::dom::parser parser;
  simdjson::dom::element row = parser.parse(last);
  EXPECT_EQ(int64_t(row["rows"]), kImages) << last;
  const double accuracy = double(row["accuracy"]);
  // Chance is 0.1. The figure is deterministic (the same offsets make the
  // same two batches, the model is seeded), so it is pinned: 1,400 of the
  // 2,000 images predicted right before they were learned.
  EXPECT_GT(accuracy, 0.6) << last;
  EXPECT_DOUBLE_EQ(accuracy, 0.7) << last;
  EXPECT_EQ(int64_t(row["batch_id"]), 2) << last;

  const std::string letters = testing::ReadFile(dead);
  EXPECT_EQ(std::count(letters.begin(), letters.end(), '\n'), 3) << letters;
  EXPECT_NE(letters.find("cannot decode the PNG image"), std::string::npos) << letters;
  EXPECT_NE(letters.find("not a PNG image (16 bytes, starting 74 68 69 73 20 69 73 20)"),
            std::string::npos)
      << letters;
  EXPECT_NE(letters.find("the image is empty (0 bytes)"), std::string::npos) << letters;
}

}  // namespace
}  // namespace eddy
