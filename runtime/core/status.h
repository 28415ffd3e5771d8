#pragma once
// Status and Result<T>: how every function called across module boundaries
// reports failure. A Status is OK or a code plus a message; Result<T> is a
// value or a non-OK Status. Both are [[nodiscard]]: ignoring one on purpose
// takes an explicit `.IgnoreError()`, which is searchable.
//
// Thread-safety: values; safe to copy and move between threads.

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace eddy {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  // bad job file, bad expression, bad CLI flag
  kNotFound,
  kAlreadyExists,
  kIOError,      // file system or network
  kUnavailable,  // a broker or service could not be reached in time
  kCorruption,   // stored data that does not parse
  kInternal,     // a bug: an invariant did not hold
  kCancelled,    // shutdown requested
  kUnimplemented,
  kDataLoss,  // input deleted before it was read (retention)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status Unimplemented(std::string msg) {
    return {StatusCode::kUnimplemented, std::move(msg)};
  }
  static Status DataLoss(std::string msg) { return {StatusCode::kDataLoss, std::move(msg)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a Status with the same code and `context: message`.
  Status WithContext(std::string_view context) const;

  // Marks a deliberately ignored Status.
  void IgnoreError() const {}

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : rep_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : rep_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(rep_).ok() && "Result from an OK Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(rep_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(rep_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(rep_); }
  const T& value() const& { return std::get<T>(rep_); }
  T&& value() && { return std::get<T>(std::move(rep_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> rep_;
};

}  // namespace eddy

// Returns early from the enclosing function when `expr` is not OK.
#define EDDY_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::eddy::Status _eddy_status = (expr);        \
    if (!_eddy_status.ok()) return _eddy_status; \
  } while (0)

#define EDDY_CONCAT_INNER(a, b) a##b
#define EDDY_CONCAT(a, b) EDDY_CONCAT_INNER(a, b)
// Declares `lhs` from a Result, or returns its Status from the enclosing function.
#define EDDY_ASSIGN_OR_RETURN(lhs, expr)                  \
  auto EDDY_CONCAT(_eddy_result_, __LINE__) = (expr);     \
  if (!EDDY_CONCAT(_eddy_result_, __LINE__).ok())         \
    return EDDY_CONCAT(_eddy_result_, __LINE__).status(); \
  lhs = std::move(EDDY_CONCAT(_eddy_result_, __LINE__)).value()
