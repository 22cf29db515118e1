#include "plugins/zl-wg/plan.h"

#include <linux/rtnetlink.h>
#include <linux/wireguard.h>

#include <algorithm>
#include <map>

namespace zl::wg {

using net::wg::Peer;

namespace {

constexpr int kOverhead = 80;  // WireGuard over IPv6: 40 IP + 8 UDP + 32 WireGuard

std::vector<net::IpNet> sorted(std::vector<net::IpNet> v) {
  for (auto& n : v) n = n.masked();
  std::sort(v.begin(), v.end(), [](const net::IpNet& a, const net::IpNet& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.len < b.len;
  });
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool same_psk(const std::optional<net::SecretKey>& a, const std::optional<net::SecretKey>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || a->equals(*b);
}

// Peers: the smallest update. Desired peers are consumed (their preshared keys move on).
void plan_peers(const net::wg::Device& cur, std::vector<Peer>& want, const std::set<net::Key>& behind_nat, Plan& p) {
  std::map<net::Key, const Peer*> have;
  for (const auto& h : cur.peers) have[h.public_key] = &h;
  for (auto& w : want) {
    auto it = have.find(w.public_key);
    if (it == have.end()) {
      w.flags = WGPEER_F_REPLACE_ALLOWEDIPS;
      p.update.peers.push_back(std::move(w));
      ++p.peers_added;
      continue;
    }
    const Peer& h = *it->second;
    have.erase(it);
    // Behind NAT: the address the device has (its handshakes taught it) is the one that
    // works; the configured one is only a first guess. No endpoint attribute: unchanged.
    if (h.endpoint && behind_nat.count(w.public_key)) w.endpoint.reset();
    bool differs = !same_psk(h.preshared_key, w.preshared_key) || (w.endpoint && h.endpoint != w.endpoint) ||
                   h.keepalive != w.keepalive;
    bool aips_differ = sorted(h.allowed_ips) != sorted(w.allowed_ips);
    if (!differs && !aips_differ) continue;  // untouched: its session and counters survive
    w.flags = WGPEER_F_UPDATE_ONLY | (aips_differ ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
    if (!aips_differ) w.allowed_ips.clear();
    p.update.peers.push_back(std::move(w));
    ++p.peers_updated;
  }
  for (const auto& [key, h] : have) {
    Peer gone;
    gone.public_key = key;
    gone.flags = WGPEER_F_REMOVE_ME;
    p.update.peers.push_back(std::move(gone));
    ++p.peers_removed;
  }
}

bool by_dst(const net::RouteInfo& a, const net::RouteInfo& b) {
  if (a.dst.addr != b.dst.addr) return a.dst.addr < b.dst.addr;
  if (a.dst.len != b.dst.len) return a.dst.len < b.dst.len;
  return a.priority < b.priority;
}

// Routes: every peer's allowed IPs via the device. All go to the same device (WireGuard picks
// the peer), so the union, aggregated, is the whole route set: 5 000 /32s in a row become a
// few routes. Compared as sorted lists: thousands of peers cost n log n, not n².
void plan_routes(const Desired& want, const std::vector<Peer>& peers, const Snapshot& have, Plan& p) {
  for (int family : {AF_INET, AF_INET6}) {
    std::optional<net::IpAddr> src;
    for (const auto& a : want.prefsrc) {
      // The kernel refuses a preferred source that is not an address of this node.
      if (a.family == family && std::find(have.local_addrs.begin(), have.local_addrs.end(), a) != have.local_addrs.end()) {
        src = a;
      }
    }
    std::vector<net::IpNet> nets;
    for (const auto& peer : peers)
      for (const auto& a : peer.allowed_ips)
        if (a.addr.family == family) nets.push_back(a);
    std::vector<net::RouteInfo> wanted;
    for (const auto& n : net::aggregate(std::move(nets))) {
      net::RouteInfo r;
      r.dst = n;
      r.oif = have.ifindex;
      r.scope = RT_SCOPE_LINK;
      r.protocol = kRouteProtocol;
      r.prefsrc = src;
      wanted.push_back(r);
    }
    std::vector<net::RouteInfo> existing;
    for (const auto& r : have.routes)
      if (r.dst.addr.family == family) existing.push_back(r);
    std::sort(wanted.begin(), wanted.end(), by_dst);
    std::sort(existing.begin(), existing.end(), by_dst);
    const bool device = have.device_exists;
    auto ours = [&](const net::RouteInfo& r) { return device && r.protocol == kRouteProtocol && r.oif == have.ifindex; };
    for (const auto& w : wanted) {
      // The kernel keys a route by table, destination and metric: anything there already is
      // either ours, or via our device (taken over), or someone else's (a conflict).
      auto it = std::lower_bound(existing.begin(), existing.end(), w, by_dst);
      if (it == existing.end() || it->dst != w.dst || it->priority != w.priority) {
        p.route_adds.push_back(w);
        p.route_replaces.push_back(false);
      } else if (ours(*it)) {
        if (it->prefsrc == w.prefsrc) continue;
        p.route_adds.push_back(w);
        p.route_replaces.push_back(true);
      } else if (device && it->oif == have.ifindex) {
        p.route_adds.push_back(w);
        p.route_replaces.push_back(true);
      } else {
        RouteConflict c{w, *it, {}};
        for (const auto& peer : peers) {
          for (const auto& a : peer.allowed_ips)
            if (w.dst.overlaps(a)) c.peer = peer.public_key;
          if (c.peer != net::Key{}) break;
        }
        p.conflicts.push_back(c);
      }
    }
    for (const auto& h : existing) {
      if (!ours(h) || std::binary_search(wanted.begin(), wanted.end(), h, by_dst)) continue;
      p.route_dels.push_back(h);
    }
  }
}

}  // namespace

int wanted_mtu(const Desired& want, const Snapshot& have) {
  if (want.mtu) return want.mtu;
  if (have.underlay_mtu > kOverhead + 1280) return have.underlay_mtu - kOverhead;
  return 1420;
}

Plan make_plan(Desired want, const Snapshot& have) {
  Plan p;
  p.create_device = !have.device_exists;
  p.update.name = want.ifname;
  p.update.ifindex = have.ifindex;
  const net::wg::Device& cur = have.device;
  p.set_private_key = !cur.public_key || *cur.public_key != want.public_key;
  if (cur.listen_port != want.listen_port) p.update.listen_port = want.listen_port;
  if (cur.fwmark != want.fwmark) p.update.fwmark = want.fwmark;
  // Routes first: they read the desired peers, which the peer plan then consumes.
  plan_routes(want, want.peers, have, p);
  plan_peers(cur, want.peers, want.behind_nat, p);
  int mtu = wanted_mtu(want, have);
  if (have.mtu != mtu) p.set_mtu = mtu;
  p.set_up = !have.up;
  return p;
}

bool Plan::empty() const {
  return !create_device && !set_private_key && update.empty() && !set_mtu && !set_up && route_adds.empty() &&
         route_dels.empty() && conflicts.empty();
}

std::vector<std::string> Plan::describe(const std::string& ifname) const {
  std::vector<std::string> out;
  if (create_device) out.push_back("WireGuard device " + ifname + " does not exist");
  if (set_private_key && !create_device) out.push_back("device " + ifname + " has a different private key");
  if (update.listen_port) out.push_back("listen port: want " + std::to_string(*update.listen_port));
  if (update.fwmark) out.push_back("fwmark: want " + std::to_string(*update.fwmark));
  for (const auto& peer : update.peers) {
    std::string k = net::key_to_base64(peer.public_key);
    if (peer.flags & WGPEER_F_REMOVE_ME) {
      out.push_back("unexpected peer " + k);
    } else if (peer.flags & WGPEER_F_UPDATE_ONLY) {
      out.push_back("peer " + k + " differs");
    } else {
      out.push_back("missing peer " + k);
    }
  }
  if (set_mtu) out.push_back(ifname + " MTU: want " + std::to_string(*set_mtu));
  if (set_up && !create_device) out.push_back(ifname + " is down");
  for (const auto& r : route_adds) out.push_back("route " + r.dst.str() + " via " + ifname + " missing");
  for (const auto& r : route_dels) out.push_back("unexpected route " + r.dst.str() + " via " + ifname);
  for (const auto& c : conflicts) {
    out.push_back("route " + c.wanted.dst.str() + " (allowed IPs of peer " + net::key_to_base64(c.peer) +
                  ") is already routed by someone else (protocol " + std::to_string(c.existing.protocol) + ")");
  }
  return out;
}

}  // namespace zl::wg
