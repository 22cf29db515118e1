#include "libnet/netlink/netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/ioctl.h>

#include <cstdlib>

namespace zl::net {

Result<NetNs> NetNs::open(const std::string& path) {
  NetNs ns;
  ns.path_ = path;
  // O_NONBLOCK: a FIFO at the path must be refused, not waited on.
  ns.fd_.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!ns.fd_) return Error::from_errno(errno, "open netns " + path);
  // Only an nsfs file answers NS_GET_NSTYPE, and only a network namespace says CLONE_NEWNET:
  // a regular file, /dev/null or a mount namespace is refused here, not at setns().
  int type = ::ioctl(ns.fd_.get(), NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    return Error::from_errno(EINVAL, "netns " + path + (type < 0 ? " is not a namespace" : " is another kind of namespace"));
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
