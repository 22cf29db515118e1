#include "plugins/zl-wg/mesh.h"

#include <linux/rtnetlink.h>
#include <linux/wireguard.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libnet/core/log.h"

namespace zl::wg {

using net::NlSock;

namespace {

// One lock for the devices of every network and netns (nodes simulated as netns on one host
// merely take turns): the directory holding the keys.
Result<net::DirLock> lock_device() { return net::DirLock::acquire(kKeyDir); }

// ZL_WG_TRACE=1: phase timings on stderr, for finding where a large reconcile spends its time.
class PhaseTimer {
 public:
  PhaseTimer() : on_(std::getenv("ZL_WG_TRACE") != nullptr), last_(std::chrono::steady_clock::now()) {}
  void mark(const char* phase) {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    net::log(std::string("trace: ") + phase + " " +
             std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now - last_).count()) + " us");
    last_ = now;
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

// The underlay MTU: of the route to the first peer endpoint, else of the default route.
int underlay_mtu(NlSock& rtnl, const Config& c) {
  int oif = 0;
  for (const auto& p : c.peers) {
    if (!p.endpoint) continue;
    if (auto r = net::route_get(rtnl, p.endpoint->addr)) oif = r->oif;
    break;
  }
  for (int family : {AF_INET, AF_INET6}) {
    if (oif) break;
    auto routes = net::route_list(rtnl, family);
    if (!routes) continue;
    for (const auto& r : *routes) {
      if (r.dst.len == 0 && r.oif) {
        oif = r.oif;
        break;
      }
    }
  }
  if (!oif) return 0;
  auto l = net::link_by_index(rtnl, oif);
  return l && *l ? (*l)->mtu : 0;
}

Desired desired(const Config& c, const net::Key& own, const std::vector<net::IpAddr>& prefsrc) {
  Desired d;
  d.ifname = c.ifname;
  d.public_key = own;
  d.listen_port = c.listen_port;
  d.fwmark = c.fwmark;
  d.mtu = c.mtu;
  d.prefsrc = prefsrc;
  for (const auto& pc : c.peers) {
    net::wg::Peer p;
    p.public_key = pc.public_key;
    p.endpoint = pc.endpoint;
    p.keepalive = pc.keepalive;
    p.allowed_ips = pc.allowed_ips;
    if (pc.preshared_key) p.preshared_key = pc.preshared_key->clone();
    if (pc.behind_nat) d.behind_nat.insert(pc.public_key);
    d.peers.push_back(std::move(p));
  }
  return d;
}

Result<Snapshot> snapshot(NlSock& rtnl, net::wg::Backend& backend, const Config& c) {
  Snapshot s;
  auto link = net::link_by_name(rtnl, c.ifname);
  if (!link) return std::move(link).error();
  if (*link) {
    s.device_exists = true;
    s.ifindex = (*link)->index;
    s.mtu = (*link)->mtu;
    s.up = (*link)->up();
    auto dev = backend.get(c.ifname);
    if (!dev) return std::move(dev).error();
    s.device = std::move(*dev);
    s.device.ifindex = s.ifindex;
    s.device.name = c.ifname;
  }
  if (!c.mtu) s.underlay_mtu = underlay_mtu(rtnl, c);
  for (int family : {AF_INET, AF_INET6}) {
    auto routes = net::route_list(rtnl, family, RT_TABLE_MAIN, /*all_types=*/true);
    if (!routes) return std::move(routes).error();
    s.routes.insert(s.routes.end(), routes->begin(), routes->end());
  }
  auto addrs = net::addr_list(rtnl, 0);
  if (!addrs) return std::move(addrs).error();
  for (const auto& a : *addrs) s.local_addrs.push_back(a.addr.addr);
  return s;
}

std::string route_text(NlSock& rtnl, const net::RouteInfo& r) {
  std::string out = r.dst.str();
  if (r.type == RTN_BLACKHOLE) out = "blackhole " + out;
  if (r.type == RTN_UNREACHABLE) out = "unreachable " + out;
  if (r.type == RTN_PROHIBIT) out = "prohibit " + out;
  if (r.gw) out += " via " + r.gw->str();
  if (r.oif) {
    auto l = net::link_by_index(rtnl, r.oif);
    out += " dev " + (l && *l ? (*l)->name : "#" + std::to_string(r.oif));
  }
  switch (r.protocol) {
    case RTPROT_KERNEL: out += " proto kernel"; break;
    case RTPROT_BOOT: out += " proto boot"; break;
    case RTPROT_STATIC: out += " proto static"; break;
    case RTPROT_DHCP: out += " proto dhcp"; break;
    case RTPROT_RA: out += " proto ra"; break;
    default: out += " proto " + std::to_string(r.protocol);
  }
  return out;
}

Error conflict_error(NlSock& rtnl, const Config& c, const Plan& p) {
  std::string m;
  for (const auto& x : p.conflicts) {
    if (!m.empty()) m += "; ";
    m += "allowed IPs of peer " + net::key_to_base64(x.peer) + ": route " + x.wanted.dst.str() + " via " + c.ifname +
         " would replace " + route_text(rtnl, x.existing) + ", which is not zl-wg's";
  }
  return cni::fail(cni::kErrInvalidConfig, m + " (nothing changed)");
}

Status execute(NlSock& rtnl, net::wg::Backend& backend, const net::SecretKey& key, Plan& p, const Config& c,
               int ifindex, Report& rep) {
  p.update.ifindex = ifindex;
  if (p.set_private_key) p.update.private_key = &key;
  if (!p.update.empty()) {
    if (auto s = backend.set(p.update); !s) return s;
    rep.set_messages = 1;
  }
  net::LinkChange ch;
  ch.mtu = p.set_mtu;
  if (p.set_up) ch.up = true;
  if (ch.mtu || ch.up) {
    if (auto s = net::link_change(rtnl, ifindex, ch); !s) return std::move(s).error().wrap(c.ifname);
  }
  // Thousands of peers: one round trip per batch of routes, not per route.
  std::vector<net::NlMsg> dels, adds;
  for (const auto& r : p.route_dels) dels.push_back(net::route_del_message(r));
  for (size_t i = 0; i < p.route_adds.size(); ++i) {
    net::RouteInfo r = p.route_adds[i];
    r.oif = ifindex;
    adds.push_back(net::route_add_message(r, p.route_replaces[i]));
  }
  if (!dels.empty()) {
    if (auto s = rtnl.request_batch(dels, "delete routes via " + c.ifname); !s && s.error().sys != ESRCH) return s;
  }
  if (!adds.empty()) {
    if (auto s = rtnl.request_batch(adds, "add routes via " + c.ifname); !s) return s;
  }
  rep.routes_added = p.route_adds.size();
  rep.routes_removed = p.route_dels.size();
  return {};
}

}  // namespace

Result<std::unique_ptr<net::wg::Backend>> open_backend(const Config& c, NlSock& rtnl) {
  auto link = net::link_by_name(rtnl, c.ifname);
  if (!link) return std::move(link).error();
  bool kernel_dev = *link && (*link)->kind == "wireguard";
  bool user_dev = *link && (*link)->kind == "tun";
  if (*link && !kernel_dev && !user_dev) {
    return cni::fail(cni::kErrInvalidConfig, "interface " + c.ifname + ": an existing link of kind \"" + (*link)->kind +
                                                 "\" has that name, not a WireGuard device");
  }
  if (kernel_dev || (c.implementation == Implementation::kKernel)) return net::wg::open_kernel();
  if (user_dev || c.implementation == Implementation::kUserspace) return net::wg::open_userspace();
  if (net::wg::kernel_available()) return net::wg::open_kernel();
  auto u = net::wg::open_userspace();
  if (!u) {
    return cni::fail(cni::kErrNotAvailable,
                     "neither kernel WireGuard nor the userspace fallback (wireguard-go, /dev/net/tun) is available");
  }
  return u;
}

Result<Report> reconcile(const Config& c, const std::vector<net::IpAddr>& prefsrc, Mode mode) {
  PhaseTimer timer;
  const bool apply = mode == Mode::kApply;
  auto lock = lock_device();
  if (!lock) return std::move(lock).error();
  auto key = apply ? net::load_or_create_key(c.private_key_file) : net::load_key(c.private_key_file);
  if (!key) {
    int code = key.error().sys == ENOENT ? cni::kErrCheckMismatch : cni::kErrInvalidConfig;
    return cni::fail(code, "privateKeyFile: " + key.error().msg);
  }
  const net::Key own = key->public_key();
  if (auto s = validate_peers(c, own); !s) return std::move(s).error();
  auto rtnl = NlSock::open();
  if (!rtnl) return std::move(rtnl).error();
  auto backend = open_backend(c, *rtnl);
  if (!backend) return std::move(backend).error();
  Report rep;
  rep.backend = (*backend)->kind();
  timer.mark("key, validate, backend");

  auto have = snapshot(*rtnl, **backend, c);
  if (!have) return std::move(have).error();
  timer.mark("snapshot");
  Plan plan = make_plan(desired(c, own, prefsrc), *have);
  timer.mark("plan");
  if (!plan.conflicts.empty()) return conflict_error(*rtnl, c, plan);
  rep.ifindex = have->ifindex;
  rep.peers_added = plan.peers_added;
  rep.peers_updated = plan.peers_updated;
  rep.peers_removed = plan.peers_removed;
  rep.changes = plan.describe(c.ifname);
  if (!apply) return rep;

  if (plan.create_device) {
    auto idx = (*backend)->ensure_device(*rtnl, c.ifname);
    if (!idx) return std::move(idx).error();
    have = snapshot(*rtnl, **backend, c);  // the new, empty device
    if (!have) return std::move(have).error();
    plan = make_plan(desired(c, own, prefsrc), *have);
    if (!plan.conflicts.empty()) return conflict_error(*rtnl, c, plan);
    rep.ifindex = have->ifindex;
  }
  if (auto s = execute(*rtnl, **backend, *key, plan, c, have->ifindex, rep); !s) return std::move(s).error();
  timer.mark("execute");
  return rep;
}

std::vector<net::IpAddr> gateway_addrs(const std::string& bridge) {
  std::vector<net::IpAddr> out;
  if (bridge.empty()) return out;
  auto rtnl = net::NlSock::open();
  if (!rtnl) return out;
  auto br = net::link_by_name(*rtnl, bridge);
  if (!br || !*br) return out;
  auto addrs = net::addr_list(*rtnl, 0, (*br)->index);
  if (!addrs) return out;
  for (const auto& a : *addrs) {
    bool link_local = !a.addr.addr.is_v4() && a.addr.addr.b[0] == 0xfe && (a.addr.addr.b[1] & 0xc0) == 0x80;
    if (!link_local) out.push_back(a.addr.addr);
  }
  return out;
}

}  // namespace zl::wg
