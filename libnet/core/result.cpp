#include "libnet/core/result.h"

#include <cstring>

namespace zl {

Error Error::from_errno(int e, std::string_view what) {
  std::string m(what);
  m += ": ";
  m += std::strerror(e);
  return Error{e, 0, std::move(m)};
}

Error Error::wrap(std::string_view ctx) const& {
  Error out = *this;
  return std::move(out).wrap(ctx);
}

Error Error::wrap(std::string_view ctx) && {
  std::string m(ctx);
  m += ": ";
  m += msg;
  msg = std::move(m);
  return std::move(*this);
}

}  // namespace zl
