// The fashion_mnist generator against the IDX files of Debian's
// dataset-fashion-mnist package, read independently here: labels and pixels
// in the package's order (train, then t10k), PNGs that decode back to the
// exact pixels, and the record count.

#include <gtest/gtest.h>
#include <zlib.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/connectors/generator_test_util.h"

namespace eddy {
namespace {

constexpr char kDir[] = "/usr/share/datasets/fashion-mnist";

// The first `bytes` bytes after a `header`-byte IDX header of a gzipped file.
std::string ReadIdx(const std::string& name, size_t header, size_t bytes) {
  gzFile file = gzopen((std::string(kDir) + "/" + name).c_str(), "rb");
  EXPECT_NE(file, nullptr) << name;
  if (file == nullptr) return "";
  std::string data(header + bytes, '\0');
  const int read = gzread(file, data.data(), static_cast<unsigned>(data.size()));
  gzclose(file);
  EXPECT_EQ(read, static_cast<int>(data.size()));
  return data.substr(header);
}

spec::SourceSpec FashionSpec(int64_t count, std::map<std::string, std::string> options = {}) {
  return testing::GeneratorSpecFor("fashion_mnist", count, 0, std::move(options));
}

TEST(FashionMnistGenerator, RecordsFollowThePackagesOrderAsPngsOfTheExactPixels) {
  auto source = testing::OpenSource(FashionSpec(0));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->schema().ToString(), "index:int64, label:int64, image:string");
  EXPECT_TRUE(source->IsBounded());
  Result<Offsets> latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 1u);
  EXPECT_EQ((*latest)[0].value, 70'000);

  constexpr size_t kFirst = 50;
  const std::string train_labels = ReadIdx("train-labels-idx1-ubyte.gz", 8, kFirst);
  const std::string train_pixels = ReadIdx("train-images-idx3-ubyte.gz", 16, kFirst * 784);
  Batch batch = testing::ReadRange(source.get(), 0, 0, kFirst);
  ASSERT_EQ(batch.num_rows(), kFirst);
  for (size_t row = 0; row < kFirst; ++row) {
    EXPECT_EQ(batch.column(0).GetInt64(row), static_cast<int64_t>(row));
    ASSERT_EQ(batch.column(1).GetInt64(row), static_cast<uint8_t>(train_labels[row])) << row;
    const std::string_view png = batch.column(2).GetString(row);
    ASSERT_TRUE(png.starts_with("\x89PNG")) << row;
    const cv::Mat decoded = cv::imdecode(
        cv::Mat(1, static_cast<int>(png.size()), CV_8UC1, const_cast<char*>(png.data())),
        cv::IMREAD_UNCHANGED);
    ASSERT_EQ(decoded.type(), CV_8UC1);
    ASSERT_EQ(decoded.rows, 28);
    ASSERT_EQ(decoded.cols, 28);
    ASSERT_EQ(std::string(reinterpret_cast<const char*>(decoded.data), 784),
              train_pixels.substr(row * 784, 784))
        << "image " << row;
  }

  // Record 60,000 is the first test image.
  const std::string test_labels = ReadIdx("t10k-labels-idx1-ubyte.gz", 8, 3);
  Batch tail = testing::ReadRange(source.get(), 0, 60'000, 60'003);
  ASSERT_EQ(tail.num_rows(), 3u);
  for (size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(tail.column(0).GetInt64(row), 60'000 + static_cast<int64_t>(row));
    EXPECT_EQ(tail.column(1).GetInt64(row), static_cast<uint8_t>(test_labels[row]));
  }
}

TEST(FashionMnistGenerator, RawEncodingGivesThePixelsAndCountTakesTheFirstRecords) {
  auto source = testing::OpenSource(FashionSpec(2'000, {{"encoding", "raw"}}));
  ASSERT_NE(source, nullptr);
  Result<Offsets> latest = source->LatestOffsets();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ((*latest)[0].value, 2'000);
  const std::string pixels = ReadIdx("t10k-images-idx3-ubyte.gz", 16, 784);
  // Reading past the count is refused.
  std::atomic<bool> cancel{false};
  Batch batch;
  DeadLetters dead;
  EXPECT_FALSE(source->Read({0, Offset{1'999}, Offset{2'001}}, cancel, &batch, &dead).ok());

  auto all = testing::OpenSource(FashionSpec(0, {{"encoding", "raw"}}));
  ASSERT_NE(all, nullptr);
  Batch first_test = testing::ReadRange(all.get(), 0, 60'000, 60'001);
  ASSERT_EQ(first_test.num_rows(), 1u);
  EXPECT_EQ(first_test.column(2).GetString(0), pixels);
}

TEST(FashionMnistGenerator, BadSettingsAreRefusedWithTheReason) {
  auto error = [](const spec::SourceSpec& spec) {
    Result<std::unique_ptr<Source>> source = MakeGeneratorSource(spec);
    return source.ok() ? std::string("made") : source.status().message();
  };
  EXPECT_EQ(error(FashionSpec(70'001)),
            "source 'gen': generator 'fashion_mnist': 'count' is 70001 but the data set has 70000 "
            "records");
  EXPECT_EQ(error(FashionSpec(0, {{"dir", "/nonexistent"}})),
            "source 'gen': generator 'fashion_mnist': cannot open "
            "'/nonexistent/train-images-idx3-ubyte.gz' (Debian's dataset-fashion-mnist package "
            "installs it)");
  EXPECT_EQ(error(FashionSpec(0, {{"encoding", "jpeg"}})),
            "source 'gen': generator 'fashion_mnist': option 'encoding': expected png or raw, got "
            "'jpeg'");
  EXPECT_NE(error(FashionSpec(0, {{"classes", "3"}})).find("unknown option 'classes'"),
            std::string::npos);
}

}  // namespace
}  // namespace eddy
