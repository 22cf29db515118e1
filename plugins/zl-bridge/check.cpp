// CHECK: the kernel against prevResult; the message says what differs.
#include <algorithm>

#include "libcni/errors.h"
#include "libcni/exec.h"
#include "libnet/netlink/netns.h"
#include "plugins/zl-bridge/bridge.h"

namespace zl::bridge {

using cni::fail;
using cni::kErrCheckMismatch;

Status cmd_check(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  if (!ctx.conf.prev_result) return fail(cni::kErrInvalidConfig, "CHECK: prevResult is missing");
  const cni::CniResult& prev = *ctx.conf.prev_result;
  const std::string& ifname = ctx.env.ifname;

  // The container interface prevResult describes, and the addresses it assigns to it.
  int ci = -1;
  for (size_t i = 0; i < prev.interfaces.size(); ++i)
    if (prev.interfaces[i].name == ifname && !prev.interfaces[i].sandbox.empty()) ci = static_cast<int>(i);
  if (ci < 0) return fail(kErrCheckMismatch, "prevResult has no interface " + ifname + " with a sandbox");

  auto host = net::NlSock::open();
  if (!host) return std::move(host).error();
  auto br = net::link_by_name(*host, c.bridge);
  if (!br) return std::move(br).error();
  if (!*br) return fail(kErrCheckMismatch, "bridge " + c.bridge + " does not exist");
  const std::string host_name = host_veth_name(ctx.env.container_id, ifname);
  auto hv = net::link_by_name(*host, host_name);
  if (!hv) return std::move(hv).error();
  if (!*hv) return fail(kErrCheckMismatch, "host veth " + host_name + " does not exist");
  if ((*hv)->master != (*br)->index) return fail(kErrCheckMismatch, "host veth " + host_name + " is not a port of " + c.bridge);
  if (!(*hv)->up()) return fail(kErrCheckMismatch, "host veth " + host_name + " is down");

  auto pod = open_pod(ctx);
  if (!pod) return std::move(pod).error();
  net::NlSock* pod_sock = &pod->sock;
  auto cv = net::link_by_name(*pod_sock, ifname);
  if (!cv) return std::move(cv).error();
  if (!*cv) return fail(kErrCheckMismatch, "interface " + ifname + " does not exist in " + ctx.env.netns);
  const auto& want = prev.interfaces[static_cast<size_t>(ci)];
  if (!want.mac.empty() && net::mac_str((*cv)->mac) != want.mac) {
    return fail(kErrCheckMismatch, ifname + " has MAC " + net::mac_str((*cv)->mac) + ", prevResult says " + want.mac);
  }
  if (!(*cv)->up()) return fail(kErrCheckMismatch, ifname + " is down");

  auto addrs = net::addr_list(*pod_sock, 0, (*cv)->index);
  if (!addrs) return std::move(addrs).error();
  for (const auto& ip : prev.ips) {
    if (ip.interface && *ip.interface != ci) continue;
    bool found = std::any_of(addrs->begin(), addrs->end(), [&](const net::AddrInfo& a) { return a.addr == ip.address; });
    if (!found) return fail(kErrCheckMismatch, ifname + " lacks address " + ip.address.str());
  }
  for (int family : {AF_INET, AF_INET6}) {
    auto routes = net::route_list(*pod_sock, family);
    if (!routes) return std::move(routes).error();
    for (const auto& r : prev.routes) {
      if (r.dst.addr.family != family) continue;
      bool found = std::any_of(routes->begin(), routes->end(), [&](const net::RouteInfo& k) {
        return k.dst == r.dst.masked() && (!r.gw || k.gw == r.gw);
      });
      if (!found) {
        return fail(kErrCheckMismatch, "route " + r.dst.str() + (r.gw ? " via " + r.gw->str() : "") + " missing in " +
                                           ctx.env.netns);
      }
    }
  }
  return cni::ipam_run(ctx, "CHECK");
}

}  // namespace zl::bridge
