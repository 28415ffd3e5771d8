// The web UI end to end: a real `eddy serve` running three jobs (a filter
// and projection, a prequential learner with its .metrics side output, and
// a 50-operator chain), and the pages driven in Debian's headless Chromium
// by ui_browser_test.mjs (playwright-core from the UI's npm packages). The
// script checks what a person sees; this test then checks through the API
// that the stop clicked on the page happened and that the read token's
// attempt was refused. Screenshots land in the build directory
// (ui-screenshots/).

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
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
         "    select: [ad_id, upper(ad_type) AS ad_type, event_time]\n"
         "sinks:\n"
         "  - name: out\n"
         "    file: { path: views.jsonl }\n"
         "    format: json\n" +
         kCadence;
}

std::string LearnerJob() {
  return std::string(
             "name: ui-learner\n"
             "sources:\n"
             "  - name: sea\n"
             "    generator: { kind: sea, rate: 4000, seed: 1, options: { noise: \"0.1\" } }\n"
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

  const std::string screenshots = std::string(EDDY_BINARY_DIR) + "/ui-screenshots";
  std::filesystem::create_directories(screenshots);
  const std::string log = screenshots + "/browser.log";
  const std::string env = "EDDY_URL=" + server.Url() + " ADMIN_TOKEN=" + kAdminToken +
                          " READ_TOKEN=" + kReadToken +
                          " JOBS=ui-learner,ui-ads LEARNER=ui-learner WIDE=ui-wide"
                          " SCREENSHOTS=" +
                          screenshots + " NODE_MODULES=" + EDDY_UI_NODE_MODULES +
                          " CHROMIUM=" + EDDY_CHROMIUM;
  const auto started = std::chrono::steady_clock::now();
  const int code = RunScript(env, log);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string output = testing::ReadFile(log);
  std::printf("%s(browser part: %.1f s)\n", output.c_str(), seconds);
  ASSERT_EQ(code, 0) << output << "\nserver log:\n" << server.Log();

  // What the page did, seen from the API: the stop clicked as admin
  // happened, the read token's attempt did not; the other jobs run on.
  EXPECT_EQ(testing::JsonField(admin.Get("/api/v1/jobs/ui-ads")->body, "state"), "STOPPED");
  EXPECT_EQ(testing::JsonField(admin.Get("/api/v1/jobs/ui-learner")->body, "state"), "RUNNING");
  const std::string server_log = server.Log();
  EXPECT_NE(server_log.find("api refused status=403 method=POST path=/api/v1/jobs/ui-ads/stop"),
            std::string::npos)
      << server_log;
  EXPECT_NE(server_log.find("job=ui-ads stopped with a final checkpoint"), std::string::npos);
  for (const char* shot : {"ui-job-list.png", "ui-job-ui-learner.png", "ui-job-ui-learner-dark.png",
                           "ui-job-ui-ads-stopped.png"}) {
    EXPECT_GT(std::filesystem::file_size(screenshots + "/" + shot), 10000u) << shot;
  }
}

}  // namespace
}  // namespace eddy
