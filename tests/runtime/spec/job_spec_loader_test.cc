#include "runtime/spec/job_spec_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "runtime/spec/job_dag.h"

namespace eddy {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<LoadedJob> Load(std::string_view yaml, const EnvLookup& env = FakeEnv()) {
  return LoadJobText(yaml, "job.yaml", env);
}

// The message of the error loading `yaml` gives, or a marker when it loads.
std::string ErrorOf(std::string_view yaml, const EnvLookup& env = FakeEnv()) {
  Result<LoadedJob> job = Load(yaml, env);
  if (job.ok()) return "<loaded without error>";
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  return job.status().message();
}

std::string Where(const LoadedJob& job, std::string_view path) {
  SourceLocation location = job.Locate(path);
  return location.file + ":" + std::to_string(location.line) + ":" +
         std::to_string(location.column);
}

// Renders a DAG as "name(kind)<-input,input; ..." to compare it whole.
std::string Render(const std::vector<DagNode>& nodes) {
  std::string out;
  for (const DagNode& node : nodes) {
    if (!out.empty()) out += "; ";
    out += node.name;
    switch (node.kind) {
      case DagNode::Kind::kSource:
        out += "(source";
        break;
      case DagNode::Kind::kOperator:
        out += "(operator";
        break;
      case DagNode::Kind::kSink:
        out += "(sink";
        break;
    }
    out += std::to_string(node.index) + ")";
    for (size_t idx = 0; idx < node.inputs.size(); ++idx) {
      out += (idx == 0 ? "<-" : ",") + node.inputs[idx];
    }
  }
  return out;
}

constexpr std::string_view kFullJob = R"(name: clicks-to-orders
description: Expensive clicks
kafka:
  brokers: ${BROKERS:-embedded}
  properties:
    fetch.wait.max.ms: 50
sources:
  - name: clicks
    kafka:
      topics: [clicks, views]
      group_id: eddy-clicks
      start: earliest
      partitions: 4
      properties:
        fetch.wait.max.ms: 100
        enable.partition.eof: true
    format: json
    schema:
      - {name: user, type: string}
      - {name: price, type: double, nullable: true, path: item.price}
      - name: ts
        type: timestamp
operators:
  - name: expensive
    filter: price > 10
  - name: shaped
    select: [user, price * 2 AS doubled]
sinks:
  - name: out
    kafka:
      topic: expensive-clicks
      key: user
      headers: {origin: "'clicks'"}
  - name: console
    input: expensive
    stdout:
trigger:
  interval: 500ms
  max_records_per_partition: 5000
state:
  dir: /tmp/eddy
dead_letter:
  file: /tmp/dead.jsonl
)";

TEST(JobSpecLoaderTest, LoadsEveryFieldOfAFullJob) {
  Result<LoadedJob> loaded = Load(kFullJob);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const LoadedJob& job = *loaded;
  const spec::JobSpec& spec = job.spec;
  EXPECT_EQ(job.file, "job.yaml");
  EXPECT_EQ(job.base_dir, ".");
  EXPECT_EQ(spec.name(), "clicks-to-orders");
  EXPECT_EQ(spec.description(), "Expensive clicks");
  EXPECT_EQ(spec.kafka().brokers(), "embedded");
  EXPECT_EQ(spec.kafka().properties().at("fetch.wait.max.ms"), "50");

  ASSERT_EQ(spec.sources_size(), 1);
  const spec::SourceSpec& source = spec.sources(0);
  EXPECT_EQ(source.name(), "clicks");
  ASSERT_TRUE(source.has_kafka());
  EXPECT_EQ(source.kafka().topics_size(), 2);
  EXPECT_EQ(source.kafka().topics(0), "clicks");
  EXPECT_EQ(source.kafka().topics(1), "views");
  EXPECT_EQ(source.kafka().group_id(), "eddy-clicks");
  EXPECT_EQ(source.kafka().start(), "earliest");
  EXPECT_EQ(source.kafka().partitions(), 4);
  EXPECT_EQ(source.kafka().properties().at("fetch.wait.max.ms"), "100");
  // A YAML boolean in a string map keeps its text.
  EXPECT_EQ(source.kafka().properties().at("enable.partition.eof"), "true");
  EXPECT_EQ(source.format().type(), "json");
  ASSERT_EQ(source.schema_size(), 3);
  EXPECT_EQ(source.schema(0).name(), "user");
  EXPECT_EQ(source.schema(0).type(), "string");
  EXPECT_FALSE(source.schema(0).nullable());
  EXPECT_EQ(source.schema(1).name(), "price");
  EXPECT_TRUE(source.schema(1).nullable());
  EXPECT_EQ(source.schema(1).path(), "item.price");
  EXPECT_EQ(source.schema(2).type(), "timestamp");

  ASSERT_EQ(spec.operators_size(), 2);
  EXPECT_EQ(spec.operators(0).filter(), "price > 10");
  EXPECT_EQ(spec.operators(0).inputs_size(), 0);  // defaults are not written into the spec
  ASSERT_TRUE(spec.operators(1).has_select());
  ASSERT_EQ(spec.operators(1).select().columns_size(), 2);
  EXPECT_EQ(spec.operators(1).select().columns(1), "price * 2 AS doubled");

  ASSERT_EQ(spec.sinks_size(), 2);
  EXPECT_EQ(spec.sinks(0).kafka().topic(), "expensive-clicks");
  EXPECT_EQ(spec.sinks(0).kafka().key(), "user");
  EXPECT_EQ(spec.sinks(0).kafka().headers().at("origin"), "'clicks'");
  EXPECT_EQ(spec.sinks(0).input(), "");
  EXPECT_EQ(spec.sinks(1).input(), "expensive");
  EXPECT_TRUE(spec.sinks(1).has_stdout());
  EXPECT_EQ(spec.sinks(1).stdout().max_rows(), 0);

  EXPECT_EQ(spec.trigger().interval(), "500ms");
  EXPECT_EQ(spec.trigger().max_records_per_partition(), 5000);
  EXPECT_EQ(spec.state().dir(), "/tmp/eddy");
  ASSERT_TRUE(spec.dead_letter().has_file());
  EXPECT_EQ(spec.dead_letter().file().path(), "/tmp/dead.jsonl");

  Result<std::vector<DagNode>> dag = ResolveDag(job);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(Render(*dag),
            "clicks(source0); expensive(operator0)<-clicks; shaped(operator1)<-expensive; "
            "out(sink0)<-shaped; console(sink1)<-expensive");
}

TEST(JobSpecLoaderTest, RecordsThePositionOfEveryField) {
  Result<LoadedJob> loaded = Load(kFullJob);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const LoadedJob& job = *loaded;
  EXPECT_EQ(Where(job, ""), "job.yaml:1:1");
  EXPECT_EQ(Where(job, "name"), "job.yaml:1:7");
  EXPECT_EQ(Where(job, "sources"), "job.yaml:7:1");
  EXPECT_EQ(Where(job, "sources[0]"), "job.yaml:8:5");
  EXPECT_EQ(Where(job, "sources[0].kafka"), "job.yaml:9:5");
  EXPECT_EQ(Where(job, "sources[0].kafka.topics"), "job.yaml:10:7");
  EXPECT_EQ(Where(job, "sources[0].kafka.topics[1]"), "job.yaml:10:24");
  EXPECT_EQ(Where(job, "sources[0].kafka.properties.fetch.wait.max.ms"), "job.yaml:15:28");
  EXPECT_EQ(Where(job, "sources[0].format.type"), "job.yaml:17:13");
  EXPECT_EQ(Where(job, "sources[0].schema[2].type"), "job.yaml:22:15");
  EXPECT_EQ(Where(job, "operators[1].select.columns[1]"), "job.yaml:27:20");
  EXPECT_EQ(Where(job, "sinks[1].stdout"), "job.yaml:36:5");
  EXPECT_EQ(Where(job, "dead_letter.file.path"), "job.yaml:43:9");
  // Unrecorded paths fall back to the longest recorded prefix.
  EXPECT_EQ(Where(job, "sources[0].kafka.topics[7]"), "job.yaml:10:7");
  EXPECT_EQ(Where(job, "operators[0].inputs"), "job.yaml:24:5");
  EXPECT_EQ(Where(job, "sources[0].kafka.brokers"), "job.yaml:9:5");
  EXPECT_EQ(Where(job, "nothing.at.all"), "job.yaml:1:1");

  Status error = job.ErrorAt("operators[0].filter", "unknown column 'prize'");
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(), "job.yaml:25:13: operators[0].filter: unknown column 'prize'");
}

TEST(JobSpecLoaderTest, ErrorAtWithoutAnyPositionNamesFileAndPath) {
  LoadedJob job;
  job.file = "built.yaml";
  EXPECT_EQ(job.ErrorAt("sinks[0]", "boom").message(), "built.yaml: sinks[0]: boom");
  EXPECT_EQ(job.Locate("sinks[0]").line, 0);
}

constexpr std::string_view kSugarJob = R"(name: sugar
sources:
  - name: a
    file: /data/a.jsonl
    format: raw
  - name: b
    kafka:
      topics: b-topic
    format: raw
operators:
  - name: both
    inputs: [a, b]
    union:
  - name: both_again
    inputs: [a, b]
    union: {}
  - name: all
    inputs: [both, both_again]
    union: true
  - name: cols
    inputs: all
    select: value
  - name: two
    select: [value, value AS copy]
sinks:
  - name: print
    stdout: 10
  - name: print_all
    input: all
    stdout: true
  - name: to_file
    file: out.csv
    format: csv
)";

TEST(JobSpecLoaderTest, AcceptsShorthandForms) {
  Result<LoadedJob> loaded = Load(kSugarJob);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const spec::JobSpec& spec = loaded->spec;
  // A message written as its field 1.
  EXPECT_EQ(spec.sources(0).file().path(), "/data/a.jsonl");
  EXPECT_EQ(spec.sources(0).format().type(), "raw");
  EXPECT_EQ(spec.sinks(0).stdout().max_rows(), 10);
  EXPECT_EQ(spec.sinks(2).file().path(), "out.csv");
  EXPECT_EQ(spec.sinks(2).format().type(), "csv");
  // A repeated field 1 from a sequence, and from a single scalar.
  ASSERT_EQ(spec.operators(4).select().columns_size(), 2);
  EXPECT_EQ(spec.operators(4).select().columns(1), "value AS copy");
  ASSERT_EQ(spec.operators(3).select().columns_size(), 1);
  EXPECT_EQ(spec.operators(3).select().columns(0), "value");
  // A repeated field as a single scalar.
  ASSERT_EQ(spec.sources(1).kafka().topics_size(), 1);
  EXPECT_EQ(spec.sources(1).kafka().topics(0), "b-topic");
  ASSERT_EQ(spec.operators(3).inputs_size(), 1);
  EXPECT_EQ(spec.operators(3).inputs(0), "all");
  // Empty messages: bare key, {} and true.
  EXPECT_TRUE(spec.operators(0).has_union_());
  EXPECT_TRUE(spec.operators(1).has_union_());
  EXPECT_TRUE(spec.operators(2).has_union_());
  EXPECT_TRUE(spec.sinks(1).has_stdout());
  EXPECT_EQ(spec.sinks(1).stdout().max_rows(), 0);
  // Shorthand positions are recorded under the real field's path.
  EXPECT_EQ(Where(*loaded, "sources[0].file.path"), "job.yaml:4:11");
  EXPECT_EQ(Where(*loaded, "sources[1].kafka.topics[0]"), "job.yaml:8:15");
  EXPECT_EQ(Where(*loaded, "operators[3].select.columns[0]"), "job.yaml:22:13");

  Result<std::vector<DagNode>> dag = ResolveDag(*loaded);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(Render(*dag),
            "a(source0); b(source1); both(operator0)<-a,b; both_again(operator1)<-a,b; "
            "all(operator2)<-both,both_again; cols(operator3)<-all; two(operator4)<-cols; "
            "print(sink0)<-two; print_all(sink1)<-all; to_file(sink2)<-two");
}

TEST(JobSpecLoaderTest, ResolvesYamlMergeKeys) {
  Result<LoadedJob> loaded = Load(R"(name: merges
x-common: &common
  brokers: broker-1:9092
  properties: &props {acks: all, linger.ms: "5"}
sources:
  - name: s
    generator: ysb
sinks:
  - name: a
    kafka:
      <<: *common
      topic: a
  - name: b
    kafka:
      <<: *common
      brokers: broker-2:9092
      topic: b
      properties:
        <<: *props
        acks: "1"
)");
  // Keys starting with x- are ignored: they hold anchors for later use.
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->spec.sinks(0).kafka().brokers(), "broker-1:9092");
  EXPECT_EQ(loaded->spec.sinks(0).kafka().topic(), "a");
  EXPECT_EQ(loaded->spec.sinks(0).kafka().properties().at("linger.ms"), "5");
  EXPECT_EQ(loaded->spec.sinks(1).kafka().brokers(), "broker-2:9092");
  EXPECT_EQ(loaded->spec.sinks(1).kafka().properties().at("acks"), "1");
  EXPECT_EQ(loaded->locations.count("x-common"), 0u);

  loaded = Load(R"(name: merges
sources:
  - name: s
    generator: ysb
sinks:
  - name: a
    kafka: &common
      brokers: broker-1:9092
      topic: a
      properties: &props {acks: all, linger.ms: "5"}
  - name: b
    kafka:
      <<: *common
      brokers: broker-2:9092
      topic: b
      properties:
        <<: *props
        acks: "1"
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const spec::KafkaSinkSpec& b = loaded->spec.sinks(1).kafka();
  EXPECT_EQ(b.brokers(), "broker-2:9092");
  EXPECT_EQ(b.topic(), "b");
  EXPECT_EQ(b.properties().at("acks"), "1");
  EXPECT_EQ(b.properties().at("linger.ms"), "5");
  EXPECT_EQ(b.properties().size(), 2u);
  // Merged fields point at where their values are written.
  EXPECT_EQ(Where(*loaded, "sinks[1].kafka.properties.linger.ms"), "job.yaml:10:49");

  EXPECT_EQ(ErrorOf("name: j\ntrigger:\n  <<: 5s\n"),
            "job.yaml:3:7: trigger: '<<' merges a mapping or a list of mappings (<<: *defaults), "
            "got '5s'");
}

TEST(JobSpecLoaderTest, FalseDoesNotSwitchASectionOff) {
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, file: x, format: raw}]\n"
                    "sinks: [{name: o, stdout: false}]\n"),
            "job.yaml:3:27: sinks[0].stdout: 'false' cannot switch a section off: remove the "
            "key instead");
}

TEST(JobSpecLoaderTest, DagFollowsInputsNotFileOrder) {
  Result<LoadedJob> loaded = Load(R"(name: order
sources: [{name: s, generator: ysb}]
operators:
  - {name: late, inputs: early, filter: "true"}
  - {name: early, inputs: s, filter: "true"}
  - {name: merged, inputs: [late, s], union: }
sinks: [{name: o, stdout: }]
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  Result<std::vector<DagNode>> dag = ResolveDag(*loaded);
  ASSERT_TRUE(dag.ok()) << dag.status().ToString();
  EXPECT_EQ(Render(*dag),
            "s(source0); early(operator1)<-s; late(operator0)<-early; "
            "merged(operator2)<-late,s; o(sink0)<-merged");
}

TEST(JobSpecLoaderTest, SubstitutesEnvironmentVariables) {
  const EnvLookup env = FakeEnv({{"TOPIC", "orders"},
                                 {"HOST", "kafka-1"},
                                 {"PORT", "9092"},
                                 {"EMPTY", ""},
                                 {"COUNT", "250"}});
  Result<LoadedJob> loaded = Load(R"(name: env-${TOPIC}
description: "cost: $${NOT_A_VAR} and $5 and ${EMPTY:-fallback}"
sources:
  - name: k
    kafka:
      brokers: ${HOST}:${PORT},${HOST2:-kafka-2:9092}
      topics: ["${TOPIC}", "${MISSING:-}x"]
    format: raw
  - name: g
    generator: {kind: ysb, count: "${COUNT}", partitions: "${PARTS:-3}", rate: "${RATE:-1.5}"}
operators:
  - {name: u, inputs: [k, g], union: }
sinks:
  - name: out
    stdout: ${ROWS:-7}
)",
                                  env);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const spec::JobSpec& spec = loaded->spec;
  EXPECT_EQ(spec.name(), "env-orders");
  EXPECT_EQ(spec.description(), "cost: ${NOT_A_VAR} and $5 and fallback");
  EXPECT_EQ(spec.sources(0).kafka().brokers(), "kafka-1:9092,kafka-2:9092");
  EXPECT_EQ(spec.sources(0).kafka().topics(0), "orders");
  EXPECT_EQ(spec.sources(0).kafka().topics(1), "x");
  EXPECT_EQ(spec.sources(1).generator().count(), 250);
  EXPECT_EQ(spec.sources(1).generator().partitions(), 3);
  EXPECT_EQ(spec.sources(1).generator().rate(), 1.5);
  EXPECT_EQ(spec.sinks(0).stdout().max_rows(), 7);
}

TEST(JobSpecLoaderTest, UnsetVariableIsAnErrorAtTheScalar) {
  EXPECT_EQ(
      ErrorOf("name: j\nsources:\n  - name: s\n    kafka:\n      topics: [a, \"t-${TOPIC}\"]\n"),
      "job.yaml:5:19: sources[0].kafka.topics[1]: environment variable 'TOPIC' is not set "
      "(write ${TOPIC:-default} to give a default)");
  EXPECT_EQ(ErrorOf("name: ${A\n"),
            "job.yaml:1:7: name: unterminated '${' in '${A' (write '$${' for a literal '${')");
  EXPECT_EQ(ErrorOf("name: ${1X}\n"),
            "job.yaml:1:7: name: invalid environment variable reference '${1X}' (expected "
            "${NAME} or ${NAME:-default})");
  // Substitution comes before conversion, so a bad value is reported as such.
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, count: \"${N}\"}}]\n",
                    FakeEnv({{"N", "ten"}})),
            "job.yaml:2:51: sources[0].generator.count: expected an integer, got 'ten'");
}

TEST(JobSpecLoaderTest, ProcessEnvironmentReadsNameFileWhenNameIsUnset) {
  const std::string path = ::testing::TempDir() + "/eddy-secret-" + std::to_string(::getpid());
  std::ofstream(path) << "s3cret value\n";
  ::unsetenv("EDDY_TEST_SECRET");
  ::setenv("EDDY_TEST_SECRET_FILE", path.c_str(), 1);
  const EnvLookup env = ProcessEnvironment();
  // The file's content without its final line break.
  EXPECT_EQ(env("EDDY_TEST_SECRET"), std::optional<std::string>("s3cret value"));
  auto job = LoadJobText(
      "name: j\nkafka: {properties: {sasl.password: \"${EDDY_TEST_SECRET}\"}}\n"
      "sources: [{name: g, generator: {kind: ysb}}]\nsinks: [{name: o, stdout: {}}]\n",
      "job.yaml", env);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->spec.kafka().properties().at("sasl.password"), "s3cret value");
  // The variable itself wins over its _FILE.
  ::setenv("EDDY_TEST_SECRET", "from env", 1);
  EXPECT_EQ(env("EDDY_TEST_SECRET"), std::optional<std::string>("from env"));
  // An unreadable file leaves the variable unset.
  ::unsetenv("EDDY_TEST_SECRET");
  ::setenv("EDDY_TEST_SECRET_FILE", (path + ".missing").c_str(), 1);
  EXPECT_EQ(env("EDDY_TEST_SECRET"), std::nullopt);
  ::unsetenv("EDDY_TEST_SECRET_FILE");
  std::filesystem::remove(path);
}

// What the stage split sets (kafka.upstream_watermarks, .forward_watermarks)
// is not a job-file key: set on an ordinary topic, it would stop its time.
TEST(JobSpecLoaderTest, KeysOnlyTheEngineSetsAreUnknownInAJobFile) {
  const std::string error = ErrorOf(
      "name: j\nsources:\n  - name: s\n    kafka:\n      topics: [t]\n"
      "      upstream_watermarks: true\n");
  EXPECT_NE(error.find("job.yaml:6:7: sources[0].kafka: unknown key 'upstream_watermarks'"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find("upstream_watermarks,"), std::string::npos) << error;
}

TEST(JobSpecLoaderTest, UnknownKeyListsFieldsAndSuggestsTheClosest) {
  EXPECT_EQ(ErrorOf("name: j\nsources:\n  - name: s\n    kafka:\n      topic: orders\n"),
            "job.yaml:5:7: sources[0].kafka: unknown key 'topic' (expected one of: brokers, "
            "topics, group_id, start, properties, partitions, partitioned_by, on_lost_input); did "
            "you mean 'topics'?");
  EXPECT_EQ(ErrorOf("nmae: j\n"),
            "job.yaml:1:1: unknown key 'nmae' (expected one of: name, description, sources, "
            "operators, sinks, trigger, state, dead_letter, kafka, checkpoint, scale); did you "
            "mean 'name'?");
  EXPECT_EQ(ErrorOf("name: j\nwatermark: 5s\n"),
            "job.yaml:2:1: unknown key 'watermark' (expected one of: name, description, sources, "
            "operators, sinks, trigger, state, dead_letter, kafka, checkpoint, scale)");
  EXPECT_EQ(ErrorOf("name: j\noperators: [{name: u, union: {all: true}}]\n"),
            "job.yaml:2:31: operators[0].union: unknown key 'all' (this section takes no keys)");
  EXPECT_EQ(ErrorOf("name: j\noperators: [{name: f, image_features: {colum: image}}]\n"),
            "job.yaml:2:40: operators[0].image_features: unknown key 'colum' (expected one of: "
            "column, decode, width, height, channels, resize, extractor, cell_size, block_size, "
            "block_stride, bins, grid, prefix); did you mean 'column'?");
}

TEST(JobSpecLoaderTest, TwoMembersOfAOneofAreAnError) {
  EXPECT_EQ(ErrorOf("name: j\nsources:\n  - name: s\n    kafka: {topics: t}\n    file: x\n"),
            "job.yaml:5:5: sources[0]: 'kafka' and 'file' cannot both be set (choose one of: "
            "kafka, file, generator)");
  EXPECT_EQ(
      ErrorOf("name: j\noperators:\n  - name: o\n    filter: a\n    select: [a]\n"),
      "job.yaml:5:5: operators[0]: 'filter' and 'select' cannot both be set (choose one "
      "of: filter, select, union, window, aggregate, lookup_join, learn, predict, prequential, "
      "image_features)");
}

TEST(JobSpecLoaderTest, KeyGivenTwiceIsAnError) {
  EXPECT_EQ(ErrorOf("name: j\ntrigger:\n  interval: 1s\n  interval: 2s\n"),
            "job.yaml:4:3: trigger: key 'interval' is given twice (first at line 3)");
  EXPECT_EQ(ErrorOf("name: j\nkafka:\n  properties:\n    acks: all\n    acks: 1\n"),
            "job.yaml:5:5: kafka.properties: key 'acks' is given twice (first at line 4)");
}

TEST(JobSpecLoaderTest, ScalarsAreCheckedByFieldType) {
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, count: abc}}]\n"),
            "job.yaml:2:51: sources[0].generator.count: expected an integer, got 'abc'");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, count: 1.5}}]\n"),
            "job.yaml:2:51: sources[0].generator.count: expected an integer, got '1.5'");
  EXPECT_EQ(
      ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, partitions: 3000000000}}]\n"),
      "job.yaml:2:56: sources[0].generator.partitions: integer 3000000000 is out of range "
      "(-2147483648..2147483647)");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, seed: -1}}]\n"),
            "job.yaml:2:50: sources[0].generator.seed: expected a non-negative integer, got '-1'");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: g, generator: {kind: ysb, rate: fast}}]\n"),
            "job.yaml:2:50: sources[0].generator.rate: expected a number, got 'fast'");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, schema: [{name: a, nullable: maybe}]}]\n"),
            "job.yaml:2:50: sources[0].schema[0].nullable: expected true or false, got 'maybe'");
  EXPECT_EQ(ErrorOf("name: [a, b]\n"), "job.yaml:1:7: name: expected a string, got a list");
  EXPECT_EQ(ErrorOf("name:\n"), "job.yaml:1:1: name: expected a string, got nothing");
  EXPECT_EQ(ErrorOf("name: j\nsources:\n  name: s\n"),
            "job.yaml:3:3: sources: expected a list (items on lines starting with '- ') or a "
            "single value, got a mapping");
  EXPECT_EQ(ErrorOf("name: j\nkafka:\n  properties: [a]\n"),
            "job.yaml:3:15: kafka.properties: expected a mapping of names to values, got a list");
  EXPECT_EQ(ErrorOf("name: j\nkafka:\n  properties:\n    acks: [1]\n"),
            "job.yaml:4:11: kafka.properties.acks: expected a value for 'acks', got a list");
  EXPECT_EQ(ErrorOf("name: j\ntrigger: [1s]\n"),
            "job.yaml:2:10: trigger: expected a mapping with keys interval, "
            "max_records_per_partition (or just a value for 'interval'), got a list");

  // yes/no and on/off are booleans too.
  Result<LoadedJob> loaded = Load(
      "name: j\nsources:\n  - name: s\n    file: in.csv\n    format: {type: csv, header: yes}\n"
      "    schema: [{name: a, type: int, nullable: on}]\nsinks: [{name: o, stdout: }]\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->spec.sources(0).format().header());
  EXPECT_TRUE(loaded->spec.sources(0).schema(0).nullable());
}

TEST(JobSpecLoaderTest, YamlSyntaxErrorsHaveTheirPosition) {
  EXPECT_EQ(ErrorOf("name: j\nsources: [a, b\nsinks: []\n"),
            "job.yaml:3:6: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("name: a: b\n"), "job.yaml:1:8: invalid YAML: illegal map value");
}

TEST(JobSpecLoaderTest, DocumentMustBeANonEmptyMapping) {
  EXPECT_EQ(ErrorOf(""),
            "job.yaml: the job file is empty; it needs at least name, sources and sinks");
  EXPECT_EQ(ErrorOf("# only a comment\n"),
            "job.yaml: the job file is empty; it needs at least name, sources and sinks");
  EXPECT_EQ(ErrorOf("name: a\n---\nname: b\n"),
            "job.yaml:3:1: the job file holds more than one YAML document (a '---' line); write "
            "one job per file");
  EXPECT_EQ(ErrorOf("- name: j\n"),
            "job.yaml:1:1: the job file must be a mapping of keys (name, sources, operators, "
            "sinks, ...), got a list");
  EXPECT_EQ(ErrorOf("just text\n"),
            "job.yaml:1:1: the job file must be a mapping of keys (name, sources, operators, "
            "sinks, ...), got a single value");
}

// A valid job with one line replaced by the test.
constexpr std::string_view kBaseJob = R"(name: base
sources:
  - name: src
    generator: ysb
operators:
  - name: keep
    filter: "true"
sinks:
  - name: out
    stdout:
)";

TEST(JobSpecLoaderTest, ValidatesNamesAndCounts) {
  EXPECT_EQ(ErrorOf("description: x\nsources: [{name: s, generator: ysb}]\n"),
            "job.yaml:1:1: name: the job needs a name (letters, digits, '.', '_' and '-')");
  EXPECT_EQ(ErrorOf("name: my job\n"),
            "job.yaml:1:7: name: invalid job name 'my job' (use letters, digits, '.', '_' and "
            "'-')");
  EXPECT_EQ(ErrorOf("name: j\nsinks: [{name: o, stdout: }]\n"),
            "job.yaml:1:1: sources: the job needs at least one source");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\nsinks: []\n"),
            "job.yaml:3:1: sinks: the job needs at least one sink");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{generator: ysb}]\nsinks: [{name: o, stdout: }]\n"),
            "job.yaml:2:11: sources[0]: every source needs a name (letters, digits, '.', '_' and "
            "'-')");
  EXPECT_EQ(
      ErrorOf("name: j\nsources: [{name: s/1, generator: ysb}]\nsinks: [{name: o, stdout: }]\n"),
      "job.yaml:2:18: sources[0].name: invalid name 's/1' (use letters, digits, '.', '_' "
      "and '-')");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\n"
                    "sinks: [{name: o, stdout: }, {name: s, stdout: }]\n"),
            "job.yaml:3:37: sinks[1].name: name 's' is already used by sources[0] (sources, "
            "operators and sinks share one namespace)");
}

TEST(JobSpecLoaderTest, EveryNodeNeedsExactlyOneKind) {
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s}]\nsinks: [{name: o, stdout: }]\n"),
            "job.yaml:2:11: sources[0]: source 's' has no kind: set one of kafka, file, "
            "generator");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\noperators: [{name: x}]\n"
                    "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:3:13: operators[0]: operator 'x' has no kind: set one of filter, select, "
            "union, window, aggregate, lookup_join, learn, predict, prequential, image_features");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\nsinks: [{name: o}]\n"),
            "job.yaml:3:9: sinks[0]: sink 'o' has no kind: set one of kafka, file, stdout");
}

TEST(JobSpecLoaderTest, ValidatesInputs) {
  const std::string two_sources =
      "name: j\nsources:\n  - {name: a, generator: ysb}\n  - {name: b, generator: ysb}\n";
  EXPECT_EQ(
      ErrorOf(two_sources + "operators:\n  - {name: f, filter: x}\nsinks: [{name: o, stdout: }]\n"),
      "job.yaml:6:5: operators[0]: operator 'f' has no inputs and the job has 2 sources (a, "
      "b): name its inputs with `inputs:`");
  EXPECT_EQ(ErrorOf(two_sources + "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:5:9: sinks[0]: sink 'o' has no input and the job has 2 sources and no "
            "operators (a, b): name one with `input:`");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: f, inputs: [c], filter: x}\n"
                                  "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:6:24: operators[0].inputs[0]: unknown input 'c' (known nodes: a, b, f)");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: filt, inputs: b, filter: x}\n"
                                  "sinks: [{name: o, input: flit, stdout: }]\n"),
            "job.yaml:7:26: sinks[0].input: unknown input 'flit' (known nodes: a, b, filt); did "
            "you mean 'filt'?");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: f, inputs: [a, o], union: }\n"
                                  "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:6:27: operators[0].inputs[1]: input 'o' is a sink; inputs must be sources "
            "or operators (known nodes: a, b, f)");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: f, inputs: [a, a], union: }\n"
                                  "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:6:27: operators[0].inputs[1]: input 'a' is listed twice");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: u, inputs: a, union: }\n"
                                  "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:6:15: operators[0].inputs: a union needs at least two inputs, got 1 (a)");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: u, inputs: [a, b], union: }\n"
                                  "  - {name: u2, union: }\nsinks: [{name: o, stdout: }]\n"),
            "job.yaml:7:5: operators[1].inputs: a union needs at least two inputs, got 1 (u, by "
            "default)");
  EXPECT_EQ(ErrorOf(two_sources + "operators:\n  - {name: f, inputs: [a, b], filter: x}\n"
                                  "sinks: [{name: o, stdout: }]\n"),
            "job.yaml:6:15: operators[0].inputs: a filter takes exactly one input, got 2 (a, b); "
            "combine streams with a union first");
}

TEST(JobSpecLoaderTest, DetectsCycles) {
  EXPECT_EQ(ErrorOf(R"(name: j
sources: [{name: s, generator: ysb}]
operators:
  - {name: a, inputs: [s, c], union: }
  - {name: b, inputs: a, filter: x}
  - {name: c, inputs: b, select: "*"}
sinks: [{name: o, input: s, stdout: }]
)"),
            "job.yaml:4:15: operators[0].inputs: inputs form a cycle: a -> b -> c -> a");
  EXPECT_EQ(ErrorOf(R"(name: j
sources: [{name: s, generator: ysb}]
operators:
  - {name: head, filter: x}
  - {name: self, inputs: self, filter: x}
sinks: [{name: o, input: head, stdout: }]
)"),
            "job.yaml:5:18: operators[1].inputs: inputs form a cycle: self -> self");
}

TEST(JobSpecLoaderTest, ValidatesConnectorSettings) {
  auto with_source = [](std::string source) {
    return "name: j\nsources:\n  - name: s\n" + source + "sinks: [{name: o, stdout: }]\n";
  };
  EXPECT_EQ(ErrorOf(with_source("    kafka: {group_id: g}\n    format: raw\n")),
            "job.yaml:4:5: sources[0].kafka: a kafka source needs at least one topic (topics: "
            "[name, ...])");
  EXPECT_EQ(ErrorOf(with_source("    kafka: {topics: [a, \"\"]}\n    format: raw\n")),
            "job.yaml:4:25: sources[0].kafka.topics[1]: empty topic name");
  EXPECT_EQ(ErrorOf(with_source("    file: {}\n    format: raw\n")),
            "job.yaml:4:5: sources[0].file: a file source needs a path");
  EXPECT_EQ(ErrorOf(with_source("    generator: {count: 5}\n")),
            "job.yaml:4:5: sources[0].generator: a generator needs a kind (one of: ysb, "
            "ysb_campaigns, regression, classification, clusters, sea, agrawal, random_rbf, "
            "hyperplane, fashion_mnist)");
  EXPECT_EQ(ErrorOf(with_source("    generator: regresion\n")),
            "job.yaml:4:16: sources[0].generator.kind: unknown generator kind 'regresion' "
            "(expected one of: ysb, ysb_campaigns, regression, classification, clusters, sea, "
            "agrawal, random_rbf, hyperplane, fashion_mnist); did you mean 'regression'?");
  EXPECT_EQ(ErrorOf(with_source("    generator: {kind: ysb, count: -1}\n")),
            "job.yaml:4:35: sources[0].generator.count: must be 0 or more, got -1");
  EXPECT_EQ(ErrorOf(with_source("    file: in.jsonl\n")),
            "job.yaml:3:5: sources[0]: source 's' reads format json and needs a schema: list its "
            "columns under `schema:`");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\n"
                    "sinks: [{name: o, kafka: {key: k}}]\n"),
            "job.yaml:3:19: sinks[0].kafka: a kafka sink needs a topic");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\n"
                    "sinks: [{name: o, file: }]\n"),
            "job.yaml:3:19: sinks[0].file: a file sink needs a path");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\n"
                    "sinks: [{name: o, stdout: -3}]\n"),
            "job.yaml:3:27: sinks[0].stdout.max_rows: must be 0 or more, got -3");
}

TEST(JobSpecLoaderTest, ValidatesFormatsAndSchemas) {
  auto with_source = [](std::string source) {
    return "name: j\nsources:\n  - name: s\n    file: in.txt\n" + source +
           "sinks: [{name: o, stdout: }]\n";
  };
  EXPECT_EQ(ErrorOf(with_source("    format: xml\n")),
            "job.yaml:5:13: sources[0].format.type: unknown format 'xml' (expected one of: json, "
            "csv, protobuf, raw)");
  EXPECT_EQ(ErrorOf(with_source("    format: jsn\n")),
            "job.yaml:5:13: sources[0].format.type: unknown format 'jsn' (expected one of: json, "
            "csv, protobuf, raw); did you mean 'json'?");
  EXPECT_EQ(
      ErrorOf(with_source(
          "    format: {type: csv, delimiter: \"||\"}\n    schema: [{name: a, type: string}]\n")),
      "job.yaml:5:36: sources[0].format.delimiter: the csv delimiter must be a single "
      "character, got '||'");
  EXPECT_EQ(ErrorOf(with_source("    format: {type: protobuf, message: shop.Order}\n")),
            "job.yaml:5:5: sources[0].format: format protobuf needs proto_file (the .proto file, "
            "relative to the job file)");
  EXPECT_EQ(ErrorOf(with_source("    format: {type: protobuf, proto_file: shop.proto}\n")),
            "job.yaml:5:5: sources[0].format: format protobuf needs message (the fully qualified "
            "message name, e.g. shop.Order)");
  EXPECT_EQ(ErrorOf(with_source("    schema:\n      - {name: a, type: string}\n"
                                "      - {name: b, type: decimal}\n")),
            "job.yaml:7:25: sources[0].schema[1].type: unknown type 'decimal' for column 'b' "
            "(expected bool, int64, double, string or timestamp)");
  EXPECT_EQ(ErrorOf(with_source("    schema:\n      - {name: a, type: string}\n"
                                "      - {name: a, type: int64}\n")),
            "job.yaml:7:16: sources[0].schema[1].name: column 'a' is declared twice");
  EXPECT_EQ(ErrorOf(with_source("    schema: [a]\n")),
            "job.yaml:5:14: sources[0].schema[0]: column 'a' needs a type (bool, int64, double, "
            "string or timestamp)");
  EXPECT_EQ(ErrorOf("name: j\nsources: [{name: s, generator: ysb}]\n"
                    "sinks: [{name: o, stdout: , format: {type: csv, delimiter: ab}}]\n"),
            "job.yaml:3:60: sinks[0].format.delimiter: the csv delimiter must be a single "
            "character, got 'ab'");

  // Type aliases are accepted; a tab is a single character.
  Result<LoadedJob> loaded =
      Load(with_source("    format: {type: csv, delimiter: \"\\t\"}\n"
                       "    schema: [{name: a, type: BIGINT}, {name: b, type: text}]\n"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->spec.sources(0).format().delimiter(), "\t");
}

TEST(JobSpecLoaderTest, ValidatesTriggerAndDeadLetter) {
  const std::string base =
      "name: j\nsources: [{name: s, generator: ysb}]\nsinks: [{name: o, stdout: }]\n";
  EXPECT_EQ(ErrorOf(base + "trigger: 5\n"),
            "job.yaml:4:10: trigger.interval: invalid duration '5': missing unit (expected a "
            "number and a unit: us, ms, s, m, h or d, e.g. 500ms, 2.5s, 1h30m)");
  // 0 means "as fast as possible" (Spark's processingTime(0)).
  Result<LoadedJob> zero = Load(base + "trigger: {interval: 0s}\n");
  ASSERT_TRUE(zero.ok()) << zero.status().ToString();
  EXPECT_EQ(zero->spec.trigger().interval(), "0s");
  EXPECT_EQ(ErrorOf(base + "trigger: {interval: -1s}\n"),
            "job.yaml:4:21: trigger.interval: invalid duration '-1s': durations cannot be "
            "negative (expected a number and a unit: us, ms, s, m, h or d, e.g. 500ms, 2.5s, "
            "1h30m)");
  EXPECT_EQ(ErrorOf(base + "trigger: {max_records_per_partition: -5}\n"),
            "job.yaml:4:38: trigger.max_records_per_partition: must be 0 or more, got -5");
  EXPECT_EQ(ErrorOf(base + "dead_letter:\n  file:\n"),
            "job.yaml:5:3: dead_letter.file: a dead-letter file needs a path");
  EXPECT_EQ(ErrorOf(base + "dead_letter: {kafka: {topic: dlq}, file: dlq.jsonl}\n"),
            "job.yaml:4:36: dead_letter: 'kafka' and 'file' cannot both be set (choose one of: "
            "kafka, file)");
  Result<LoadedJob> loaded = Load(base + "trigger: 2.5s\ndead_letter: {kafka: dlq-brokers:9092}\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->spec.trigger().interval(), "2.5s");
  EXPECT_EQ(loaded->spec.dead_letter().kafka().brokers(), "dlq-brokers:9092");
}

TEST(JobSpecLoaderTest, ValidateJobStructureChecksAJobBuiltInCode) {
  Result<LoadedJob> loaded = Load(kBaseJob);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  LoadedJob job = *loaded;
  EXPECT_TRUE(ValidateJobStructure(job).ok());
  job.spec.mutable_operators(0)->add_inputs("nowhere");
  EXPECT_EQ(ValidateJobStructure(job).message(),
            "job.yaml:6:5: operators[0].inputs[0]: unknown input 'nowhere' (known nodes: src, "
            "keep)");
}

TEST(JobSpecLoaderTest, ParsesDurations) {
  struct Case {
    std::string_view text;
    int64_t micros;
  };
  for (const Case& c : std::initializer_list<Case>{{"250us", 250},
                                                   {"500ms", 500000},
                                                   {"1s", 1000000},
                                                   {"2.5s", 2500000},
                                                   {"0.001ms", 1},
                                                   {".5s", 500000},
                                                   {"5m", 300000000},
                                                   {"1h", 3600000000LL},
                                                   {"1d", 86400000000LL},
                                                   {"1h30m", 5400000000LL},
                                                   {" 10s ", 10000000},
                                                   {"0s", 0}}) {
    Result<int64_t> parsed = ParseDurationMicros(c.text);
    ASSERT_TRUE(parsed.ok()) << c.text << ": " << parsed.status().ToString();
    EXPECT_EQ(*parsed, c.micros) << c.text;
  }
  EXPECT_EQ(ParseDurationMicros("500").status().message(),
            "invalid duration '500': missing unit (expected a number and a unit: us, ms, s, m, h "
            "or d, e.g. 500ms, 2.5s, 1h30m)");
  EXPECT_EQ(ParseDurationMicros("-1s").status().message(),
            "invalid duration '-1s': durations cannot be negative (expected a number and a unit: "
            "us, ms, s, m, h or d, e.g. 500ms, 2.5s, 1h30m)");
  EXPECT_EQ(ParseDurationMicros("abc").status().message(),
            "invalid duration 'abc': expected a number (expected a number and a unit: us, ms, s, "
            "m, h or d, e.g. 500ms, 2.5s, 1h30m)");
  EXPECT_EQ(ParseDurationMicros("5 minutes").status().message(),
            "invalid duration '5 minutes': missing unit (expected a number and a unit: us, ms, "
            "s, m, h or d, e.g. 500ms, 2.5s, 1h30m)");
  EXPECT_EQ(ParseDurationMicros("5sec").status().message(),
            "invalid duration '5sec': unknown unit 'sec' (expected a number and a unit: us, ms, "
            "s, m, h or d, e.g. 500ms, 2.5s, 1h30m)");
  EXPECT_FALSE(ParseDurationMicros("").ok());
  EXPECT_FALSE(ParseDurationMicros("99999999999999999999d").ok());
  EXPECT_FALSE(ParseDurationMicros("200000000d").ok());  // past int64 microseconds
}

TEST(JobSpecLoaderTest, LoadsFilesAndReportsMissingOnes) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("eddy_loader_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "job.yaml").string();
  {
    std::ofstream out(path);
    out << kBaseJob;
  }
  Result<LoadedJob> loaded = LoadJobFile(path, FakeEnv());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->file, path);
  EXPECT_EQ(loaded->base_dir, dir.string());
  EXPECT_EQ(loaded->spec.name(), "base");
  EXPECT_EQ(loaded->ErrorAt("sinks[0].stdout", "x").message(), path + ":10:5: sinks[0].stdout: x");

  Result<LoadedJob> missing = LoadJobFile((dir / "nope.yaml").string(), FakeEnv());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot read job file '" + (dir / "nope.yaml").string() +
                                            "': No such file or directory");
  std::filesystem::remove_all(dir);
}

// The first ```yaml block after `heading` in docs/job-file.md.
std::string DocExample(std::string_view heading) {
  std::ifstream in("docs/job-file.md");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = text.find("\n" + std::string(heading) + "\n");
  if (at == std::string::npos) return "<heading not found>";
  const size_t start = text.find("```yaml\n", at);
  if (start == std::string::npos) return "<no yaml block>";
  const size_t body = start + 8;
  return text.substr(body, text.find("```", body) - body);
}

// The docs' examples are jobs the loader accepts, with the DAG they describe.
TEST(JobSpecLoaderTest, DocumentationExamplesLoad) {
  Result<LoadedJob> first = LoadJobText(DocExample("## A first job"), "first.yaml", FakeEnv());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<std::vector<DagNode>> first_dag = ResolveDag(*first);
  ASSERT_TRUE(first_dag.ok()) << first_dag.status().ToString();
  EXPECT_EQ(Render(*first_dag),
            "clicks(source0); expensive(operator0)<-clicks; out(sink0)<-expensive");

  Result<LoadedJob> full = LoadJobText(DocExample("## A complete annotated job"), "full.yaml",
                                       FakeEnv({{"BATCH_CAP", "1234"}}));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  const spec::JobSpec& spec = full->spec;
  EXPECT_EQ(spec.name(), "orders-enriched");
  EXPECT_EQ(spec.kafka().brokers(), "embedded");
  EXPECT_EQ(spec.sources(1).file().path(), "replay/orders-2026-01-01.csv");
  EXPECT_EQ(spec.sources(1).schema_size(), 7);
  EXPECT_EQ(spec.sources(0).schema(5).path(), "shipping.geo.lat");
  EXPECT_EQ(spec.trigger().max_records_per_partition(), 1234);
  EXPECT_EQ(spec.dead_letter().kafka().topic(), "orders-enriched-dlq");
  Result<std::vector<DagNode>> full_dag = ResolveDag(*full);
  ASSERT_TRUE(full_dag.ok()) << full_dag.status().ToString();
  EXPECT_EQ(Render(*full_dag),
            "live(source0); replay(source1); orders(operator0)<-live,replay; "
            "paid(operator1)<-orders; priced(operator2)<-paid; enriched(sink0)<-priced; "
            "peek(sink1)<-paid");
}

TEST(JobSpecLoaderTest, ProcessEnvironmentReadsGetenv) {
  ::setenv("EDDY_LOADER_TEST_VAR", "from-env", 1);
  ::unsetenv("EDDY_LOADER_TEST_UNSET");
  const EnvLookup env = ProcessEnvironment();
  EXPECT_EQ(env("EDDY_LOADER_TEST_VAR"), std::optional<std::string>("from-env"));
  EXPECT_EQ(env("EDDY_LOADER_TEST_UNSET"), std::nullopt);
  Result<LoadedJob> loaded = LoadJobText(
      "name: ${EDDY_LOADER_TEST_VAR}\nsources: [{name: s, generator: ysb}]\n"
      "sinks: [{name: o, stdout: }]\n",
      "inline.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->spec.name(), "from-env");
}

}  // namespace
}  // namespace eddy
