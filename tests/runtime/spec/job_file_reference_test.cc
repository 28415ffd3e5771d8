// docs/job-file.md's reference tables are generated from the comments of
// runtime/spec/job_spec.proto (runtime/spec/reference/spec_reference.h).
// These tests keep both honest: every field of the job spec has a comment,
// and the document shows what the generator makes of them now.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/spec/reference/spec_reference.h"

namespace eddy {
namespace {

namespace fs = std::filesystem;

// Tests run in the source root (eddy_test's WORKING_DIRECTORY).
std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first line where `a` and `b` differ, numbered from `first_line`,
// with both versions.
std::string FirstDifference(const std::string& a, const std::string& b, int first_line) {
  std::istringstream left(a), right(b);
  std::string left_line, right_line;
  for (int line = first_line;; ++line) {
    const bool more_left = static_cast<bool>(std::getline(left, left_line));
    const bool more_right = static_cast<bool>(std::getline(right, right_line));
    if (!more_left && !more_right) return "(no difference)";
    if (!more_left || !more_right || left_line != right_line) {
      return "line " + std::to_string(line) +
             ":\n  document:  " + (more_left ? left_line : "(end)") +
             "\n  generated: " + (more_right ? right_line : "(end)");
    }
  }
}

TEST(JobFileReferenceTest, EveryFieldOfTheJobSpecHasAComment) {
  Result<SpecReference> reference = SpecReference::Load(".");
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  std::string report;
  for (const std::string& missing : reference->Undocumented()) report += missing + "\n";
  EXPECT_TRUE(report.empty()) << report
                              << "Every key of the job file needs a comment in the .proto: it "
                                 "is the key's documentation (docs/job-file.md).";
}

// The check above can fail: the same proto with one comment taken out.
TEST(JobFileReferenceTest, AFieldWithoutACommentIsNamed) {
  const std::string proto = ReadFile(std::string(kJobSpecProto));
  const size_t field = proto.find("\n  int32 key_groups = ");
  ASSERT_NE(field, std::string::npos) << "StateSpec.key_groups not found in " << kJobSpecProto;
  // Walk back over the comment lines just above the field.
  size_t comment = field;
  while (comment > 0) {
    const size_t line_start = proto.rfind('\n', comment - 1);
    if (line_start == std::string::npos || proto.compare(line_start, 5, "\n  //") != 0) break;
    comment = line_start;
  }
  ASSERT_LT(comment, field) << "StateSpec.key_groups has no comment to remove";
  const fs::path root = fs::temp_directory_path() / "eddy_job_file_reference_test";
  fs::create_directories(root / fs::path(std::string(kJobSpecProto)).parent_path());
  {
    std::ofstream out(root / std::string(kJobSpecProto), std::ios::binary | std::ios::trunc);
    out << proto.substr(0, comment) << proto.substr(field);
  }
  Result<SpecReference> reference = SpecReference::Load(root.string());
  fs::remove_all(root);
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  const std::vector<std::string> missing = reference->Undocumented();
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0],
            "eddy.spec.StateSpec.key_groups has no comment in " + std::string(kJobSpecProto));
}

TEST(JobFileReferenceTest, TheDocumentShowsTheGeneratedReference) {
  Result<SpecReference> reference = SpecReference::Load(".");
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  const std::string document = ReadFile("docs/job-file.md");
  Result<std::string> block = GeneratedBlockOf(document);
  ASSERT_TRUE(block.ok()) << "docs/job-file.md: " << block.status().message();
  const std::string generated = reference->Markdown();
  const auto block_line =
      1 + std::count(document.begin(), document.begin() + document.find(*block), '\n');
  EXPECT_TRUE(*block == generated)
      << "docs/job-file.md's reference differs from " << kJobSpecProto << " at "
      << FirstDifference(*block, generated, static_cast<int>(block_line))
      << "\nRegenerate it with: " << kRegenerateJobFileReference;
}

TEST(JobFileReferenceTest, ReplacingTheBlockKeepsTheProseAroundIt) {
  const std::string document = "# Title\n\nprose\n" + std::string(kReferenceBeginMarker) +
                               " (from x) -->\nold table\n" + std::string(kReferenceEndMarker) +
                               "\n\nmore prose\n";
  Result<std::string> replaced = ReplaceGeneratedBlock(document, "\nnew table\n\n");
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(*replaced, "# Title\n\nprose\n" + std::string(kReferenceBeginMarker) +
                           " (from x) -->\n\nnew table\n\n" + std::string(kReferenceEndMarker) +
                           "\n\nmore prose\n");
  Result<std::string> block = GeneratedBlockOf(*replaced);
  ASSERT_TRUE(block.ok()) << block.status().ToString();
  EXPECT_EQ(*block, "\nnew table\n\n");
  EXPECT_FALSE(GeneratedBlockOf("no markers here\n").ok());
  EXPECT_FALSE(GeneratedBlockOf(std::string(kReferenceBeginMarker) + " -->\nno end\n").ok());
}

// What a YAML user reads: types as YAML has them, links to nested sections,
// one-of members in a table of their own, defaults in their own column.
TEST(JobFileReferenceTest, TablesShowKeysAsTheJobFileWritesThem) {
  Result<SpecReference> reference = SpecReference::Load(".");
  ASSERT_TRUE(reference.ok()) << reference.status().ToString();
  const std::string markdown = reference->Markdown();
  for (const char* expected : {
           "### Top level\n",
           "| `sources` | list of [Source](#source) |",
           "One of these keys. What the source reads.",
           "| `kafka` | [Kafka source](#kafka-source) | — | Read Kafka topics. |",
           "| `properties` | map string → string |",
           "| `key_groups` | int | 128 |",
           "| `rate` | number |",
           "| `seed` | int ≥ 0 |",
           "`FormatSpec` at `sources[].format`, `sinks[].format`. Shorthand: `format: VALUE` is "
           "`format: {type: VALUE}`.",
           "It has no keys: write `union:`",
       }) {
    EXPECT_NE(markdown.find(expected), std::string::npos) << "missing: " << expected;
  }
}

}  // namespace
}  // namespace eddy
