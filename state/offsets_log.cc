#include "state/offsets_log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "runtime/core/file_util.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

constexpr int kBatchIdDigits = 12;

std::string EntryName(int64_t batch_id) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", kBatchIdDigits, static_cast<long long>(batch_id));
  return buf;
}

std::optional<int64_t> ParseEntryName(const std::string& name) {
  if (name.size() != static_cast<size_t>(kBatchIdDigits)) return std::nullopt;
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return id;
}

}  // namespace

Status OffsetsLog::PrepareDir() {
  if (dir_ready_) return Status::OK();
  const fs::path dir(dir_);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return EcStatus("cannot create offsets log", dir, ec);
  if (dir.has_parent_path()) EDDY_RETURN_IF_ERROR(FsyncPath(dir.parent_path(), /*directory=*/true));
  dir_ready_ = true;
  return Status::OK();
}

Status OffsetsLog::AppendNew(const state::PlannedBatch& planned) {
  EDDY_RETURN_IF_ERROR(PrepareDir());
  const fs::path dir(dir_);
  std::string bytes;
  if (!planned.SerializeToString(&bytes)) return Status::Internal("cannot serialize planned batch");
  const std::string name = EntryName(planned.batch_id());
  // A temporary of this process's own, fsynced, then linked into place:
  // the entry appears whole or not at all, and never over another's.
  const fs::path temp = dir / (".tmp-" + name + "-" + std::to_string(::getpid()));
  EDDY_RETURN_IF_ERROR(WriteFileAtomically(temp, temp, bytes));
  const int linked = ::link(temp.c_str(), (dir / name).c_str());
  const int link_errno = errno;
  std::error_code ignored;
  fs::remove(temp, ignored);
  if (linked != 0) {
    if (link_errno == EEXIST) {
      return Status::AlreadyExists("offsets log " + dir_ + ": batch " +
                                   std::to_string(planned.batch_id()) +
                                   " was planned by another instance (this one lost its "
                                   "partition)");
    }
    return EcStatus("cannot link", dir / name,
                    std::error_code(link_errno, std::generic_category()));
  }
  return FsyncPath(dir, /*directory=*/true);
}

Status OffsetsLog::Append(const state::PlannedBatch& planned) {
  EDDY_RETURN_IF_ERROR(PrepareDir());
  const fs::path dir(dir_);
  std::string bytes;
  if (!planned.SerializeToString(&bytes)) return Status::Internal("cannot serialize planned batch");
  const std::string name = EntryName(planned.batch_id());
  EDDY_RETURN_IF_ERROR(WriteFileAtomically(dir / (".tmp-" + name), dir / name, bytes));
  return FsyncPath(dir, /*directory=*/true);
}

Result<std::optional<state::PlannedBatch>> OffsetsLog::Read(int64_t batch_id) const {
  const fs::path path = fs::path(dir_) / EntryName(batch_id);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::optional<state::PlannedBatch>();
  std::stringstream bytes;
  bytes << in.rdbuf();
  state::PlannedBatch planned;
  if (!planned.ParseFromString(bytes.str()) || planned.batch_id() != batch_id) {
    return Status::Corruption("offsets log entry " + path.string() + " is unreadable");
  }
  return std::optional<state::PlannedBatch>(std::move(planned));
}

Status OffsetsLog::TruncateBefore(int64_t batch_id) {
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto id = ParseEntryName(name);
    // Entries before `batch_id`, and temporaries a crash left behind.
    if ((id && *id < batch_id) || name.starts_with(".tmp-")) doomed.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return EcStatus("cannot list", dir_, ec);
  for (const fs::path& path : doomed) {
    fs::remove(path, ec);
    if (ec) return EcStatus("cannot remove", path, ec);
  }
  return Status::OK();
}

}  // namespace eddy
