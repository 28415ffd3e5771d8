#include "state/checkpoint_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "runtime/core/file_util.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

constexpr int kManifestFormatVersion = 1;
constexpr std::string_view kCheckpointPrefix = "chk-";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr char kManifestName[] = "MANIFEST";
constexpr char kManifestTempName[] = "MANIFEST.tmp";
constexpr char kRocksDbDirName[] = "rocksdb";
constexpr int kBatchIdDigits = 12;

// Writes the manifest through MANIFEST.tmp; the caller fsyncs `dir`.
Status WriteManifest(const fs::path& dir, const std::string& data) {
  return WriteFileAtomically(dir / kManifestTempName, dir / kManifestName, data);
}

std::string CheckpointName(int64_t batch_id) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", kBatchIdDigits, static_cast<long long>(batch_id));
  return std::string(kCheckpointPrefix) + buf;
}

// The batch id in a "chk-<digits>" name, or nullopt for any other name.
std::optional<int64_t> ParseCheckpointName(std::string_view name) {
  if (!name.starts_with(kCheckpointPrefix)) return std::nullopt;
  name.remove_prefix(kCheckpointPrefix.size());
  if (name.size() < static_cast<size_t>(kBatchIdDigits)) return std::nullopt;
  int64_t id = 0;
  auto [end, errc] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (errc != std::errc() || end != name.data() + name.size() || id < 0) return std::nullopt;
  return id;
}

// Sum of the sizes of the regular files under `dir`.
Result<uint64_t> DirectorySize(const fs::path& dir) {
  std::error_code ec;
  uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) return EcStatus("cannot list", dir, ec);
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return EcStatus("cannot list", dir, ec);
    if (!it->is_regular_file(ec)) continue;
    const uintmax_t size = it->file_size(ec);
    if (ec) return EcStatus("cannot stat", it->path(), ec);
    total += size;
  }
  if (ec) return EcStatus("cannot list", dir, ec);
  return total;
}

// SST and blob files are immutable once written, so a hard link is as good
// as a copy; every other RocksDB file (MANIFEST, CURRENT, OPTIONS, WAL) may
// be appended to or rewritten by the database that opens it, which must not
// change the checkpoint, so those are copied.
bool IsImmutableRocksFile(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".sst" || ext == ".blob";
}

Status CopyAndSync(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::none, ec);
  if (ec) return EcStatus("cannot copy " + from.string() + " to", to, ec);
  return FsyncPath(to, /*directory=*/false);
}

Status LinkOrCopy(const fs::path& from, const fs::path& to) {
  if (::link(from.c_str(), to.c_str()) == 0) return Status::OK();
  const int err = errno;
  // Another file system, or one without hard links: copy instead.
  if (err == EXDEV || err == EPERM || err == EMLINK || err == ENOTSUP || err == EOPNOTSUPP) {
    return CopyAndSync(from, to);
  }
  return ErrnoStatus("cannot link " + from.string() + " to", to.string(), err);
}

Status RemoveAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return EcStatus("cannot remove", path, ec);
  return Status::OK();
}

// Removes staging directories and chk-* directories that are not complete
// checkpoints (no MANIFEST, or one that does not parse): leftovers of a
// crash, or of a failed write. Only the single writer calls this.
Status RemoveIncomplete(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return EcStatus("cannot list", dir, ec);
  std::vector<fs::path> garbage;
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return EcStatus("cannot list", dir, ec);
    const std::string name = it->path().filename().string();
    if (name.starts_with(kTempPrefix)) {
      garbage.push_back(it->path());
    } else if (ParseCheckpointName(name) && it->is_directory(ec) &&
               !CheckpointStore::Read(it->path().string()).ok()) {
      garbage.push_back(it->path());
    }
  }
  if (ec) return EcStatus("cannot list", dir, ec);
  for (const fs::path& path : garbage) EDDY_RETURN_IF_ERROR(RemoveAll(path));
  return Status::OK();
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CheckpointStore::CheckpointStore(std::string dir, int keep)
    : dir_(std::move(dir)), keep_(std::max(keep, 1)) {}

Status CheckpointStore::RemoveLeftovers() {
  std::error_code ec;
  if (!fs::exists(dir_, ec)) {
    if (ec) return EcStatus("cannot stat", dir_, ec);
    return Status::OK();
  }
  return RemoveIncomplete(dir_);
}

Result<CheckpointInfo> CheckpointStore::Write(StateBackend& backend,
                                              state::CheckpointManifest manifest) {
  if (manifest.batch_id() < 0) {
    return Status::InvalidArgument("checkpoint batch id " + std::to_string(manifest.batch_id()) +
                                   " is negative");
  }
  const fs::path dir(dir_);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return EcStatus("cannot create checkpoint directory", dir, ec);
    if (dir.has_parent_path()) EDDY_RETURN_IF_ERROR(FsyncPath(dir.parent_path(), true));
  }
  EDDY_RETURN_IF_ERROR(RemoveIncomplete(dir));

  const std::string name = CheckpointName(manifest.batch_id());
  const fs::path final_dir = dir / name;
  // A checkpoint of the same batch comes from an earlier run: the job was
  // restored from an older checkpoint (or fell back past a damaged one) and
  // is replaying. It is replaced once the new one is staged; until then it
  // stays published, so a crash leaves one of the two.
  const fs::path replaced = dir / (std::string(kTempPrefix) + "replaced-" + name);
  const bool replacing = fs::exists(final_dir, ec);

  const fs::path temp_dir = dir / (std::string(kTempPrefix) + name);
  fs::create_directory(temp_dir, ec);
  if (ec) return EcStatus("cannot create", temp_dir, ec);

  // Stage everything in temp_dir; on any failure remove it and return the
  // first error. Nothing outside temp_dir changes until the final rename.
  auto stage = [&]() -> Status {
    const fs::path rocks_dir = temp_dir / kRocksDbDirName;
    EDDY_RETURN_IF_ERROR(backend.CreateCheckpoint(rocks_dir.string()));
    EDDY_ASSIGN_OR_RETURN(const uint64_t size, DirectorySize(rocks_dir));
    manifest.set_rocksdb_dir(kRocksDbDirName);
    manifest.set_size_bytes(size);
    if (manifest.format_version() == 0) manifest.set_format_version(kManifestFormatVersion);
    if (manifest.key_groups() == 0) manifest.set_key_groups(backend.key_groups());
    if (manifest.created_unix_ms() == 0) manifest.set_created_unix_ms(NowUnixMs());
    std::string bytes;
    if (!manifest.SerializeToString(&bytes)) {
      return Status::Internal("cannot serialize the manifest of " + final_dir.string());
    }
    EDDY_RETURN_IF_ERROR(WriteManifest(temp_dir, bytes));
    EDDY_RETURN_IF_ERROR(FsyncPath(temp_dir, /*directory=*/true));
    if (replacing && ::rename(final_dir.c_str(), replaced.c_str()) != 0) {
      return ErrnoStatus("cannot rename to " + replaced.string() + " from", final_dir.string(),
                         errno);
    }
    if (::rename(temp_dir.c_str(), final_dir.c_str()) != 0) {
      return ErrnoStatus("cannot rename to " + final_dir.string() + " from", temp_dir.string(),
                         errno);
    }
    return Status::OK();
  };
  if (Status s = stage(); !s.ok()) {
    RemoveAll(temp_dir).IgnoreError();  // the first error is the one that matters
    return s;
  }
  // The checkpoint exists once its name is durable in the parent directory.
  EDDY_RETURN_IF_ERROR(FsyncPath(dir, /*directory=*/true));
  if (replacing) EDDY_RETURN_IF_ERROR(RemoveAll(replaced));

  // Retention. Never removes the checkpoint just written, even when older
  // batch ids are retained (e.g. after restoring an earlier checkpoint).
  EDDY_ASSIGN_OR_RETURN(std::vector<CheckpointInfo> complete, List());
  int kept = 0;
  for (const CheckpointInfo& info : complete) {
    if (info.manifest.batch_id() == manifest.batch_id()) continue;
    if (++kept < keep_) continue;  // the new one takes one of the `keep` places
    // Unpublish first (an atomic rename), so a crash in the middle of the
    // recursive delete leaves a .tmp- directory, never a chk- directory
    // with a manifest but missing files.
    const fs::path doomed =
        dir / (std::string(kTempPrefix) + "delete-" + fs::path(info.path).filename().string());
    if (::rename(info.path.c_str(), doomed.c_str()) != 0) {
      return ErrnoStatus("cannot rename to " + doomed.string() + " from", info.path, errno);
    }
    EDDY_RETURN_IF_ERROR(RemoveAll(doomed));
  }
  return CheckpointInfo{final_dir.string(), std::move(manifest)};
}

Result<std::vector<CheckpointInfo>> CheckpointStore::List() const {
  std::vector<CheckpointInfo> result;
  const fs::path dir(dir_);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (ec) return EcStatus("cannot stat", dir, ec);
    return result;
  }
  fs::directory_iterator it(dir, ec);
  if (ec) return EcStatus("cannot list", dir, ec);
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) return EcStatus("cannot list", dir, ec);
    if (!ParseCheckpointName(it->path().filename().string())) continue;
    if (!it->is_directory(ec)) continue;
    Result<CheckpointInfo> info = Read(it->path().string());
    if (!info.ok()) continue;  // incomplete: not a checkpoint
    result.push_back(std::move(info).value());
  }
  if (ec) return EcStatus("cannot list", dir, ec);
  std::sort(result.begin(), result.end(), [](const CheckpointInfo& a, const CheckpointInfo& b) {
    return a.manifest.batch_id() > b.manifest.batch_id();
  });
  return result;
}

Result<std::optional<CheckpointInfo>> CheckpointStore::Latest() const {
  EDDY_ASSIGN_OR_RETURN(std::vector<CheckpointInfo> all, List());
  if (all.empty()) return std::optional<CheckpointInfo>();
  return std::optional<CheckpointInfo>(std::move(all.front()));
}

Result<CheckpointInfo> CheckpointStore::Read(const std::string& path) {
  const fs::path dir(path);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("no checkpoint directory " + path);
  const fs::path manifest_path = dir / kManifestName;
  Fd fd(::open(manifest_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::Corruption("checkpoint " + path + " has no MANIFEST");
    return ErrnoStatus("cannot open", manifest_path.string(), err);
  }
  std::string bytes;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", manifest_path.string(), errno);
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  CheckpointInfo info;
  info.path = path;
  if (!info.manifest.ParseFromString(bytes)) {
    return Status::Corruption("checkpoint manifest " + manifest_path.string() + " does not parse");
  }
  const state::CheckpointManifest& m = info.manifest;
  // Guards against bytes that happen to parse as a protobuf.
  if (m.format_version() < 1 || m.format_version() > kManifestFormatVersion) {
    return Status::Corruption("checkpoint manifest " + manifest_path.string() +
                              " has unknown format version " + std::to_string(m.format_version()));
  }
  if (m.rocksdb_dir().empty() || m.rocksdb_dir().find("..") != std::string::npos ||
      m.rocksdb_dir().front() == '/') {
    return Status::Corruption("checkpoint manifest " + manifest_path.string() +
                              " has an invalid rocksdb_dir '" + m.rocksdb_dir() + "'");
  }
  const std::optional<int64_t> named_id = ParseCheckpointName(dir.filename().string());
  if (named_id && *named_id != m.batch_id()) {
    return Status::Corruption("checkpoint " + path + " holds the manifest of batch " +
                              std::to_string(m.batch_id()));
  }
  if (!fs::is_directory(dir / m.rocksdb_dir(), ec)) {
    return Status::Corruption("checkpoint " + path + " has no " + m.rocksdb_dir() + " directory");
  }
  return info;
}

Status CheckpointStore::RestoreInto(const CheckpointInfo& checkpoint,
                                    const std::string& live_db_dir) {
  if (live_db_dir.empty()) return Status::InvalidArgument("restore into an empty path");
  const fs::path source = fs::path(checkpoint.path) / checkpoint.manifest.rocksdb_dir();
  std::error_code ec;
  if (checkpoint.manifest.rocksdb_dir().empty() || !fs::is_directory(source, ec)) {
    return Status::Corruption("checkpoint " + checkpoint.path + " has no RocksDB directory " +
                              source.string());
  }
  fs::path live(live_db_dir);
  if (!live.has_filename()) live = live.parent_path();  // "db/" -> "db"
  const fs::path parent = live.has_parent_path() ? live.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) return EcStatus("cannot create", parent, ec);

  // Build the new database beside the live one, then swap it in, so a failed
  // restore leaves the live directory as it was.
  const fs::path staging = parent / (live.filename().string() + ".restore-tmp");
  EDDY_RETURN_IF_ERROR(RemoveAll(staging));
  fs::create_directory(staging, ec);
  if (ec) return EcStatus("cannot create", staging, ec);

  auto stage = [&]() -> Status {
    std::error_code iter_ec;
    fs::directory_iterator it(source, iter_ec);
    if (iter_ec) return EcStatus("cannot list", source, iter_ec);
    for (const fs::directory_iterator end; it != end; it.increment(iter_ec)) {
      if (iter_ec) return EcStatus("cannot list", source, iter_ec);
      if (!it->is_regular_file(iter_ec)) {
        return Status::Corruption("unexpected entry " + it->path().string() + " in checkpoint");
      }
      const fs::path target = staging / it->path().filename();
      if (IsImmutableRocksFile(it->path())) {
        EDDY_RETURN_IF_ERROR(LinkOrCopy(it->path(), target));
      } else {
        EDDY_RETURN_IF_ERROR(CopyAndSync(it->path(), target));
      }
    }
    if (iter_ec) return EcStatus("cannot list", source, iter_ec);
    return FsyncPath(staging, /*directory=*/true);
  };
  if (Status s = stage(); !s.ok()) {
    RemoveAll(staging).IgnoreError();
    return s;
  }
  EDDY_RETURN_IF_ERROR(RemoveAll(live));
  if (::rename(staging.c_str(), live.c_str()) != 0) {
    return ErrnoStatus("cannot rename to " + live.string() + " from", staging.string(), errno);
  }
  return FsyncPath(parent, /*directory=*/true);
}

}  // namespace eddy
