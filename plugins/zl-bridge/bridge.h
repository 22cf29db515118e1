// zl-bridge commands and the host-side pieces they share.
#pragma once

#include "libcni/skel.h"
#include "libnet/core/file.h"
#include "libnet/netlink/netlink.h"
#include "libnet/netlink/netns.h"
#include "plugins/zl-bridge/config.h"
#include "plugins/zl-bridge/plan.h"

namespace zl::bridge {

Result<cni::CniResult> cmd_add(const cni::Context& ctx);
Status cmd_del(const cni::Context& ctx);
Status cmd_check(const cni::Context& ctx);
Status cmd_gc(const cni::Context& ctx);
Status cmd_status(const cni::Context& ctx);

// The pod's network namespace and a netlink socket inside it. Code 3 when CNI_NETNS is gone,
// 4 when it is not a network namespace.
struct Pod {
  net::NetNs ns;
  net::NlSock sock;
};
Result<Pod> open_pod(const cni::Context& ctx);

// What the kernel holds for the attachment `want` describes (plan_attachment's input).
Result<Snapshot> take_snapshot(net::NlSock& host, Pod& pod, const Config& c, const Desired& want);

// Serializes bridge and firewall changes on this host: a bridge is never removed between an
// ADD's lookup and its port joining, rules never dropped while a pod is being added.
Result<net::DirLock> lock_network();

// Our ports on the bridge: host veths labelled for this network, and unlabelled ones of our
// derived-name shape (an ADD killed between creating and labelling them).
Result<std::vector<net::LinkInfo>> network_ports(net::NlSock& host, const Config& c);

// Removes the network's firewall rules when no pod is left on the bridge.
// Call with the network lock held.
Status drop_rules_if_unused(net::NlSock& host, const Config& c);
// Deletes the bridge when no link at all is its port. Call with the network lock held.
Status remove_bridge_if_unused(net::NlSock& host, const Config& c);

}  // namespace zl::bridge
