// How a scaled-out job splits into stages at keyed operators whose input is
// not partitioned by their key (runtime/scale/job_stages.h). Planning only:
// nothing connects to a broker.

#include "runtime/scale/job_stages.h"

#include <gtest/gtest.h>

#include <string>

namespace eddy {
namespace {

// A job over `clicks` (user, page, ts), declared partitioned by
// `partitioned_by` ("" for unknown), with `operators`; the last operator
// feeds the sink.
std::string Job(const std::string& partitioned_by, const std::string& operators,
                const std::string& sink_input) {
  return "name: clicks\n"
         "kafka: { brokers: \"localhost:1\" }\n"
         "sources:\n"
         "  - name: clicks\n"
         "    kafka: { topics: [clicks], partitions: 6" +
         (partitioned_by.empty() ? "" : ", partitioned_by: [" + partitioned_by + "]") +
         " }\n"
         "    format: json\n"
         "    schema:\n"
         "      - { name: user, type: string }\n"
         "      - { name: page, type: string }\n"
         "      - { name: ts, type: timestamp }\n"
         "    event_time: { column: ts, max_out_of_orderness: 2s }\n"
         "operators:\n" +
         operators +
         "sinks:\n"
         "  - name: out\n"
         "    input: " +
         sink_input +
         "\n"
         "    kafka: { topic: out }\n"
         "    format: json\n"
         "scale: { mode: kafka, shared_dir: /tmp/shared }\n";
}

Result<std::vector<JobStage>> Split(const std::string& yaml) {
  auto job = LoadJobText(yaml, "job.yaml");
  if (!job.ok()) return job.status();
  ConnectorContext context;
  context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
    return Result<std::string>(brokers);
  };
  return SplitIntoStages(*job, context);
}

const char* kPerPage =
    "  - name: views\n"
    "    filter: page <> ''\n"
    "  - name: per_page\n"
    "    inputs: [views]\n"
    "    window: { key: [page], type: tumbling, size: 10s, aggregates: [\"count(*) AS n\"] }\n";

TEST(JobStages, AKeyTheInputIsPartitionedByNeedsNoSplit) {
  auto stages = Split(Job("page", kPerPage, "per_page"));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 1u);
  EXPECT_EQ((*stages)[0].leading_topic, "clicks");
  EXPECT_EQ((*stages)[0].dir, "shards");
  EXPECT_EQ((*stages)[0].job.spec.operators_size(), 2);
}

TEST(JobStages, AnotherKeySplitsThroughARepartitionTopicPartitionedByIt) {
  auto stages = Split(Job("user", kPerPage, "per_page"));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 2u);
  // Stage 0: the source and the filter, ending in the repartition sink.
  const spec::JobSpec& first = (*stages)[0].job.spec;
  ASSERT_EQ(first.operators_size(), 1);
  EXPECT_EQ(first.operators(0).name(), "views");
  ASSERT_EQ(first.sinks_size(), 1);
  EXPECT_EQ(first.sinks(0).name(), "per_page.repartition");
  EXPECT_EQ(first.sinks(0).input(), "views");
  EXPECT_EQ(first.sinks(0).kafka().topic(), "clicks.per_page.repartition");
  ASSERT_EQ(first.sinks(0).kafka().partition_by_size(), 1);
  EXPECT_EQ(first.sinks(0).kafka().partition_by(0), "page");
  // Stage 1: reads the topic as `views`, with its schema and event time,
  // and runs the window and the job's sink.
  const JobStage& second = (*stages)[1];
  EXPECT_EQ(second.starts_at, "per_page");
  EXPECT_EQ(second.leading_topic, "clicks.per_page.repartition");
  EXPECT_EQ(second.dir, "stages/per_page/shards");
  ASSERT_EQ(second.job.spec.sources_size(), 1);
  const spec::SourceSpec& source = second.job.spec.sources(0);
  EXPECT_EQ(source.name(), "views");
  ASSERT_EQ(source.schema_size(), 3);
  EXPECT_EQ(source.schema(1).name(), "page");
  EXPECT_EQ(source.event_time().column(), "ts");
  // The watermark comes through the topic, its bound already taken off.
  EXPECT_TRUE(source.kafka().upstream_watermarks());
  EXPECT_TRUE(first.sinks(0).kafka().forward_watermarks());
  EXPECT_EQ(source.event_time().max_out_of_orderness(), "");
  ASSERT_EQ(source.kafka().partitioned_by_size(), 1);
  EXPECT_EQ(source.kafka().partitioned_by(0), "page");
  ASSERT_EQ(second.job.spec.operators_size(), 1);
  EXPECT_EQ(second.job.spec.operators(0).name(), "per_page");
  ASSERT_EQ(second.job.spec.sinks_size(), 1);
  EXPECT_EQ(second.job.spec.sinks(0).name(), "out");
}

TEST(JobStages, ASecondKeySplitsAgainAndTheSameKeyDoesNot) {
  const std::string operators = std::string(kPerPage) +
                                "  - name: per_n\n"
                                "    inputs: [per_page]\n"
                                "    aggregate: { key: [n], aggregates: [\"count(*) AS pages\"] }\n"
                                "  - name: again\n"
                                "    inputs: [per_n]\n"
                                "    aggregate: { key: [n], aggregates: [\"sum(pages) AS s\"] }\n";
  auto stages = Split(Job("", operators, "again"));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 3u);
  EXPECT_EQ((*stages)[1].starts_at, "per_page");
  EXPECT_EQ((*stages)[2].starts_at, "per_n");
  EXPECT_EQ((*stages)[2].job.spec.operators_size(), 2);  // per_n and again
  EXPECT_EQ((*stages)[1].job.spec.sinks(0).kafka().topic(), "clicks.per_n.repartition");
}

TEST(JobStages, ALookupJoinOnAnotherKeyIsRefusedNamingTheOperator) {
  const std::string yaml = Job("user",
                               "  - name: joined\n"
                               "    inputs: [clicks, pages]\n"
                               "    lookup_join: { key: page, table_key: page }\n",
                               "joined");
  std::string with_table = yaml;
  with_table.replace(with_table.find("operators:"), 0,
                     "  - name: pages\n"
                     "    kafka: { topics: [pages], partitions: 6 }\n"
                     "    format: json\n"
                     "    schema:\n"
                     "      - { name: page, type: string }\n"
                     "      - { name: title, type: string }\n");
  auto stages = Split(with_table);
  ASSERT_FALSE(stages.ok());
  EXPECT_NE(stages.status().ToString().find("operators[0]"), std::string::npos)
      << stages.status().ToString();
  EXPECT_NE(stages.status().ToString().find("declare kafka.partitioned_by"), std::string::npos)
      << stages.status().ToString();
}

TEST(JobStages, APartitionedByColumnNotInTheSchemaIsRefused) {
  auto stages = Split(Job("usr", kPerPage, "per_page"));
  ASSERT_FALSE(stages.ok());
  EXPECT_NE(stages.status().ToString().find("no column 'usr'"), std::string::npos)
      << stages.status().ToString();
}

}  // namespace
}  // namespace eddy
