#include "runtime/server/auth.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace eddy::server {
namespace {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t idx = 0; idx < a.size(); ++idx) {
    diff |= static_cast<unsigned char>(a[idx] ^ b[idx]);
  }
  return diff == 0;
}

constexpr size_t kMinTokenLength = 16;

}  // namespace

Result<TokenAuth> TokenAuth::Load(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Status::NotFound("token file " + path + ": " + std::strerror(errno));
  }
  if ((info.st_mode & S_IRWXO) != 0) {
    return Status::InvalidArgument("token file " + path +
                                   " is accessible to other users; run chmod 600 " + path);
  }
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read token file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

Result<TokenAuth> TokenAuth::Parse(std::string_view text, const std::string& path) {
  TokenAuth auth;
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream words(line);
    std::string token, role, extra;
    if (!(words >> token) || token[0] == '#') continue;
    const std::string where = path + ":" + std::to_string(number);
    if (!(words >> role) || (words >> extra)) {
      return Status::InvalidArgument(where + ": expected 'TOKEN ROLE' (role: read or admin)");
    }
    if (token.size() < kMinTokenLength) {
      return Status::InvalidArgument(where + ": token is shorter than " +
                                     std::to_string(kMinTokenLength) +
                                     " characters (make one with: openssl rand -hex 32)");
    }
    Role parsed = Role::kNone;
    if (role == "admin") {
      parsed = Role::kAdmin;
    } else if (role == "read" || role == "read-only") {
      parsed = Role::kRead;
    } else {
      return Status::InvalidArgument(where + ": unknown role '" + role +
                                     "' (expected read or admin)");
    }
    auth.tokens_.emplace_back(token, parsed);
  }
  if (auth.tokens_.empty()) {
    return Status::InvalidArgument("token file " + path +
                                   " holds no tokens (lines of 'TOKEN ROLE')");
  }
  return auth;
}

Role TokenAuth::Check(std::string_view header) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer)
    return Role::kNone;
  const std::string_view token = header.substr(kBearer.size());
  Role found = Role::kNone;
  // Every entry is compared, so the time taken does not say which matched.
  for (const auto& [known, role] : tokens_) {
    if (ConstantTimeEquals(known, token)) found = role;
  }
  return found;
}

}  // namespace eddy::server
