#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/file/file_sink.h"
#include "connectors/file/file_source.h"
#include "connectors/file/stdout_sink.h"
#include "tests/connectors/offsets_test_util.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

class FileConnectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "eddy-file-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteFile(const std::string& name, const std::string& content, bool append = false) {
    std::ofstream out(dir_ / name, append ? std::ios::app | std::ios::binary : std::ios::binary);
    out << content;
  }
  std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  static spec::SourceSpec JsonSource(const std::string& path) {
    spec::SourceSpec source;
    source.set_name("events");
    source.mutable_file()->set_path(path);
    source.mutable_format()->set_type("json");
    AddColumn(&source, "id", "int64", false);
    AddColumn(&source, "name", "string", true);
    return source;
  }
  static void AddColumn(spec::SourceSpec* source, const std::string& name, const std::string& type,
                        bool nullable) {
    spec::ColumnSpec* column = source->add_schema();
    column->set_name(name);
    column->set_type(type);
    column->set_nullable(nullable);
  }

  std::unique_ptr<Source> MustOpen(const spec::SourceSpec& spec) {
    auto source = MakeFileSource(spec, dir_.string());
    EXPECT_TRUE(source.ok()) << source.status().ToString();
    if (!source.ok()) return nullptr;
    Status status = (*source)->Open();
    EXPECT_TRUE(status.ok()) << status.ToString();
    return std::move(source).value();
  }

  static int64_t Latest(Source& source) {
    auto latest = source.LatestOffsets();
    EXPECT_TRUE(latest.ok()) << latest.status().ToString();
    EXPECT_EQ(latest->size(), 1u);
    return latest.ok() ? (*latest)[0].value : -1;
  }

  struct ReadResult {
    Batch batch;
    DeadLetters dead_letters;
  };
  static ReadResult ReadRange(Source& source, int64_t start, int64_t end) {
    ReadResult result{Batch(source.schema()), {}};
    std::atomic<bool> cancel{false};
    Status status =
        source.Read(PartitionRange{0, start, end}, cancel, &result.batch, &result.dead_letters);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return result;
  }
  static std::string Offsets(const Batch& batch) {
    std::string out;
    for (size_t row = 0; row < batch.meta().size(); ++row) {
      if (!out.empty()) out += ',';
      out += std::to_string(batch.meta().offset.GetInt64(row));
    }
    return out;
  }

  fs::path dir_;
};

TEST_F(FileConnectorsTest, ReadsLineRangesWithLineNumbersAsOffsets) {
  WriteFile("in.jsonl",
            "{\"id\": 1, \"name\": \"a\"}\n"
            "{\"id\": 2}\n"
            "\n"
            "{\"id\": \"three\"}\n"
            "{\"id\": 4, \"name\": \"d\"}\r\n"
            "not json\n");
  auto source = MustOpen(JsonSource("in.jsonl"));
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->partitions().size(), 1u);
  EXPECT_EQ(source->partitions()[0].topic, "events");
  EXPECT_TRUE(source->IsBounded());
  EXPECT_EQ(source->InitialOffsets().value(), testing::OffsetsOf({0}));
  EXPECT_EQ(Latest(*source), 6);

  ReadResult all = ReadRange(*source, 0, 6);
  EXPECT_EQ(all.batch.ToString(), "id=1, name=a\nid=2, name=NULL\nid=4, name=d\n");
  EXPECT_EQ(Offsets(all.batch), "0,1,4");
  EXPECT_EQ(all.batch.meta().topic.GetString(2), "events");
  ASSERT_EQ(all.dead_letters.size(), 2u);
  EXPECT_EQ(all.dead_letters[0].reason, "field 'id': expected int64, got string");
  EXPECT_EQ(all.dead_letters[0].offset, 3);
  EXPECT_EQ(all.dead_letters[0].node, "events");
  EXPECT_EQ(all.dead_letters[0].topic, "events");
  EXPECT_EQ(all.dead_letters[0].value, "{\"id\": \"three\"}");
  EXPECT_EQ(all.dead_letters[1].offset, 5);
  EXPECT_EQ(all.dead_letters[1].value, "not json");

  // A middle range, and a replay of it, give exactly its lines.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ReadResult middle = ReadRange(*source, 1, 5);
    EXPECT_EQ(middle.batch.ToString(), "id=2, name=NULL\nid=4, name=d\n");
    EXPECT_EQ(Offsets(middle.batch), "1,4");
    ASSERT_EQ(middle.dead_letters.size(), 1u);
    EXPECT_EQ(middle.dead_letters[0].offset, 3);
  }
  ReadResult empty_line = ReadRange(*source, 2, 3);
  EXPECT_EQ(empty_line.batch.num_rows(), 0u);
  EXPECT_TRUE(empty_line.dead_letters.empty());
}

TEST_F(FileConnectorsTest, MissingFileFailsAtOpen) {
  auto source = MakeFileSource(JsonSource("absent.jsonl"), dir_.string());
  ASSERT_TRUE(source.ok());
  Status status = (*source)->Open();
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "file source 'events': cannot open '" +
                                  (dir_ / "absent.jsonl").string() +
                                  "': No such file or directory");
}

TEST_F(FileConnectorsTest, PicksUpLinesAppendedBetweenCalls) {
  WriteFile("grow.jsonl", "{\"id\": 1}\n{\"id\": 2}\n");
  auto source = MustOpen(JsonSource("grow.jsonl"));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Latest(*source), 2);

  // A writer caught mid-line: the partial line is not counted yet.
  WriteFile("grow.jsonl", "{\"id\": 3", /*append=*/true);
  EXPECT_EQ(Latest(*source), 2);
  WriteFile("grow.jsonl", ", \"name\": \"c\"}\n{\"id\": 4}\n", /*append=*/true);
  EXPECT_EQ(Latest(*source), 4);
  ReadResult appended = ReadRange(*source, 2, 4);
  EXPECT_EQ(appended.batch.ToString(), "id=3, name=c\nid=4, name=NULL\n");
  EXPECT_EQ(Offsets(appended.batch), "2,3");
  EXPECT_TRUE(appended.dead_letters.empty());

  // A last line without a newline counts once it stopped changing; until
  // then the source is not exhausted even though next == latest.
  WriteFile("grow.jsonl", "{\"id\": 5}", /*append=*/true);
  EXPECT_EQ(Latest(*source), 4);
  EXPECT_FALSE(source->Exhausted(testing::OffsetsOf({4}), testing::OffsetsOf({4})));
  EXPECT_EQ(Latest(*source), 5);
  EXPECT_TRUE(source->Exhausted(testing::OffsetsOf({5}), testing::OffsetsOf({5})));
  EXPECT_FALSE(source->Exhausted(testing::OffsetsOf({4}), testing::OffsetsOf({5})));
  EXPECT_EQ(ReadRange(*source, 4, 5).batch.ToString(), "id=5, name=NULL\n");
  // Text appended after it starts a new line; line 4 stays as it was read.
  WriteFile("grow.jsonl", "\n{\"id\": 6}\n", /*append=*/true);
  EXPECT_EQ(Latest(*source), 7);
  ReadResult tail = ReadRange(*source, 4, 7);
  EXPECT_EQ(tail.batch.ToString(), "id=5, name=NULL\nid=6, name=NULL\n");
  EXPECT_EQ(Offsets(tail.batch), "4,6");
  EXPECT_EQ(ReadRange(*source, 0, 2).batch.ToString(), "id=1, name=NULL\nid=2, name=NULL\n");
}

TEST_F(FileConnectorsTest, FirstScanTakesALastLineWithoutNewline) {
  WriteFile("done.jsonl", "{\"id\": 1}\n{\"id\": 2}");
  auto source = MustOpen(JsonSource("done.jsonl"));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Latest(*source), 2);
  EXPECT_TRUE(source->Exhausted(testing::OffsetsOf({2}), testing::OffsetsOf({2})));
  EXPECT_EQ(ReadRange(*source, 1, 2).batch.ToString(), "id=2, name=NULL\n");
}

TEST_F(FileConnectorsTest, ShrinkingFileIsAnError) {
  WriteFile("shrink.jsonl", "{\"id\": 1}\n{\"id\": 2}\n");
  auto source = MustOpen(JsonSource("shrink.jsonl"));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Latest(*source), 2);
  fs::resize_file(dir_ / "shrink.jsonl", 5);
  EXPECT_EQ(source->LatestOffsets().status().code(), StatusCode::kIOError);
}

TEST_F(FileConnectorsTest, CsvHeaderLineIsSkippedAndOffsetsStartAfterIt) {
  WriteFile("trades.csv", "id,name\r\n1,\"a,b\"\r\n2,\r\nx,y\r\n");
  spec::SourceSpec spec = JsonSource("trades.csv");
  spec.mutable_format()->set_type("csv");
  spec.mutable_format()->set_header(true);
  auto source = MustOpen(spec);
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Latest(*source), 3);
  ReadResult result = ReadRange(*source, 0, 3);
  EXPECT_EQ(result.batch.ToString(), "id=1, name=a,b\nid=2, name=NULL\n");
  EXPECT_EQ(Offsets(result.batch), "0,1");
  ASSERT_EQ(result.dead_letters.size(), 1u);
  EXPECT_EQ(result.dead_letters[0].offset, 2);
  EXPECT_EQ(result.dead_letters[0].reason, "field 'id': expected int64, got 'x'");
  EXPECT_EQ(ReadRange(*source, 1, 2).batch.ToString(), "id=2, name=NULL\n");
}

TEST_F(FileConnectorsTest, RejectsBadSourceSpecs) {
  spec::SourceSpec no_path = JsonSource("");
  EXPECT_EQ(MakeFileSource(no_path, dir_.string()).status().message(),
            "file source 'events': missing file.path");
  spec::SourceSpec binary = JsonSource("x.bin");
  binary.mutable_format()->set_type("protobuf");
  EXPECT_EQ(MakeFileSource(binary, dir_.string()).status().code(), StatusCode::kInvalidArgument);
  spec::SourceSpec bad_type = JsonSource("x.jsonl");
  bad_type.mutable_schema(0)->set_type("flaot");
  EXPECT_EQ(MakeFileSource(bad_type, dir_.string()).status().message(),
            "file source 'events': column 'id': unknown type 'flaot' (expected bool, int64, "
            "double, string, timestamp)");
}

Batch TwoRowBatch(const Schema& schema) {
  Batch batch(schema);
  batch.column(0).AppendInt64(1);
  batch.column(1).AppendString("x,\"y\"");
  batch.column(0).AppendInt64(2);
  batch.column(1).AppendNull();
  EXPECT_TRUE(batch.SetNumRows(2).ok());
  return batch;
}

spec::SinkSpec FileSinkSpec(const std::string& path, const std::string& format, bool header) {
  spec::SinkSpec sink;
  sink.set_name("out");
  sink.mutable_file()->set_path(path);
  sink.mutable_format()->set_type(format);
  sink.mutable_format()->set_header(header);
  return sink;
}

TEST_F(FileConnectorsTest, FileSinkAppendsOneRecordPerLineWithHeaderOnce) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"name", TypeId::kString, true}});
  const spec::SinkSpec spec = FileSinkSpec("nested/dir/out.csv", "csv", true);
  {
    auto sink = MakeFileSink(spec, schema, dir_.string());
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    ASSERT_TRUE((*sink)->Open().ok());
    DeadLetters dead_letters;
    ASSERT_TRUE((*sink)->Write(TwoRowBatch(schema), BatchId{1}, &dead_letters).ok());
    ASSERT_TRUE((*sink)->Write(Batch(schema), BatchId{2}, &dead_letters).ok());
    ASSERT_TRUE((*sink)->Flush().ok());
    EXPECT_EQ((*sink)->records_written(), 2);
    EXPECT_TRUE(dead_letters.empty());
    EXPECT_EQ(ReadFile(dir_ / "nested/dir/out.csv"), "id,name\n1,\"x,\"\"y\"\"\"\n2,\n");
  }
  // Reopening appends without a second header.
  auto again = MakeFileSink(spec, schema, dir_.string());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*again)->Open().ok());
  DeadLetters dead_letters;
  ASSERT_TRUE((*again)->Write(TwoRowBatch(schema), BatchId{3}, &dead_letters).ok());
  ASSERT_TRUE((*again)->Flush().ok());
  EXPECT_EQ(ReadFile(dir_ / "nested/dir/out.csv"),
            "id,name\n1,\"x,\"\"y\"\"\"\n2,\n1,\"x,\"\"y\"\"\"\n2,\n");
}

TEST_F(FileConnectorsTest, FileSinkOutputReadsBackThroughTheFileSource) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"name", TypeId::kString, true}});
  auto sink = MakeFileSink(FileSinkSpec("round.jsonl", "", false), schema, dir_.string());
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Open().ok());
  DeadLetters dead_letters;
  ASSERT_TRUE((*sink)->Write(TwoRowBatch(schema), BatchId{1}, &dead_letters).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ(ReadFile(dir_ / "round.jsonl"),
            "{\"id\":1,\"name\":\"x,\\\"y\\\"\"}\n{\"id\":2,\"name\":null}\n");

  auto source = MustOpen(JsonSource("round.jsonl"));
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(Latest(*source), 2);
  ReadResult result = ReadRange(*source, 0, 2);
  EXPECT_EQ(result.batch.ToString(), "id=1, name=x,\"y\"\nid=2, name=NULL\n");
}

TEST_F(FileConnectorsTest, RejectsBadSinkSpecs) {
  Schema schema({Field{"id", TypeId::kInt64, false}});
  EXPECT_EQ(MakeFileSink(FileSinkSpec("", "json", false), schema, dir_.string()).status().message(),
            "file sink 'out': missing file.path");
  EXPECT_EQ(
      MakeFileSink(FileSinkSpec("x", "protobuf", false), schema, dir_.string()).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      MakeFileSink(FileSinkSpec("x", "yaml", false), schema, dir_.string()).status().message(),
      "file sink 'out': unknown format 'yaml' (expected json, csv, protobuf, raw)");
  // A directory in the way of the file is an Open error, not a crash.
  fs::create_directories(dir_ / "taken");
  auto sink = MakeFileSink(FileSinkSpec("taken", "json", false), schema, dir_.string());
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->Open().code(), StatusCode::kIOError);
}

TEST_F(FileConnectorsTest, StdoutSinkPrintsAtMostMaxRowsPerBatch) {
  Schema schema({Field{"id", TypeId::kInt64, false}, Field{"name", TypeId::kString, true}});
  Batch batch(schema);
  for (int row = 0; row < 5; ++row) {
    batch.column(0).AppendInt64(row);
    batch.column(1).AppendString("n" + std::to_string(row));
  }
  ASSERT_TRUE(batch.SetNumRows(5).ok());

  const fs::path path = dir_ / "stdout.txt";
  std::FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  spec::SinkSpec spec;
  spec.set_name("console");
  spec.mutable_stdout()->set_max_rows(2);
  auto sink = MakeStdoutSink(spec, schema, out);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  ASSERT_TRUE((*sink)->Open().ok());
  DeadLetters dead_letters;
  ASSERT_TRUE((*sink)->Write(batch, BatchId{1}, &dead_letters).ok());
  ASSERT_TRUE(
      (*sink)->Write(batch.Gather(std::vector<uint32_t>{4}), BatchId{2}, &dead_letters).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ((*sink)->records_written(), 6);

  spec.mutable_stdout()->set_max_rows(0);
  spec.mutable_format()->set_type("csv");
  auto all = MakeStdoutSink(spec, schema, out);
  ASSERT_TRUE(all.ok());
  ASSERT_TRUE((*all)->Write(batch, BatchId{3}, &dead_letters).ok());
  ASSERT_TRUE((*all)->Flush().ok());
  std::fclose(out);
  EXPECT_EQ(ReadFile(path),
            "{\"id\":0,\"name\":\"n0\"}\n"
            "{\"id\":1,\"name\":\"n1\"}\n"
            "... 3 more\n"
            "{\"id\":4,\"name\":\"n4\"}\n"
            "0,n0\n1,n1\n2,n2\n3,n3\n4,n4\n");
}

}  // namespace
}  // namespace eddy
