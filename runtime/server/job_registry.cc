#include "runtime/server/job_registry.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace eddy::server {
namespace {

namespace fs = std::filesystem;
constexpr char kSuffix[] = ".job";

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + ": " + std::strerror(error));
  return Status::OK();
}

}  // namespace

bool IsValidJobId(const std::string& id) {
  if (id.empty() || id.size() > 100 || id[0] == '.') return false;
  for (const char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

Result<std::unique_ptr<JobRegistry>> JobRegistry::Open(const std::string& data_dir) {
  std::error_code ec;
  // Absolute, because each job's state directory is derived from it and a
  // relative one would resolve against the job's own directory.
  const std::string jobs_dir = (fs::absolute(data_dir, ec) / "jobs").lexically_normal().string();
  if (ec) return Status::IOError("cannot resolve " + data_dir + ": " + ec.message());
  fs::create_directories(jobs_dir, ec);
  if (ec) return Status::IOError("cannot create " + jobs_dir + ": " + ec.message());
  std::unique_ptr<JobRegistry> registry(new JobRegistry(jobs_dir));
  for (const auto& entry : fs::directory_iterator(jobs_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-", 0) == 0) {
      // A temporary file left by a crash mid-write: the record it was
      // replacing is still complete.
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
      continue;
    }
    if (!entry.is_regular_file() || entry.path().extension() != kSuffix) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    JobRecord record;
    if (!in || !record.ParseFromString(bytes.str()) || !IsValidJobId(record.id())) {
      spdlog::error("server: skipping unreadable job record {}", entry.path().string());
      continue;
    }
    registry->records_[record.id()] = std::move(record);
  }
  if (ec) return Status::IOError("cannot list " + jobs_dir + ": " + ec.message());
  return registry;
}

std::vector<JobRecord> JobRegistry::List() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<JobRecord> out;
  for (const auto& [id, record] : records_) out.push_back(record);
  return out;
}

std::optional<JobRecord> JobRegistry::Get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

Status JobRegistry::Add(const JobRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.count(record.id()) > 0) {
    return Status::AlreadyExists("job '" + record.id() + "' is already submitted");
  }
  EDDY_RETURN_IF_ERROR(Write(record));
  records_[record.id()] = record;
  return Status::OK();
}

Status JobRegistry::Put(const JobRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.count(record.id()) == 0) return Status::NotFound("no job '" + record.id() + "'");
  JobRecord stamped = record;
  stamped.set_updated_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
  EDDY_RETURN_IF_ERROR(Write(stamped));
  records_[record.id()] = std::move(stamped);
  return Status::OK();
}

Status JobRegistry::Remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (records_.erase(id) == 0) return Status::NotFound("no job '" + id + "'");
  std::error_code ec;
  fs::remove(fs::path(jobs_dir_) / (id + kSuffix), ec);
  if (ec) return Status::IOError("cannot remove the record of job '" + id + "': " + ec.message());
  EDDY_RETURN_IF_ERROR(FsyncPath(jobs_dir_, O_RDONLY | O_DIRECTORY));
  fs::remove_all(JobDir(id), ec);
  if (ec) return Status::IOError("cannot remove " + JobDir(id) + ": " + ec.message());
  return Status::OK();
}

std::string JobRegistry::JobDir(const std::string& id) const {
  return (fs::path(jobs_dir_) / id).string();
}

Status JobRegistry::Write(const JobRecord& record) {
  const std::string final_path = (fs::path(jobs_dir_) / (record.id() + kSuffix)).string();
  const std::string temp_path = (fs::path(jobs_dir_) / (".tmp-" + record.id() + kSuffix)).string();
  std::string bytes;
  if (!record.SerializeToString(&bytes)) return Status::Internal("cannot serialize job record");
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("open " + temp_path + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return Status::IOError("write " + temp_path + ": " + std::strerror(error));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    return Status::IOError("fsync " + temp_path + ": " + std::strerror(error));
  }
  ::close(fd);
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    return Status::IOError("rename " + temp_path + ": " + std::strerror(errno));
  }
  return FsyncPath(jobs_dir_, O_RDONLY | O_DIRECTORY);
}

}  // namespace eddy::server
