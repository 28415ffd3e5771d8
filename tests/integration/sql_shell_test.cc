// `eddy sql` driven as a person drives it: the real binary in a pseudo-
// terminal (libedit line editing on), statements typed line by line against
// an embedded broker over TCP. Creates a source, lists it, recalls a
// statement from history with the up arrow, runs a windowed query and reads
// its exact rows, stops it with Ctrl-C and leaves.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "connectors/kafka/embedded_broker.h"
#include "runtime/core/batch.h"
#include "tests/integration/kafka_test_util.h"

#ifndef EDDY_BINARY
#define EDDY_BINARY "build/eddy"
#endif

namespace eddy {
namespace {

// The shell in a pseudo-terminal: what it printed so far, and keys to type.
class Terminal {
 public:
  Terminal(const std::vector<std::string>& args) {
    struct winsize size = {};
    size.ws_row = 50;
    size.ws_col = 200;
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      setenv("TERM", "xterm", 1);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(EDDY_BINARY));
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(EDDY_BINARY, argv.data());
      _exit(127);
    }
  }

  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }

  bool started() const { return pid_ > 0; }

  void Type(const std::string& keys) {
    ASSERT_EQ(write(master_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }

  // Reads until `done(output)` holds or `timeout_ms` passes.
  template <typename Done>
  bool WaitFor(Done done, int timeout_ms = 20000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!done(output_)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      struct pollfd fd = {master_, POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 200))) <= 0) continue;
      char buf[4096];
      const ssize_t got = read(master_, buf, sizeof(buf));
      if (got <= 0) return done(output_);
      output_.append(buf, static_cast<size_t>(got));
    }
    return true;
  }

  bool WaitForText(const std::string& text, size_t count = 1, int timeout_ms = 20000) {
    return WaitFor([&](const std::string& out) { return Count(out, text) >= count; }, timeout_ms);
  }

  static size_t Count(const std::string& out, const std::string& text) {
    size_t count = 0;
    for (size_t pos = out.find(text); pos != std::string::npos; pos = out.find(text, pos + 1)) {
      ++count;
    }
    return count;
  }

  // Waits up to 10 s for the shell to exit; its exit code.
  int Wait() {
    int status = 0;
    for (int waited = 0; waited < 200; ++waited) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      // Keep reading so the shell never blocks on a full terminal.
      WaitFor([](const std::string&) { return false; }, 50);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

  const std::string& output() const { return output_; }

  // The lines printed since `from`, without carriage returns.
  std::vector<std::string> LinesFrom(size_t from) const {
    std::vector<std::string> lines;
    std::istringstream in(output_.substr(from));
    std::string line;
    while (std::getline(in, line)) {
      line.erase(std::remove(line.begin(), line.end(), '\r'), line.end());
      lines.push_back(line);
    }
    return lines;
  }

 private:
  int master_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string output_;
};

std::string Click(const std::string& user, int second) {
  return R"({"user_id":")" + user + R"(","event_time":")" +
         FormatTimestamp(static_cast<int64_t>(second) * 1000000) + R"("})";
}

TEST(SqlShellTest, WindowedQueryOverALiveTopicInAPseudoTerminal) {
  auto broker = EmbeddedBroker::Start({});
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  ASSERT_TRUE((*broker)->CreateTopic("clicks", 1).ok());
  // Windows of 10 s: [0,10) a=3 b=2, [10,20) a=1; the click at 35 s moves
  // the watermark past both (and past the empty [20,30)).
  std::vector<testing::TestRecord> records;
  for (auto [user, second] : std::vector<std::pair<std::string, int>>{
           {"a", 1}, {"b", 2}, {"a", 3}, {"a", 8}, {"b", 9}, {"a", 12}, {"b", 35}}) {
    testing::TestRecord record;
    record.value = Click(user, second);
    records.push_back(record);
  }
  testing::ProduceRecords((*broker)->bootstrap(), "clicks", records);

  const std::string dir = testing::MakeTempDir("eddy-sql-shell");
  Terminal terminal({"sql", "--brokers", (*broker)->bootstrap(), "--history", dir + "/history"});
  ASSERT_TRUE(terminal.started());
  ASSERT_TRUE(terminal.WaitForText("eddy> ")) << terminal.output();

  terminal.Type(
      "CREATE SOURCE clicks (user_id text NOT NULL, event_time timestamp NOT NULL,\r"
      "  WATERMARK FOR event_time AS event_time)\r"
      "WITH (connector = 'kafka', topic = 'clicks', format = 'json');\r");
  ASSERT_TRUE(terminal.WaitForText("CREATE SOURCE\r\n")) << terminal.output();

  terminal.Type("SHOW SOURCES;\r");
  ASSERT_TRUE(terminal.WaitForText("kafka topic=clicks")) << terminal.output();
  // The up arrow brings the statement back from the history.
  terminal.Type("\x1b[A\r");
  ASSERT_TRUE(terminal.WaitForText("kafka topic=clicks", 2)) << terminal.output();

  terminal.Type("SELECT foo FROM clicks;\r");
  ASSERT_TRUE(terminal.WaitForText("ERROR: statement 4:1:8: SELECT item 1: unknown column 'foo'"))
      << terminal.output();

  const size_t before = terminal.output().size();
  terminal.Type(
      "SELECT user_id, window_start, window_end, count(*) AS clicks\r"
      "FROM TUMBLE(clicks, event_time, INTERVAL '10' SECOND)\r"
      "GROUP BY user_id, window_start, window_end;\r");
  const std::vector<std::string> expected = {
      "a | 1970-01-01T00:00:00.000000Z | 1970-01-01T00:00:10.000000Z | 3",
      "b | 1970-01-01T00:00:00.000000Z | 1970-01-01T00:00:10.000000Z | 2",
      "a | 1970-01-01T00:00:10.000000Z | 1970-01-01T00:00:20.000000Z | 1"};
  ASSERT_TRUE(terminal.WaitFor([&](const std::string& out) {
    return std::all_of(expected.begin(), expected.end(), [&](const std::string& row) {
      return out.find(row, before) != std::string::npos;
    });
  })) << terminal.output().substr(before);
  // Ctrl-C ends the query, not the shell.
  terminal.Type("\x03");
  ASSERT_TRUE(terminal.WaitForText("(query stopped: 7 rows in, 3 rows out)")) << terminal.output();

  // Exactly the header and the three rows, nothing else in between.
  std::vector<std::string> lines = terminal.LinesFrom(before);
  auto header =
      std::find(lines.begin(), lines.end(), "user_id | window_start | window_end | clicks");
  ASSERT_NE(header, lines.end()) << terminal.output().substr(before);
  std::vector<std::string> rows(header + 1, header + 4);
  std::vector<std::string> sorted_expected = expected;
  std::sort(rows.begin(), rows.end());
  std::sort(sorted_expected.begin(), sorted_expected.end());
  EXPECT_EQ(rows, sorted_expected);
  // Then the terminal's echo of Ctrl-C, and the summary.
  EXPECT_EQ(*(header + 4), "^C");
  EXPECT_EQ(*(header + 5), "(query stopped: 7 rows in, 3 rows out)");

  terminal.Type("quit\r");
  EXPECT_EQ(terminal.Wait(), 0) << terminal.output();
  // The history file kept the statements (libedit writes spaces as \040).
  EXPECT_NE(testing::ReadFile(dir + "/history").find("SHOW\\040SOURCES;"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// The job-file commands take .sql files: validate prints the DAG or the
// error with its SQL position, run writes the exact rows.
TEST(SqlCliTest, ValidateAndRunTakeSqlJobFiles) {
  auto valid = testing::RunShell(EDDY_BINARY " validate jobs/ysb-campaign-windows.sql");
  EXPECT_EQ(valid.exit_code, 0) << valid.output;
  EXPECT_NE(valid.output.find("operator per_campaign <- with_campaign: window tumbling size=10s"),
            std::string::npos)
      << valid.output;

  const std::string dir = testing::MakeTempDir("eddy-sql-cli");
  testing::WriteFile(dir + "/bad.sql",
                     "CREATE SOURCE s WITH (connector = 'generator', kind = 'ysb', count = 5);\n"
                     "CREATE SINK o WITH (connector = 'stdout') AS\n"
                     "SELECT ad_id FROM s WHERE ad_type > 1;\n");
  auto bad = testing::RunShell(EDDY_BINARY " validate " + dir + "/bad.sql");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.output, dir + "/bad.sql:3:35: WHERE: cannot compare string with int64 using >\n");

  testing::WriteFile(
      dir + "/job.sql",
      "CREATE SOURCE s WITH (connector = 'generator', kind = 'regression', count = 4,\n"
      "  seed = 7, options.features = 1);\n"
      "CREATE SINK o WITH (connector = 'file', path = 'out.jsonl') AS\n"
      "SELECT id, id * 10 AS tens FROM s WHERE id % 2 = 1;\n");
  auto run = testing::RunShell(
      "cd " + dir + " && " EDDY_BINARY " run --once --quiet --metrics-address off job.sql");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(testing::ReadFile(dir + "/out.jsonl"),
            "{\"id\":1,\"tens\":10}\n{\"id\":3,\"tens\":30}\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace eddy
