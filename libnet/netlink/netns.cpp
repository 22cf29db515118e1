#include "libnet/netlink/netns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cstdlib>

namespace zl::net {

Result<NetNs> NetNs::open(const std::string& path) {
  NetNs ns;
  ns.path_ = path;
  ns.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.fd_) return Error::from_errno(errno, "open netns " + path);
  struct statfs sfs {};
  if (::fstatfs(ns.fd_.get(), &sfs) != 0) return Error::from_errno(errno, "statfs netns " + path);
  if (static_cast<unsigned long>(sfs.f_type) != NSFS_MAGIC && static_cast<unsigned long>(sfs.f_type) != PROC_SUPER_MAGIC) {
    return Error::from_errno(EINVAL, "netns " + path + " is not a network namespace");
  }
  struct stat st {};
  if (::fstat(ns.fd_.get(), &st) != 0) return Error::from_errno(errno, "stat netns " + path);
  ns.ino_ = st.st_ino;
  return ns;
}

Result<NetNs> NetNs::current() { return open("/proc/thread-self/ns/net"); }

Status NetNs::enter() const {
  if (::setns(fd_.get(), CLONE_NEWNET) != 0) return Error::from_errno(errno, "enter netns " + path_);
  return {};
}

Result<NetNsGuard> NetNsGuard::enter(const NetNs& target) {
  NetNsGuard g;
  auto home = NetNs::current();
  if (!home) return std::move(home).error();
  g.home_ = std::move(*home);
  if (auto s = target.enter(); !s) return std::move(s).error();
  g.active_ = true;
  return g;
}

NetNsGuard::~NetNsGuard() {
  // Staying in the wrong namespace would make every later step act on the wrong host.
  if (active_ && !home_.enter()) std::abort();
}

}  // namespace zl::net
