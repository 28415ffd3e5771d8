#include "tests/integration/kafka_test_util.h"

#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace eddy::testing {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::string& bootstrap,
                      const std::vector<std::pair<std::string, std::string>>& extra) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& key, const std::string& value) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      throw std::runtime_error(errstr);
    }
  };
  set("bootstrap.servers", bootstrap);
  set("log_level", "3");
  for (const auto& [key, value] : extra) set(key, value);
  rd_kafka_t* handle = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (handle == nullptr) throw std::runtime_error(errstr);
  return handle;
}

}  // namespace

void ProduceRecords(const std::string& bootstrap, const std::string& topic,
                    const std::vector<TestRecord>& records) {
  rd_kafka_t* producer = NewClient(RD_KAFKA_PRODUCER, bootstrap, {{"enable.idempotence", "true"}});
  for (const TestRecord& record : records) {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& [name, value] : record.headers) {
      rd_kafka_header_add(headers, name.c_str(), -1, value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    const void* key = record.key ? record.key->data() : nullptr;
    const size_t key_size = record.key ? record.key->size() : 0;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(record.partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
                RD_KAFKA_V_KEY(key, key_size), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 50);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);
      rd_kafka_destroy(producer);
      throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
    }
  }
  const rd_kafka_resp_err_t err = rd_kafka_flush(producer, 30000);
  rd_kafka_destroy(producer);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(std::string("flush: ") + rd_kafka_err2str(err));
  }
}

std::vector<TestRecord> ConsumeAll(const std::string& bootstrap, const std::string& topic) {
  rd_kafka_t* consumer = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                                   {{"group.id", "eddy-test-reader"},
                                    {"enable.auto.commit", "false"},
                                    {"enable.partition.eof", "true"},
                                    {"fetch.wait.max.ms", "10"}});
  rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(consumer, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_metadata(consumer, 0, topic_handle, &metadata, 10000) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("metadata for " + topic);
  }
  const int partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  rd_kafka_topic_destroy(topic_handle);

  std::map<int32_t, std::vector<TestRecord>> by_partition;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  int expecting_eof = 0;
  for (int32_t partition = 0; partition < partitions; ++partition) {
    int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(consumer, topic.c_str(), partition, &low, &high, 10000);
    if (high <= low) continue;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = low;
    ++expecting_eof;
  }
  rd_kafka_assign(consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (expecting_eof > 0 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --expecting_eof;
    } else if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TestRecord record;
      record.partition = message->partition;
      record.offset = message->offset;
      record.value.assign(static_cast<const char*>(message->payload), message->len);
      if (message->key != nullptr) {
        record.key = std::string(static_cast<const char*>(message->key), message->key_len);
      }
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t idx = 0; rd_kafka_header_get_all(headers, idx, &name, &value, &size) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
             ++idx) {
          record.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      by_partition[record.partition].push_back(std::move(record));
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  if (expecting_eof > 0) throw std::runtime_error("timed out reading " + topic);
  std::vector<TestRecord> all;
  for (auto& [partition, records] : by_partition) {
    all.insert(all.end(), records.begin(), records.end());
  }
  return all;
}

ProcessResult RunShell(const std::string& command) {
  ProcessResult result;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

ProcessResult RunEddy(const std::string& args) {
  return RunShell(std::string(EDDY_BINARY) + " " + args);
}

int SpawnEddy(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv_storage = {EDDY_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  return pid;
}

int WaitForExit(int pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int SpawnEddyWithFileSizeLimit(const std::vector<std::string>& args, const std::string& log,
                               int64_t max_file_bytes) {
  std::vector<std::string> argv_storage = {EDDY_BINARY};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t relay = ::fork();
  if (relay != 0) return relay;
  // The relay: only async-signal-safe calls from here (the test process has
  // threads).
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::_Exit(127);
  const pid_t job = ::fork();
  if (job == 0) {
    ::close(pipe_fds[0]);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[1]);
    const rlimit limit{static_cast<rlim_t>(max_file_bytes), static_cast<rlim_t>(max_file_bytes)};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: writes fail with EFBIG
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t written = ::write(out, buffer + done, static_cast<size_t>(n - done));
      if (written <= 0) break;
      done += written;
    }
  }
  int status = 0;
  while (::waitpid(job, &status, 0) < 0 && errno == EINTR) {
  }
  std::_Exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

std::optional<int> ExitedWithin(int pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (done < 0 || std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int CountInFile(const std::string& path, const std::string& text) {
  const std::string content = ReadFile(path);
  int count = 0;
  for (size_t at = content.find(text); at != std::string::npos;
       at = content.find(text, at + text.size()))
    ++count;
  return count;
}

bool WaitForLogCount(const std::string& path, const std::string& text, int count, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (CountInFile(path, text) < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

std::string MakeTempDir(const std::string& prefix) {
  std::random_device random;
  const auto dir = std::filesystem::temp_directory_path() /
                   (prefix + "-" + std::to_string(random()) + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace eddy::testing
