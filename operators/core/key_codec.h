#pragma once
// Grouping keys as bytes: the key columns of one row encoded so that equal
// keys give equal bytes (the RocksDB key and the key-group hash input) and
// the bytes decode back into the columns for output.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/batch.h"
#include "runtime/core/status.h"

namespace eddy {

// Appends the encoding of row `row` of `columns` to `out`.
void EncodeKey(const std::vector<Column>& columns, size_t row, std::string* out);
// Decodes one key from the front of `bytes` (advancing it), appending one
// value to each column (whose types must match the encoding).
Status DecodeKey(std::string_view* bytes, std::vector<Column>* columns);

// Big-endian int64 with the sign bit flipped, so bytes sort as numbers.
void AppendOrderedInt64(int64_t value, std::string* out);
int64_t ReadOrderedInt64(std::string_view bytes);

}  // namespace eddy
