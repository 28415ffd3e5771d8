#pragma once
// Helpers for the tests that run `eddy serve` as its own process and talk to
// it over HTTP: the server process, a data directory with a token file, and
// small JSON and polling helpers.

#include <httplib.h>
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace eddy::testing {

// A running `eddy serve` on a free port (127.0.0.1:0, reported through
// --address-file), with its data in DIR/data, tokens from DIR/tokens and its
// output appended to DIR/serve.log. Killed with SIGKILL when destroyed.
class ServerProcess {
 public:
  explicit ServerProcess(std::string dir) : dir_(std::move(dir)) {}
  ~ServerProcess() { Kill(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts it with `extra` flags and `env` (NAME=VALUE) added; true once it
  // listens, false if it exits or does not listen within 20 s.
  bool Start(const std::vector<std::string>& extra = {}, const std::vector<std::string>& env = {});
  // Sends `signal` and waits: the exit code, or 128 + the signal that ended it.
  int Kill(int signal);

  const std::string& address() const { return address_; }
  int port() const;
  std::string Url() const { return "http://" + address_; }
  std::string Log() const;
  // A client with `token` (none when empty) as its bearer token.
  httplib::Client Client(const std::string& token = "", int read_timeout_seconds = 30) const;

 private:
  std::string dir_;
  std::string address_;
  pid_t pid_ = -1;
};

// A fresh directory whose `tokens` file (mode 0600) holds `token_lines`.
std::string MakeServerDir(const std::string& prefix, const std::string& token_lines);

// Field `key` of the JSON object `body` as text ("" when absent, "null" for
// null, "<not json: ...>" when `body` does not parse).
std::string JsonField(const std::string& body, const std::string& key);

// Polls `done` every 100 ms for up to `seconds`; its last answer.
bool WaitFor(const std::function<bool()>& done, int seconds);

}  // namespace eddy::testing
