#pragma once
// Text forms of values and civil-time arithmetic, shared by
// Column::ValueToString, the expression language's casts and the record
// formats, so a double or a timestamp reads the same everywhere.
//
// The To-functions write into a caller's buffer of at least kValueTextBuffer
// bytes and return a view of it: no allocation on per-row paths.

#include <cstdint>
#include <string_view>

#include "runtime/core/types.h"

namespace eddy {

inline constexpr size_t kValueTextBuffer = 48;

// Shortest text that reads back as the same double ("0.1", "1000", "1e+21",
// "nan", "inf", "-inf").
std::string_view FormatDoubleTo(double value, char* buf);
// ISO 8601 UTC with microseconds: "2026-01-02T03:04:05.000006Z".
std::string_view FormatTimestampTo(TimestampMicros micros, char* buf);

// Floor division (rounds toward negative infinity), for times before 1970.
int64_t FloorDiv(int64_t a, int64_t b);

struct CivilTime {
  int64_t year;
  int month, day, hour, minute, second;
};
CivilTime ToCivil(TimestampMicros micros);
// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace eddy
