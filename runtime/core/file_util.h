#pragma once
// Durable file operations (the checkpoint store, the offsets log, the
// server's job registry): errors as Status naming the path, fsync of files
// and directories, and write-then-rename publishing.

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "runtime/core/status.h"

namespace eddy {

// Owns a file descriptor (a file, a socket): closes it on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Closes now, reporting the error close() may carry for buffered writes.
  int Close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_ = -1;
};

Status ErrnoStatus(std::string_view what, const std::string& path, int err);
Status EcStatus(std::string_view what, const std::filesystem::path& path,
                const std::error_code& ec);

// fsyncs a file, or a directory (making renames and creations in it durable).
Status FsyncPath(const std::filesystem::path& path, bool directory);

// Writes `data` to `temp` (created with `mode`), fsyncs it and renames it
// to `final_path`. The caller fsyncs the directory to make the rename
// durable.
Status WriteFileAtomically(const std::filesystem::path& temp,
                           const std::filesystem::path& final_path, const std::string& data,
                           mode_t mode = 0644);

}  // namespace eddy
