#include "runtime/core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace eddy {

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  return Status::IOError(std::string(what) + " " + path + ": " + std::strerror(err));
}

Status EcStatus(std::string_view what, const std::filesystem::path& path,
                const std::error_code& ec) {
  return Status::IOError(std::string(what) + " " + path.string() + ": " + ec.message());
}

Status FsyncPath(const std::filesystem::path& path, bool directory) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0)));
  if (fd.get() < 0) return ErrnoStatus("cannot open for fsync", path.string(), errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", path.string(), errno);
  return Status::OK();
}

Status WriteFileAtomically(const std::filesystem::path& temp,
                           const std::filesystem::path& final_path, const std::string& data,
                           mode_t mode) {
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return ErrnoStatus("cannot create", temp.string(), errno);
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", temp.string(), errno);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", temp.string(), errno);
  if (fd.Close() != 0) return ErrnoStatus("close", temp.string(), errno);
  if (::rename(temp.c_str(), final_path.c_str()) != 0) {
    return ErrnoStatus("cannot rename to " + final_path.string() + " from", temp.string(), errno);
  }
  return Status::OK();
}

}  // namespace eddy
