#pragma once
// Bearer-token access control for the server's API.
//
// The token file holds one "TOKEN ROLE" per line; ROLE is `read` (GET
// requests only) or `admin` (everything). Blank lines and lines starting
// with '#' are ignored. Tokens are at least 16 characters. A file that
// other users can read is refused: anyone who can read it can run jobs.
//
// Thread-safety: immutable after Load; Check may be called from any thread.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"

namespace eddy::server {

enum class Role { kNone, kRead, kAdmin };

class TokenAuth {
 public:
  static Result<TokenAuth> Load(const std::string& path);
  static Result<TokenAuth> Parse(std::string_view text, const std::string& path);

  // The role of the token in an "Authorization: Bearer TOKEN" header value;
  // kNone for a missing, malformed or unknown token. Compares in time
  // independent of where a guess first differs.
  Role Check(std::string_view authorization_header) const;

  size_t size() const { return tokens_.size(); }

 private:
  std::vector<std::pair<std::string, Role>> tokens_;
};

}  // namespace eddy::server
