// zl-wg's planner, without a kernel: desired state + snapshot → the smallest set of changes;
// routes that belong to someone else are never taken over.
#include <doctest/doctest.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>

#include "libnet/wireguard/keys.h"
#include "plugins/zl-wg/plan.h"

using namespace zl::net;
using namespace zl::net::wg;
using zl::wg::Desired;
using zl::wg::kRouteProtocol;
using zl::wg::make_plan;
using zl::wg::Snapshot;

namespace {

Key key_n(uint32_t n) {
  Key k{};
  k[0] = static_cast<uint8_t>(n);
  k[31] = 0x42;
  return k;
}

IpNet net_of(const char* s) { return *IpNet::parse(s); }

Peer peer(uint32_t n, std::vector<const char*> aips, const char* endpoint = nullptr) {
  Peer p;
  p.public_key = key_n(n);
  for (const char* a : aips) p.allowed_ips.push_back(net_of(a));
  if (endpoint) p.endpoint = Endpoint{*IpAddr::parse(endpoint), 51820};
  p.keepalive = 25;
  return p;
}

// A node whose device exists, holds `peers` and the routes for them, up, MTU 1420.
struct Node {
  Snapshot have;
  Desired want;
  Node() {
    have.device_exists = true;
    have.ifindex = 9;
    have.mtu = 1420;
    have.up = true;
    have.device.name = "zl-wg0";
    have.device.ifindex = 9;
    have.device.listen_port = 51820;
    have.device.public_key = key_n(100);
    have.local_addrs = {*IpAddr::parse("10.244.1.1"), *IpAddr::parse("192.0.2.1")};
    want.ifname = "zl-wg0";
    want.public_key = key_n(100);
    want.listen_port = 51820;
    want.mtu = 1420;
  }
  void route(const char* dst, int oif, int protocol, int type = RTN_UNICAST) {
    RouteInfo r;
    r.dst = net_of(dst);
    r.oif = oif;
    r.protocol = protocol;
    r.type = type;
    have.routes.push_back(r);
  }
  void ours(const char* dst) { route(dst, 9, kRouteProtocol); }
};

}  // namespace

TEST_CASE("plan: unchanged peers untouched, changed updated in place, stale removed") {
  Node n;
  Peer a = peer(1, {"10.244.2.0/24"}, "192.0.2.2"), b = peer(2, {"10.244.3.0/24"}, "192.0.2.3"),
       c = peer(3, {"10.244.4.0/24"}, "192.0.2.4");
  a.handshake_sec = 123;  // live session state is not part of the comparison
  a.rx_bytes = 99;
  n.have.device.peers.push_back(std::move(a));
  n.have.device.peers.push_back(std::move(b));
  n.have.device.peers.push_back(std::move(c));
  n.ours("10.244.2.0/23");
  n.ours("10.244.4.0/24");
  n.want.peers.push_back(peer(1, {"10.244.2.0/24"}, "192.0.2.2"));
  n.want.peers.push_back(peer(2, {"10.244.3.0/24"}, "198.51.100.7"));  // moved
  n.want.peers.push_back(peer(5, {"10.244.5.0/24", "fd00:5::/64"}, "192.0.2.5"));
  auto p = make_plan(std::move(n.want), n.have);
  CHECK_FALSE(p.set_private_key);
  CHECK_FALSE(p.update.listen_port);
  REQUIRE(p.update.peers.size() == 3);
  CHECK(p.update.peers[0].public_key == key_n(2));
  CHECK(p.update.peers[0].flags == WGPEER_F_UPDATE_ONLY);
  CHECK(p.update.peers[0].allowed_ips.empty());  // unchanged allowed IPs are not replaced
  CHECK(p.update.peers[1].public_key == key_n(5));
  CHECK(p.update.peers[1].flags == WGPEER_F_REPLACE_ALLOWEDIPS);
  CHECK(p.update.peers[2].public_key == key_n(3));
  CHECK(p.update.peers[2].flags == WGPEER_F_REMOVE_ME);
  CHECK(p.peers_added == 1);
  CHECK(p.peers_updated == 1);
  CHECK(p.peers_removed == 1);
  // Routes: 10.244.2.0/23 stays, 10.244.4.0/24 goes, 10.244.5.0/24 and fd00:5::/64 come.
  REQUIRE(p.route_adds.size() == 2);
  CHECK(p.route_adds[0].dst.str() == "10.244.5.0/24");
  CHECK(p.route_adds[0].protocol == kRouteProtocol);
  CHECK(p.route_adds[1].dst.str() == "fd00:5::/64");
  REQUIRE(p.route_dels.size() == 1);
  CHECK(p.route_dels[0].dst.str() == "10.244.4.0/24");
  CHECK(p.conflicts.empty());
}

TEST_CASE("plan: the same desired state again is empty; allowed IPs compare as sets") {
  Node n;
  n.have.device.peers.push_back(peer(1, {"10.244.3.0/24", "10.244.2.0/24"}, "192.0.2.2"));
  n.ours("10.244.2.0/23");
  n.want.peers.push_back(peer(1, {"10.244.2.0/24", "10.244.3.0/24"}, "192.0.2.2"));
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.empty());
  CHECK(p.describe("zl-wg0").empty());
}

TEST_CASE("plan: a changed preshared key is an in-place update") {
  Node n;
  Peer h = peer(1, {"10.244.2.0/24"});
  Key k1 = key_n(7), k2 = key_n(8);
  h.preshared_key = SecretKey::from(k1);
  n.have.device.peers.push_back(std::move(h));
  n.ours("10.244.2.0/24");
  Peer w = peer(1, {"10.244.2.0/24"});
  w.preshared_key = SecretKey::from(k2);
  n.want.peers.push_back(std::move(w));
  auto p = make_plan(std::move(n.want), n.have);
  REQUIRE(p.update.peers.size() == 1);
  CHECK(p.update.peers[0].flags == WGPEER_F_UPDATE_ONLY);
  REQUIRE(p.update.peers[0].preshared_key);
  CHECK(p.update.peers[0].preshared_key->bytes() == key_n(8));
}

TEST_CASE("plan: a route someone else holds is a conflict, never replaced") {
  for (const char* dst : {"0.0.0.0/0", "10.244.1.0/24"}) {
    CAPTURE(dst);
    Node n;
    n.route("0.0.0.0/0", 2, RTPROT_DHCP);           // the uplink's default route
    n.route("10.244.1.0/24", 5, RTPROT_KERNEL);     // the node's own pod subnet on its bridge
    n.want.peers.push_back(peer(1, {dst}));
    auto p = make_plan(std::move(n.want), n.have);
    REQUIRE(p.conflicts.size() == 1);
    CHECK(p.conflicts[0].wanted.dst.str() == dst);
    CHECK(p.conflicts[0].existing.oif != 9);
    CHECK(p.conflicts[0].peer == key_n(1));
    CHECK(p.route_adds.empty());
    CHECK_FALSE(p.empty());
  }
  Node n;  // a blackhole an operator put there counts too
  n.route("10.244.7.0/24", 0, RTPROT_STATIC, RTN_BLACKHOLE);
  n.want.peers.push_back(peer(1, {"10.244.7.0/24"}));
  CHECK(make_plan(std::move(n.want), n.have).conflicts.size() == 1);
}

TEST_CASE("plan: more specific or less specific routes of others are no conflict") {
  Node n;
  n.route("0.0.0.0/0", 2, RTPROT_DHCP);
  n.route("10.244.1.0/24", 5, RTPROT_KERNEL);
  n.want.peers.push_back(peer(1, {"10.244.0.0/16"}));  // covers the bridge's /24: that one wins
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.conflicts.empty());
  REQUIRE(p.route_adds.size() == 1);
  CHECK(p.route_adds[0].dst.str() == "10.244.0.0/16");
}

TEST_CASE("plan: only our own routes are removed; a route via our device is taken over") {
  Node n;
  n.route("10.244.9.0/24", 9, RTPROT_STATIC);   // an operator's route into our device
  n.route("10.244.8.0/24", 9, RTPROT_STATIC);   // the same, and we want it: replaced with ours
  n.route("10.99.0.0/16", 3, RTPROT_STATIC);    // elsewhere
  n.ours("10.244.6.0/24");                      // ours, no longer wanted
  n.want.peers.push_back(peer(1, {"10.244.8.0/24"}));
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.conflicts.empty());
  REQUIRE(p.route_adds.size() == 1);
  CHECK(p.route_adds[0].dst.str() == "10.244.8.0/24");
  CHECK(p.route_replaces[0]);
  REQUIRE(p.route_dels.size() == 1);
  CHECK(p.route_dels[0].dst.str() == "10.244.6.0/24");
}

TEST_CASE("plan: the preferred source is a local gateway, never a foreign address") {
  Node n;
  n.want.prefsrc = {*IpAddr::parse("10.244.1.1"), *IpAddr::parse("10.9.9.9")};
  n.want.peers.push_back(peer(1, {"10.244.2.0/24"}));
  auto p = make_plan(std::move(n.want), n.have);
  REQUIRE(p.route_adds.size() == 1);
  CHECK(p.route_adds[0].prefsrc == IpAddr::parse("10.244.1.1"));
  Node m;
  m.want.prefsrc = {*IpAddr::parse("10.9.9.9")};
  m.want.peers.push_back(peer(1, {"10.244.2.0/24"}));
  CHECK_FALSE(make_plan(std::move(m.want), m.have).route_adds[0].prefsrc.has_value());
}

TEST_CASE("plan: a missing device, its key, port, MTU and state") {
  Node n;
  n.have = Snapshot{};
  n.have.underlay_mtu = 9000;
  n.want.mtu = 0;
  n.want.peers.push_back(peer(1, {"10.244.2.0/24"}));
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.create_device);
  CHECK(p.set_private_key);
  CHECK(p.update.listen_port == 51820);
  CHECK(p.set_mtu == 8920);
  CHECK(p.set_up);
  CHECK(p.route_adds.size() == 1);
  auto lines = p.describe("zl-wg0");
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0] == "WireGuard device zl-wg0 does not exist");

  Node d;
  d.have.up = false;
  d.have.mtu = 1500;
  d.have.device.public_key = key_n(5);
  auto q = make_plan(std::move(d.want), d.have);
  CHECK(q.set_private_key);
  CHECK(q.set_mtu == 1420);
  CHECK(q.set_up);
}

TEST_CASE("plan: 5000 peers in a row become a handful of routes, and a no-op stays one") {
  Node n;
  for (uint32_t i = 0; i < 5000; ++i) {
    Peer p;
    p.public_key = key_n(i + 1);
    p.public_key[1] = static_cast<uint8_t>(i >> 8);
    p.allowed_ips.push_back(IpNet{IpAddr::from_u128(AF_INET, (u128{10} << 24) + (u128{1} << 16) + i), 32});
    n.have.device.peers.push_back(std::move(p));
  }
  for (const auto& p : n.have.device.peers) {
    Peer w;
    w.public_key = p.public_key;
    w.allowed_ips = p.allowed_ips;
    n.want.peers.push_back(std::move(w));
  }
  auto first = make_plan(Desired{n.want.ifname, n.want.public_key, n.want.listen_port, 0, 1420, {}, {}}, n.have);
  CHECK(first.update.peers.size() == 5000);  // removals: none are wanted by an empty Desired
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.update.peers.empty());
  CHECK(p.route_adds.size() <= 6);
}

TEST_CASE("plan: behindNAT keeps the endpoint the device learned (roaming), sets one only when it has none") {
  // The device learned 198.51.100.7 from the peer's handshakes; the config says 192.0.2.2.
  Node n;
  n.have.device.peers.push_back(peer(1, {"10.244.2.0/24"}, "198.51.100.7"));
  n.ours("10.244.2.0/24");
  n.want.peers.push_back(peer(1, {"10.244.2.0/24"}, "192.0.2.2"));
  n.want.behind_nat.insert(key_n(1));
  auto p = make_plan(std::move(n.want), n.have);
  CHECK(p.empty());  // nothing else differs: no update at all

  // Something else changes: the update carries no endpoint (the device keeps its own).
  Node m;
  m.have.device.peers.push_back(peer(1, {"10.244.2.0/24"}, "198.51.100.7"));
  m.ours("10.244.2.0/24");
  m.want.peers.push_back(peer(1, {"10.244.2.0/24"}, "192.0.2.2"));
  m.want.peers[0].keepalive = 10;
  m.want.behind_nat.insert(key_n(1));
  p = make_plan(std::move(m.want), m.have);
  REQUIRE(p.update.peers.size() == 1);
  CHECK(p.update.peers[0].flags == WGPEER_F_UPDATE_ONLY);
  CHECK(p.update.peers[0].keepalive == 10);
  CHECK_FALSE(p.update.peers[0].endpoint.has_value());

  // The device has no endpoint for it: the configured one is set.
  Node e;
  e.have.device.peers.push_back(peer(1, {"10.244.2.0/24"}));
  e.ours("10.244.2.0/24");
  e.want.peers.push_back(peer(1, {"10.244.2.0/24"}, "192.0.2.2"));
  e.want.behind_nat.insert(key_n(1));
  p = make_plan(std::move(e.want), e.have);
  REQUIRE(p.update.peers.size() == 1);
  REQUIRE(p.update.peers[0].endpoint.has_value());
  CHECK(p.update.peers[0].endpoint->str() == "192.0.2.2:51820");

  // A new peer behind NAT gets its configured endpoint.
  Node a;
  a.want.peers.push_back(peer(2, {"10.244.3.0/24"}, "192.0.2.3"));
  a.want.behind_nat.insert(key_n(2));
  p = make_plan(std::move(a.want), a.have);
  REQUIRE(p.update.peers.size() == 1);
  CHECK(p.update.peers[0].flags == WGPEER_F_REPLACE_ALLOWEDIPS);
  REQUIRE(p.update.peers[0].endpoint.has_value());
  CHECK(p.update.peers[0].endpoint->str() == "192.0.2.3:51820");
}

TEST_CASE("plan: without behindNAT a roamed endpoint is set back to the configured one") {
  Node n;
  n.have.device.peers.push_back(peer(1, {"10.244.2.0/24"}, "198.51.100.7"));
  n.have.device.peers.push_back(peer(2, {"10.244.3.0/24"}, "198.51.100.8"));
  n.ours("10.244.2.0/23");
  n.want.peers.push_back(peer(1, {"10.244.2.0/24"}, "192.0.2.2"));
  n.want.peers.push_back(peer(2, {"10.244.3.0/24"}, "192.0.2.3"));
  n.want.behind_nat.insert(key_n(2));  // only peer 2 is behind NAT
  auto p = make_plan(std::move(n.want), n.have);
  REQUIRE(p.update.peers.size() == 1);
  CHECK(p.update.peers[0].public_key == key_n(1));
  REQUIRE(p.update.peers[0].endpoint.has_value());
  CHECK(p.update.peers[0].endpoint->str() == "192.0.2.2:51820");
  CHECK(p.peers_updated == 1);
}
