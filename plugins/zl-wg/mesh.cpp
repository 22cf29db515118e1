#include "plugins/zl-wg/mesh.h"

#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libnet/core/log.h"
#include "plugins/zl-wg/reconcile.h"

namespace zl::wg {

using net::NlSock;

namespace {

constexpr int kOverhead = 80;  // WireGuard over IPv6: 40 IP + 8 UDP + 32 WireGuard

// One lock for the devices of every network and netns (nodes simulated as netns on one host
// merely take turns): the directory holding the keys.
Result<net::DirLock> lock_device() { return net::DirLock::acquire(kKeyDir); }

// The underlay MTU: of the route to the first peer endpoint, else of the default route.
int derive_mtu(NlSock& rtnl, const Config& c) {
  int oif = 0;
  for (const auto& p : c.peers) {
    if (!p.endpoint) continue;
    if (auto r = net::route_get(rtnl, p.endpoint->addr)) oif = r->oif;
    break;
  }
  if (!oif) {
    for (int family : {AF_INET, AF_INET6}) {
      auto routes = net::route_list(rtnl, family);
      if (!routes) continue;
      for (const auto& r : *routes) {
        if (r.dst.len == 0 && r.oif) {
          oif = r.oif;
          break;
        }
      }
      if (oif) break;
    }
  }
  if (oif) {
    if (auto l = net::link_by_index(rtnl, oif); l && *l && (*l)->mtu > kOverhead + 1280) return (*l)->mtu - kOverhead;
  }
  return 1420;
}

Result<Desired> desired(const Config& c, const net::Key& own_public) {
  Desired d;
  d.public_key = own_public;
  d.listen_port = c.listen_port;
  d.fwmark = c.fwmark;
  for (const auto& pc : c.peers) {
    net::wg::Peer p;
    p.public_key = pc.public_key;
    p.endpoint = pc.endpoint;
    p.keepalive = pc.keepalive;
    p.allowed_ips = pc.allowed_ips;
    if (!pc.preshared_key_file.empty()) {
      auto k = net::load_key(pc.preshared_key_file);
      if (!k) return cni::fail(cni::kErrInvalidConfig, "presharedKeyFile: " + k.error().msg);
      p.preshared_key = k->bytes();
    }
    d.peers.push_back(std::move(p));
  }
  return d;
}

std::string describe(const net::wg::Peer& p) {
  std::string k = net::key_to_base64(p.public_key);
  if (p.flags & WGPEER_F_REMOVE_ME) return "unexpected peer " + k;
  if (p.flags & WGPEER_F_UPDATE_ONLY) return "peer " + k + " differs";
  return "missing peer " + k;
}

}  // namespace

Result<std::unique_ptr<net::wg::Backend>> open_backend(const Config& c, NlSock& rtnl) {
  auto link = net::link_by_name(rtnl, c.ifname);
  if (!link) return std::move(link).error();
  bool kernel_dev = *link && (*link)->kind == "wireguard";
  bool user_dev = *link && (*link)->kind == "tun";
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

Result<Report> reconcile(const Config& c, const std::vector<net::IpAddr>& prefsrc, bool apply) {
  PhaseTimer timer;
  Report rep;
  auto lock = lock_device();
  if (!lock) return std::move(lock).error();
  auto key = apply ? net::load_or_create_key(c.private_key_file) : net::load_key(c.private_key_file);
  if (!key) {
    int code = key.error().sys == ENOENT ? cni::kErrCheckMismatch : cni::kErrInvalidConfig;
    return cni::fail(code, "privateKeyFile: " + key.error().msg);
  }
  const net::Key own = key->public_key();
  if (auto s = validate_peers(c, own); !s) return std::move(s).error();
  auto want = desired(c, own);
  if (!want) return std::move(want).error();
  timer.mark("key, validate, desired");

  auto rtnl = NlSock::open();
  if (!rtnl) return std::move(rtnl).error();
  auto backend = open_backend(c, *rtnl);
  if (!backend) return std::move(backend).error();
  rep.backend = (*backend)->kind();

  int ifindex = 0;
  if (apply) {
    auto idx = (*backend)->ensure_device(*rtnl, c.ifname);
    if (!idx) return std::move(idx).error();
    ifindex = *idx;
  } else {
    auto l = net::link_by_name(*rtnl, c.ifname);
    if (!l) return std::move(l).error();
    if (!*l) return cni::fail(cni::kErrCheckMismatch, "WireGuard device " + c.ifname + " does not exist");
    ifindex = (*l)->index;
  }
  rep.ifindex = ifindex;

  timer.mark("backend, device");
  auto cur = (*backend)->get(c.ifname);
  if (!cur) return std::move(cur).error();
  timer.mark("get");
  cur->ifindex = ifindex;
  cur->name = c.ifname;
  bool key_differs = false;
  net::wg::Update u = diff(*cur, *want, key_differs);
  if (key_differs) {
    if (apply) {
      u.private_key = &*key;
    } else {
      rep.differences.push_back("device " + c.ifname + " has a different private key");
    }
  }
  for (const auto& p : u.peers) {
    if (p.flags & WGPEER_F_REMOVE_ME) {
      ++rep.peers_removed;
    } else if (p.flags & WGPEER_F_UPDATE_ONLY) {
      ++rep.peers_updated;
    } else {
      ++rep.peers_added;
    }
    if (!apply) rep.differences.push_back(describe(p));
  }
  if (!apply && u.listen_port) rep.differences.push_back("listen port " + std::to_string(cur->listen_port) + ", want " + std::to_string(*u.listen_port));
  if (!apply && u.fwmark) rep.differences.push_back("fwmark " + std::to_string(cur->fwmark) + ", want " + std::to_string(*u.fwmark));
  timer.mark("diff");
  if (apply && !u.empty()) {
    if (auto s = (*backend)->set(u); !s) return std::move(s).error();
    rep.set_messages = 1;
  }
  timer.mark("set");

  // Link: MTU and up.
  auto link = net::link_by_index(*rtnl, ifindex);
  if (!link || !*link) return link ? Error::from_errno(ENODEV, c.ifname) : std::move(link).error();
  int mtu = c.mtu ? c.mtu : derive_mtu(*rtnl, c);
  net::LinkChange ch;
  if ((*link)->mtu != mtu) ch.mtu = mtu;
  if (!(*link)->up()) ch.up = true;
  if (ch.mtu || ch.up) {
    if (!apply) {
      if (ch.mtu) rep.differences.push_back(c.ifname + " MTU " + std::to_string((*link)->mtu) + ", want " + std::to_string(mtu));
      if (ch.up) rep.differences.push_back(c.ifname + " is down");
    } else if (auto s = net::link_change(*rtnl, ifindex, ch); !s) {
      return std::move(s).error();
    }
  }

  timer.mark("link");
  // Routes: every peer's allowed IPs via the device, from the local gateway — if it is an
  // address of this node (a bridge without isGateway has none; the kernel would refuse it).
  auto local = net::addr_list(*rtnl, 0);
  if (!local) return std::move(local).error();
  for (int family : {AF_INET, AF_INET6}) {
    std::optional<net::IpAddr> src;
    for (const auto& a : prefsrc) {
      bool is_local = std::any_of(local->begin(), local->end(), [&](const net::AddrInfo& l) { return l.addr.addr == a; });
      if (a.family == family && is_local) src = a;
    }
    // All go to the same device (WireGuard picks the peer), so the union of the allowed IPs,
    // aggregated, is the whole route set: 5 000 consecutive /32s become five routes.
    std::vector<net::IpNet> nets;
    for (const auto& p : c.peers)
      for (const auto& a : p.allowed_ips)
        if (a.addr.family == family) nets.push_back(a);
    std::vector<net::RouteInfo> want_routes;
    for (const auto& n : net::aggregate(std::move(nets))) {
      net::RouteInfo r;
      r.dst = n;
      r.oif = ifindex;
      r.scope = RT_SCOPE_LINK;
      r.prefsrc = src;
      want_routes.push_back(r);
    }
    auto have = net::route_list(*rtnl, family);
    if (!have) return std::move(have).error();
    // Ours: static routes on the device (the kernel's own, e.g. fe80::/64, are left alone).
    std::erase_if(*have, [&](const net::RouteInfo& r) { return r.oif != ifindex || r.protocol != RTPROT_STATIC; });
    // Compare as sorted lists: thousands of peers must not cost thousands squared.
    auto by_dst = [](const net::RouteInfo& a, const net::RouteInfo& b) {
      return a.dst.addr != b.dst.addr ? a.dst.addr < b.dst.addr : a.dst.len < b.dst.len;
    };
    std::sort(want_routes.begin(), want_routes.end(), by_dst);
    std::sort(have->begin(), have->end(), by_dst);
    std::vector<net::NlMsg> adds, dels;
    for (const auto& w : want_routes) {
      auto it = std::lower_bound(have->begin(), have->end(), w, by_dst);
      if (it != have->end() && it->dst == w.dst && it->prefsrc == w.prefsrc) continue;
      ++rep.routes_added;
      if (!apply) {
        rep.differences.push_back("route " + w.dst.str() + " via " + c.ifname + " missing");
      } else {
        adds.push_back(net::route_add_message(w, true));
      }
    }
    for (const auto& h : *have) {
      if (std::binary_search(want_routes.begin(), want_routes.end(), h, by_dst)) continue;
      ++rep.routes_removed;
      if (!apply) {
        rep.differences.push_back("unexpected route " + h.dst.str() + " via " + c.ifname);
      } else {
        dels.push_back(net::route_del_message(h));
      }
    }
    // Thousands of peers: one round trip per batch of routes, not per route.
    if (!dels.empty()) {
      if (auto s = rtnl->request_batch(dels, "delete routes via " + c.ifname); !s && s.error().sys != ESRCH) {
        return std::move(s).error();
      }
    }
    if (!adds.empty()) {
      if (auto s = rtnl->request_batch(adds, "add routes via " + c.ifname); !s) return std::move(s).error();
    }
  }
  timer.mark("routes");
  return rep;
}

}  // namespace zl::wg
