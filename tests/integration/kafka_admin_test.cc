// Topics Eddy creates itself (connectors/kafka/kafka_admin.h), against the
// embedded broker over TCP. librdkafka's mock cluster does not implement
// CreateTopics (shared/KAFKA-NOTES.md), so what is tested here is what a
// start must do on such a broker: tell a missing topic apart (the caller
// names it and its partition count), accept a topic created by hand with
// the right count, and refuse one with another count.

#include "connectors/kafka/kafka_admin.h"

#include <gtest/gtest.h>

#include "connectors/kafka/embedded_broker.h"

namespace eddy {
namespace {

class KafkaAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = EmbeddedBroker::Start({});
    ASSERT_TRUE(broker.ok()) << broker.status().ToString();
    broker_ = std::move(broker).value();
    config_.brokers = broker_->bootstrap();
  }

  std::unique_ptr<EmbeddedBroker> broker_;
  KafkaClientConfig config_;
};

TEST_F(KafkaAdminTest, ABrokerWithoutCreateTopicsLeavesAMissingTopicMissing) {
  TopicRequest request{"job.op.repartition", 6, -1, {{"cleanup.policy", "delete"}}};
  auto outcome = EnsureTopic(config_, request);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, TopicOutcome::kCannotCreate);
  // Asking did not make the broker auto-create it with its default count
  // (the mock's is 4): asked again, it is still missing, not wrong.
  auto again = EnsureTopic(config_, request);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, TopicOutcome::kCannotCreate);
}

TEST_F(KafkaAdminTest, ATopicCreatedByHandWithTheRightCountIsAccepted) {
  ASSERT_TRUE(broker_->CreateTopic("job.op.repartition", 6).ok());
  auto outcome = EnsureTopic(config_, {"job.op.repartition", 6, -1, {}});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, TopicOutcome::kExisted);
}

TEST_F(KafkaAdminTest, ATopicWithAnotherPartitionCountIsRefusedNamingBothCounts) {
  ASSERT_TRUE(broker_->CreateTopic("job.op.repartition", 4).ok());
  auto outcome = EnsureTopic(config_, {"job.op.repartition", 6, -1, {}});
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(outcome.status().message().find(
                "Kafka topic 'job.op.repartition' exists with 4 partitions, but 6 are needed"),
            std::string::npos)
      << outcome.status().ToString();
}

TEST_F(KafkaAdminTest, NoPartitionCountIsAnError) {
  auto outcome = EnsureTopic(config_, {"t", 0, -1, {}});
  EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace eddy
