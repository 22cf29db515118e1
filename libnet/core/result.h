// Errors as values: Result<T> holds a T or an Error {errno, code, message}.
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace zl {

struct Error {
  int sys = 0;      // errno captured at the failing call, 0 if none
  int code = 0;     // caller-defined category (the CNI layer maps it), 0 if none
  std::string msg;  // "what failed: why", outermost context first

  // An errno failure: "<what>: <strerror>".
  static Error from_errno(int e, std::string_view what);
  // A failure of the given category with a ready message.
  static Error make(int code, std::string msg) { return Error{0, code, std::move(msg)}; }
  // Prefix context: "<ctx>: <msg>".
  Error wrap(std::string_view ctx) const&;
  Error wrap(std::string_view ctx) &&;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT: implicit by design
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT
  explicit operator bool() const { return ok_; }
  bool ok() const { return ok_; }
  const Error& error() const& { return err_; }
  Error&& error() && { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace zl
