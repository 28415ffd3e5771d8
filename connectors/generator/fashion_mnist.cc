// fashion_mnist: the 70,000 real 28x28 grayscale images of Zalando's
// Fashion-MNIST (10 clothing classes), read from the gzipped IDX files of
// Debian's dataset-fashion-mnist package, in the package's order: the
// 60,000 training images, then the 10,000 test images. Record i is image i
// of that sequence: columns index (i), label (0-9) and image (a PNG made by
// OpenCV's imencode, or the 784 raw pixels with `encoding: raw`).
//
// The files are decompressed once per process and shared by every source
// that reads the same directory (a job's planning and its run open the
// generator twice); records are encoded when a batch reads them.

#include <zlib.h>

#include <map>
#include <memory>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "connectors/generator/generators.h"

namespace eddy::generator {
namespace {

constexpr std::string_view kDefaultDir = "/usr/share/datasets/fashion-mnist";
constexpr uint32_t kImagesMagic = 0x00000803;  // IDX: unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // IDX: unsigned bytes, 1 dimension
constexpr int kClasses = 10;

// The decompressed images and labels of one directory, in package order.
struct FashionMnistData {
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // image after image, row by row
  std::vector<uint8_t> labels;

  size_t count() const { return labels.size(); }
};

Result<std::vector<uint8_t>> ReadGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::NotFound("cannot open '" + path +
                            "' (Debian's dataset-fashion-mnist package installs it)");
  }
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> chunk(1 << 20);
  int read = 0;
  while ((read = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + read);
  }
  int error = Z_OK;
  const std::string message = read < 0 ? gzerror(file, &error) : "";
  gzclose(file);
  if (read < 0) return Status::Corruption("cannot decompress '" + path + "': " + message);
  return bytes;
}

uint32_t BigEndian32(const std::vector<uint8_t>& bytes, size_t at) {
  return (uint32_t{bytes[at]} << 24) | (uint32_t{bytes[at + 1]} << 16) |
         (uint32_t{bytes[at + 2]} << 8) | uint32_t{bytes[at + 3]};
}

// Appends one split (train or t10k) to `data`, checking the IDX headers.
Status LoadSplit(const std::string& dir, const std::string& split, FashionMnistData* data) {
  const std::string images_path = dir + "/" + split + "-images-idx3-ubyte.gz";
  const std::string labels_path = dir + "/" + split + "-labels-idx1-ubyte.gz";
  EDDY_ASSIGN_OR_RETURN(std::vector<uint8_t> images, ReadGzip(images_path));
  EDDY_ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadGzip(labels_path));
  if (images.size() < 16 || BigEndian32(images, 0) != kImagesMagic) {
    return Status::Corruption("'" + images_path + "' is not an IDX file of images");
  }
  if (labels.size() < 8 || BigEndian32(labels, 0) != kLabelsMagic) {
    return Status::Corruption("'" + labels_path + "' is not an IDX file of labels");
  }
  const size_t count = BigEndian32(images, 4);
  const int rows = static_cast<int>(BigEndian32(images, 8));
  const int cols = static_cast<int>(BigEndian32(images, 12));
  if (rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096 ||
      images.size() != 16 + count * static_cast<size_t>(rows * cols)) {
    return Status::Corruption("'" + images_path + "': its header does not match its size");
  }
  if (BigEndian32(labels, 4) != count || labels.size() != 8 + count) {
    return Status::Corruption("'" + labels_path + "' does not have one label per image of '" +
                              images_path + "'");
  }
  if (data->count() > 0 && (rows != data->rows || cols != data->cols)) {
    return Status::Corruption("'" + images_path + "' holds images of another size");
  }
  for (size_t idx = 8; idx < labels.size(); ++idx) {
    if (labels[idx] >= kClasses) {
      return Status::Corruption("'" + labels_path + "': label " + std::to_string(labels[idx]) +
                                " at record " + std::to_string(idx - 8) + " is not a class 0-9");
    }
  }
  data->rows = rows;
  data->cols = cols;
  data->pixels.insert(data->pixels.end(), images.begin() + 16, images.end());
  data->labels.insert(data->labels.end(), labels.begin() + 8, labels.end());
  return Status::OK();
}

Result<std::shared_ptr<const FashionMnistData>> LoadShared(const std::string& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const FashionMnistData>> loaded;
  std::lock_guard lock(mutex);
  if (std::shared_ptr<const FashionMnistData> data = loaded[dir].lock()) return data;
  auto data = std::make_shared<FashionMnistData>();
  for (const char* split : {"train", "t10k"}) {
    Status status = LoadSplit(dir, split, data.get());
    if (!status.ok()) return status;
  }
  loaded[dir] = data;
  return std::shared_ptr<const FashionMnistData>(std::move(data));
}

class FashionMnistGenerator final : public RecordGenerator {
 public:
  FashionMnistGenerator(std::shared_ptr<const FashionMnistData> data, bool png)
      : data_(std::move(data)), png_(png) {
    schema_.AddField({"index", TypeId::kInt64, false});
    schema_.AddField({"label", TypeId::kInt64, false});
    schema_.AddField({"image", TypeId::kString, false});
  }

  const Schema& schema() const override { return schema_; }
  std::optional<int64_t> available_count() const override {
    return static_cast<int64_t>(data_->count());
  }

  // REQUIRES: every index < available_count() (the source bounds reads by
  // count, which is at most that).
  void Fill(const RecordSpan& records, std::span<const TimestampMicros>,
            Batch* out) const override {
    std::span<int64_t> index = ExtendInt64(&out->column(0), records.rows);
    std::span<int64_t> label = ExtendInt64(&out->column(1), records.rows);
    Column& image = out->column(2);
    const size_t pixels = static_cast<size_t>(data_->rows) * static_cast<size_t>(data_->cols);
    std::vector<uint8_t> encoded;
    for (size_t row = 0; row < records.rows; ++row) {
      const uint64_t at = records.index(row);
      index[row] = static_cast<int64_t>(at);
      label[row] = data_->labels[at];
      const uint8_t* first = data_->pixels.data() + at * pixels;
      if (!png_) {
        image.AppendString(std::string_view(reinterpret_cast<const char*>(first), pixels));
        continue;
      }
      // imencode only reads the pixels through this header.
      const cv::Mat pixels_view(data_->rows, data_->cols, CV_8UC1, const_cast<uint8_t*>(first));
      encoded.clear();
      cv::imencode(".png", pixels_view, encoded);
      image.AppendString(
          std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
    }
  }

 private:
  std::shared_ptr<const FashionMnistData> data_;
  bool png_;
  Schema schema_;
};

}  // namespace

Result<std::unique_ptr<RecordGenerator>> MakeFashionMnistGenerator(GeneratorOptions* options) {
  const std::string dir = options->String("dir", kDefaultDir);
  const std::string encoding = options->String("encoding", "png");
  if (encoding != "png" && encoding != "raw") {
    return Status::InvalidArgument("option 'encoding': expected png or raw, got '" + encoding +
                                   "'");
  }
  EDDY_ASSIGN_OR_RETURN(std::shared_ptr<const FashionMnistData> data, LoadShared(dir));
  return std::unique_ptr<RecordGenerator>(
      std::make_unique<FashionMnistGenerator>(std::move(data), encoding == "png"));
}

}  // namespace eddy::generator
