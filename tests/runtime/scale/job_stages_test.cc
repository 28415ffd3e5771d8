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

// `Job` with a second source, the table `pages` (page, title), declared
// partitioned by `table_partitioned_by` ("" for unknown).
std::string WithPages(std::string yaml, const std::string& table_partitioned_by) {
  yaml.replace(
      yaml.find("operators:"), 0,
      "  - name: pages\n"
      "    kafka: { topics: [pages], partitions: 6" +
          (table_partitioned_by.empty() ? std::string()
                                        : ", partitioned_by: [" + table_partitioned_by + "]") +
          " }\n"
          "    format: json\n"
          "    schema:\n"
          "      - { name: page, type: string }\n"
          "      - { name: title, type: string }\n");
  return yaml;
}

std::string LookupJoin(const std::string& key) {
  return "  - name: joined\n"
         "    inputs: [clicks, pages]\n"
         "    lookup_join: { key: \"" +
         key +
         "\", table_key: page }\n"
         "  - name: per_title\n"
         "    inputs: [joined]\n"
         "    aggregate: { key: [title], aggregates: [\"count(*) AS n\"] }\n";
}

TEST(JobStages, ALookupJoinWhoseSidesArePartitionedByTheirKeysNeedsNoSplit) {
  auto stages = Split(WithPages(Job("page", LookupJoin("page"), "joined"), "page"));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  // Only the aggregate on title splits; the join stays with the sources.
  ASSERT_EQ(stages->size(), 2u);
  EXPECT_EQ((*stages)[0].job.spec.operators(0).name(), "joined");
  EXPECT_EQ((*stages)[1].starts_at, "per_title");
  EXPECT_TRUE((*stages)[0].repartition_topics.empty());
  EXPECT_EQ((*stages)[1].repartition_topics,
            std::vector<std::string>{"clicks.per_title.repartition"});
}

// The stream keyed by user joins a table on page: both sides go through a
// topic of their own, routed by key group, into the join's stage.
TEST(JobStages, ALookupJoinOnAnotherKeyRepartitionsBothSides) {
  auto stages = Split(WithPages(Job("user", LookupJoin("page"), "per_title"), ""));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 3u);
  // Stage 0: both sources, no operator, a repartition sink for each side.
  const spec::JobSpec& first = (*stages)[0].job.spec;
  ASSERT_EQ(first.sources_size(), 2);
  EXPECT_EQ(first.operators_size(), 0);
  ASSERT_EQ(first.sinks_size(), 2);
  EXPECT_EQ(first.sinks(0).name(), "joined.repartition");
  EXPECT_EQ(first.sinks(0).input(), "clicks");
  EXPECT_EQ(first.sinks(0).kafka().topic(), "clicks.joined.repartition");
  ASSERT_EQ(first.sinks(0).kafka().partition_by_size(), 1);
  EXPECT_EQ(first.sinks(0).kafka().partition_by(0), "page");
  EXPECT_EQ(first.sinks(1).name(), "joined.table.repartition");
  EXPECT_EQ(first.sinks(1).input(), "pages");
  EXPECT_EQ(first.sinks(1).kafka().topic(), "clicks.joined.table.repartition");
  ASSERT_EQ(first.sinks(1).kafka().partition_by_size(), 1);
  EXPECT_EQ(first.sinks(1).kafka().partition_by(0), "page");
  EXPECT_EQ(first.sinks(0).kafka().partitions(), first.sinks(1).kafka().partitions());
  // Stage 1: the stream's topic leads, the table's second, each read as
  // the input it carries; the join and the stage's repartition sink.
  const JobStage& join = (*stages)[1];
  EXPECT_EQ(join.starts_at, "joined");
  EXPECT_EQ(join.leading_topic, "clicks.joined.repartition");
  EXPECT_EQ(join.dir, "stages/joined/shards");
  EXPECT_EQ(join.repartition_topics, (std::vector<std::string>{"clicks.joined.repartition",
                                                               "clicks.joined.table.repartition"}));
  ASSERT_EQ(join.job.spec.sources_size(), 2);
  const spec::SourceSpec& stream = join.job.spec.sources(0);
  EXPECT_EQ(stream.name(), "clicks");
  EXPECT_EQ(stream.kafka().topics(0), "clicks.joined.repartition");
  EXPECT_EQ(stream.event_time().column(), "ts");  // the stream keeps its event time
  ASSERT_EQ(stream.schema_size(), 3);
  const spec::SourceSpec& table = join.job.spec.sources(1);
  EXPECT_EQ(table.name(), "pages");
  EXPECT_EQ(table.kafka().topics(0), "clicks.joined.table.repartition");
  EXPECT_EQ(table.kafka().partitions(), stream.kafka().partitions());
  ASSERT_EQ(table.kafka().partitioned_by_size(), 1);
  EXPECT_EQ(table.kafka().partitioned_by(0), "page");
  ASSERT_EQ(table.schema_size(), 2);
  EXPECT_FALSE(table.has_event_time());
  ASSERT_EQ(join.job.spec.operators_size(), 1);
  EXPECT_EQ(join.job.spec.operators(0).name(), "joined");
  ASSERT_EQ(join.job.spec.sinks_size(), 1);
  EXPECT_EQ(join.job.spec.sinks(0).kafka().topic(), "clicks.per_title.repartition");
  // Stage 2: the aggregate on title and the job's sink.
  EXPECT_EQ((*stages)[2].starts_at, "per_title");
  EXPECT_EQ((*stages)[2].job.spec.sinks(0).name(), "out");
}

// A stream partitioned by its key is not enough: the table's producer
// partitioned it its own way, which the key-group mapping does not follow.
TEST(JobStages, ALookupJoinWhoseTableIsNotPartitionedByItsKeyRoutesBothSides) {
  auto stages = Split(WithPages(Job("page", LookupJoin("page"), "joined"), ""));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 3u);
  EXPECT_EQ((*stages)[1].starts_at, "joined");
  EXPECT_EQ((*stages)[1].job.spec.sources_size(), 2);
}

// The stream's key is an expression: the stream side is routed by it, so
// its value meets the table key's value (one type, one encoding).
TEST(JobStages, ALookupJoinKeyExpressionRoutesTheStreamByItsValue) {
  auto stages = Split(WithPages(Job("user", LookupJoin("lower(page)"), "joined"), "page"));
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  const spec::JobSpec& first = (*stages)[0].job.spec;
  ASSERT_EQ(first.sinks_size(), 2);
  EXPECT_EQ(first.sinks(0).kafka().partition_by(0), "lower(page)");
  EXPECT_EQ(first.sinks(1).kafka().partition_by(0), "page");
  EXPECT_EQ((*stages)[1].job.spec.sources(0).kafka().partitioned_by_size(), 0);
}

// Only a lookup join knows which key each of its inputs needs; any other
// operator reading both sides of a split is refused, naming it.
TEST(JobStages, AUnionOfBothSidesOfASplitIsRefusedNamingTheOperator) {
  const std::string operators =
      "  - name: per_page\n"
      "    aggregate: { key: [page], aggregates: [\"count(*) AS n\"] }\n"
      "  - name: ones\n"
      "    inputs: [clicks]\n"
      "    select: [page, \"1 AS n\"]\n"
      "  - name: both\n"
      "    inputs: [per_page, ones]\n"
      "    union: {}\n";
  auto stages = Split(Job("user", operators, "both"));
  ASSERT_FALSE(stages.ok());
  EXPECT_NE(stages.status().ToString().find("operators[2]"), std::string::npos)
      << stages.status().ToString();
  EXPECT_NE(stages.status().ToString().find("reads from both sides of a repartition"),
            std::string::npos)
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
