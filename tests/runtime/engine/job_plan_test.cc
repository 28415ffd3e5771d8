// Planning a job: schemas flow through the DAG, expressions are type-checked
// against them, and every error names the job file's line and key.

#include "runtime/engine/job_plan.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/engine/executor.h"
#include "tests/integration/kafka_test_util.h"

namespace eddy {
namespace {

ConnectorContext OfflineContext() {
  ConnectorContext context;
  context.resolve_brokers = [](const std::string& brokers, const std::string&, int) {
    return Result<std::string>(brokers);
  };
  return context;
}

Result<std::unique_ptr<JobPlan>> Plan(const std::string& yaml) {
  auto job = LoadJobText(yaml, "job.yaml");
  if (!job.ok()) return job.status();
  return PlanJob(std::move(job).value(), OfflineContext());
}

const char* kFileJob = R"(name: plan-test
sources:
  - name: orders
    file: { path: orders.jsonl }
    format: json
    schema:
      - { name: id, type: int64 }
      - { name: amount, type: double, nullable: true }
      - { name: country, type: string }
operators:
  - name: big
    filter: amount > 100
  - name: shaped
    select: [id, lower(country) AS country, amount / 100 AS hundreds]
sinks:
  - name: out
    stdout:
)";

TEST(JobPlan, SchemasFlowThroughTheDag) {
  auto plan = Plan(kFileJob);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ((*plan)->Describe(),
            "job plan-test\n"
            "  source   orders [file]\n"
            "           {id:int64, amount:double?, country:string}\n"
            "  operator big <- orders: filter " +
                (*plan)->nodes[1].op->Describe().substr(7) +
                "\n"
                "           {id:int64, amount:double?, country:string}\n"
                "  operator shaped <- big: " +
                (*plan)->nodes[2].op->Describe() +
                "\n"
                "           {id:int64, country:string, hundreds:double?}\n"
                "  sink     out <- shaped [stdout]\n"
                "           {id:int64, country:string, hundreds:double?}\n"
                "  dead letters -> file eddy-state/plan-test/dead-letter.jsonl\n");
}

// `eddy validate`'s lines: a window shows only the settings of its type,
// and each side output says what it carries.
TEST(JobPlan, DescribesWindowsByTheirOwnSettingsAndNamesEachSideOutput) {
  auto plan = Plan(R"(name: windows
sources:
  - name: events
    file: events.jsonl
    format: json
    schema: [{name: k, type: string}, {name: t, type: timestamp}, {name: x, type: double},
             {name: y, type: int64}]
    event_time: { column: t }
operators:
  - name: tumbling
    inputs: [events]
    window: { key: [k], type: tumbling, size: 10s, aggregates: ["count(*) AS n"] }
  - name: sliding
    inputs: [events]
    window: { key: [k], type: sliding, size: 10s, slide: 5s, aggregates: ["count(*) AS n"] }
  - name: sessions
    inputs: [events]
    window: { key: [], type: session, gap: 30s, allowed_lateness: 5s, output_mode: update,
              aggregates: ["count(*) AS n"] }
  - name: model
    inputs: [events]
    prequential: { model: sgd_regressor, features: [x], label: y }
sinks:
  - name: out
    input: tumbling
    stdout:
)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::string text = (*plan)->Describe();
  auto line_of = [&](const std::string& start) {
    const size_t at = text.find(start);
    return at == std::string::npos ? "<no line " + start + ">"
                                   : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_EQ(line_of("operator tumbling "),
            "operator tumbling <- events: window tumbling size=10s time=t key=(k) "
            "aggregates=(count(*) AS n) [stateful]");
  EXPECT_EQ(line_of("operator sliding "),
            "operator sliding <- events: window sliding size=10s slide=5s time=t key=(k) "
            "aggregates=(count(*) AS n) [stateful]");
  EXPECT_EQ(line_of("operator sessions "),
            "operator sessions <- events: window session gap=30s time=t key=() "
            "aggregates=(count(*) AS n) allowed_lateness=5s output_mode=update [stateful]");
  EXPECT_EQ(line_of("operator tumbling.late "),
            "operator tumbling.late <- events: late rows of tumbling");
  EXPECT_EQ(line_of("operator model.metrics "),
            "operator model.metrics <- events: prequential metrics of model");
}

// Wide inputs (an image's features) stay readable: a run of numbered
// columns of one type is one item, a long feature list shows its ends.
TEST(JobPlan, DescribeFoldsRunsOfNumberedColumnsAndLongFeatureLists) {
  auto plan = Plan(R"(name: wide
sources:
  - name: points
    generator: { kind: regression, count: 10, options: { features: 13 } }
operators:
  - name: fit
    prequential: { model: sgd_regressor, features: [x*], label: label }
sinks:
  - name: out
    stdout:
)");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  const std::string text = (*plan)->Describe();
  EXPECT_NE(text.find("{id:int64, event_time:timestamp, x0 .. x12:double (13 columns), "
                      "label:double}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("prequential model=sgd_regressor features=(x0 AS x0:double, x1 AS "
                      "x1:double, x2 AS x2:double, ..., x12 AS x12:double (13 features)) "
                      "categorical="),
            std::string::npos)
      << text;
}

TEST(JobPlan, TypeErrorInAFilterNamesItsLineAndKey) {
  std::string yaml = kFileJob;
  yaml.replace(yaml.find("amount > 100"), 12, "country + 1");
  auto plan = Plan(yaml);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().message().rfind("job.yaml:12:", 0), 0u) << plan.status().message();
  EXPECT_NE(plan.status().message().find("operators[0].filter"), std::string::npos)
      << plan.status().message();
}

TEST(JobPlan, UnknownColumnInASelectItemNamesTheItem) {
  std::string yaml = kFileJob;
  yaml.replace(yaml.find("lower(country)"), 14, "lower(contry)");
  auto plan = Plan(yaml);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("operators[1].select"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("contry"), std::string::npos) << plan.status().message();
  EXPECT_EQ(plan.status().message().rfind("job.yaml:14:", 0), 0u) << plan.status().message();
}

TEST(JobPlan, BadSinkKeyExpressionNamesTheSink) {
  auto plan = Plan(R"(name: bad-key
sources:
  - name: ads
    generator: { kind: ysb, count: 10 }
sinks:
  - name: out
    kafka: { topic: t, key: "nosuch || 'x'" }
)");
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("sinks[0].kafka.key"), std::string::npos)
      << plan.status().message();
  EXPECT_EQ(plan.status().message().rfind("job.yaml:7:", 0), 0u) << plan.status().message();
}

TEST(Executor, RunsAFileJobToAFileSinkWithDeadLetters) {
  const std::string dir = testing::MakeTempDir("eddy-plan");
  testing::WriteFile(dir + "/orders.jsonl", R"({"id": 1, "amount": 250.0, "country": "FR"})"
                                            "\n"
                                            R"({"id": 2, "amount": 50.0, "country": "DE"})"
                                            "\n"
                                            R"({"id": 3, "amount": "lots", "country": "DE"})"
                                            "\n"
                                            R"({"id": 4, "amount": 1000, "country": "NL"})"
                                            "\n");
  std::string yaml = kFileJob;
  yaml.replace(yaml.find("    stdout:\n"), 12, "    file: { path: out.jsonl }\n    format: json\n");
  yaml += "state: { dir: state }\n";
  testing::WriteFile(dir + "/job.yaml", yaml);
  auto job = LoadJobFile(dir + "/job.yaml");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  auto plan = PlanJob(std::move(job).value(), OfflineContext());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ExecutorOptions options;
  options.once = true;
  auto summary = RunJob(**plan, options);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->records_in, 4);
  EXPECT_EQ(summary->records_out, 2);
  EXPECT_EQ(summary->dead_letters, 1);
  EXPECT_EQ(testing::ReadFile(dir + "/out.jsonl"),
            "{\"id\":1,\"country\":\"fr\",\"hundreds\":2.5}\n"
            "{\"id\":4,\"country\":\"nl\",\"hundreds\":10}\n");
  const std::string dead = testing::ReadFile(dir + "/state/dead-letter.jsonl");
  EXPECT_NE(dead.find("\"node\":\"orders\""), std::string::npos) << dead;
  EXPECT_NE(dead.find("\"offset\":2"), std::string::npos) << dead;
  EXPECT_NE(dead.find("amount"), std::string::npos) << dead;
}

}  // namespace
}  // namespace eddy
