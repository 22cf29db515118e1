// zl-bridge commands and the host-side pieces they share.
#pragma once

#include "libcni/skel.h"
#include "libnet/core/file.h"
#include "libnet/netlink/netlink.h"
#include "plugins/zl-bridge/config.h"

namespace zl::bridge {

Result<cni::CniResult> cmd_add(const cni::Context& ctx);
Status cmd_del(const cni::Context& ctx);
Status cmd_check(const cni::Context& ctx);
Status cmd_gc(const cni::Context& ctx);
Status cmd_status(const cni::Context& ctx);

// Serializes bridge and firewall changes on this host: a bridge is never removed between an
// ADD's lookup and its port joining, rules never dropped while a pod is being added.
Result<net::DirLock> lock_network();

// Our ports (host veths of this network) on the bridge.
Result<std::vector<net::LinkInfo>> network_ports(net::NlSock& host, const Config& c);

// Removes the network's firewall rules when no pod is left on the bridge.
// Call with the network lock held.
Status drop_rules_if_unused(net::NlSock& host, const Config& c);
// Deletes the bridge when no link at all is its port. Call with the network lock held.
Status remove_bridge_if_unused(net::NlSock& host, const Config& c);

}  // namespace zl::bridge
