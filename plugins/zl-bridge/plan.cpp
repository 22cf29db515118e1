#include "plugins/zl-bridge/plan.h"

#include <linux/if.h>

#include <algorithm>

#include "libcni/errors.h"

namespace zl::bridge {

using cni::fail;
using net::IpNet;

namespace {

Status plan_bridge(const Config& c, const Snapshot& have, Plan& plan) {
  if (!have.bridge) {
    plan.changes.push_back({.op = Op::kCreateBridge, .why = "bridge " + c.bridge + " does not exist"});
    return {};
  }
  const net::LinkInfo& br = *have.bridge;
  if (br.kind != "bridge") {
    return fail(cni::kErrInvalidConfig, "bridge \"" + c.bridge + "\": an existing link of kind \"" + br.kind +
                                            "\" has that name");
  }
  Change ch{.op = Op::kSetBridge, .why = "bridge " + c.bridge};
  if (!br.up()) ch.link.up = true, ch.why += " is down";
  if (c.mtu && br.mtu != c.mtu) ch.link.mtu = c.mtu, ch.why += " has MTU " + std::to_string(br.mtu);
  if (c.promisc && !(br.flags & IFF_PROMISC)) ch.link.promisc = true, ch.why += " is not promiscuous";
  if (ch.link.up || ch.link.mtu || ch.link.promisc) plan.changes.push_back(std::move(ch));
  return {};
}

void plan_veth(const Config& c, const Desired& want, const Snapshot& have, Plan& plan) {
  const std::string& hv = want.host_veth;
  bool fresh = false;
  if (!have.pod_link) {
    fresh = true;
    if (have.host_veth) {
      plan.changes.push_back({.op = Op::kReplaceVeth, .why = "host veth " + hv + " has no pod end " + want.ifname});
    } else {
      plan.changes.push_back({.op = Op::kCreateVeth, .why = "interface " + want.ifname + " does not exist in the pod"});
    }
  } else if (!have.host_veth) {
    plan.changes.push_back({.op = Op::kCreateVeth, .why = "host veth " + hv + " does not exist"});
    return;
  }
  Change ch{.op = Op::kSetHostVeth, .why = "host veth " + hv};
  const net::LinkInfo* l = fresh ? nullptr : &*have.host_veth;
  if (!l || !l->up()) ch.link.up = true, ch.why += fresh ? " is new" : " is down";
  if (!l || l->alias != want.alias) ch.link.alias = want.alias;
  if (l && (!have.bridge || l->master != have.bridge->index)) ch.link.master = 0, ch.why += " is not a port of " + c.bridge;
  if (ch.link.up || ch.link.alias || ch.link.master) {
    if (!ch.link.up && !ch.link.master) ch.why += " is not labelled";
    plan.changes.push_back(std::move(ch));
  }
  // Port flags cannot be read back here: set on the veth this plan creates.
  if (fresh && (c.hairpin || c.port_isolation)) plan.changes.push_back({.op = Op::kSetPort, .why = "port flags of " + hv});
  if (fresh && c.vlan) plan.changes.push_back({.op = Op::kSetPortVlan, .why = "vlan of " + hv});
}

// One gateway address on the bridge, never a stale second one of the same subnet.
Status plan_gateway(const Config& c, const IpNet& gw, const Snapshot& have, Plan& plan) {
  bool have_exact = std::any_of(have.bridge_addrs.begin(), have.bridge_addrs.end(),
                                [&](const net::AddrInfo& a) { return a.addr == gw; });
  if (have_exact && gw.addr.is_v4()) return {};  // an IPv4 subnet's others are secondaries we keep
  bool removed = false;
  for (const auto& a : have.bridge_addrs) {
    if (a.addr == gw || (a.addr.masked() != gw.masked() && a.addr.addr != gw.addr)) continue;
    if (!c.force_address) {
      return fail(cni::kErrInvalidConfig, "bridge " + c.bridge + " already has " + a.addr.str() + ", not gateway " +
                                              gw.str() + " (set forceAddress to replace it)");
    }
    plan.changes.push_back({.op = Op::kDelGateway, .why = "bridge " + c.bridge + " has stale " + a.addr.str(), .addr = a.addr});
    removed = true;
  }
  // Deleting an IPv4 subnet's primary address takes its secondaries (ours) with it.
  if (!have_exact || removed) {
    plan.changes.push_back({.op = Op::kAddGateway, .why = "bridge " + c.bridge + " lacks gateway " + gw.str(), .addr = gw});
  }
  return {};
}

Status plan_gateways(const Config& c, const Desired& want, const Snapshot& have, Plan& plan) {
  if (!c.is_gateway) return {};
  std::vector<IpNet> done;
  for (const auto& ip : want.ips) {
    if (!ip.gateway) continue;
    IpNet gw{*ip.gateway, ip.address.len};
    if (std::find(done.begin(), done.end(), gw) != done.end()) continue;
    done.push_back(gw);
    if (auto s = plan_gateway(c, gw, have, plan); !s) return s;
  }
  return {};
}

std::optional<net::IpAddr> gateway_for(const Desired& want, int family) {
  for (const auto& ip : want.ips)
    if (ip.address.addr.family == family && ip.gateway) return ip.gateway;
  return std::nullopt;
}

void plan_pod_routes(const Desired& want, const Snapshot& have, Plan& plan) {
  for (const auto& r : want.routes) {
    net::RouteInfo ri{.dst = r.dst.masked(), .gw = r.gw ? r.gw : gateway_for(want, r.dst.addr.family)};
    ri.mtu = r.mtu, ri.advmss = r.advmss, ri.priority = r.priority;
    if (r.table) ri.table = *r.table;
    bool found = std::any_of(have.pod_routes.begin(), have.pod_routes.end(), [&](const net::RouteInfo& k) {
      return k.dst == ri.dst && k.table == ri.table && (!ri.gw || k.gw == ri.gw);
    });
    if (found) continue;
    std::string why = "route " + ri.dst.str() + (ri.gw ? " via " + ri.gw->str() : "") + " missing in the pod";
    plan.changes.push_back({.op = Op::kPodRoute, .why = std::move(why), .route = ri});
  }
}

// Inside the pod, in the order the kernel needs: lo up, addresses, link up, routes.
void plan_pod(const Desired& want, const Snapshot& have, Plan& plan) {
  if (!have.pod_link) return;  // planned again once the veth exists
  const net::LinkInfo& l = *have.pod_link;
  if (!have.pod_lo_up) plan.changes.push_back({.op = Op::kPodLoUp, .why = "lo is down in the pod"});
  if (want.pod_mac && net::mac_str(l.mac) != *want.pod_mac) {
    Change ch{.op = Op::kPodMac, .why = want.ifname + " has MAC " + net::mac_str(l.mac) + ", prevResult says " + *want.pod_mac};
    ch.link.mac = net::parse_mac(*want.pod_mac);
    plan.changes.push_back(std::move(ch));
  }
  for (const auto& ip : want.ips) {
    bool found = std::any_of(have.pod_addrs.begin(), have.pod_addrs.end(),
                             [&](const net::AddrInfo& a) { return a.addr == ip.address; });
    if (!found) plan.changes.push_back({.op = Op::kPodAddress, .why = want.ifname + " lacks address " + ip.address.str(), .addr = ip.address});
  }
  if (!l.up()) plan.changes.push_back({.op = Op::kPodUp, .why = want.ifname + " is down"});
  plan_pod_routes(want, have, plan);
}

}  // namespace

std::string Plan::str() const {
  std::string out;
  for (const auto& ch : changes) out += (out.empty() ? "" : "; ") + ch.why;
  return out;
}

Result<Plan> plan_attachment(const Config& c, const Desired& want, const Snapshot& have) {
  Plan plan;
  if (auto s = plan_bridge(c, have, plan); !s) return std::move(s).error();
  plan_veth(c, want, have, plan);
  if (auto s = plan_gateways(c, want, have, plan); !s) return std::move(s).error();
  plan_pod(want, have, plan);
  return plan;
}

std::vector<cni::Route> pod_routes(const Config& c, const cni::CniResult& ipam) {
  std::vector<cni::Route> routes = ipam.routes;
  if (!c.is_default_gateway) return routes;
  for (int family : {AF_INET, AF_INET6}) {
    IpNet any{net::IpAddr::from_u128(family, 0), 0};
    if (std::any_of(routes.begin(), routes.end(), [&](const cni::Route& r) { return r.dst == any; })) continue;
    if (auto gw = gateway_for(Desired{.ips = ipam.ips}, family)) routes.push_back({.dst = any, .gw = gw});
  }
  return routes;
}

}  // namespace zl::bridge
