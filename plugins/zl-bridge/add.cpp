// ADD: bridge, veth into the pod, IPAM, addresses and routes inside, gateway, sysctls,
// firewall. Every step done is undone if a later one fails.
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "libcni/errors.h"
#include "libcni/exec.h"
#include "libnet/core/log.h"
#include "libnet/core/names.h"
#include "libnet/netlink/netns.h"
#include "libnet/netlink/sysctl.h"
#include "libnet/core/undo.h"
#include "plugins/zl-bridge/bridge.h"

namespace zl::bridge {

using cni::fail;
using net::IpNet;
using net::NlSock;

namespace {

// The bridge, created if missing (`created` says so); a non-bridge link of that name is an
// error. Call with the network lock held: a failed ADD removes a bridge it created.
Result<net::LinkInfo> ensure_bridge(NlSock& host, const Config& c, bool& created) {
  auto link = net::link_by_name(host, c.bridge);
  if (!link) return std::move(link).error();
  if (!*link) {
    // Locally administered unicast MAC derived from the bridge name: stable across restarts.
    const uint64_t h = net::stable_hash(c.bridge);
    net::Mac mac{0x02};
    for (size_t i = 0; i < 5; ++i) mac[i + 1] = static_cast<uint8_t>(h >> (56 - 8 * i));
    auto s = net::bridge_create(host, c.bridge, c.mtu, c.vlan != 0, mac);
    if (!s && s.error().sys == EOPNOTSUPP && c.vlan) {
      return fail(cni::kErrUnsupportedField, "vlan " + std::to_string(c.vlan) +
                                                 ": this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)");
    }
    if (!s && s.error().sys != EEXIST) return std::move(s).error();  // EEXIST: a parallel ADD won
    created = static_cast<bool>(s);
    link = net::link_by_name(host, c.bridge);
    if (!link) return std::move(link).error();
    if (!*link) return Error::from_errno(ENODEV, "bridge " + c.bridge + " vanished after creation");
  }
  if ((*link)->kind != "bridge") {
    return fail(cni::kErrInvalidConfig, "bridge \"" + c.bridge + "\": an existing link of kind \"" + (*link)->kind +
                                            "\" has that name");
  }
  net::LinkChange ch;
  if (!(*link)->up()) ch.up = true;
  if (c.mtu && (*link)->mtu != c.mtu) ch.mtu = c.mtu;
  if (c.promisc && !((*link)->flags & IFF_PROMISC)) ch.promisc = true;
  if (ch.up || ch.mtu || ch.promisc) {
    if (auto s = net::link_change(host, (*link)->index, ch); !s) return std::move(s).error().wrap("bridge " + c.bridge);
  }
  return **link;
}

// The gateway address on the bridge, never a stale second one of the same subnet.
Status ensure_gateway(NlSock& host, const Config& c, int bridge_index, const IpNet& gw) {
  // Steady state first: for IPv4, EEXIST means exactly this address and prefix is there.
  auto added = net::addr_add(host, bridge_index, gw, true);
  if (!added && !(added.error().sys == EEXIST)) return added;
  if (!added && gw.addr.is_v4()) return {};
  // New (or IPv6, whose EEXIST ignores the prefix): no stale second address of this subnet.
  auto addrs = net::addr_list(host, gw.addr.family, bridge_index);
  if (!addrs) return std::move(addrs).error();
  bool have_exact = false, removed = false;
  for (const auto& a : *addrs) {
    if (a.addr == gw) {
      have_exact = true;
      continue;
    }
    if (a.addr.masked() != gw.masked() && a.addr.addr != gw.addr) continue;
    if (!c.force_address) {
      if (added) (void)net::addr_del(host, bridge_index, gw);  // leave the bridge as it was
      return fail(cni::kErrInvalidConfig, "bridge " + c.bridge + " already has " + a.addr.str() + ", not gateway " +
                                              gw.str() + " (set forceAddress to replace it)");
    }
    if (auto s = net::addr_del(host, bridge_index, a.addr); !s && s.error().sys != EADDRNOTAVAIL) return s;
    removed = true;
  }
  // Deleting an IPv4 subnet's primary address takes its secondaries (ours) with it.
  if (!have_exact || removed) {
    auto s = net::addr_add(host, bridge_index, gw, true);
    if (!s && s.error().sys != EEXIST) return s;
  }
  return {};
}

Status enable_forwarding(const Config& c, const std::string& host_veth, bool v4, bool v6) {
  if (v4) {
    if (auto s = net::sysctl_ensure("net/ipv4/ip_forward", "1"); !s) return s;
  }
  if (v6) {
    // Per interface only: net.ipv6.conf.all.forwarding=1 would stop the host's uplink
    // from accepting router advertisements. force_forwarding (Linux 6.17+) makes the
    // per-interface setting actually forward.
    for (const std::string& ifn : {c.bridge, host_veth}) {
      std::string base = "net/ipv6/conf/" + ifn + "/";
      if (auto s = net::sysctl_ensure(base + "forwarding", "1"); !s) return s;
      struct stat st {};
      if (::stat(("/proc/sys/" + base + "force_forwarding").c_str(), &st) == 0) {
        if (auto s = net::sysctl_ensure(base + "force_forwarding", "1"); !s) return s;
      }
    }
  }
  return {};
}

// Waits (bounded, polling netlink) until no address of `index` is tentative.
Status wait_dad(NlSock& sock, int index) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto addrs = net::addr_list(sock, AF_INET6, index);
    if (!addrs) return std::move(addrs).error();
    bool tentative = std::any_of(addrs->begin(), addrs->end(), [](const net::AddrInfo& a) {
      return (a.flags & IFA_F_TENTATIVE) && !(a.flags & IFA_F_DADFAILED);
    });
    for (const auto& a : *addrs) {
      if (a.flags & IFA_F_DADFAILED) return Error::from_errno(EADDRINUSE, "duplicate address detection failed for " + a.addr.str());
    }
    if (!tentative) return {};
    if (std::chrono::steady_clock::now() > deadline) return Error::from_errno(ETIMEDOUT, "waiting for IPv6 DAD");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Inside the pod: addresses, link up, lo up, routes.
// The pod's routes, as the result lists them: IPAM's, plus a default route per family via
// its gateway when isDefaultGateway and IPAM gave none.
std::vector<cni::Route> pod_routes(const Config& c, const cni::CniResult& ipam) {
  std::vector<cni::Route> routes = ipam.routes;
  if (!c.is_default_gateway) return routes;
  for (int family : {AF_INET, AF_INET6}) {
    IpNet any{net::IpAddr::from_u128(family, 0), 0};
    if (std::any_of(routes.begin(), routes.end(), [&](const cni::Route& r) { return r.dst == any; })) continue;
    for (const auto& ip : ipam.ips) {
      if (ip.address.addr.family == family && ip.gateway) {
        routes.push_back({.dst = any, .gw = ip.gateway});
        break;
      }
    }
  }
  return routes;
}

// Inside the pod: lo up, addresses, link up, routes — one netlink batch (the kernel applies
// the requests in order), two when DAD must be waited for before the routes.
Status configure_container(NlSock& pod, const Config& c, const cni::CniResult& ipam,
                           const std::vector<cni::Route>& wanted, int index, const std::string& ifname) {
  std::vector<net::NlMsg> batch;
  std::vector<std::string> names;
  auto add = [&](net::NlMsg m, std::string name) {
    batch.push_back(std::move(m));
    names.push_back(std::move(name));
  };
  add(net::link_change_message(1, {.up = true}), "set lo up");  // lo is ifindex 1 in every netns
  for (const auto& ip : ipam.ips) {
    add(net::addr_add_message(index, ip.address, !c.enable_dad), "add address " + ip.address.str() + " to " + ifname);
  }
  add(net::link_change_message(index, {.up = true}), "set " + ifname + " up");

  auto gateway_for = [&](int family) -> std::optional<net::IpAddr> {
    for (const auto& ip : ipam.ips)
      if (ip.address.addr.family == family && ip.gateway) return ip.gateway;
    return std::nullopt;
  };
  std::vector<net::RouteInfo> routes;
  for (const auto& r : wanted) {
    net::RouteInfo ri;
    ri.dst = r.dst.masked();
    ri.gw = r.gw ? r.gw : gateway_for(r.dst.addr.family);
    ri.oif = index;
    ri.mtu = r.mtu;
    ri.advmss = r.advmss;
    ri.priority = r.priority;
    if (r.table) ri.table = *r.table;
    routes.push_back(ri);
  }
  if (c.enable_dad) {
    if (auto s = pod.request_batch(batch, "configure " + ifname, &names); !s) return s;
    if (auto s = wait_dad(pod, index); !s) return s;
    batch.clear();
    names.clear();
  }
  for (const auto& r : routes) {
    add(net::route_add_message(r, true), "add route " + r.dst.str() + (r.gw ? " via " + r.gw->str() : ""));
  }
  return pod.request_batch(batch, "configure " + ifname, &names);
}

}  // namespace

Result<cni::CniResult> cmd_add(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  // An IPAM plugin that cannot be found fails the ADD before anything is built.
  if (auto bin = cni::find_plugin(ctx.conf.ipam_type, ctx.env.path); !bin) return std::move(bin).error().wrap("ipam");
  const std::string& ifname = ctx.env.ifname;
  const std::string host_name = host_veth_name(ctx.env.container_id, ifname);

  auto opened = open_pod(ctx);
  if (!opened) return std::move(opened).error();
  const net::NetNs* ns = &opened->ns;
  NlSock& pod = opened->sock;
  auto host = NlSock::open();
  if (!host) return std::move(host).error();

  auto existing = net::link_by_name(pod, ifname);
  if (!existing) return std::move(existing).error();
  if (*existing) {
    return fail(cni::kErrInternal, "interface \"" + ifname + "\" already exists in netns " + ctx.env.netns);
  }

  // Rollback: each step that succeeds registers its undo; a failure runs them in reverse.
  Undo undo;
  Result<net::LinkInfo> br = Error{};
  {
    // Under the lock so that a failing ADD's rollback cannot remove the bridge between our
    // lookup and our port joining it. (The lock is released before any undo runs: it is
    // declared in this scope, after `undo`.)
    auto lock = lock_network();
    if (!lock) return std::move(lock).error();
    bool created_bridge = false;
    br = ensure_bridge(*host, c, created_bridge);
    if (!br) return std::move(br).error();
    // Last to run: whatever this ADD leaves without pods goes — the network's rules, and the
    // bridge if this ADD created it.
    undo.add([&, created_bridge] {
      auto relock = lock_network();
      if (!relock) return;
      (void)drop_rules_if_unused(*host, c);
      if (created_bridge) (void)remove_bridge_if_unused(*host, c);
    });
    // A port of the bridge from birth: a kill before the alias is set still leaves a link that
    // GC recognises (by its derived name, on this network's bridge).
    auto created = net::veth_create(*host, host_name, ifname, ns->fd(), c.mtu, c.mac, br->index);
    if (!created && created.error().sys == EEXIST) {
      // A host end left by a crashed ADD of the same attachment is stale: replace it.
      if (auto stale = net::link_by_name(*host, host_name); stale && *stale) {
        (void)net::link_delete(*host, (*stale)->index);
        created = net::veth_create(*host, host_name, ifname, ns->fd(), c.mtu, c.mac, br->index);
      }
    }
    if (!created) return std::move(created).error().wrap("attach to " + c.bridge);
  }
  undo.add([&] {  // deleting the host end takes the pod end with it
    if (auto l = net::link_by_name(*host, host_name); l && *l) (void)net::link_delete(*host, (*l)->index);
  });
  auto hv = net::link_by_name(*host, host_name);
  if (!hv || !*hv) return hv ? Error::from_errno(ENODEV, "veth " + host_name + " vanished") : std::move(hv).error();
  auto cv = net::link_by_name(pod, ifname);
  if (!cv || !*cv) return cv ? Error::from_errno(ENODEV, ifname + " missing in " + ctx.env.netns) : std::move(cv).error();
  net::LinkChange ch{.up = true, .alias = host_veth_alias(c.network, ctx.env.container_id, ifname)};
  if (auto s = net::link_change(*host, (*hv)->index, ch); !s) return std::move(s).error().wrap("set up " + host_name);
  if (c.hairpin || c.port_isolation) {
    if (auto s = net::bridge_port_set(*host, (*hv)->index, c.hairpin, c.port_isolation); !s) return std::move(s).error();
  }
  if (c.vlan) {
    if (auto s = net::bridge_port_vlan(*host, (*hv)->index, c.vlan); !s) return std::move(s).error();
  }

  auto ipam = cni::ipam_add(ctx);
  if (!ipam) return std::move(ipam).error();
  undo.add([&] { (void)cni::ipam_run(ctx, "DEL"); });
  if (ipam->ips.empty()) return fail(cni::kErrInvalidConfig, "ipam " + ctx.conf.ipam_type + " returned no addresses");

  const std::vector<cni::Route> routes = pod_routes(c, *ipam);
  if (auto s = configure_container(pod, c, *ipam, routes, (*cv)->index, ifname); !s) return std::move(s).error().wrap("in " + ctx.env.netns);

  bool v4 = false, v6 = false;
  std::vector<IpNet> subnets;
  for (const auto& ip : ipam->ips) {
    (ip.address.addr.is_v4() ? v4 : v6) = true;
    if (std::find(subnets.begin(), subnets.end(), ip.address.masked()) == subnets.end()) subnets.push_back(ip.address.masked());
    if (c.is_gateway && ip.gateway) {
      if (auto s = ensure_gateway(*host, c, br->index, IpNet{*ip.gateway, ip.address.len}); !s) return std::move(s).error();
    }
  }
  if (c.is_gateway) {
    if (auto s = enable_forwarding(c, host_name, v4, v6); !s) return std::move(s).error();
  }

  {
    auto lock = lock_network();
    if (!lock) return std::move(lock).error();
    auto fw = net::open_firewall(c.firewall);
    if (!fw) return std::move(fw).error();
    // The network's subnets, not just this pod's: with two subnets in a range set, every ADD
    // must describe both, or each would rewrite the rules for its own alone.
    std::vector<IpNet> sources = cni::ipam_subnets(ctx.conf);
    for (const auto& n : subnets)
      if (std::find(sources.begin(), sources.end(), n) == sources.end()) sources.push_back(n);
    net::NetworkRules rules{c.network, c.bridge, sources, c.masq_exclude, c.ip_masq};
    if (auto s = (*fw)->ensure(rules); !s) return std::move(s).error();
  }

  // The result: bridge, host veth, container interface (with sandbox); ips on index 2.
  cni::CniResult r;
  r.interfaces.push_back({.name = c.bridge, .mac = net::mac_str(br->mac)});
  r.interfaces.push_back({.name = host_name, .mac = net::mac_str((*hv)->mac)});
  r.interfaces.push_back({.name = ifname, .mac = net::mac_str((*cv)->mac), .sandbox = ctx.env.netns, .mtu = (*cv)->mtu});
  for (auto ip : ipam->ips) {
    ip.interface = 2;
    r.ips.push_back(ip);
  }
  r.routes = routes;
  r.dns = ipam->dns.empty() ? ctx.conf.dns : ipam->dns;
  undo.commit();
  return r;
}

}  // namespace zl::bridge
