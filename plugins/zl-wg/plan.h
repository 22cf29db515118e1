// Decide, then do: what the node's mesh device should be (Desired), what the kernel has
// (Snapshot), and the pure difference between them (Plan). CHECK is "the plan is not empty",
// `zl-wg sync --dry-run` prints it, ADD and sync execute it.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libnet/netlink/netlink.h"
#include "libnet/wireguard/wireguard.h"

namespace zl::wg {

// Routes zl-wg installs carry this protocol number: how they are told apart from every other
// route (the kernel's, DHCP's, an operator's). Not one iproute2's rt_protos names.
inline constexpr int kRouteProtocol = 213;

struct Desired {
  std::string ifname;
  net::Key public_key{};  // of the node's private key
  uint16_t listen_port = 0;
  uint32_t fwmark = 0;
  int mtu = 0;  // 0: underlay MTU - 80
  std::vector<net::wg::Peer> peers;        // preshared keys loaded
  std::vector<net::IpAddr> prefsrc;        // local pod gateways: preferred source of the routes
  // Peers behind NAT (config "behindNAT"): the endpoint the device has for them (learned from
  // their handshakes, i.e. roaming, or set before) is kept; theirs is set only when it has none.
  std::set<net::Key> behind_nat;
};

struct Snapshot {
  bool device_exists = false;
  int ifindex = 0;
  int mtu = 0;
  bool up = false;
  net::wg::Device device;                   // what WireGuard reports (when it exists)
  int underlay_mtu = 0;                     // 0: unknown
  std::vector<net::RouteInfo> routes;       // the main table, both families, every protocol
  std::vector<net::IpAddr> local_addrs;     // addresses of this node
};

// A wanted route whose destination is already routed by someone else.
struct RouteConflict {
  net::RouteInfo wanted;
  net::RouteInfo existing;
  net::Key peer{};  // a peer whose allowed IPs the wanted route covers
};

struct Plan {
  bool create_device = false;
  bool set_private_key = false;
  net::wg::Update update;  // port, fwmark, peers; empty() when they match
  std::optional<int> set_mtu;
  bool set_up = false;
  std::vector<net::RouteInfo> route_adds;  // replace: take over a route via our own device
  std::vector<bool> route_replaces;        // per add
  std::vector<net::RouteInfo> route_dels;
  std::vector<RouteConflict> conflicts;    // non-empty: the plan must not be executed
  size_t peers_added = 0, peers_updated = 0, peers_removed = 0;

  bool empty() const;
  // One line per change ("add peer …", "route 10.244.2.0/24 via zl-wg0 missing", …).
  std::vector<std::string> describe(const std::string& ifname) const;
};

// Pure: the smallest set of changes that turns `have` into `want`. Unchanged peers are not
// mentioned (their sessions and counters survive), changed ones are updated in place, unknown
// ones removed; the endpoint of a peer behind NAT is never changed once the device has one.
// Routes: the aggregated union of the peers' allowed IPs via the device, ours
// recognised by kRouteProtocol; a wanted destination routed by anything but us (and not via
// our own device) is a conflict, never replaced.
Plan make_plan(Desired want, const Snapshot& have);

// The MTU the device should have.
int wanted_mtu(const Desired& want, const Snapshot& have);

}  // namespace zl::wg
