// The files in deploy/ are only useful if they agree with the binary:
// promtool accepts the Prometheus config and rules, every metric the Grafana
// dashboard and the alert rules query is one a running Eddy exports, and the
// Compose, Kubernetes and Grafana files point at files that exist.

#include <gtest/gtest.h>
#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "tests/integration/kafka_test_util.h"
#include "tests/integration/metrics_test_util.h"

namespace eddy {
namespace {

using namespace std::chrono_literals;
using testing::MetricNamesIn;

// Series that Prometheus makes itself for every target.
const std::set<std::string> kPrometheusSeries = {"up"};

// Every PromQL expression of the dashboard: panel targets (rows may nest
// panels) and the metric of each label_values() variable query.
void CollectDashboardExprs(simdjson::dom::element panels, std::vector<std::string>* exprs) {
  simdjson::dom::array array;
  if (panels.get(array) != simdjson::SUCCESS) return;
  for (simdjson::dom::element panel : array) {
    simdjson::dom::array targets;
    if (panel["targets"].get(targets) == simdjson::SUCCESS) {
      for (simdjson::dom::element target : targets) {
        std::string_view expr;
        if (target["expr"].get(expr) == simdjson::SUCCESS) exprs->emplace_back(expr);
      }
    }
    simdjson::dom::element nested;
    if (panel["panels"].get(nested) == simdjson::SUCCESS) CollectDashboardExprs(nested, exprs);
  }
}

std::vector<std::string> DashboardExprs(const std::string& path) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.load(path).get(root), simdjson::SUCCESS) << path << " is not JSON";
  std::vector<std::string> exprs;
  CollectDashboardExprs(root["panels"], &exprs);
  simdjson::dom::array variables;
  if (root["templating"]["list"].get(variables) == simdjson::SUCCESS) {
    const std::regex label_values(R"(label_values\(\s*([^,)]+))");
    for (simdjson::dom::element variable : variables) {
      std::string_view query;
      if (variable["definition"].get(query) != simdjson::SUCCESS) continue;
      std::smatch match;
      const std::string text(query);
      if (std::regex_search(text, match, label_values)) exprs.push_back(match[1]);
    }
  }
  return exprs;
}

std::vector<std::string> AlertExprs(const std::string& path) {
  std::vector<std::string> exprs;
  const YAML::Node rules = YAML::LoadFile(path);
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"]) exprs.push_back(rule["expr"].as<std::string>());
  }
  return exprs;
}

TEST(DeployFiles, MetricNamesInPromQL) {
  EXPECT_EQ(
      MetricNamesIn("sum by (job, le) (rate(eddy_x_bucket{job=~\"$job\"}[$__rate_interval]))"),
      (std::set<std::string>{"eddy_x_bucket"}));
  EXPECT_EQ(MetricNamesIn("histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) > 1e3"),
            (std::set<std::string>{"a_bucket"}));
  EXPECT_EQ(
      MetricNamesIn("(time() - a) > clamp_min(10 * b, 60)\nand on (job)\nsum by (job) (c) > 0"),
      (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(MetricNamesIn("up{job=\"eddy\", instance!~\"x:9464\"} == 0 unless d offset 5m"),
            (std::set<std::string>{"up", "d"}));
}

TEST(DeployFiles, PromtoolAcceptsConfigAndRules) {
  const auto config = testing::RunShell(std::string(PROMTOOL_BINARY) +
                                        " check config deploy/prometheus/prometheus.yml");
  EXPECT_EQ(config.exit_code, 0) << config.output;
  EXPECT_NE(config.output.find("SUCCESS"), std::string::npos) << config.output;
  const auto rules =
      testing::RunShell(std::string(PROMTOOL_BINARY) + " check rules deploy/prometheus/alerts.yml");
  EXPECT_EQ(rules.exit_code, 0) << rules.output;
  EXPECT_NE(rules.output.find("SUCCESS"), std::string::npos) << rules.output;
}

TEST(DeployFiles, DashboardAndAlertsQueryOnlyExportedMetrics) {
  const std::vector<std::string> dashboard = DashboardExprs("deploy/grafana/eddy-dashboard.json");
  const std::vector<std::string> alerts = AlertExprs("deploy/prometheus/alerts.yml");
  ASSERT_GE(dashboard.size(), 15u);
  ASSERT_GE(alerts.size(), 4u);
  // The scale-out panels show each instance (one scrape target each): every
  // query of an instance series keeps Prometheus' instance label, but for
  // one p50 over all.
  int per_instance = 0;
  for (const std::string& expr : dashboard) {
    if (expr.find("eddy_instance_") == std::string::npos || expr.find("0.5,") != std::string::npos)
      continue;
    EXPECT_NE(expr.find("by (job, instance"), std::string::npos) << "not per instance: " << expr;
    ++per_instance;
  }
  EXPECT_GE(per_instance, 5) << "partitions, moves, lag, restore time and bytes per instance";
  std::map<std::string, std::string> referenced;  // name -> first expression using it
  for (const auto* exprs : {&dashboard, &alerts}) {
    for (const std::string& expr : *exprs) {
      const std::set<std::string> names = MetricNamesIn(expr);
      EXPECT_FALSE(names.empty()) << "no metric in: " << expr;
      for (const std::string& name : names) referenced.emplace(name, expr);
    }
  }

  // A live job with everything Eddy can export today: a generator with
  // event time (watermarks) through a filter into a file, checkpointing
  // every other batch, a window (late rows), and the three kinds of learner (a classifier tree, a
  // regressor, k-means) for the model series.
  const std::string dir = testing::MakeTempDir("eddy-deploy");
  testing::WriteFile(
      dir + "/job.yaml",
      "name: exported\n"
      "sources:\n"
      "  - name: ads\n"
      "    generator: { kind: ysb, rate: 20000, partitions: 2 }\n"
      "    event_time: { column: event_time, max_out_of_orderness: 1s }\n"
      "  - name: labelled\n"
      "    generator: { kind: classification, rate: 2000, options: { features: \"2\" } }\n"
      "  - name: numbers\n"
      "    generator: { kind: regression, rate: 2000, options: { features: \"2\" } }\n"
      "  - name: points\n"
      "    generator: { kind: clusters, rate: 2000, options: { k: \"2\" } }\n"
      "operators:\n"
      "  - name: views\n"
      "    inputs: [ads]\n"
      "    filter: event_type = 'view'\n"
      "  - name: per-ad\n"
      "    inputs: [views]\n"
      "    window: { key: [ad_id], type: tumbling, size: 10s, aggregates: [\"count(*) AS n\"] }\n"
      "  - name: tree\n"
      "    inputs: [labelled]\n"
      "    prequential: { model: hoeffding_tree, features: [x0, x1], label: label }\n"
      "  - name: sgd\n"
      "    inputs: [numbers]\n"
      "    prequential: { model: sgd_regressor, features: [x0, x1], label: label }\n"
      "  - name: kmeans\n"
      "    inputs: [points]\n"
      "    learn: { model: kmeans, features: [x0, x1], options: { k: \"2\" } }\n"
      "sinks:\n"
      "  - name: out\n"
      "    input: views\n"
      "    file: { path: " +
          dir +
          "/out.jsonl }\n"
          "    format: json\n"
          "  - name: windows\n"
          "    input: per-ad\n"
          "    file: { path: " +
          dir +
          "/windows.jsonl }\n"
          "    format: json\n"
          "  - name: predictions\n"
          "    input: tree\n"
          "    file: { path: " +
          dir +
          "/tree.jsonl }\n"
          "    format: json\n"
          "  - name: regression\n"
          "    input: sgd\n"
          "    file: { path: " +
          dir +
          "/sgd.jsonl }\n"
          "    format: json\n"
          "  - name: clusters\n"
          "    input: kmeans\n"
          "    file: { path: " +
          dir +
          "/kmeans.jsonl }\n"
          "    format: json\n"
          "state: { dir: " +
          dir +
          "/state }\n"
          "checkpoint: { every_batches: 2 }\n"
          "trigger:\n"
          "  interval: 200ms\n");
  const int port = testing::FreePort();
  testing::ChildProcess eddy(EDDY_BINARY,
                             {"run", dir + "/job.yaml", "--quiet", "--metrics-address",
                              "127.0.0.1:" + std::to_string(port)},
                             dir + "/eddy.log");
  std::string exposition;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto body = testing::HttpGet(port, "/metrics");
        if (!body) return false;
        exposition = *body;
        // Some series appear with the first watermark or checkpoint.
        return exposition.find("eddy_source_watermark_seconds{job=\"exported\"") !=
                   std::string::npos &&
               exposition.find("eddy_checkpoint_size_bytes{job=\"exported\"}") !=
                   std::string::npos &&
               exposition.find("eddy_model_rmse{") != std::string::npos &&
               exposition.find("eddy_model_accuracy{") != std::string::npos &&
               exposition.find("eddy_model_cluster_size{") != std::string::npos &&
               exposition.find("eddy_late_records_total{") != std::string::npos;
      },
      15s))
      << testing::ReadFile(dir + "/eddy.log");
  const std::set<std::string> exported = testing::ExportedNames(exposition);
  EXPECT_TRUE(exported.count("eddy_batch_duration_seconds_bucket"));
  for (const auto& [name, expr] : referenced) {
    EXPECT_TRUE(exported.count(name) || kPrometheusSeries.count(name) ||
                testing::kInstanceSeries.count(name))
        << name << " is not exported by a running Eddy; used in:\n"
        << expr;
  }
  EXPECT_EQ(eddy.Stop(), 0) << testing::ReadFile(dir + "/eddy.log");
  std::filesystem::remove_all(dir);
}

// Host paths in Compose volumes (relative to deploy/) must exist, Grafana's
// dashboard provider must read the folder the dashboard is mounted in, the
// datasource uid must be the dashboard's, and deploy/k8s must hold the
// StatefulSet, ConfigMap and Service.
TEST(DeployFiles, ComposeGrafanaAndKubernetesFilesAreConsistent) {
  const YAML::Node compose = YAML::LoadFile("deploy/docker-compose.yml");
  ASSERT_TRUE(compose["services"]);
  for (const char* service :
       {"kafka", "eddy-pipeline", "eddy-generator", "prometheus", "grafana"}) {
    EXPECT_TRUE(compose["services"][service]) << "compose has no service " << service;
  }
  int mounts = 0;
  for (const auto& service : compose["services"]) {
    for (const auto& volume : service.second["volumes"]) {
      const std::string spec = volume.as<std::string>();
      if (spec.rfind("./", 0) != 0 && spec.rfind("../", 0) != 0) continue;  // named volumes
      const std::string host = spec.substr(0, spec.find(':'));
      EXPECT_TRUE(std::filesystem::exists("deploy/" + host)) << spec;
      ++mounts;
    }
  }
  EXPECT_GE(mounts, 4);
  const YAML::Node providers = YAML::LoadFile("deploy/grafana/provisioning/dashboards/eddy.yml");
  const std::string folder = providers["providers"][0]["options"]["path"].as<std::string>();
  bool dashboard_mounted = false;
  for (const auto& volume : compose["services"]["grafana"]["volumes"]) {
    const std::string spec = volume.as<std::string>();
    dashboard_mounted |= spec.rfind("./grafana/eddy-dashboard.json:" + folder + "/", 0) == 0;
  }
  EXPECT_TRUE(dashboard_mounted) << "grafana does not mount the dashboard into " << folder;

  const YAML::Node datasource =
      YAML::LoadFile("deploy/grafana/provisioning/datasources/prometheus.yml");
  const std::string uid = datasource["datasources"][0]["uid"].as<std::string>();
  const std::string dashboard = testing::ReadFile("deploy/grafana/eddy-dashboard.json");
  EXPECT_NE(dashboard.find("\"uid\": \"" + uid + "\""), std::string::npos) << uid;

  std::set<std::string> kinds;
  std::string job_file;
  for (const auto& entry : std::filesystem::directory_iterator("deploy/k8s")) {
    if (entry.path().extension() != ".yaml") continue;
    for (const YAML::Node& document : YAML::LoadAllFromFile(entry.path().string())) {
      if (!document["kind"]) continue;
      kinds.insert(document["kind"].as<std::string>());
      if (document["kind"].as<std::string>() == "ConfigMap" && document["data"]["job.yaml"]) {
        job_file = document["data"]["job.yaml"].as<std::string>();
      }
    }
  }
  // The ConfigMap's job must be one Eddy accepts.
  ASSERT_FALSE(job_file.empty()) << "no ConfigMap with job.yaml in deploy/k8s";
  const std::string dir = testing::MakeTempDir("eddy-k8s");
  testing::WriteFile(dir + "/job.yaml", job_file);
  const auto validated = testing::RunShell("KAFKA_BROKERS=kafka:9092 " + std::string(EDDY_BINARY) +
                                           " validate " + dir + "/job.yaml");
  EXPECT_EQ(validated.exit_code, 0) << validated.output;
  std::filesystem::remove_all(dir);
  for (const char* kind : {"StatefulSet", "ConfigMap", "Service"}) {
    EXPECT_TRUE(kinds.count(kind)) << "deploy/k8s has no " << kind;
  }
}

// The scaled-out job's manifests (deploy/k8s/scale-out) and Compose file:
// the job validates as a scaled-out job, several pods mount the shared
// claim where the job keeps its partitions' checkpoints, and Compose runs
// three differently named instances of the same job file.
TEST(DeployFiles, ScaleOutManifestsRunOneJobAsSeveralInstances) {
  std::map<std::string, YAML::Node> by_kind;
  for (const auto& entry : std::filesystem::directory_iterator("deploy/k8s/scale-out")) {
    if (entry.path().extension() != ".yaml") continue;
    for (const YAML::Node& document : YAML::LoadAllFromFile(entry.path().string())) {
      if (document["kind"]) by_kind[document["kind"].as<std::string>()] = document;
    }
  }
  for (const char* kind :
       {"StatefulSet", "ConfigMap", "Service", "PersistentVolumeClaim", "PodDisruptionBudget"}) {
    ASSERT_TRUE(by_kind.count(kind)) << "deploy/k8s/scale-out has no " << kind;
  }
  const std::string job_text = by_kind["ConfigMap"]["data"]["job.yaml"].as<std::string>();
  const std::string dir = testing::MakeTempDir("eddy-k8s-scale");
  testing::WriteFile(dir + "/job.yaml", job_text);
  const auto validated =
      testing::RunShell("KAFKA_BROKERS=kafka:9092 HOSTNAME=eddy-clicks-0 " +
                        std::string(EDDY_BINARY) + " validate " + dir + "/job.yaml");
  EXPECT_EQ(validated.exit_code, 0) << validated.output;
  const YAML::Node job = YAML::Load(job_text);
  ASSERT_EQ(job["scale"]["mode"].as<std::string>(), "kafka");
  const std::string shared_dir = job["scale"]["shared_dir"].as<std::string>();

  const YAML::Node& set = by_kind["StatefulSet"];
  EXPECT_GE(set["spec"]["replicas"].as<int>(), 2);
  EXPECT_EQ(set["spec"]["podManagementPolicy"].as<std::string>(), "Parallel");
  const std::string claim = by_kind["PersistentVolumeClaim"]["metadata"]["name"].as<std::string>();
  EXPECT_EQ(by_kind["PersistentVolumeClaim"]["spec"]["accessModes"][0].as<std::string>(),
            "ReadWriteMany");
  std::string shared_volume;
  for (const auto& volume : set["spec"]["template"]["spec"]["volumes"]) {
    if (volume["persistentVolumeClaim"] &&
        volume["persistentVolumeClaim"]["claimName"].as<std::string>() == claim) {
      shared_volume = volume["name"].as<std::string>();
    }
  }
  ASSERT_FALSE(shared_volume.empty()) << "the StatefulSet does not mount " << claim;
  bool mounted = false;
  for (const auto& mount : set["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]) {
    mounted |= mount["name"].as<std::string>() == shared_volume &&
               mount["mountPath"].as<std::string>() == shared_dir;
  }
  EXPECT_TRUE(mounted) << "the shared claim is not mounted at " << shared_dir;
  // The probes ask the instance itself (/healthz of its instances API),
  // on the port its --api-address listens on.
  const YAML::Node container = set["spec"]["template"]["spec"]["containers"][0];
  std::string api_address;
  for (size_t idx = 0; idx + 1 < container["args"].size(); ++idx) {
    if (container["args"][idx].as<std::string>() == "--api-address") {
      api_address = container["args"][idx + 1].as<std::string>();
    }
  }
  ASSERT_FALSE(api_address.empty()) << "the instances are started without --api-address";
  std::string api_port_name;
  for (const auto& port : container["ports"]) {
    if (api_address.ends_with(":" + port["containerPort"].as<std::string>())) {
      api_port_name = port["name"].as<std::string>();
    }
  }
  for (const char* probe : {"readinessProbe", "livenessProbe"}) {
    EXPECT_EQ(container[probe]["httpGet"]["path"].as<std::string>(), "/healthz") << probe;
    EXPECT_EQ(container[probe]["httpGet"]["port"].as<std::string>(), api_port_name) << probe;
  }

  const YAML::Node compose = YAML::LoadFile("deploy/docker-compose.scale-out.yml");
  std::set<std::string> instances;
  std::set<std::string> jobs;
  for (const auto& service : compose["services"]) {
    const YAML::Node environment = service.second["environment"];
    if (!environment || !environment["HOSTNAME"]) continue;
    instances.insert(environment["HOSTNAME"].as<std::string>());
    for (const auto& volume : service.second["volumes"]) {
      const std::string spec = volume.as<std::string>();
      if (spec.find(":/etc/eddy/job.yaml") != std::string::npos) jobs.insert(spec);
    }
  }
  EXPECT_EQ(instances.size(), 3u);
  EXPECT_EQ(jobs.size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eddy
