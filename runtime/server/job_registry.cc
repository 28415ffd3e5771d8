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

#include "runtime/core/file_util.h"

namespace eddy::server {
namespace {

namespace fs = std::filesystem;
constexpr char kSuffix[] = ".job";

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
  EDDY_RETURN_IF_ERROR(FsyncPath(jobs_dir_, /*directory=*/true));
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
  // Owner-only, like the data directory: a record holds the job file as
  // submitted.
  EDDY_RETURN_IF_ERROR(WriteFileAtomically(temp_path, final_path, bytes, 0600));
  return FsyncPath(jobs_dir_, /*directory=*/true);
}

}  // namespace eddy::server
