#pragma once
// The server's durable job registry: DATA_DIR/jobs/<id>.job, one serialized
// JobRecord per job, each written atomically (temporary file, fsync, rename,
// fsync of the directory), so a crash at any moment (kill -9 included)
// leaves every record either as it was or as it was last written. Each job
// also gets DATA_DIR/jobs/<id>/ for its state, shared with no other job.
//
// Thread-safety: every method may be called from any thread.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/server/job_record.pb.h"

namespace eddy::server {

class JobRegistry {
 public:
  // Creates DATA_DIR/jobs if needed and reads every record in it.
  static Result<std::unique_ptr<JobRegistry>> Open(const std::string& data_dir);

  std::vector<JobRecord> List() const;
  std::optional<JobRecord> Get(const std::string& id) const;
  // AlreadyExists when a job with this id is registered.
  Status Add(const JobRecord& record);
  // Replaces the stored record (which must exist).
  Status Put(const JobRecord& record);
  // Removes the record and the job's directory.
  Status Remove(const std::string& id);

  // DATA_DIR/jobs/<id>: the job's own directory (state under it).
  std::string JobDir(const std::string& id) const;

 private:
  explicit JobRegistry(std::string jobs_dir) : jobs_dir_(std::move(jobs_dir)) {}
  Status Write(const JobRecord& record);

  const std::string jobs_dir_;
  mutable std::mutex mutex_;
  std::map<std::string, JobRecord> records_;
};

// Ids are job names; only these characters keep them safe as file names
// and URL path segments: letters, digits, '.', '_' and '-', 1 to 100 of
// them, not starting with '.'.
bool IsValidJobId(const std::string& id);

}  // namespace eddy::server
