// image_features: image bytes -> grayscale -> resize -> feature vector.
//
// Each row goes through four steps, a row at a time inside the partition's
// task (Process is const and runs concurrently for different partitions,
// so every buffer lives in the call):
//  1. Decode: OpenCV's imdecode straight to 8-bit grayscale (PNG, JPEG and
//     whatever else the build reads), or a Mat header over raw pixels;
//  2. Resize to the configured size (area averaging when shrinking, which
//     does not alias; bilinear when growing);
//  3. Extract: HOG (cv::HOGDescriptor over the whole image as one window),
//     uniform LBP histograms per grid cell, or the pixels scaled to [0, 1];
//  4. Write the values into the output's double columns.
// A row whose image is NULL, empty, of the wrong format or size, or that
// OpenCV cannot decode is dead-lettered with the reason and left out.

#include "operators/image/image_features.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace eddy {
namespace {

enum class DecodeMode { kAuto, kPng, kJpeg, kRaw };
enum class Extractor { kHog, kLbp, kPixels };

// Uniform LBP: the 58 8-bit patterns with at most two 0/1 transitions
// around the circle get bins 0..57 in increasing code order; every other
// pattern shares bin 58.
constexpr int kLbpBins = 59;

std::array<uint8_t, 256> UniformLbpBins() {
  std::array<uint8_t, 256> bins{};
  int next = 0;
  for (int code = 0; code < 256; ++code) {
    int transitions = 0;
    for (int bit = 0; bit < 8; ++bit) {
      const int here = (code >> bit) & 1;
      const int after = (code >> ((bit + 1) % 8)) & 1;
      transitions += here != after;
    }
    bins[code] = static_cast<uint8_t>(transitions <= 2 ? next++ : kLbpBins - 1);
  }
  return bins;
}

struct ImageFeaturesConfig {
  std::string column;
  size_t column_index = 0;
  DecodeMode decode = DecodeMode::kAuto;
  int raw_width = 0, raw_height = 0, raw_channels = 1;
  cv::Size size;  // every image is brought to this size before extraction
  Extractor extractor = Extractor::kHog;
  int cell_size = 0, block_size = 0, block_stride = 0, bins = 9;  // hog
  int grid = 4;                                                   // lbp
  std::string prefix;
  int num_features = 0;
};

const char* ExtractorName(Extractor extractor) {
  switch (extractor) {
    case Extractor::kHog:
      return "hog";
    case Extractor::kLbp:
      return "lbp";
    case Extractor::kPixels:
      return "pixels";
  }
  return "?";
}

// "89 50 4e 47" for the first bytes of a record that did not decode.
std::string LeadingBytes(std::string_view bytes) {
  std::string text;
  char hex[4];
  for (size_t idx = 0; idx < std::min<size_t>(bytes.size(), 8); ++idx) {
    std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned char>(bytes[idx]));
    text += (idx ? " " : "") + std::string(hex);
  }
  return text;
}

class ImageFeaturesOperator final : public Operator {
 public:
  ImageFeaturesOperator(std::string name, ImageFeaturesConfig config, const Schema& input_schema)
      : name_(std::move(name)), config_(std::move(config)), lbp_bins_(UniformLbpBins()) {
    schema_ = input_schema;
    for (int idx = 0; idx < config_.num_features; ++idx) {
      schema_.AddField({config_.prefix + std::to_string(idx), TypeId::kDouble, false});
    }
    if (config_.extractor == Extractor::kHog) {
      hog_ = cv::HOGDescriptor(config_.size, cv::Size(config_.block_size, config_.block_size),
                               cv::Size(config_.block_stride, config_.block_stride),
                               cv::Size(config_.cell_size, config_.cell_size), config_.bins);
    }
  }

  const std::string& name() const override { return name_; }
  const Schema& output_schema() const override { return schema_; }

  std::string Describe() const override {
    return "image_features " + std::string(ExtractorName(config_.extractor)) + " of " +
           config_.column + " (" + std::to_string(config_.size.width) + "x" +
           std::to_string(config_.size.height) + ", " + std::to_string(config_.num_features) +
           " features " + config_.prefix + "0..)";
  }

  Status Process(size_t, const Batch& input, Batch* out, DeadLetters* dead_letters) const override {
    const size_t rows = input.num_rows();
    const Column& images = input.column(config_.column_index);
    const size_t width = static_cast<size_t>(config_.num_features);
    std::vector<Column> features(width, Column(TypeId::kDouble));
    std::vector<double*> feature_data(width);
    for (size_t idx = 0; idx < width; ++idx) {
      features[idx].ResizeFixed(rows);
      feature_data[idx] = features[idx].mutable_doubles().data();
    }
    std::vector<uint8_t> rejected(rows, 0);
    std::vector<uint32_t> kept;
    kept.reserve(rows);
    std::vector<float> values(width);
    cv::Mat decoded, gray, sized;
    for (uint32_t row = 0; row < rows; ++row) {
      std::optional<std::string> failure;
      if (images.IsNull(row)) {
        failure = "image column '" + config_.column + "' is NULL";
      } else {
        failure = Extract(images.GetString(row), &decoded, &gray, &sized, &values);
      }
      if (failure.has_value()) {
        RejectRow(input, row, name_, std::move(*failure), &rejected, dead_letters);
        continue;
      }
      const size_t slot = kept.size();
      for (size_t idx = 0; idx < width; ++idx) feature_data[idx][slot] = values[idx];
      kept.push_back(row);
    }
    for (Column& column : features) column.ResizeFixed(kept.size());

    Batch result = kept.size() == rows ? input : input.Gather(kept);
    for (size_t idx = 0; idx < width; ++idx) {
      result.AddColumn(schema_.field(input.num_columns() + idx), std::move(features[idx]));
    }
    if (out->num_rows() == 0) {
      *out = std::move(result);
      return Status::OK();
    }
    return out->Append(result);
  }

 private:
  // Fills `values` from one image, or returns why it cannot. OpenCV reports
  // some malformed inputs by throwing; that is a bad record, not a failure
  // of the job, so it is caught here.
  std::optional<std::string> Extract(std::string_view bytes, cv::Mat* decoded, cv::Mat* gray,
                                     cv::Mat* sized, std::vector<float>* values) const {
    try {
      if (std::optional<std::string> failure = Decode(bytes, decoded, gray)) return failure;
      const cv::Mat* image = gray;
      if (gray->size() != config_.size) {
        const bool shrinking =
            gray->cols >= config_.size.width && gray->rows >= config_.size.height;
        cv::resize(*gray, *sized, config_.size, 0, 0,
                   shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
        image = sized;
      }
      switch (config_.extractor) {
        case Extractor::kHog:
          hog_.compute(*image, *values);
          break;
        case Extractor::kLbp:
          LbpHistograms(*image, values);
          break;
        case Extractor::kPixels:
          Pixels(*image, values);
          break;
      }
      if (values->size() != static_cast<size_t>(config_.num_features)) {
        return "the extractor gave " + std::to_string(values->size()) + " values, expected " +
               std::to_string(config_.num_features);
      }
    } catch (const cv::Exception& error) {
      return "OpenCV cannot process the image (" + std::to_string(bytes.size()) +
             " bytes): " + error.msg;
    }
    return std::nullopt;
  }

  // Sets *gray to the 8-bit single-channel image of `bytes`.
  std::optional<std::string> Decode(std::string_view bytes, cv::Mat* decoded, cv::Mat* gray) const {
    const int size = static_cast<int>(bytes.size());
    uint8_t* data = reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data()));
    if (config_.decode == DecodeMode::kRaw) {
      const size_t expected = static_cast<size_t>(config_.raw_width) *
                              static_cast<size_t>(config_.raw_height) *
                              static_cast<size_t>(config_.raw_channels);
      if (bytes.size() != expected) {
        return "a raw " + std::to_string(config_.raw_width) + "x" +
               std::to_string(config_.raw_height) + "x" + std::to_string(config_.raw_channels) +
               " image has " + std::to_string(expected) + " bytes, this one " +
               std::to_string(bytes.size());
      }
      // A header over the column's bytes: the pixels are only read.
      const cv::Mat pixels(config_.raw_height, config_.raw_width, CV_8UC(config_.raw_channels),
                           data);
      if (config_.raw_channels == 1) {
        *gray = pixels;
      } else {
        cv::cvtColor(pixels, *gray, cv::COLOR_RGB2GRAY);
      }
      return std::nullopt;
    }
    if (bytes.empty()) return std::string("the image is empty (0 bytes)");
    static constexpr std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);
    static constexpr std::string_view kJpegSignature("\xff\xd8\xff", 3);
    if (config_.decode == DecodeMode::kPng && !bytes.starts_with(kPngSignature)) {
      return "not a PNG image (" + std::to_string(bytes.size()) + " bytes, starting " +
             LeadingBytes(bytes) + ")";
    }
    if (config_.decode == DecodeMode::kJpeg && !bytes.starts_with(kJpegSignature)) {
      return "not a JPEG image (" + std::to_string(bytes.size()) + " bytes, starting " +
             LeadingBytes(bytes) + ")";
    }
    const cv::Mat buffer(1, size, CV_8UC1, data);
    *decoded = cv::imdecode(buffer, cv::IMREAD_GRAYSCALE);
    if (decoded->empty()) {
      const char* format = config_.decode == DecodeMode::kPng    ? "the PNG image"
                           : config_.decode == DecodeMode::kJpeg ? "the JPEG image"
                                                                 : "an image of a format OpenCV "
                                                                   "reads";
      return std::string("cannot decode ") + format + " (" + std::to_string(bytes.size()) +
             " bytes, starting " + LeadingBytes(bytes) + ")";
    }
    *gray = *decoded;
    return std::nullopt;
  }

  // Uniform LBP codes of the interior pixels (each compared with its eight
  // neighbours, >= sets the bit), histogrammed per cell of a grid x grid
  // split of the interior; each cell's histogram sums to 1.
  void LbpHistograms(const cv::Mat& image, std::vector<float>* values) const {
    const int grid = config_.grid;
    const int inner_rows = image.rows - 2, inner_cols = image.cols - 2;
    values->assign(static_cast<size_t>(grid * grid * kLbpBins), 0.0f);
    std::vector<int> cell_pixels(static_cast<size_t>(grid * grid), 0);
    static constexpr std::array<std::array<int, 2>, 8> kNeighbours = {
        {{-1, -1}, {-1, 0}, {-1, 1}, {0, 1}, {1, 1}, {1, 0}, {1, -1}, {0, -1}}};
    for (int y = 1; y <= inner_rows; ++y) {
      const int cell_row = (y - 1) * grid / inner_rows;
      for (int x = 1; x <= inner_cols; ++x) {
        const uint8_t centre = image.at<uint8_t>(y, x);
        int code = 0;
        for (int bit = 0; bit < 8; ++bit) {
          const uint8_t neighbour =
              image.at<uint8_t>(y + kNeighbours[bit][0], x + kNeighbours[bit][1]);
          code |= (neighbour >= centre ? 1 : 0) << bit;
        }
        const int cell = cell_row * grid + (x - 1) * grid / inner_cols;
        (*values)[static_cast<size_t>(cell * kLbpBins + lbp_bins_[code])] += 1.0f;
        ++cell_pixels[static_cast<size_t>(cell)];
      }
    }
    for (int cell = 0; cell < grid * grid; ++cell) {
      const float scale = 1.0f / static_cast<float>(cell_pixels[static_cast<size_t>(cell)]);
      for (int bin = 0; bin < kLbpBins; ++bin) {
        (*values)[static_cast<size_t>(cell * kLbpBins + bin)] *= scale;
      }
    }
  }

  static void Pixels(const cv::Mat& image, std::vector<float>* values) {
    values->resize(static_cast<size_t>(image.rows) * static_cast<size_t>(image.cols));
    size_t next = 0;
    for (int y = 0; y < image.rows; ++y) {
      const uint8_t* line = image.ptr<uint8_t>(y);
      for (int x = 0; x < image.cols; ++x) (*values)[next++] = static_cast<float>(line[x]) / 255.0f;
    }
  }

  std::string name_;
  ImageFeaturesConfig config_;
  Schema schema_;
  cv::HOGDescriptor hog_;
  std::array<uint8_t, 256> lbp_bins_;
};

// "28x28" -> 28 x 28.
std::optional<cv::Size> ParseSize(std::string_view text) {
  const size_t x = text.find_first_of("xX");
  if (x == std::string_view::npos) return std::nullopt;
  int width = 0, height = 0;
  auto parse = [](std::string_view part, int* value) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), *value);
    return ec == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  if (!parse(text.substr(0, x), &width) || !parse(text.substr(x + 1), &height)) return std::nullopt;
  return cv::Size(width, height);
}

constexpr int kMaxSide = 4096;

Status CheckHog(const spec::ImageFeaturesSpec& image, ImageFeaturesConfig* config,
                const SpecErrorReporter& error_at) {
  const int side = std::min(config->size.width, config->size.height);
  config->cell_size = image.cell_size() > 0 ? image.cell_size() : std::max(1, side / 4);
  config->block_size = image.block_size() > 0 ? image.block_size() : 2 * config->cell_size;
  config->block_stride = image.block_stride() > 0 ? image.block_stride() : config->cell_size;
  config->bins = image.bins() > 0 ? image.bins() : 9;
  if (image.cell_size() < 0 || image.block_size() < 0 || image.block_stride() < 0 ||
      image.bins() < 0) {
    return error_at("image_features", "cell_size, block_size, block_stride and bins are positive");
  }
  if (config->bins > 180) return error_at("image_features.bins", "must be between 1 and 180");
  if (config->block_size % config->cell_size != 0) {
    return error_at("image_features.block_size", "must be a multiple of cell_size (" +
                                                     std::to_string(config->cell_size) + "), got " +
                                                     std::to_string(config->block_size));
  }
  if (config->block_size > side) {
    return error_at("image_features.block_size", "is larger than the image (" +
                                                     std::to_string(config->size.width) + "x" +
                                                     std::to_string(config->size.height) + ")");
  }
  if ((config->size.width - config->block_size) % config->block_stride != 0 ||
      (config->size.height - config->block_size) % config->block_stride != 0) {
    return error_at("image_features.block_stride",
                    "blocks of " + std::to_string(config->block_size) + " pixels every " +
                        std::to_string(config->block_stride) + " do not tile a " +
                        std::to_string(config->size.width) + "x" +
                        std::to_string(config->size.height) +
                        " image (its sides minus block_size must be multiples of block_stride); "
                        "set cell_size, block_size, block_stride or resize");
  }
  const int cells_per_block = (config->block_size / config->cell_size);
  const int blocks_across = (config->size.width - config->block_size) / config->block_stride + 1;
  const int blocks_down = (config->size.height - config->block_size) / config->block_stride + 1;
  config->num_features =
      config->bins * cells_per_block * cells_per_block * blocks_across * blocks_down;
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Operator>> MakeImageFeaturesOperator(const spec::OperatorSpec& spec,
                                                            const Schema& input_schema,
                                                            const SpecErrorReporter& error_at) {
  const spec::ImageFeaturesSpec& image = spec.image_features();
  ImageFeaturesConfig config;

  if (image.column().empty()) {
    return error_at("image_features.column", "is required: the string column of image bytes");
  }
  std::optional<size_t> column = input_schema.IndexOf(image.column());
  if (!column.has_value()) {
    return error_at("image_features.column", "no input column '" + image.column() +
                                                 "' (input: " + input_schema.ToString() + ")");
  }
  if (input_schema.field(*column).type != TypeId::kString) {
    return error_at("image_features.column",
                    "column '" + image.column() + "' is " +
                        std::string(TypeName(input_schema.field(*column).type)) +
                        "; images are read from a string column");
  }
  config.column = image.column();
  config.column_index = *column;

  const std::string& decode = image.decode();
  if (decode.empty() || decode == "auto") {
    config.decode = DecodeMode::kAuto;
  } else if (decode == "png") {
    config.decode = DecodeMode::kPng;
  } else if (decode == "jpeg") {
    config.decode = DecodeMode::kJpeg;
  } else if (decode == "raw") {
    config.decode = DecodeMode::kRaw;
  } else {
    return error_at("image_features.decode",
                    "expected auto, png, jpeg or raw, got '" + decode + "'");
  }
  if (config.decode == DecodeMode::kRaw) {
    if (image.width() <= 0 || image.height() <= 0 || image.width() > kMaxSide ||
        image.height() > kMaxSide) {
      return error_at(image.width() <= 0 || image.width() > kMaxSide ? "image_features.width"
                                                                     : "image_features.height",
                      "decode: raw needs the image's width and height, each between 1 and " +
                          std::to_string(kMaxSide));
    }
    if (image.channels() != 0 && image.channels() != 1 && image.channels() != 3) {
      return error_at("image_features.channels",
                      "must be 1 (grayscale) or 3 (RGB), got " + std::to_string(image.channels()));
    }
    config.raw_width = image.width();
    config.raw_height = image.height();
    config.raw_channels = image.channels() == 0 ? 1 : image.channels();
    config.size = cv::Size(config.raw_width, config.raw_height);
  } else if (image.width() != 0 || image.height() != 0 || image.channels() != 0) {
    return error_at(image.width() != 0    ? "image_features.width"
                    : image.height() != 0 ? "image_features.height"
                                          : "image_features.channels",
                    "applies to decode: raw only (other images carry their own size; set resize)");
  }
  if (!image.resize().empty()) {
    std::optional<cv::Size> size = ParseSize(image.resize());
    if (!size.has_value() || size->width < 1 || size->height < 1 || size->width > kMaxSide ||
        size->height > kMaxSide) {
      return error_at("image_features.resize",
                      "expected WIDTHxHEIGHT such as 28x28, each side 1 to " +
                          std::to_string(kMaxSide) + ", got '" + image.resize() + "'");
    }
    config.size = *size;
  } else if (config.decode != DecodeMode::kRaw) {
    return error_at("image_features.resize",
                    "is required unless decode is raw: the feature count is fixed when the job "
                    "loads, so every image is brought to one size (e.g. resize: 28x28)");
  }

  const std::string& extractor = image.extractor();
  const bool hog_options = image.cell_size() != 0 || image.block_size() != 0 ||
                           image.block_stride() != 0 || image.bins() != 0;
  if (extractor.empty() || extractor == "hog") {
    config.extractor = Extractor::kHog;
    if (image.grid() != 0) return error_at("image_features.grid", "applies to extractor: lbp only");
    EDDY_RETURN_IF_ERROR(CheckHog(image, &config, error_at));
  } else if (extractor == "lbp" || extractor == "pixels") {
    config.extractor = extractor == "lbp" ? Extractor::kLbp : Extractor::kPixels;
    if (hog_options) {
      return error_at("image_features",
                      "cell_size, block_size, block_stride and bins apply to "
                      "extractor: hog only");
    }
    if (config.extractor == Extractor::kLbp) {
      const int most = std::min(config.size.width, config.size.height) - 2;
      config.grid = image.grid() == 0 ? 4 : image.grid();
      if (config.grid < 1 || config.grid > most) {
        return error_at("image_features.grid",
                        "must be between 1 and " + std::to_string(std::max(most, 1)) +
                            " (the image's inner side), got " + std::to_string(config.grid));
      }
      config.num_features = config.grid * config.grid * kLbpBins;
    } else {
      if (image.grid() != 0)
        return error_at("image_features.grid", "applies to extractor: lbp only");
      config.num_features = config.size.width * config.size.height;
    }
  } else {
    return error_at("image_features.extractor",
                    "expected hog, lbp or pixels, got '" + extractor + "'");
  }

  config.prefix =
      image.prefix().empty() ? std::string(ExtractorName(config.extractor)) + "_" : image.prefix();
  for (int idx = 0; idx < config.num_features; ++idx) {
    const std::string output = config.prefix + std::to_string(idx);
    if (input_schema.IndexOf(output).has_value()) {
      return error_at(
          image.prefix().empty() ? "image_features" : "image_features.prefix",
          "output column '" + output + "' is already an input column; choose another prefix");
    }
  }
  return std::unique_ptr<Operator>(
      std::make_unique<ImageFeaturesOperator>(spec.name(), std::move(config), input_schema));
}

}  // namespace eddy
