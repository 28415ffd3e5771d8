#include "connectors/file/stdout_sink.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "connectors/format/format.h"

namespace eddy {
namespace {

class StdoutSink final : public Sink {
 public:
  StdoutSink(std::string name, std::unique_ptr<Encoder> encoder, int64_t max_rows, std::FILE* out)
      : name_(std::move(name)), encoder_(std::move(encoder)), max_rows_(max_rows), out_(out) {}

  const std::string& name() const override { return name_; }

  Status Open() override { return Status::OK(); }

  Status Write(const Batch& batch, const WriteContext&, DeadLetters* dead_letters) override {
    if (batch.num_rows() == 0) return Status::OK();
    const size_t shown = max_rows_ > 0 ? std::min(batch.num_rows(), static_cast<size_t>(max_rows_))
                                       : batch.num_rows();
    // Encode only the rows that are shown.
    const Batch* to_encode = &batch;
    Batch head;
    if (shown < batch.num_rows()) {
      std::vector<uint32_t> rows(shown);
      for (size_t row = 0; row < shown; ++row) rows[row] = static_cast<uint32_t>(row);
      head = batch.Gather(rows);
      to_encode = &head;
    }
    encoded_.Clear();
    EDDY_RETURN_IF_ERROR(encoder_->Encode(*to_encode, &encoded_));
    buffer_.clear();
    for (size_t row = 0; row < encoded_.size(); ++row) {
      buffer_.append(encoded_.row(row));
      buffer_.push_back('\n');
    }
    if (shown < batch.num_rows()) {
      buffer_ += "... " + std::to_string(batch.num_rows() - shown) + " more\n";
    }
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), out_) != buffer_.size()) {
      return Status::IOError("stdout sink '" + name_ + "': cannot write: " + std::strerror(errno));
    }
    records_written_ += static_cast<int64_t>(batch.num_rows());
    return Status::OK();
  }

  Status Flush() override {
    if (std::fflush(out_) != 0) {
      return Status::IOError("stdout sink '" + name_ + "': cannot flush: " + std::strerror(errno));
    }
    return Status::OK();
  }

  // Rows handed to the sink, including those elided by max_rows.
  int64_t records_written() const override { return records_written_; }

 private:
  const std::string name_;
  const std::unique_ptr<Encoder> encoder_;
  const int64_t max_rows_;
  std::FILE* const out_;
  EncodedRows encoded_;
  std::string buffer_;
  int64_t records_written_ = 0;
};

}  // namespace

Result<std::unique_ptr<Sink>> MakeStdoutSink(const spec::SinkSpec& spec, const Schema& input_schema,
                                             std::FILE* out) {
  const std::string context = "stdout sink '" + spec.name() + "'";
  std::string type(spec.format().type());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (type == "protobuf") {
    return Status::InvalidArgument(context +
                                   ": format protobuf is binary and cannot be printed; use json, "
                                   "csv or raw");
  }
  auto encoder = MakeEncoder(spec.format(), input_schema, "");
  if (!encoder.ok()) return encoder.status().WithContext(context);
  return std::unique_ptr<Sink>(std::make_unique<StdoutSink>(spec.name(), std::move(encoder).value(),
                                                            spec.stdout().max_rows(), out));
}

}  // namespace eddy
