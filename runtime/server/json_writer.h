#pragma once
// A small streaming JSON writer for the API's responses: objects, arrays,
// strings (escaped per RFC 8259), numbers and booleans, with commas placed
// automatically. Not thread-safe; one writer per response.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/json_string.h"

namespace eddy::server {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next member's name; then exactly one value.
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // non-finite values become null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value that is already JSON text.
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }

 private:
  void BeforeValue();

  std::string out_;
  // Per open container: whether it already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// {"error": message}
std::string JsonError(std::string_view message);

}  // namespace eddy::server
