#include "libcni/errors.h"
#include "plugins/zl-bridge/bridge.h"

namespace zl::bridge {

Result<Pod> open_pod(const cni::Context& ctx) {
  const std::string& path = ctx.env.netns;
  auto ns = net::NetNs::open(path);
  if (!ns) {
    if (ns.error().sys == ENOENT) return cni::fail(cni::kErrUnknownContainer, "netns " + path + " does not exist");
    return cni::fail(cni::kErrInvalidEnv, "CNI_NETNS: " + ns.error().msg);
  }
  Result<net::NlSock> sock = Error{};
  {
    auto in = net::NetNsGuard::enter(*ns);
    if (!in) return std::move(in).error();
    sock = net::NlSock::open();
  }
  if (!sock) return std::move(sock).error();
  return Pod{std::move(*ns), std::move(*sock)};
}

}  // namespace zl::bridge
