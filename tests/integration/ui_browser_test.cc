// The web UI end to end: a real `eddy serve` running three jobs (a filter
// and projection, a prequential learner with its .metrics side output, and
// a 50-operator chain), an `eddy run --ui` beside it, and the pages driven in Debian's headless
// Chromium by ui_browser_test.mjs (playwright-core from the UI's npm packages). The script checks
// what a person sees; this test then checks through the API that the stop clicked on the page
// happened and that the read token's attempt was refused. Screenshots land in the build directory
// (ui-screenshots/).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

#include "tests/integration/kafka_test_util.h"
#include "tests/integration/server_test_util.h"

namespace eddy {
namespace {

constexpr char kAdminToken[] = "admin-token-8d1e4b7a2c9f3065";
constexpr char kReadToken[] = "read-token-3a7c9e1f5b2d8046";

std::string NowIso() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

// Frequent batches and checkpoints, kept, so the page's table grows.
constexpr char kCadence[] =
    "trigger: { interval: 200ms, max_records_per_partition: 2000 }\n"
    "checkpoint: { every_batches: 3, keep: 50 }\n";

std::string AdsJob() {
  return "name: ui-ads\n"
         "sources:\n"
         "  - name: events\n"
         "    generator: { kind: ysb, rate: 3000, partitions: 2, seed: 3, start_time: \"" +
         NowIso() +
         "\" }\n"
         "    event_time: { column: event_time, max_out_of_orderness: 1s }\n"
         "operators:\n"
         "  - name: views\n"
         "    filter: event_type = 'view'\n"
         "  - name: shaped\n"
         "    select:\n"
         "      - ad_id\n"
         "      - upper(ad_type) AS ad_type\n"
         "      - event_time\n"
         // A fifth of the views fail their cast: dead letters with a reason.
         "      - CAST(CASE WHEN ad_type = 'mail' THEN 'n/a' ELSE '1' END AS int64) AS weight\n"
         "sinks:\n"
         "  - name: out\n"
         "    file: { path: views.jsonl }\n"
         "    format: json\n" +
         kCadence;
}

std::string LearnerJob() {
  return "name: ui-learner\n"
         "sources:\n"
         "  - name: sea\n"
         "    generator: { kind: sea, rate: 4000, seed: 1, options: { noise: \"0.1\" }, "
         "start_time: \"" +
         NowIso() +
         "\" }\n"
         "    event_time: { column: event_time }\n" +
         std::string(
             "operators:\n"
             "  - name: tree\n"
             "    prequential:\n"
             "      model: hoeffding_tree\n"
             "      features: [x0, x1, x2]\n"
             "      label: label\n"
             "      metrics_window: 2000\n"
             "      options: { classes: 2, grace_period: 200 }\n"
             "sinks:\n"
             "  - name: predictions\n"
             "    input: tree\n"
             "    file: { path: predictions.jsonl }\n"
             "    format: json\n"
             "  - name: quality\n"
             "    input: tree.metrics\n"
             "    file: { path: quality.jsonl }\n"
             "    format: json\n") +
         kCadence;
}

// A source, 48 projections in a chain and a sink: 50 DAG nodes.
std::string WideJob() {
  std::string text =
      "name: ui-wide\n"
      "sources:\n"
      "  - name: points\n"
      "    generator: { kind: sea, rate: 500, seed: 2 }\n"
      "operators:\n";
  for (int idx = 0; idx < 48; ++idx) {
    text += "  - name: step" + std::to_string(idx) + "\n    select: [x0, x1, x2, label]\n";
  }
  return text +
         "sinks:\n"
         "  - name: out\n"
         "    file: { path: out.jsonl }\n"
         "    format: json\n" +
         kCadence;
}

// Kills a process the test started if the test ends before it did.
struct KillAtEnd {
  int pid;
  ~KillAtEnd() {
    if (pid > 0 && !testing::ExitedWithin(pid, 0)) {
      ::kill(pid, SIGKILL);
      testing::WaitForExit(pid);
    }
  }
};

// The bound port in `eddy run --ui`'s log line "web UI url=http://HOST:PORT/...".
int UiPort(const std::string& log) {
  const std::string text = testing::ReadFile(log);
  const size_t at = text.find("web UI url=http://127.0.0.1:");
  if (at == std::string::npos) return -1;
  return std::stoi(text.substr(at + std::string("web UI url=http://127.0.0.1:").size()));
}

int RunScript(const std::string& env, const std::string& log) {
  const std::string command = env + " " + EDDY_NODE + " " + EDDY_SOURCE_DIR +
                              "/tests/integration/ui_browser_test.mjs > " + log + " 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(UiBrowser, PagesShowTheJobsAndAnAdminStopsOneFromItsPage) {
  const std::string dir = testing::MakeServerDir(
      "eddy-ui", std::string(kAdminToken) + " admin\n" + kReadToken + " read\n");
  testing::ServerProcess server(dir);
  ASSERT_TRUE(server.Start({"--metrics-address", "off"})) << server.Log();
  httplib::Client admin = server.Client(kAdminToken);
  for (const std::string& job : {AdsJob(), LearnerJob(), WideJob()}) {
    auto res = admin.Post("/api/v1/jobs", job, "application/yaml");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 201) << res->body;
  }

  // `eddy run --ui` beside it: one job, no tokens.
  const std::string local_job = dir + "/local.yaml";
  testing::WriteFile(local_job,
                     "name: ui-local\n"
                     "sources:\n"
                     "  - name: sea\n"
                     "    generator: { kind: sea, rate: 1000, seed: 5 }\n"
                     "sinks:\n"
                     "  - name: out\n"
                     "    file: { path: " +
                         dir +
                         "/local.jsonl }\n"
                         "    format: json\n"
                         "state: { dir: " +
                         dir + "/local-state }\n" + kCadence);
  const std::string local_log = dir + "/local.log";
  const int local = testing::SpawnEddy(
      {"run", local_job, "--ui", "127.0.0.1:0", "--metrics-address", "off", "--quiet"}, local_log);
  KillAtEnd local_guard{local};
  ASSERT_TRUE(testing::WaitForLogCount(local_log, "web UI url=", 1, 20000))
      << testing::ReadFile(local_log);
  const int local_port = UiPort(local_log);
  ASSERT_GT(local_port, 0) << testing::ReadFile(local_log);
  httplib::Client local_client("127.0.0.1", local_port);
  auto whoami = local_client.Get("/api/v1/whoami");
  ASSERT_TRUE(whoami);
  EXPECT_EQ(whoami->body, "{\"role\":\"admin\",\"tokens_required\":false}\n");

  const std::string screenshots = std::string(EDDY_BINARY_DIR) + "/ui-screenshots";
  std::filesystem::create_directories(screenshots);
  const std::string log = screenshots + "/browser.log";
  const std::string env =
      "EDDY_URL=" + server.Url() + " ADMIN_TOKEN=" + kAdminToken + " READ_TOKEN=" + kReadToken +
      " JOBS=ui-learner,ui-ads LEARNER=ui-learner WIDE=ui-wide DEAD=ui-ads"
      " SCREENSHOTS=" +
      screenshots + " NODE_MODULES=" + EDDY_UI_NODE_MODULES + " CHROMIUM=" + EDDY_CHROMIUM +
      " LOCAL_URL=http://127.0.0.1:" + std::to_string(local_port) + " LOCAL_JOB=ui-local";
  const auto started = std::chrono::steady_clock::now();
  const int code = RunScript(env, log);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string output = testing::ReadFile(log);
  std::printf("%s(browser part: %.1f s)\n", output.c_str(), seconds);
  ASSERT_EQ(code, 0) << "server log:\n" << server.Log();

  // What the page did, seen from the API: the stop clicked as admin
  // happened, the read token's attempt did not; the other jobs run on.
  EXPECT_EQ(testing::JsonField(admin.Get("/api/v1/jobs/ui-ads")->body, "state"), "STOPPED");
  EXPECT_EQ(testing::JsonField(admin.Get("/api/v1/jobs/ui-learner")->body, "state"), "RUNNING");
  const std::string server_log = server.Log();
  EXPECT_NE(server_log.find("api refused status=403 method=POST path=/api/v1/jobs/ui-ads/stop"),
            std::string::npos)
      << server_log;
  EXPECT_NE(server_log.find("job=ui-ads stopped with a final checkpoint"), std::string::npos);
  // The local UI: a form another site posts is refused; the page's own
  // stop (no Origin of another site) ends the run cleanly.
  httplib::Headers foreign = {{"Origin", "http://attacker.example"}};
  auto refused = local_client.Post("/api/v1/jobs/ui-local/stop", foreign, "", "text/plain");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  auto stopped = local_client.Post("/api/v1/jobs/ui-local/stop", "", "application/json");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->status, 202) << stopped->body;
  EXPECT_EQ(testing::JsonField(stopped->body, "state"), "STOPPING");
  EXPECT_EQ(testing::ExitedWithin(local, 20000), std::optional<int>(0))
      << testing::ReadFile(local_log);
  local_guard.pid = -1;

  for (const char* shot : {"ui-job-list.png", "ui-local-job.png", "ui-job-ui-learner.png",
                           "ui-job-ui-learner-dark.png", "ui-job-ui-ads-stopped.png"}) {
    EXPECT_GT(std::filesystem::file_size(screenshots + "/" + shot), 10000u) << shot;
  }
}

TEST(UiLocal, RunRefusesAUiOffLoopbackWithoutTokens) {
  const std::string dir = testing::MakeTempDir("eddy-ui-local");
  const std::string job = dir + "/job.yaml";
  testing::WriteFile(job,
                     "name: j\nsources: [{name: g, generator: {kind: sea, count: 10}}]\n"
                     "sinks: [{name: o, stdout: {}}]\nstate: { dir: " +
                         dir + "/state }\n");
  auto result = testing::RunEddy("run " + job + " --ui 0.0.0.0:0 --metrics-address off");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--ui 0.0.0.0:0: the local UI has no tokens, so it listens on "
                               "loopback only (127.0.0.1:PORT); use `eddy serve` to share jobs "
                               "with tokens and TLS"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace eddy
