// The image_features operator against OpenCV itself: images made here with
// cv::imencode decode to their pixels, HOG equals cv::HOGDescriptor on the
// same image, raw pixels honour their shape, and bad images become dead
// letters with their reason.

#include "operators/image/image_features.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "operators/operator_factory.h"

namespace eddy {
namespace {

Schema ImageSchema() {
  return Schema({{"id", TypeId::kInt64, false}, {"image", TypeId::kString, true}});
}

// One row per image (NULL for nullopt), ids 0, 1, ..., offsets 10, 11, ...
Batch ImageBatch(const std::vector<std::optional<std::string>>& images) {
  Batch batch(ImageSchema());
  for (size_t idx = 0; idx < images.size(); ++idx) {
    batch.column(0).AppendInt64(static_cast<int64_t>(idx));
    if (images[idx]) {
      batch.column(1).AppendString(*images[idx]);
    } else {
      batch.column(1).AppendNull();
    }
    batch.meta().Append("images", 0, 10 + static_cast<int64_t>(idx), nullptr, std::nullopt);
  }
  EXPECT_TRUE(batch.SetNumRows(images.size()).ok());
  return batch;
}

// A width x height 8-bit image whose pixels vary in both directions.
cv::Mat TestImage(int width, int height, int seed = 0) {
  cv::Mat image(height, width, CV_8UC1);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at<uint8_t>(y, x) = static_cast<uint8_t>((x * 37 + y * 11 + seed * 53 + x * y) % 256);
    }
  }
  return image;
}

std::string Encode(const cv::Mat& image, const std::string& extension) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(extension, image, bytes));
  return std::string(bytes.begin(), bytes.end());
}

Result<std::unique_ptr<Operator>> TryMake(const std::function<void(spec::ImageFeaturesSpec*)>& fill,
                                          std::string* where = nullptr) {
  spec::OperatorSpec spec;
  spec.set_name("features");
  spec::ImageFeaturesSpec* image = spec.mutable_image_features();
  image->set_column("image");
  fill(image);
  return MakeOperator(
      spec, {ImageSchema()}, [where](std::string_view field, std::string_view message) {
        if (where != nullptr) *where = std::string(field);
        return Status::InvalidArgument(std::string(field) + ": " + std::string(message));
      });
}

std::unique_ptr<Operator> Make(const std::function<void(spec::ImageFeaturesSpec*)>& fill) {
  auto op = TryMake(fill);
  EXPECT_TRUE(op.ok()) << op.status().ToString();
  return op.ok() ? std::move(op).value() : nullptr;
}

struct Processed {
  Batch out;
  DeadLetters dead;
};

Processed RunOperator(const Operator& op, const Batch& input) {
  Processed result{Batch(op.output_schema()), {}};
  Status status = op.Process(0, input, &result.out, &result.dead);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return result;
}

// The feature columns of output row `row`, from column `first` on.
std::vector<double> FeaturesOf(const Batch& out, size_t row, size_t first = 2) {
  std::vector<double> values;
  for (size_t idx = first; idx < out.num_columns(); ++idx) {
    values.push_back(out.column(idx).GetDouble(row));
  }
  return values;
}

TEST(ImageFeatures, APngDecodesToItsPixelsScaledToOne) {
  auto op = Make([](spec::ImageFeaturesSpec* s) {
    s->set_extractor("pixels");
    s->set_resize("28x28");
  });
  ASSERT_NE(op, nullptr);
  const Schema& schema = op->output_schema();
  ASSERT_EQ(schema.size(), 2u + 784u);
  EXPECT_EQ(schema.field(0).name, "id");
  EXPECT_EQ(schema.field(1).name, "image");
  EXPECT_EQ(schema.field(2), (Field{"pixels_0", TypeId::kDouble, false}));
  EXPECT_EQ(schema.field(785).name, "pixels_783");

  const cv::Mat image = TestImage(28, 28);
  Processed result = RunOperator(*op, ImageBatch({Encode(image, ".png")}));
  ASSERT_EQ(result.out.num_rows(), 1u);
  EXPECT_TRUE(result.dead.empty());
  const std::vector<double> values = FeaturesOf(result.out, 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const float expected = static_cast<float>(image.at<uint8_t>(y, x)) / 255.0f;
      ASSERT_EQ(values[static_cast<size_t>(y * 28 + x)], static_cast<double>(expected))
          << "pixel " << x << "," << y;
    }
  }
  EXPECT_EQ(result.out.column(0).GetInt64(0), 0);
  EXPECT_EQ(result.out.meta().offset.GetInt64(0), 10);
}

TEST(ImageFeatures, ColourImagesAreGrayedAndLargerOnesResizedByAreaAveraging) {
  auto op = Make([](spec::ImageFeaturesSpec* s) {
    s->set_extractor("pixels");
    s->set_resize("14x7");
    s->set_prefix("p");
  });
  ASSERT_NE(op, nullptr);
  cv::Mat colour;
  cv::Mat planes[] = {TestImage(56, 28, 1), TestImage(56, 28, 2), TestImage(56, 28, 3)};
  cv::merge(planes, 3, colour);
  const std::string png = Encode(colour, ".png");
  Processed result = RunOperator(*op, ImageBatch({png}));
  ASSERT_EQ(result.out.num_rows(), 1u);
  EXPECT_EQ(result.out.schema().field(2).name, "p0");

  cv::Mat gray, expected;
  gray = cv::imdecode(std::vector<uint8_t>(png.begin(), png.end()), cv::IMREAD_GRAYSCALE);
  cv::resize(gray, expected, cv::Size(14, 7), 0, 0, cv::INTER_AREA);
  const std::vector<double> values = FeaturesOf(result.out, 0);
  ASSERT_EQ(values.size(), 98u);
  for (int y = 0; y < 7; ++y) {
    for (int x = 0; x < 14; ++x) {
      ASSERT_EQ(values[static_cast<size_t>(y * 14 + x)],
                static_cast<float>(expected.at<uint8_t>(y, x)) / 255.0f);
    }
  }
}

TEST(ImageFeatures, HogEqualsOpenCvsDescriptorOnTheSameImage) {
  auto op = Make([](spec::ImageFeaturesSpec* s) {
    s->set_decode("png");
    s->set_resize("28x28");
    s->set_cell_size(7);
    s->set_block_size(14);
    s->set_block_stride(7);
    s->set_bins(9);
  });
  ASSERT_NE(op, nullptr);
  ASSERT_EQ(op->output_schema().size(), 2u + 324u);
  EXPECT_EQ(op->output_schema().field(2).name, "hog_0");

  const cv::Mat first = TestImage(28, 28, 4), second = TestImage(28, 28, 5);
  Processed result = RunOperator(*op, ImageBatch({Encode(first, ".png"), Encode(second, ".png")}));
  ASSERT_EQ(result.out.num_rows(), 2u);
  const cv::HOGDescriptor hog(cv::Size(28, 28), cv::Size(14, 14), cv::Size(7, 7), cv::Size(7, 7),
                              9);
  for (size_t row = 0; row < 2; ++row) {
    std::vector<float> expected;
    hog.compute(row == 0 ? first : second, expected);
    ASSERT_EQ(expected.size(), 324u);
    const std::vector<double> values = FeaturesOf(result.out, row);
    for (size_t idx = 0; idx < expected.size(); ++idx) {
      ASSERT_EQ(values[idx], static_cast<double>(expected[idx])) << "row " << row << " " << idx;
    }
  }

  // The defaults for 28x28 (cell a quarter of the side, blocks of 2 cells,
  // stride one cell, 9 bins) are the same descriptor.
  auto defaults = Make([](spec::ImageFeaturesSpec* s) { s->set_resize("28x28"); });
  ASSERT_NE(defaults, nullptr);
  Processed again = RunOperator(*defaults, ImageBatch({Encode(first, ".png")}));
  EXPECT_EQ(FeaturesOf(again.out, 0), FeaturesOf(result.out, 0));
}

TEST(ImageFeatures, RawPixelsTakeTheirShapeAndRgbIsGrayed) {
  auto gray = Make([](spec::ImageFeaturesSpec* s) {
    s->set_decode("raw");
    s->set_width(4);
    s->set_height(3);
    s->set_extractor("pixels");
  });
  ASSERT_NE(gray, nullptr);
  ASSERT_EQ(gray->output_schema().size(), 2u + 12u);
  std::string pixels;
  for (int idx = 0; idx < 12; ++idx) pixels.push_back(static_cast<char>(idx * 20));
  Processed result = RunOperator(*gray, ImageBatch({pixels, pixels.substr(1)}));
  ASSERT_EQ(result.out.num_rows(), 1u);
  const std::vector<double> values = FeaturesOf(result.out, 0);
  for (int idx = 0; idx < 12; ++idx) {
    EXPECT_EQ(values[static_cast<size_t>(idx)], static_cast<float>(idx * 20) / 255.0f);
  }
  ASSERT_EQ(result.dead.size(), 1u);
  EXPECT_EQ(result.dead[0].reason, "a raw 4x3x1 image has 12 bytes, this one 11");
  EXPECT_EQ(result.dead[0].offset, 11);

  auto rgb = Make([](spec::ImageFeaturesSpec* s) {
    s->set_decode("raw");
    s->set_width(2);
    s->set_height(1);
    s->set_channels(3);
    s->set_extractor("pixels");
  });
  ASSERT_NE(rgb, nullptr);
  const std::string red_and_white("\xff\x00\x00\xff\xff\xff", 6);
  Processed coloured = RunOperator(*rgb, ImageBatch({red_and_white}));
  ASSERT_EQ(coloured.out.num_rows(), 1u);
  // OpenCV's luma: 0.299 R + 0.587 G + 0.114 B, rounded.
  EXPECT_EQ(FeaturesOf(coloured.out, 0), (std::vector<double>{76.0f / 255.0f, 1.0}));
}

TEST(ImageFeatures, BadImagesBecomeDeadLettersWithTheReasonAndTheRestPass) {
  auto op = Make([](spec::ImageFeaturesSpec* s) {
    s->set_extractor("pixels");
    s->set_resize("8x8");
  });
  ASSERT_NE(op, nullptr);
  const std::string png = Encode(TestImage(8, 8), ".png");
  const std::string truncated = png.substr(0, png.size() / 2);
  Processed result =
      RunOperator(*op, ImageBatch({png, std::string("not an image"), std::nullopt, std::string(),
                                   truncated, Encode(TestImage(16, 16), ".jpg")}));
  ASSERT_EQ(result.out.num_rows(), 2u);
  EXPECT_EQ(result.out.column(0).GetInt64(0), 0);
  EXPECT_EQ(result.out.column(0).GetInt64(1), 5);  // the JPEG: auto reads any format
  EXPECT_EQ(result.out.meta().offset.GetInt64(1), 15);
  ASSERT_EQ(result.dead.size(), 4u);
  EXPECT_EQ(result.dead[0].reason,
            "cannot decode an image of a format OpenCV reads (12 bytes, starting 6e 6f 74 20 61 "
            "6e 20 69)");
  EXPECT_EQ(result.dead[0].offset, 11);
  EXPECT_EQ(result.dead[0].node, "features");
  EXPECT_EQ(result.dead[1].reason, "image column 'image' is NULL");
  EXPECT_EQ(result.dead[2].reason, "the image is empty (0 bytes)");
  EXPECT_EQ(result.dead[3].offset, 14);
  EXPECT_EQ(result.dead[3].reason.rfind("cannot decode an image", 0), 0u) << result.dead[3].reason;

  auto png_only = Make([](spec::ImageFeaturesSpec* s) {
    s->set_decode("png");
    s->set_extractor("pixels");
    s->set_resize("8x8");
  });
  ASSERT_NE(png_only, nullptr);
  Processed strict = RunOperator(*png_only, ImageBatch({Encode(TestImage(8, 8), ".jpg")}));
  EXPECT_EQ(strict.out.num_rows(), 0u);
  ASSERT_EQ(strict.dead.size(), 1u);
  EXPECT_NE(strict.dead[0].reason.find("not a PNG image ("), std::string::npos)
      << strict.dead[0].reason;
  EXPECT_NE(strict.dead[0].reason.find("starting ff d8 ff"), std::string::npos);
}

TEST(ImageFeatures, LbpHistogramsSumToOnePerCell) {
  auto op = Make([](spec::ImageFeaturesSpec* s) {
    s->set_extractor("lbp");
    s->set_resize("10x10");
    s->set_grid(2);
  });
  ASSERT_NE(op, nullptr);
  ASSERT_EQ(op->output_schema().size(), 2u + 4u * 59u);
  EXPECT_EQ(op->output_schema().field(2).name, "lbp_0");
  const cv::Mat flat(10, 10, CV_8UC1, cv::Scalar(100));
  Processed result =
      RunOperator(*op, ImageBatch({Encode(flat, ".png"), Encode(TestImage(10, 10), ".png")}));
  ASSERT_EQ(result.out.num_rows(), 2u);
  // A flat image: every neighbour >= the centre, code 255, the last of the
  // 58 uniform patterns (bin 57) in every cell.
  const std::vector<double> uniform = FeaturesOf(result.out, 0);
  for (size_t cell = 0; cell < 4; ++cell) {
    for (size_t bin = 0; bin < 59; ++bin) {
      EXPECT_EQ(uniform[cell * 59 + bin], bin == 57 ? 1.0 : 0.0) << cell << " " << bin;
    }
  }
  const std::vector<double> varied = FeaturesOf(result.out, 1);
  for (size_t cell = 0; cell < 4; ++cell) {
    double sum = 0;
    for (size_t bin = 0; bin < 59; ++bin) sum += varied[cell * 59 + bin];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
  EXPECT_NE(varied, uniform);
}

TEST(ImageFeatures, BadSpecsNameTheField) {
  std::string where;
  auto error = [&](const std::function<void(spec::ImageFeaturesSpec*)>& fill) {
    where.clear();
    auto op = TryMake(fill, &where);
    return op.ok() ? std::string("made") : op.status().message();
  };
  EXPECT_EQ(error([](spec::ImageFeaturesSpec*) {}),
            "image_features.resize: is required unless decode is raw: the feature count is fixed "
            "when the job loads, so every image is brought to one size (e.g. resize: 28x28)");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) { s->set_column("id"); }),
            "image_features.column: column 'id' is int64; images are read from a string column");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) {
              s->set_column("nope");
            }).rfind("image_features.column: no input column 'nope'", 0),
            0u);
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) {
              s->set_resize("28x28");
              s->set_block_stride(5);
            }).rfind("image_features.block_stride: blocks of 14 pixels every 5 do not tile", 0),
            0u);
  EXPECT_EQ(where, "image_features.block_stride");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) { s->set_resize("28"); }),
            "image_features.resize: expected WIDTHxHEIGHT such as 28x28, each side 1 to 4096, got "
            "'28'");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) {
              s->set_resize("28x28");
              s->set_extractor("sift");
            }),
            "image_features.extractor: expected hog, lbp or pixels, got 'sift'");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) {
              s->set_decode("raw");
              s->set_width(28);
            }),
            "image_features.height: decode: raw needs the image's width and height, each between "
            "1 and 4096");
  EXPECT_EQ(error([](spec::ImageFeaturesSpec* s) {
              s->set_resize("28x28");
              s->set_extractor("pixels");
              s->set_bins(4);
            }),
            "image_features: cell_size, block_size, block_stride and bins apply to extractor: hog "
            "only");
}

}  // namespace
}  // namespace eddy
