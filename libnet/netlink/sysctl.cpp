#include "libnet/netlink/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include "libnet/core/fd.h"

namespace zl::net {

static std::string path_of(std::string_view key) { return "/proc/sys/" + std::string(key); }

Result<std::string> sysctl_read(std::string_view key) {
  std::string p = path_of(key);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "read sysctl " + std::string(key));
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n < 0) return Error::from_errno(errno, "read sysctl " + std::string(key));
  std::string v(buf, static_cast<size_t>(n));
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

Status sysctl_ensure(std::string_view key, std::string_view value) {
  auto cur = sysctl_read(key);
  if (cur && *cur == value) return {};
  std::string p = path_of(key);
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno(errno, "write sysctl " + std::string(key));
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return Error::from_errno(errno, "write sysctl " + std::string(key) + "=" + std::string(value));
  }
  return {};
}

}  // namespace zl::net
