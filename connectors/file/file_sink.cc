#include "connectors/file/file_sink.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "connectors/format/format.h"

namespace eddy {
namespace {

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

class FileSink final : public Sink {
 public:
  FileSink(std::string name, std::string path, std::unique_ptr<Encoder> encoder)
      : name_(std::move(name)), path_(std::move(path)), encoder_(std::move(encoder)) {}

  const std::string& name() const override { return name_; }

  Status Open() override {
    if (file_ != nullptr) return Status::OK();
    const std::filesystem::path path(path_);
    if (path.has_parent_path()) {
      std::error_code error;
      std::filesystem::create_directories(path.parent_path(), error);
      if (error) {
        return Status::IOError(Context() + ": cannot create directory '" +
                               path.parent_path().string() + "': " + error.message());
      }
    }
    std::FILE* file = std::fopen(path_.c_str(), "ab");
    if (file == nullptr) {
      return Status::IOError(Context() + ": cannot open '" + path_ + "': " + std::strerror(errno));
    }
    file_.reset(file);
    struct stat info {};
    if (::fstat(::fileno(file), &info) != 0) {
      return Status::IOError(Context() + ": cannot stat '" + path_ + "': " + std::strerror(errno));
    }
    length_ = static_cast<int64_t>(info.st_size);
    const std::string header = encoder_->Header();
    if (info.st_size == 0 && !header.empty()) {
      buffer_.assign(header);
      buffer_.push_back('\n');
      EDDY_RETURN_IF_ERROR(WriteBuffer());
    }
    return Status::OK();
  }

  bool exactly_once() const override { return true; }

  // The file is cut back to its length before the first batch that runs:
  // whatever an interrupted run appended after it is written again.
  Status Recover(const SinkRecovery& recovery) override {
    if (recovery.position.empty()) return Status::OK();
    int64_t length = 0;
    const auto [end, ec] = std::from_chars(
        recovery.position.data(), recovery.position.data() + recovery.position.size(), length);
    if (ec != std::errc() || end != recovery.position.data() + recovery.position.size() ||
        length < 0) {
      return Status::Corruption(Context() + ": unreadable recorded length '" + recovery.position +
                                "'");
    }
    if (length > length_) {
      return Status::Corruption(Context() + ": '" + path_ + "' is shorter (" +
                                std::to_string(length_) +
                                " bytes) than the job's state says it wrote (" +
                                std::to_string(length) + "): it was changed outside the job");
    }
    if (length == length_) return Status::OK();
    if (std::fflush(file_.get()) != 0 || ::ftruncate(::fileno(file_.get()), length) != 0) {
      return Status::IOError(Context() + ": cannot truncate '" + path_ +
                             "': " + std::strerror(errno));
    }
    length_ = length;
    return Status::OK();
  }

  std::string Position() const override { return std::to_string(length_); }

  Status Write(const Batch& batch, const WriteContext&, DeadLetters* dead_letters) override {
    if (file_ == nullptr) return Status::Internal(Context() + ": Write before Open");
    if (batch.num_rows() == 0) return Status::OK();
    encoded_.Clear();
    EDDY_RETURN_IF_ERROR(encoder_->Encode(batch, &encoded_));
    buffer_.clear();
    buffer_.reserve(encoded_.data.size() + encoded_.size());
    for (size_t row = 0; row < encoded_.size(); ++row) {
      buffer_.append(encoded_.row(row));
      buffer_.push_back('\n');
    }
    EDDY_RETURN_IF_ERROR(WriteBuffer());
    records_written_ += static_cast<int64_t>(encoded_.size());
    return Status::OK();
  }

  Status Flush() override {
    if (file_ == nullptr) return Status::OK();
    if (std::fflush(file_.get()) != 0) {
      return Status::IOError(Context() + ": cannot write '" + path_ + "': " + std::strerror(errno));
    }
    if (::fsync(::fileno(file_.get())) != 0) {
      return Status::IOError(Context() + ": cannot sync '" + path_ + "': " + std::strerror(errno));
    }
    return Status::OK();
  }

  int64_t records_written() const override { return records_written_; }

 private:
  std::string Context() const { return "file sink '" + name_ + "'"; }

  Status WriteBuffer() {
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size()) {
      return Status::IOError(Context() + ": cannot write '" + path_ + "': " + std::strerror(errno));
    }
    length_ += static_cast<int64_t>(buffer_.size());
    return Status::OK();
  }

  const std::string name_;
  const std::string path_;
  const std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  EncodedRows encoded_;  // reused across batches
  std::string buffer_;   // lines of one batch, written with one fwrite
  int64_t records_written_ = 0;
  int64_t length_ = 0;  // bytes in the file, once what was written is flushed
};

bool IsLineFormat(const std::string& type) {
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower != "protobuf";
}

}  // namespace

Result<std::unique_ptr<Sink>> MakeFileSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                           const std::string& base_dir) {
  const std::string context = "file sink '" + spec.name() + "'";
  if (!spec.has_file() || spec.file().path().empty()) {
    return Status::InvalidArgument(context + ": missing file.path");
  }
  if (!IsLineFormat(spec.format().type())) {
    return Status::InvalidArgument(context + ": format " + spec.format().type() +
                                   " is binary and cannot be written as lines; use json, csv or "
                                   "raw");
  }
  std::filesystem::path path(spec.file().path());
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  auto encoder = MakeEncoder(spec.format(), input_schema, base_dir);
  if (!encoder.ok()) return encoder.status().WithContext(context);
  return std::unique_ptr<Sink>(
      std::make_unique<FileSink>(spec.name(), path.string(), std::move(encoder).value()));
}

}  // namespace eddy
