// The CNI face of zl-wg: the mesh is per node, so pods only trigger a reconcile.
#include "libcni/errors.h"
#include "libnet/core/log.h"
#include "plugins/zl-wg/mesh.h"
#include "plugins/zl-wg/wg.h"

namespace zl::wg {

// The pod gateways of prevResult: the node's own addresses in its pod subnets.
static std::vector<net::IpAddr> gateways(const cni::NetConf& conf) {
  std::vector<net::IpAddr> out;
  if (!conf.prev_result) return out;
  for (const auto& ip : conf.prev_result->ips)
    if (ip.gateway) out.push_back(*ip.gateway);
  return out;
}

Result<cni::CniResult> cmd_add(const cni::Context& ctx) {
  auto c = parse_config(ctx.conf);
  if (!c) return std::move(c).error();
  auto rep = reconcile(*c, gateways(ctx.conf), Mode::kApply);
  if (!rep) return std::move(rep).error().wrap("zl-wg " + c->ifname);
  if (rep->set_messages || rep->routes_added || rep->routes_removed) {
    net::log(c->ifname + " (" + rep->backend + "): peers +" + std::to_string(rep->peers_added) + " ~" +
             std::to_string(rep->peers_updated) + " -" + std::to_string(rep->peers_removed) + ", routes +" +
             std::to_string(rep->routes_added) + " -" + std::to_string(rep->routes_removed));
  }
  // Chained: the pod's result is zl-bridge's, passed on unchanged.
  return ctx.conf.prev_result.value_or(cni::CniResult{});
}

Status cmd_del(const cni::Context&) { return {}; }  // nothing per pod
Status cmd_gc(const cni::Context&) { return {}; }   // nothing per pod to leak

Status cmd_check(const cni::Context& ctx) {
  auto c = parse_config(ctx.conf);
  if (!c) return std::move(c).error();
  auto rep = reconcile(*c, gateways(ctx.conf), Mode::kCheck);
  if (!rep) return std::move(rep).error();
  if (!rep->changes.empty()) {
    std::string m;
    for (const auto& d : rep->changes) m += (m.empty() ? "" : "; ") + d;
    return cni::fail(cni::kErrCheckMismatch, c->ifname + ": " + m);
  }
  return {};
}

Status cmd_status(const cni::Context& ctx) {
  auto c = parse_config(ctx.conf);
  if (!c) return std::move(c).error();
  bool kernel = c->implementation != Implementation::kUserspace && net::wg::kernel_available();
  bool user = c->implementation != Implementation::kKernel && net::wg::userspace_available();
  if (!kernel && !user) {
    return cni::fail(cni::kErrNotAvailable, std::string("no usable WireGuard: ") +
                                                (c->implementation == Implementation::kUserspace
                                                     ? "wireguard-go or /dev/net/tun missing"
                                                     : c->implementation == Implementation::kKernel
                                                           ? "the kernel has no wireguard module"
                                                           : "no kernel module, no wireguard-go"));
  }
  return {};
}

}  // namespace zl::wg
