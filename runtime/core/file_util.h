#pragma once
// Durable file operations shared by the checkpoint store and the offsets
// log: errors as Status naming the path, fsync of files and directories,
// and write-then-rename publishing. Internal to state/.

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include "runtime/core/status.h"

namespace eddy::state_internal {

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, reporting the error close() may carry for buffered writes.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status ErrnoStatus(std::string_view what, const std::string& path, int err);
Status EcStatus(std::string_view what, const std::filesystem::path& path,
                const std::error_code& ec);

// fsyncs a file, or a directory (making renames and creations in it durable).
Status FsyncPath(const std::filesystem::path& path, bool directory);

// Writes `data` to `temp`, fsyncs it and renames it to `final_path`. The
// caller fsyncs the directory to make the rename durable.
Status WriteFileAtomically(const std::filesystem::path& temp,
                           const std::filesystem::path& final_path, const std::string& data);

}  // namespace eddy::state_internal
