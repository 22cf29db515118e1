// The node's mesh device: snapshot the kernel, plan, and (unless checking) execute the plan.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libnet/netlink/netlink.h"
#include "libnet/wireguard/wireguard.h"
#include "plugins/zl-wg/config.h"
#include "plugins/zl-wg/plan.h"

namespace zl::wg {

struct Report {
  std::string backend;  // kernel | userspace
  int ifindex = 0;
  size_t peers_added = 0, peers_updated = 0, peers_removed = 0;
  size_t set_messages = 0;  // 0 on a no-op reconcile
  size_t routes_added = 0, routes_removed = 0;
  std::vector<std::string> changes;  // the plan, one line per change (what CHECK reports)
};

enum class Mode {
  kApply,  // make the node match the config
  kCheck,  // change nothing: report what differs (CHECK, `zl-wg sync --dry-run`)
};

// The backend for `c`: the one already serving the interface, else per `implementation`.
Result<std::unique_ptr<net::wg::Backend>> open_backend(const Config& c, net::NlSock& rtnl);

// The addresses of the pod bridge `bridge` but link-local ones (the gateways of the local
// pods): the preferred source of routes to remote pods. [] when absent or unnamed.
std::vector<net::IpAddr> gateway_addrs(const std::string& bridge);

// Brings the node's device in line with `c` (or, kCheck, says how it differs), under the
// device lock. `prefsrc`: the local pod gateways, preferred source of the routes to remote
// pods. A wanted route that someone else's route already holds fails the whole reconcile
// (code 7, naming both) before anything is changed.
Result<Report> reconcile(const Config& c, const std::vector<net::IpAddr>& prefsrc, Mode mode);

}  // namespace zl::wg
