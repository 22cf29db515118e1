// ADD: plan the attachment against a snapshot of the kernel, apply the plan; IPAM between
// the link phase and the address phase. Every step done is undone if a later one fails.
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
#include "libnet/core/names.h"
#include "libnet/core/undo.h"
#include "libnet/netlink/netns.h"
#include "libnet/netlink/sysctl.h"
#include "plugins/zl-bridge/bridge.h"
#include "plugins/zl-bridge/plan.h"

namespace zl::bridge {

using cni::fail;
using net::IpNet;
using net::NlSock;

namespace {

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

Status wrapped(Status s, const std::string& what) { return s ? s : std::move(s).error().wrap(what); }

Status create_bridge(NlSock& host, const Config& c, bool& created) {
  // Locally administered unicast MAC derived from the bridge name: stable across restarts.
  const uint64_t h = net::stable_hash(c.bridge);
  net::Mac mac{0x02};
  for (size_t i = 0; i < 5; ++i) mac[i + 1] = static_cast<uint8_t>(h >> (56 - 8 * i));
  auto s = net::bridge_create(host, c.bridge, c.mtu, c.vlan != 0, mac);
  if (!s && s.error().sys == EOPNOTSUPP && c.vlan) {
    return fail(cni::kErrUnsupportedField, "vlan " + std::to_string(c.vlan) +
                                               ": this kernel's bridge has no VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING)");
  }
  if (!s && s.error().sys != EEXIST) return s;  // EEXIST: a parallel ADD won
  created = static_cast<bool>(s);
  return {};
}

// Applies a plan in order; each step's undo is registered as soon as the step succeeded.
struct Executor {
  const Config& c;
  const Desired& want;
  const std::string& netns;  // for messages
  NlSock& host;
  Pod& pod;
  Undo& undo;
  int bridge_index = 0;
  int pod_index = 0;

  Status apply(const Plan& plan);
  Status bridge_up();
  Status veth(bool replace);
  Status host_veth(const Change& ch);
  Status pod_batch(const std::vector<const Change*>& changes);
};

Status Executor::bridge_up() {
  bool created = false;
  if (auto s = create_bridge(host, c, created); !s) return s;
  if (created) {
    // The executor is gone when undo steps run: they hold what outlives it.
    undo.add([h = &host, cfg = &c] {  // what this ADD leaves without pods goes: rules, the bridge it made
      auto relock = lock_network();
      if (!relock) return;
      (void)drop_rules_if_unused(*h, *cfg);
      (void)remove_bridge_if_unused(*h, *cfg);
    });
  }
  auto br = net::link_by_name(host, c.bridge);
  if (!br) return std::move(br).error();
  if (!*br) return Error::from_errno(ENODEV, "bridge " + c.bridge + " vanished after creation");
  bridge_index = (*br)->index;
  net::LinkChange ch{.up = true};
  if (c.promisc) ch.promisc = true;
  return wrapped(net::link_change(host, bridge_index, ch), "bridge " + c.bridge);
}

Status Executor::veth(bool replace) {
  const std::string& name = want.host_veth;
  if (replace) {  // a host end left by a crashed ADD of the same attachment is stale
    if (auto stale = net::link_by_name(host, name); stale && *stale) (void)net::link_delete(host, (*stale)->index);
  }
  // A port of the bridge from birth: a kill before the alias is set still leaves a link that
  // GC recognises (by its derived name, on this network's bridge).
  auto s = net::veth_create(host, name, want.ifname, pod.ns.fd(), c.mtu, c.mac, bridge_index);
  if (!s) return std::move(s).error().wrap("attach to " + c.bridge);
  undo.add([h = &host, name] {  // deleting the host end takes the pod end with it
    if (auto l = net::link_by_name(*h, name); l && *l) (void)net::link_delete(*h, (*l)->index);
  });
  return {};
}

Status Executor::host_veth(const Change& ch) {
  auto hv = net::link_by_name(host, want.host_veth);
  if (!hv) return std::move(hv).error();
  if (!*hv) return Error::from_errno(ENODEV, "veth " + want.host_veth + " vanished");
  int index = (*hv)->index;
  switch (ch.op) {
    case Op::kSetHostVeth: {
      net::LinkChange lc = ch.link;
      if (lc.master) lc.master = bridge_index;
      return wrapped(net::link_change(host, index, lc), "set up " + want.host_veth);
    }
    case Op::kSetPort: return net::bridge_port_set(host, index, c.hairpin, c.port_isolation);
    default: return net::bridge_port_vlan(host, index, c.vlan);
  }
}

Status Executor::apply(const Plan& plan) {
  std::vector<const Change*> in_pod;
  for (const Change& ch : plan.changes) {
    Status s;
    switch (ch.op) {
      case Op::kCreateBridge: s = bridge_up(); break;
      case Op::kSetBridge: s = wrapped(net::link_change(host, bridge_index, ch.link), "bridge " + c.bridge); break;
      case Op::kReplaceVeth:
      case Op::kCreateVeth: s = veth(ch.op == Op::kReplaceVeth); break;
      case Op::kSetHostVeth:
      case Op::kSetPort:
      case Op::kSetPortVlan: s = host_veth(ch); break;
      case Op::kDelGateway:
        s = net::addr_del(host, bridge_index, ch.addr);
        if (!s && s.error().sys == EADDRNOTAVAIL) s = {};
        break;
      case Op::kAddGateway:  // shared by the network's pods: not undone
        s = net::addr_add(host, bridge_index, ch.addr, true);
        if (!s && s.error().sys == EEXIST) s = {};
        break;
      default: in_pod.push_back(&ch);
    }
    if (!s) return s;
  }
  return in_pod.empty() ? Status{} : wrapped(pod_batch(in_pod), "in " + netns);
}

// lo up, addresses, link up, routes: one netlink batch (the kernel applies the requests in
// order), two when DAD must be waited for before the routes.
Status Executor::pod_batch(const std::vector<const Change*>& changes) {
  std::vector<net::NlMsg> batch;
  std::vector<std::string> names;
  auto flush = [&]() -> Status {
    if (batch.empty()) return {};
    auto s = pod.sock.request_batch(batch, "configure " + want.ifname, &names);
    batch.clear();
    names.clear();
    return s;
  };
  bool waited = !c.enable_dad;
  for (const Change* ch : changes) {
    if (ch->op == Op::kPodRoute && !waited) {
      if (auto s = flush(); !s) return s;
      if (auto s = wait_dad(pod.sock, pod_index); !s) return s;
      waited = true;
    }
    const std::string& ifn = want.ifname;
    switch (ch->op) {
      case Op::kPodLoUp:  // lo is ifindex 1 in every netns
        batch.push_back(net::link_change_message(1, {.up = true}));
        names.push_back("set lo up");
        break;
      case Op::kPodMac:
        batch.push_back(net::link_change_message(pod_index, ch->link));
        names.push_back("set the MAC of " + ifn);
        break;
      case Op::kPodAddress:
        batch.push_back(net::addr_add_message(pod_index, ch->addr, !c.enable_dad));
        names.push_back("add address " + ch->addr.str() + " to " + ifn);
        break;
      case Op::kPodUp:
        batch.push_back(net::link_change_message(pod_index, {.up = true}));
        names.push_back("set " + ifn + " up");
        break;
      default: {
        net::RouteInfo r = ch->route;
        r.oif = pod_index;
        batch.push_back(net::route_add_message(r, true));
        names.push_back("add route " + r.dst.str() + (r.gw ? " via " + r.gw->str() : ""));
      }
    }
  }
  if (auto s = flush(); !s) return s;
  bool added = std::any_of(changes.begin(), changes.end(), [](const Change* ch) { return ch->op == Op::kPodAddress; });
  return waited || !added ? Status{} : wait_dad(pod.sock, pod_index);  // usable when ADD returns
}

// Snapshot, plan, apply. The executor's bridge and pod indexes come from the snapshot.
Result<Snapshot> converge(Executor& ex) {
  auto snap = take_snapshot(ex.host, ex.pod, ex.c, ex.want);
  if (!snap) return std::move(snap).error();
  auto plan = plan_attachment(ex.c, ex.want, *snap);
  if (!plan) return std::move(plan).error();
  ex.bridge_index = snap->bridge ? snap->bridge->index : 0;
  ex.pod_index = snap->pod_link ? snap->pod_link->index : 0;
  if (auto s = ex.apply(*plan); !s) return std::move(s).error();
  return snap;
}

Status ensure_firewall(const cni::Context& ctx, const Config& c, const cni::CniResult& ipam) {
  auto lock = lock_network();
  if (!lock) return std::move(lock).error();
  auto fw = net::open_firewall(c.firewall);
  if (!fw) return std::move(fw).error();
  // The network's subnets, not just this pod's: with two subnets in a range set, every ADD
  // must describe both, or each would rewrite the rules for its own alone.
  std::vector<IpNet> sources = cni::ipam_subnets(ctx.conf);
  for (const auto& ip : ipam.ips)
    if (std::find(sources.begin(), sources.end(), ip.address.masked()) == sources.end()) sources.push_back(ip.address.masked());
  return (*fw)->ensure(net::NetworkRules{c.network, c.bridge, sources, c.masq_exclude, c.ip_masq});
}

// The result: bridge, host veth, container interface (with sandbox); ips on index 2.
cni::CniResult result(const cni::Context& ctx, const Snapshot& s, const cni::CniResult& ipam, const Desired& want) {
  cni::CniResult r;
  r.interfaces.push_back({.name = s.bridge->name, .mac = net::mac_str(s.bridge->mac)});
  r.interfaces.push_back({.name = want.host_veth, .mac = net::mac_str(s.host_veth->mac)});
  r.interfaces.push_back(
      {.name = want.ifname, .mac = net::mac_str(s.pod_link->mac), .sandbox = ctx.env.netns, .mtu = s.pod_link->mtu});
  for (auto ip : ipam.ips) {
    ip.interface = 2;
    r.ips.push_back(ip);
  }
  r.routes = want.routes;
  r.dns = ipam.dns.empty() ? ctx.conf.dns : ipam.dns;
  return r;
}

}  // namespace

Result<cni::CniResult> cmd_add(const cni::Context& ctx) {
  auto conf = parse_config(ctx);
  if (!conf) return std::move(conf).error();
  const Config& c = *conf;
  // An IPAM plugin that cannot be found fails the ADD before anything is built.
  if (auto bin = cni::find_plugin(ctx.conf.ipam_type, ctx.env.path); !bin) return std::move(bin).error().wrap("ipam");
  const std::string& ifname = ctx.env.ifname;
  Desired want{.host_veth = host_veth_name(ctx.env.container_id, ifname),
               .ifname = ifname,
               .alias = host_veth_alias(c.network, ctx.env.container_id, ifname)};
  auto pod = open_pod(ctx);
  if (!pod) return std::move(pod).error();
  auto host = NlSock::open();
  if (!host) return std::move(host).error();
  auto existing = net::link_by_name(pod->sock, ifname);
  if (!existing) return std::move(existing).error();
  if (*existing) return fail(cni::kErrInternal, "interface \"" + ifname + "\" already exists in netns " + ctx.env.netns);

  Undo undo;  // declared before the locks: they are released before any undo runs
  Executor ex{.c = c, .want = want, .netns = ctx.env.netns, .host = *host, .pod = *pod, .undo = undo};
  {
    // Links under the lock: a failing ADD's rollback cannot remove the bridge between our
    // lookup and our port joining it.
    auto lock = lock_network();
    if (!lock) return std::move(lock).error();
    if (auto s = converge(ex); !s) return std::move(s).error();
  }
  auto ipam = cni::ipam_add(ctx);
  if (!ipam) return std::move(ipam).error();
  undo.add([&] { (void)cni::ipam_run(ctx, "DEL"); });
  if (ipam->ips.empty()) return fail(cni::kErrInvalidConfig, "ipam " + ctx.conf.ipam_type + " returned no addresses");
  want.ips = ipam->ips;
  want.routes = pod_routes(c, *ipam);
  auto snap = converge(ex);  // gateway on the bridge, the pod's addresses and routes
  if (!snap) return std::move(snap).error();
  if (!snap->bridge || !snap->host_veth || !snap->pod_link) return Error::from_errno(ENODEV, "veth " + want.host_veth + " vanished");
  if (c.is_gateway) {
    bool v4 = std::any_of(want.ips.begin(), want.ips.end(), [](const cni::IpConfig& ip) { return ip.address.addr.is_v4(); });
    bool v6 = std::any_of(want.ips.begin(), want.ips.end(), [](const cni::IpConfig& ip) { return !ip.address.addr.is_v4(); });
    if (auto s = enable_forwarding(c, want.host_veth, v4, v6); !s) return std::move(s).error();
  }
  if (auto s = ensure_firewall(ctx, c, *ipam); !s) return std::move(s).error();
  cni::CniResult r = result(ctx, *snap, *ipam, want);
  undo.commit();
  return r;
}

}  // namespace zl::bridge
