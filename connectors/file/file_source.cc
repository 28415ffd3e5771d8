#include "connectors/file/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "connectors/format/format.h"

namespace eddy {
namespace {

// Bytes read per pread while indexing appended data.
constexpr size_t kScanChunkBytes = 1 << 20;

std::string ErrnoText(int error) { return std::strerror(error); }

// Reads exactly [offset, offset + size) of `fd` into `out`.
Status ReadFully(int fd, int64_t offset, size_t size, std::string* out, const std::string& path) {
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t got =
        ::pread(fd, out->data() + done, size - done, offset + static_cast<int64_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read '" + path + "': " + ErrnoText(errno));
    }
    if (got == 0) {
      return Status::IOError("'" + path + "' ended at byte " +
                             std::to_string(offset + static_cast<int64_t>(done)) +
                             " while reading lines indexed before; was it truncated?");
    }
    done += static_cast<size_t>(got);
  }
  return Status::OK();
}

bool IsLineFormat(const std::string& type) {
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower != "protobuf";
}

class FileSource final : public Source {
 public:
  FileSource(std::string name, std::string path, std::unique_ptr<Decoder> decoder,
             int64_t header_lines)
      : name_(std::move(name)),
        path_(std::move(path)),
        decoder_(std::move(decoder)),
        header_lines_(header_lines) {}

  ~FileSource() override {
    if (fd_ >= 0) ::close(fd_);
  }

  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  const std::string& name() const override { return name_; }
  const Schema& schema() const override { return decoder_->schema(); }

  Status Open() override {
    if (fd_ >= 0) return Status::OK();
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      const std::string message =
          "file source '" + name_ + "': cannot open '" + path_ + "': " + ErrnoText(error);
      return error == ENOENT ? Status::NotFound(message) : Status::IOError(message);
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd);
      return Status::IOError("file source '" + name_ + "': '" + path_ + "' is not a regular file");
    }
    fd_ = fd;
    partitions_ = {SourcePartition{name_, PartitionId{0}}};
    return Status::OK();
  }

  const std::vector<SourcePartition>& partitions() const override { return partitions_; }

  Result<Offsets> InitialOffsets() override { return Offsets{Offset{0}}; }

  Result<Offsets> LatestOffsets() override {
    std::lock_guard<std::mutex> lock(mutex_);
    EDDY_RETURN_IF_ERROR(ScanLocked());
    return Offsets{Offset{DataLinesLocked()}};
  }

  bool IsBounded() const override { return true; }

  // Not exhausted while an unterminated last line waits to be counted: the
  // next LatestOffsets will include it.
  bool Exhausted(const Offsets& next_offsets, const Offsets& latest) const override {
    return !pending_tail_.load(std::memory_order_relaxed) && next_offsets == latest;
  }

  Status Read(const PartitionRange& range, const std::atomic<bool>& cancel, Batch* out,
              DeadLetters* dead_letters) override {
    if (fd_ < 0) return Status::Internal("file source '" + name_ + "': Read before Open");
    const int64_t start = range.start.value, end = range.end.value;
    if (range.partition_index != 0 || start < 0 || end < start) {
      return Status::Internal("file source '" + name_ + "': invalid range [" +
                              std::to_string(start) + ", " + std::to_string(end) +
                              ") of partition " + std::to_string(range.partition_index));
    }
    if (start == end) return Status::OK();
    // Under the lock: the byte span of the range and where each line starts
    // in it. The read and the decoding happen outside.
    int64_t first_byte = 0;
    int64_t end_byte = 0;
    std::vector<int64_t> starts;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (end > DataLinesLocked()) EDDY_RETURN_IF_ERROR(ScanLocked());
      if (end > DataLinesLocked()) {
        return Status::Internal("file source '" + name_ + "': range end " + std::to_string(end) +
                                " is beyond the " + std::to_string(DataLinesLocked()) +
                                " lines of '" + path_ + "'");
      }
      const size_t first_line = static_cast<size_t>(start + header_lines_);
      const size_t end_line = static_cast<size_t>(end + header_lines_);
      starts.assign(line_starts_.begin() + static_cast<ptrdiff_t>(first_line),
                    line_starts_.begin() + static_cast<ptrdiff_t>(end_line));
      first_byte = starts.front();
      end_byte = end_line < line_starts_.size() ? line_starts_[end_line] : indexed_end_;
    }
    if (cancel.load(std::memory_order_relaxed)) return Status::Cancelled("read cancelled");
    std::string bytes;
    EDDY_RETURN_IF_ERROR(
        ReadFully(fd_, first_byte, static_cast<size_t>(end_byte - first_byte), &bytes, path_));

    std::vector<RawRecord> records;
    records.reserve(starts.size());
    for (size_t idx = 0; idx < starts.size(); ++idx) {
      const int64_t line_end = idx + 1 < starts.size() ? starts[idx + 1] : end_byte;
      std::string_view line(bytes.data() + (starts[idx] - first_byte),
                            static_cast<size_t>(line_end - starts[idx]));
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;  // takes an offset, yields nothing
      RawRecord record;
      record.value = line;
      record.topic = name_;
      record.partition = 0;
      record.offset = start + static_cast<int64_t>(idx);
      records.push_back(record);
    }
    const size_t first_letter = dead_letters->size();
    EDDY_RETURN_IF_ERROR(decoder_->Decode(records, out, dead_letters));
    for (size_t idx = first_letter; idx < dead_letters->size(); ++idx) {
      (*dead_letters)[idx].node = name_;
    }
    return Status::OK();
  }

 private:
  int64_t DataLinesLocked() const {
    return std::max<int64_t>(0, static_cast<int64_t>(line_starts_.size()) - header_lines_);
  }

  // Indexes the lines appended since the last scan.
  Status ScanLocked() {
    if (fd_ < 0) return Status::Internal("file source '" + name_ + "': used before Open");
    struct stat info {};
    if (::fstat(fd_, &info) != 0) {
      return Status::IOError("file source '" + name_ + "': cannot stat '" + path_ +
                             "': " + ErrnoText(errno));
    }
    const int64_t size = info.st_size;
    if (size < indexed_end_) {
      return Status::IOError("file source '" + name_ + "': '" + path_ + "' shrank from " +
                             std::to_string(indexed_end_) + " to " + std::to_string(size) +
                             " bytes; file sources only support appends");
    }
    std::string chunk;
    int64_t line_start = indexed_end_;
    int64_t pos = indexed_end_;
    while (pos < size) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(kScanChunkBytes, size - pos));
      EDDY_RETURN_IF_ERROR(ReadFully(fd_, pos, want, &chunk, path_));
      const char* data = chunk.data();
      const char* end = data + want;
      for (const char* newline = data;
           (newline = static_cast<const char*>(std::memchr(newline, '\n', end - newline))) !=
           nullptr;
           ++newline) {
        line_starts_.push_back(line_start);
        line_start = pos + (newline - data) + 1;
        indexed_end_ = line_start;
      }
      pos += static_cast<int64_t>(want);
    }
    // An unterminated last line: on the first scan the file is taken as it
    // is (a file that exists when the job starts is complete, so `--once`
    // reads its last line). Later, a tail counts once it stayed unchanged
    // since the previous scan, so a writer in the middle of a line is given
    // time to end it.
    if (size > indexed_end_) {
      const bool first_scan = previous_size_ < 0;
      if (first_scan || (size == previous_size_ && indexed_end_ == previous_tail_start_)) {
        line_starts_.push_back(indexed_end_);
        indexed_end_ = size;
      }
    }
    previous_size_ = size;
    previous_tail_start_ = indexed_end_;
    pending_tail_.store(size > indexed_end_, std::memory_order_relaxed);
    return Status::OK();
  }

  const std::string name_;
  const std::string path_;
  const std::unique_ptr<Decoder> decoder_;
  const int64_t header_lines_;
  int fd_ = -1;
  std::vector<SourcePartition> partitions_;

  std::mutex mutex_;  // guards the index below; Read runs on worker threads
  // Byte offset where each indexed line starts (header included). Line i
  // spans [line_starts_[i], line_starts_[i + 1]) and the last one ends at
  // indexed_end_; entries never change once added, so replays are exact.
  std::vector<int64_t> line_starts_;
  int64_t indexed_end_ = 0;
  int64_t previous_size_ = -1;
  int64_t previous_tail_start_ = -1;
  // Whether the last scan left an unterminated line uncounted.
  std::atomic<bool> pending_tail_{false};
};

}  // namespace

Result<std::unique_ptr<Source>> MakeFileSource(const spec::SourceSpec& spec,
                                               const std::string& base_dir) {
  const std::string context = "file source '" + spec.name() + "'";
  if (!spec.has_file() || spec.file().path().empty()) {
    return Status::InvalidArgument(context + ": missing file.path");
  }
  if (!IsLineFormat(spec.format().type())) {
    return Status::InvalidArgument(context + ": format " + spec.format().type() +
                                   " is binary and cannot be read as lines; use json, csv or raw");
  }
  std::filesystem::path path(spec.file().path());
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  auto decoder = MakeDecoder(spec.format(), spec.schema(), base_dir);
  if (!decoder.ok()) return decoder.status().WithContext(context);
  return std::unique_ptr<Source>(std::make_unique<FileSource>(
      spec.name(), path.string(), std::move(decoder).value(), spec.format().header() ? 1 : 0));
}

}  // namespace eddy
