#include "libcni/errors.h"
#include "plugins/zl-bridge/bridge.h"

namespace zl::bridge {

using net::NlSock;

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

Result<Snapshot> take_snapshot(NlSock& host, Pod& pod, const Config& c, const Desired& want) {
  Snapshot snap;
  auto br = net::link_by_name(host, c.bridge);
  if (!br) return std::move(br).error();
  snap.bridge = std::move(*br);
  if (snap.bridge && snap.bridge->kind == "bridge") {
    auto addrs = net::addr_list(host, 0, snap.bridge->index);
    if (!addrs) return std::move(addrs).error();
    snap.bridge_addrs = std::move(*addrs);
  }
  auto hv = net::link_by_name(host, want.host_veth);
  if (!hv) return std::move(hv).error();
  snap.host_veth = std::move(*hv);
  auto pl = net::link_by_name(pod.sock, want.ifname);
  if (!pl) return std::move(pl).error();
  snap.pod_link = std::move(*pl);
  if (!snap.pod_link) return snap;
  auto lo = net::link_by_index(pod.sock, 1);
  if (!lo) return std::move(lo).error();
  snap.pod_lo_up = *lo && (*lo)->up();
  auto addrs = net::addr_list(pod.sock, 0, snap.pod_link->index);
  if (!addrs) return std::move(addrs).error();
  snap.pod_addrs = std::move(*addrs);
  for (int family : {AF_INET, AF_INET6}) {
    auto routes = net::route_list(pod.sock, family);
    if (!routes) return std::move(routes).error();
    snap.pod_routes.insert(snap.pod_routes.end(), routes->begin(), routes->end());
  }
  return snap;
}

}  // namespace zl::bridge
