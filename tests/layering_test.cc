// The build's layering, checked: every source file under runtime/, state/,
// connectors/ and operators/ may include only headers of its own library,
// of the libraries its library links (directly, or through their public
// dependencies) and of the packages those link. The libraries and their
// links come from layering.txt, which the eddy_library() calls of the
// CMake files write (CMakeLists.txt), so the rule cannot drift from the
// build.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Library {
  std::string name;
  std::string folder;
  std::vector<std::string> public_deps;
  std::vector<std::string> private_deps;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::map<std::string, Library> ReadManifest(const std::string& path) {
  std::map<std::string, Library> libraries;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    Library library;
    std::string public_field, private_field;
    if (!(fields >> library.name >> library.folder >> public_field >> private_field)) continue;
    library.public_deps = SplitCommas(public_field.substr(public_field.find('=') + 1));
    library.private_deps = SplitCommas(private_field.substr(private_field.find('=') + 1));
    libraries[library.name] = library;
  }
  return libraries;
}

// What an `#include <...>` of a package needs linked: the include prefix and
// the CMake targets that provide it. Headers not listed (the standard
// library, POSIX) need nothing.
struct PackageHeaders {
  std::string prefix;
  std::vector<std::string> targets;
};

const std::vector<PackageHeaders>& Packages() {
  static const std::vector<PackageHeaders> packages = {
      {"rocksdb/", {"RocksDB::rocksdb"}},
      {"librdkafka/", {"PkgConfig::RDKAFKA"}},
      {"yaml-cpp/", {"yaml-cpp"}},
      {"google/protobuf/compiler/", {"protobuf::libprotoc"}},
      {"google/protobuf/", {"protobuf::libprotobuf"}},
      {"Eigen/", {"Eigen3::Eigen"}},
      {"prometheus/", {"prometheus-cpp::core", "prometheus-cpp::pull"}},
      {"simdjson.h", {"simdjson::simdjson"}},
      {"re2/", {"PkgConfig::RE2"}},
      {"spdlog/", {"spdlog::spdlog"}},
      {"fmt/", {"fmt::fmt", "spdlog::spdlog"}},
      {"httplib.h", {"PkgConfig::EDDY_HTTPLIB"}},
      {"CLI/", {"CLI11::CLI11"}},
      {"pg_query.h", {"pg_query::pg_query"}},
      {"histedit.h", {"PkgConfig::LIBEDIT"}},
      {"opencv2/", {"Eddy::OpenCV"}},
      {"zlib.h", {"ZLIB::ZLIB"}},
  };
  return packages;
}

class Layering : public ::testing::Test {
 protected:
  void SetUp() override {
    libraries_ = ReadManifest(EDDY_LAYERING_MANIFEST);
    ASSERT_FALSE(libraries_.empty()) << "no libraries in " << EDDY_LAYERING_MANIFEST;
    for (const auto& [name, library] : libraries_) folder_owner_[library.folder] = name;
  }

  // `name` itself, everything it links (only what it links publicly when
  // `public_only`), and what those expose publicly.
  std::set<std::string> Reachable(const std::string& name, bool public_only = false) const {
    std::set<std::string> reachable = {name};
    auto library = libraries_.find(name);
    if (library == libraries_.end()) return reachable;
    std::vector<std::string> pending = library->second.public_deps;
    if (!public_only) {
      pending.insert(pending.end(), library->second.private_deps.begin(),
                     library->second.private_deps.end());
    }
    while (!pending.empty()) {
      std::string next = pending.back();
      pending.pop_back();
      if (!reachable.insert(next).second) continue;
      auto dep = libraries_.find(next);
      if (dep == libraries_.end()) continue;  // a package target
      pending.insert(pending.end(), dep->second.public_deps.begin(), dep->second.public_deps.end());
    }
    return reachable;
  }

  // The library whose folder holds the file at root-relative `path`, or "".
  std::string OwnerOf(const std::string& path) const {
    auto owner = folder_owner_.find(fs::path(path).parent_path().string());
    return owner == folder_owner_.end() ? "" : owner->second;
  }

  // Every include of `file` (root-relative) that its library may not make.
  std::vector<std::string> WrongIncludes(const std::string& file, const std::string& text) const {
    static const std::regex include_line(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
    static const std::regex import_line(R"(^\s*import\s+"([^"]+)\";)");
    const std::string owner = OwnerOf(file);
    // A header is included by the library's users, so it may reach only what
    // the library links publicly; a .cc file may use its private links too.
    const bool header = fs::path(file).extension() == ".h";
    const std::set<std::string> allowed = Reachable(owner, header);
    std::vector<std::string> wrong;
    std::istringstream lines(text);
    std::string line;
    int line_number = 0;
    while (std::getline(lines, line)) {
      ++line_number;
      std::smatch match;
      std::string included;
      bool quoted = true;
      if (std::regex_search(line, match, include_line)) {
        quoted = match[1] == "\"";
        included = match[2];
      } else if (std::regex_search(line, match, import_line)) {
        included = match[1];
      } else {
        continue;
      }
      const std::string where = file + ":" + std::to_string(line_number) + ": ";
      if (quoted) {
        const std::string included_owner = OwnerOf(included);
        if (included_owner.empty()) {
          wrong.push_back(where + included + " belongs to no library");
        } else if (!allowed.count(included_owner)) {
          wrong.push_back(where + owner + (header ? "'s header" : "") + " may not include " +
                          included + " (of " + included_owner + ")");
        }
        continue;
      }
      for (const PackageHeaders& package : Packages()) {
        if (included.rfind(package.prefix, 0) != 0) continue;
        bool linked =
            std::any_of(package.targets.begin(), package.targets.end(),
                        [&](const std::string& target) { return allowed.count(target) > 0; });
        if (!linked) {
          wrong.push_back(where + owner + (header ? " does not link publicly" : " does not link") +
                          " the package of <" + included + ">");
        }
        break;
      }
    }
    return wrong;
  }

  std::map<std::string, Library> libraries_;
  std::map<std::string, std::string> folder_owner_;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool IsSource(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".h" || ext == ".cc" || ext == ".proto";
}

TEST_F(Layering, EveryIncludeIsOfALibraryThatTheFilesLibraryLinks) {
  std::vector<std::string> wrong;
  int files = 0;
  for (const char* top : {"runtime", "state", "connectors", "operators"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(EDDY_SOURCE_DIR) / top)) {
      if (!entry.is_regular_file() || !IsSource(entry.path())) continue;
      const std::string file = fs::relative(entry.path(), EDDY_SOURCE_DIR).string();
      ++files;
      if (OwnerOf(file).empty()) {
        wrong.push_back(
            file + ": its folder builds no library (add an eddy_library to its CMakeLists.txt)");
        continue;
      }
      for (std::string& problem : WrongIncludes(file, ReadFile(entry.path()))) {
        wrong.push_back(std::move(problem));
      }
    }
  }
  EXPECT_GT(files, 100);
  std::string report;
  for (const std::string& problem : wrong) report += problem + "\n";
  EXPECT_TRUE(wrong.empty()) << report;
}

TEST_F(Layering, TheCheckRefusesAnIncludeAgainstTheLayers) {
  // The core may not reach up into the engine, nor link RocksDB.
  auto wrong = WrongIncludes("runtime/core/batch.cc",
                             "#include \"runtime/engine/executor.h\"\n#include <rocksdb/db.h>\n");
  ASSERT_EQ(wrong.size(), 2u);
  EXPECT_NE(wrong[0].find("may not include runtime/engine/executor.h"), std::string::npos)
      << wrong[0];
  EXPECT_NE(wrong[1].find("does not link the package of <rocksdb/db.h>"), std::string::npos)
      << wrong[1];
  EXPECT_TRUE(
      WrongIncludes("runtime/engine/executor.cc", "#include \"runtime/core/batch.h\"\n").empty());
  // A private link serves the .cc files, not the headers the library's
  // users include.
  EXPECT_TRUE(WrongIncludes("runtime/expr/parser.cc", "#include <re2/re2.h>\n").empty());
  auto in_header = WrongIncludes("runtime/expr/node.h", "#include <re2/re2.h>\n");
  ASSERT_EQ(in_header.size(), 1u);
  EXPECT_NE(in_header[0].find("does not link publicly the package of <re2/re2.h>"),
            std::string::npos)
      << in_header[0];
}

TEST_F(Layering, TheCoreLinksNoPackageButThreads) {
  ASSERT_TRUE(libraries_.count("eddy_core"));
  for (const std::string& dep : Reachable("eddy_core")) {
    EXPECT_TRUE(dep == "eddy_core" || dep == "Threads::Threads") << "eddy_core links " << dep;
  }
}

TEST_F(Layering, TheLibrariesFormNoCycle) {
  // Depth-first search over Eddy's own libraries; a grey node met again is
  // a cycle.
  std::map<std::string, int> colour;  // 0 white, 1 grey, 2 black
  std::vector<std::string> cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& name) {
    colour[name] = 1;
    const Library& library = libraries_.at(name);
    std::vector<std::string> deps = library.public_deps;
    deps.insert(deps.end(), library.private_deps.begin(), library.private_deps.end());
    for (const std::string& dep : deps) {
      if (!libraries_.count(dep)) continue;
      if (colour[dep] == 1 || (colour[dep] == 0 && visit(dep))) {
        cycle.push_back(name);
        return true;
      }
    }
    colour[name] = 2;
    return false;
  };
  for (const auto& [name, library] : libraries_) {
    if (colour[name] == 0 && visit(name)) break;
  }
  std::string path;
  for (const std::string& name : cycle) path += name + " ";
  EXPECT_TRUE(cycle.empty()) << "cycle through " << path;
}

}  // namespace
