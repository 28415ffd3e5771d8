#include "tests/integration/server_test_util.h"

#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tests/integration/kafka_test_util.h"

namespace eddy::testing {

using Clock = std::chrono::steady_clock;

bool ServerProcess::Start(const std::vector<std::string>& extra,
                          const std::vector<std::string>& env) {
  const std::string address_file = dir_ + "/address";
  ::unlink(address_file.c_str());
  pid_ = ::fork();
  if (pid_ == 0) {
    std::FILE* out = std::fopen((dir_ + "/serve.log").c_str(), "a");
    ::dup2(::fileno(out), STDOUT_FILENO);
    ::dup2(::fileno(out), STDERR_FILENO);
    for (const std::string& pair : env) ::putenv(const_cast<char*>(pair.c_str()));
    std::vector<std::string> args = {EDDY_BINARY,       "serve",
                                     "--data-dir",      dir_ + "/data",
                                     "--address",       "127.0.0.1:0",
                                     "--address-file",  address_file,
                                     "--token-file",    dir_ + "/tokens",
                                     "--restart-delay", "200ms",
                                     "--job-threads",   "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (::access(address_file.c_str(), R_OK) == 0) {
      address_ = ReadFile(address_file);
      while (!address_.empty() && address_.back() == '\n') address_.pop_back();
      if (!address_.empty()) return true;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int ServerProcess::Kill(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int ServerProcess::port() const { return std::stoi(address_.substr(address_.rfind(':') + 1)); }

std::string ServerProcess::Log() const { return ReadFile(dir_ + "/serve.log"); }

httplib::Client ServerProcess::Client(const std::string& token, int read_timeout_seconds) const {
  httplib::Client client(Url());
  if (!token.empty()) client.set_bearer_token_auth(token.c_str());
  client.set_read_timeout(read_timeout_seconds, 0);
  return client;
}

std::string MakeServerDir(const std::string& prefix, const std::string& token_lines) {
  const std::string dir = MakeTempDir(prefix);
  WriteFile(dir + "/tokens", token_lines);
  ::chmod((dir + "/tokens").c_str(), 0600);
  return dir;
}

std::string JsonField(const std::string& body, const std::string& key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return "<not json: " + body + ">";
  simdjson::dom::element value;
  if (doc[key].get(value) != simdjson::SUCCESS) return "";
  if (value.is_string()) return std::string(value.get_string().value());
  return simdjson::minify(value);
}

bool WaitFor(const std::function<bool()>& done, int seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

}  // namespace eddy::testing
