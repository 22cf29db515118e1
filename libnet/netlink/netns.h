// Network namespaces: an owned fd, entering and returning.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "libnet/core/fd.h"
#include "libnet/core/result.h"

namespace zl::net {

class NetNs {
 public:
  // Opens a netns by path (/var/run/netns/x, /proc/<pid>/ns/net); ENOENT when gone,
  // EINVAL when the path is not a network namespace.
  static Result<NetNs> open(const std::string& path);
  // The calling thread's current netns.
  static Result<NetNs> current();
  int fd() const { return fd_.get(); }
  ino_t inode() const { return ino_; }
  // setns(2) into this namespace.
  Status enter() const;

 private:
  UniqueFd fd_;
  ino_t ino_ = 0;
  std::string path_;
};

// Enters `target` for the owner's lifetime and returns to where it came from.
class NetNsGuard {
 public:
  static Result<NetNsGuard> enter(const NetNs& target);
  NetNsGuard(NetNsGuard&& o) noexcept : home_(std::move(o.home_)), active_(std::exchange(o.active_, false)) {}
  NetNsGuard& operator=(NetNsGuard&&) = delete;
  ~NetNsGuard();

 private:
  NetNsGuard() = default;
  NetNs home_;
  bool active_ = false;
};

}  // namespace zl::net
