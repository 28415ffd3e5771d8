#include "runtime/core/value_text.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace eddy {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;

// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

}  // namespace

std::string_view FormatDoubleTo(double value, char* buf) {
  // Without a precision, to_chars gives the shortest round-trip form and
  // picks fixed notation unless scientific is shorter.
  const auto result = std::to_chars(buf, buf + kValueTextBuffer, value);
  return std::string_view(buf, static_cast<size_t>(result.ptr - buf));
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t quotient = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --quotient;
  return quotient;
}

CivilTime ToCivil(TimestampMicros micros) {
  const int64_t seconds = FloorDiv(micros, kMicrosPerSecond);
  const int64_t days = FloorDiv(seconds, kSecondsPerDay);
  const int64_t second_of_day = seconds - days * kSecondsPerDay;
  CivilTime civil{};
  CivilFromDays(days, &civil.year, &civil.month, &civil.day);
  civil.hour = static_cast<int>(second_of_day / 3600);
  civil.minute = static_cast<int>(second_of_day / 60 % 60);
  civil.second = static_cast<int>(second_of_day % 60);
  return civil;
}

int64_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string_view FormatTimestampTo(TimestampMicros micros, char* buf) {
  const CivilTime civil = ToCivil(micros);
  const int64_t fraction = micros - FloorDiv(micros, kMicrosPerSecond) * kMicrosPerSecond;
  if (civil.year < 0 || civil.year > 9999) {
    const int len =
        std::snprintf(buf, kValueTextBuffer, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                      static_cast<long long>(civil.year), civil.month, civil.day, civil.hour,
                      civil.minute, civil.second, static_cast<long long>(fraction));
    return std::string_view(buf, static_cast<size_t>(std::min<int>(len, kValueTextBuffer - 1)));
  }
  // Digit by digit: this runs for every timestamp a sink encodes.
  auto put = [buf](size_t pos, int64_t value, int digits) {
    for (int digit = digits - 1; digit >= 0; --digit) {
      buf[pos + digit] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, civil.year, 4);
  buf[4] = '-';
  put(5, civil.month, 2);
  buf[7] = '-';
  put(8, civil.day, 2);
  buf[10] = 'T';
  put(11, civil.hour, 2);
  buf[13] = ':';
  put(14, civil.minute, 2);
  buf[16] = ':';
  put(17, civil.second, 2);
  buf[19] = '.';
  put(20, fraction, 6);
  buf[26] = 'Z';
  return std::string_view(buf, 27);
}

}  // namespace eddy
