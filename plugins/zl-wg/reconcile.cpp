#include "plugins/zl-wg/reconcile.h"

#include <linux/wireguard.h>

#include <algorithm>
#include <map>

namespace zl::wg {

using net::wg::Peer;

static std::vector<net::IpNet> sorted(std::vector<net::IpNet> v) {
  for (auto& n : v) n = n.masked();
  std::sort(v.begin(), v.end(), [](const net::IpNet& a, const net::IpNet& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.len < b.len;
  });
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

net::wg::Update diff(const net::wg::Device& current, const Desired& want, bool& key_differs) {
  net::wg::Update u;
  u.name = current.name;
  u.ifindex = current.ifindex;
  key_differs = !current.public_key || *current.public_key != want.public_key;
  if (current.listen_port != want.listen_port) u.listen_port = want.listen_port;
  if (current.fwmark != want.fwmark) u.fwmark = want.fwmark;

  std::map<net::Key, const Peer*> have;
  for (const auto& p : current.peers) have[p.public_key] = &p;
  for (const auto& w : want.peers) {
    auto it = have.find(w.public_key);
    Peer change;
    change.public_key = w.public_key;
    if (it == have.end()) {
      change = w;
      change.flags = WGPEER_F_REPLACE_ALLOWEDIPS;
      u.peers.push_back(std::move(change));
      continue;
    }
    const Peer& h = *it->second;
    have.erase(it);
    bool differs = false;
    if (h.preshared_key != w.preshared_key) differs = true;
    if (w.endpoint && h.endpoint != w.endpoint) differs = true;
    if (h.keepalive != w.keepalive) differs = true;
    bool aips_differ = sorted(h.allowed_ips) != sorted(w.allowed_ips);
    if (!differs && !aips_differ) continue;  // untouched: its session and counters survive
    change = w;
    change.flags = WGPEER_F_UPDATE_ONLY | (aips_differ ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
    if (!aips_differ) change.allowed_ips.clear();
    if (!w.endpoint) change.endpoint.reset();
    u.peers.push_back(std::move(change));
  }
  for (const auto& [key, p] : have) {
    Peer gone;
    gone.public_key = key;
    gone.flags = WGPEER_F_REMOVE_ME;
    u.peers.push_back(gone);
  }
  return u;
}

}  // namespace zl::wg
