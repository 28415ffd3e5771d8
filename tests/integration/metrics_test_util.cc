#include "tests/integration/metrics_test_util.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <thread>

namespace eddy::testing {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

ChildProcess::ChildProcess(const std::string& binary, const std::vector<std::string>& args,
                           const std::string& log_path)
    : log_path_(log_path) {
  pid_ = ::fork();
  if (pid_ == 0) {
    std::FILE* log = std::fopen(log_path.c_str(), "w");
    if (log != nullptr) {
      ::dup2(::fileno(log), STDOUT_FILENO);
      ::dup2(::fileno(log), STDERR_FILENO);
    }
    std::vector<std::string> copies = args;
    std::string program = binary;
    std::vector<char*> argv;
    argv.push_back(program.data());
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    std::_Exit(127);
  }
}

ChildProcess::~ChildProcess() { Stop(std::chrono::seconds(5)); }

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

int ChildProcess::Stop(std::chrono::seconds timeout) {
  if (!Running()) return exit_code_;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) return exit_code_;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  exit_code_ = -1;
  return exit_code_;
}

std::optional<std::string> HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  auto result = client.Get(path);
  if (!result || result->status != 200) return std::nullopt;
  return result->body;
}

bool WaitFor(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

namespace {

std::string UrlEncode(const std::string& text) {
  std::string out;
  char buf[4];
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<PromSample>> PromQuery(int port, const std::string& query,
                                                 std::string* error) {
  auto body = HttpGet(port, "/api/v1/query?query=" + UrlEncode(query));
  if (!body) {
    if (error != nullptr) *error += "query '" + query + "': no answer\n";
    return std::nullopt;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS) {
    if (error != nullptr) *error += "query '" + query + "': not JSON: " + *body + "\n";
    return std::nullopt;
  }
  std::string_view status;
  simdjson::dom::array result;
  if (root["status"].get(status) != simdjson::SUCCESS || status != "success" ||
      root["data"]["result"].get(result) != simdjson::SUCCESS) {
    if (error != nullptr) *error += "query '" + query + "': " + *body + "\n";
    return std::nullopt;
  }
  std::vector<PromSample> samples;
  for (simdjson::dom::element element : result) {
    PromSample sample;
    simdjson::dom::object metric;
    if (element["metric"].get(metric) == simdjson::SUCCESS) {
      for (auto field : metric) {
        std::string_view value;
        if (field.value.get(value) == simdjson::SUCCESS) {
          sample.labels[std::string(field.key)] = std::string(value);
        }
      }
    }
    std::string_view value;
    if (element["value"].at(1).get(value) == simdjson::SUCCESS) {
      sample.value = std::stod(std::string(value));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::set<std::string> ExportedNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream fields(line.substr(7));
    std::string name;
    std::string type;
    fields >> name >> type;
    names.insert(name);
    if (type == "histogram" || type == "summary") {
      names.insert(name + "_sum");
      names.insert(name + "_count");
      if (type == "histogram") names.insert(name + "_bucket");
    }
  }
  return names;
}

namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

// Removes from `text` every bracketed span opened by `open` (after which
// nesting of the same kind is respected).
std::string StripSpans(const std::string& text, char open, char close) {
  std::string out;
  int depth = 0;
  for (char c : text) {
    if (c == open) {
      ++depth;
      continue;
    }
    if (c == close && depth > 0) {
      --depth;
      continue;
    }
    if (depth == 0) out += c;
  }
  return out;
}

}  // namespace

std::set<std::string> MetricNamesIn(const std::string& promql) {
  // Keywords, binary operators and the aggregation operators, which may be
  // followed by `by (...)` before their parenthesis.
  static const std::set<std::string> kKeywords = {
      "by",    "without",      "on",      "ignoring", "group_left", "group_right", "and",
      "or",    "unless",       "bool",    "offset",   "inf",        "nan",         "atan2",
      "sum",   "min",          "max",     "avg",      "group",      "stddev",      "stdvar",
      "count", "count_values", "bottomk", "topk",     "quantile",   "limitk",      "limit_ratio"};
  static const std::set<std::string> kLabelLists = {"by",       "without",    "on",
                                                    "ignoring", "group_left", "group_right"};
  // 1. Strings (label values, legend text) go first: they may hold anything.
  std::string text;
  for (size_t pos = 0; pos < promql.size(); ++pos) {
    const char c = promql[pos];
    if (c == '"' || c == '\'' || c == '`') {
      const size_t end = promql.find(c, pos + 1);
      if (end == std::string::npos) break;
      pos = end;
      text += "\"\"";
      continue;
    }
    text += c;
  }
  // 2. Label matchers and range/subquery durations.
  text = StripSpans(text, '{', '}');
  text = StripSpans(text, '[', ']');

  std::set<std::string> names;
  size_t pos = 0;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == '$') {  // Grafana variable: $job, ${job}, $__rate_interval
      ++pos;
      while (pos < text.size() && IsIdentChar(text[pos])) ++pos;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {  // 0.99, 5m, 1e3
      while (pos < text.size() && (IsIdentChar(text[pos]) || text[pos] == '.')) ++pos;
      continue;
    }
    if (!IsIdentStart(c)) {
      ++pos;
      continue;
    }
    const size_t start = pos;
    while (pos < text.size() && IsIdentChar(text[pos])) ++pos;
    const std::string word = text.substr(start, pos - start);
    size_t next = pos;
    while (next < text.size() && std::isspace(static_cast<unsigned char>(text[next]))) ++next;
    const bool call = next < text.size() && text[next] == '(';
    if (kLabelLists.count(word) && call) {
      // by (job, le): label names, not metrics.
      const size_t close = text.find(')', next);
      pos = close == std::string::npos ? text.size() : close + 1;
      continue;
    }
    if (call || kKeywords.count(word)) continue;
    names.insert(word);
  }
  return names;
}

std::string IsoNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace eddy::testing
