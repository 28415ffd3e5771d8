// Loading a job for a command that connects to nothing: unset variables in
// the connection settings stay as written; needed ones are still errors.

#include "runtime/spec/offline_env.h"

#include <gtest/gtest.h>

#include <map>

namespace eddy {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const char* kJob =
    "name: j\n"
    "kafka: { brokers: \"${BROKERS}\", properties: { sasl.password: \"${PASSWORD}\" } }\n"
    "sources: [{name: s, kafka: {topics: [\"${TOPIC:-events}\"]}, format: json,\n"
    "           schema: [{name: a, type: int64}]}]\n"
    "sinks: [{name: o, stdout: }]\n"
    "state: { dir: \"${STATE_DIR}\", block_cache: \"${CACHE:-64MB}\" }\n";

TEST(OfflineEnvironment, KeepsUnsetReferencesAsWrittenAndDefaultsAsDefaults) {
  // With the plain environment the job does not load at all.
  EXPECT_FALSE(LoadJobText(kJob, "job.yaml", FakeEnv({})).ok());

  OfflineEnvironment env(FakeEnv({{"STATE_DIR", "/tmp/s"}}));
  Result<LoadedJob> job = LoadJobText(kJob, "job.yaml", env.lookup());
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->spec.kafka().brokers(), "${BROKERS}");
  EXPECT_EQ(job->spec.kafka().properties().at("sasl.password"), "${PASSWORD}");
  EXPECT_EQ(job->spec.sources(0).kafka().topics(0), "events");
  EXPECT_EQ(job->spec.state().dir(), "/tmp/s");
  EXPECT_EQ(job->spec.state().block_cache(), "64MB");
  EXPECT_TRUE(
      env.CheckNeeded(*job, [](std::string_view path) { return !IsConnectionSetting(path); }).ok());
  // Asked for, the Kafka settings fail as a plain load does, at their field.
  EXPECT_EQ(env.CheckNeeded(*job, [](std::string_view) { return true; }).message(),
            "job.yaml:2:19: kafka.brokers: environment variable 'BROKERS' is not set (write "
            "${BROKERS:-default} to give a default)");
  EXPECT_EQ(
      env.CheckNeeded(
             *job, [](std::string_view path) { return path == "kafka.properties.sasl.password"; })
          .message(),
      "job.yaml:2:62: kafka.properties.sasl.password: environment variable 'PASSWORD' is "
      "not set (write ${PASSWORD:-default} to give a default)");
}

TEST(OfflineEnvironment, AnUnsetVariableANeededFieldUsesIsTheLoadersError) {
  OfflineEnvironment env(FakeEnv({}));
  Result<LoadedJob> job = LoadJobText(kJob, "job.yaml", env.lookup());
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const Status status =
      env.CheckNeeded(*job, [](std::string_view path) { return !IsConnectionSetting(path); });
  EXPECT_EQ(status.message(),
            "job.yaml:6:15: state.dir: environment variable 'STATE_DIR' is not set (write "
            "${STATE_DIR:-default} to give a default)");
  // ... exactly what loading with the plain environment says.
  EXPECT_EQ(LoadJobText(kJob, "job.yaml", FakeEnv({{"BROKERS", "b:9092"}, {"PASSWORD", "p"}}))
                .status()
                .message(),
            status.message());
}

TEST(IsConnectionSetting, IsEveryKafkaSectionAndNothingElse) {
  for (const char* path :
       {"kafka", "kafka.brokers", "kafka.properties.sasl.password", "sources[0].kafka",
        "sources[0].kafka.topics[1]", "sinks[3].kafka.brokers", "dead_letter.kafka.topic"}) {
    EXPECT_TRUE(IsConnectionSetting(path)) << path;
  }
  for (const char* path : {"name", "state.dir", "sources[0].schema[0].name", "sinks[0].file.path",
                           "operators[1].filter", "kafkaesque", "sources[0].kafkaesque"}) {
    EXPECT_FALSE(IsConnectionSetting(path)) << path;
  }
}

}  // namespace
}  // namespace eddy
