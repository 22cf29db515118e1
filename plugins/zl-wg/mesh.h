// The node's mesh device: ensure (or just compare) device, key, port, MTU, peers, routes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libnet/netlink/netlink.h"
#include "libnet/wireguard/wireguard.h"
#include "plugins/zl-wg/config.h"

namespace zl::wg {

struct Report {
  std::string backend;  // kernel | userspace
  int ifindex = 0;
  size_t peers_added = 0, peers_updated = 0, peers_removed = 0;
  size_t set_messages = 0;  // 0 on a no-op reconcile
  size_t routes_added = 0, routes_removed = 0;
  std::vector<std::string> differences;  // dry run: what does not match
};

// The backend for `c`: the one already serving the interface, else per `implementation`.
Result<std::unique_ptr<net::wg::Backend>> open_backend(const Config& c, net::NlSock& rtnl);

// apply=true: make the node match `c`. apply=false (CHECK): change nothing, list differences.
// `prefsrc`: the local pod gateways, preferred source of the routes to remote pods.
Result<Report> reconcile(const Config& c, const std::vector<net::IpAddr>& prefsrc, bool apply);

}  // namespace zl::wg
