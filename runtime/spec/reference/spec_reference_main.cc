// eddy-spec-reference: prints the job file's reference (the tables of
// docs/job-file.md) generated from runtime/spec/job_spec.proto, or rewrites
// the generated block of a document in place.
//
//   eddy-spec-reference [--source-root DIR] [--write DOC]
//
// `cmake --build build --target job-file-reference` runs it with
// --write docs/job-file.md.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "runtime/spec/reference/spec_reference.h"

namespace {

int Usage() {
  std::cerr << "usage: eddy-spec-reference [--source-root DIR] [--write DOC]\n"
               "  prints the job-file reference generated from "
            << eddy::kJobSpecProto
            << ",\n  or with --write replaces the generated block of DOC in place\n";
  return 2;
}

int Fail(const std::string& message) {
  std::cerr << "eddy-spec-reference: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source_root = ".";
  std::string write_path;
  for (int idx = 1; idx < argc; ++idx) {
    const std::string arg = argv[idx];
    if (arg == "--source-root" && idx + 1 < argc) {
      source_root = argv[++idx];
    } else if (arg == "--write" && idx + 1 < argc) {
      write_path = argv[++idx];
    } else {
      return Usage();
    }
  }
  eddy::Result<eddy::SpecReference> reference = eddy::SpecReference::Load(source_root);
  if (!reference.ok()) return Fail(reference.status().message());
  // Undocumented fields still get a row (with an empty description), so a
  // regeneration never hides a key; the unit test fails on them.
  for (const std::string& missing : reference->Undocumented()) {
    std::cerr << "warning: " << missing << "\n";
  }
  const std::string markdown = reference->Markdown();
  if (write_path.empty()) {
    std::cout << markdown;
    return 0;
  }

  std::ifstream in(write_path, std::ios::binary);
  if (!in) return Fail("cannot read " + write_path);
  std::stringstream text;
  text << in.rdbuf();
  in.close();
  eddy::Result<std::string> rewritten = eddy::ReplaceGeneratedBlock(text.str(), markdown);
  if (!rewritten.ok()) return Fail(write_path + ": " + rewritten.status().message());
  if (*rewritten == text.str()) return 0;
  // Written beside the document and renamed over it, so an interrupted run
  // never leaves half a document.
  const std::string temporary = write_path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << *rewritten;
    if (!out.flush()) return Fail("cannot write " + temporary);
  }
  std::error_code error;
  std::filesystem::rename(temporary, write_path, error);
  if (error) return Fail("cannot replace " + write_path + ": " + error.message());
  std::cerr << "rewrote the generated reference in " << write_path << "\n";
  return 0;
}
