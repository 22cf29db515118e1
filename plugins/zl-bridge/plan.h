// ADD and CHECK as "decide, then do": the desired attachment and a snapshot of what the
// kernel holds → the changes that would make them agree. Pure: no kernel access here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcni/types.h"
#include "libnet/netlink/netlink.h"
#include "plugins/zl-bridge/config.h"

namespace zl::bridge {

// What the kernel holds for one attachment.
struct Snapshot {
  std::optional<net::LinkInfo> bridge;  // the link named Config::bridge, whatever its kind
  std::vector<net::AddrInfo> bridge_addrs;
  std::optional<net::LinkInfo> host_veth;
  std::optional<net::LinkInfo> pod_link;  // the pod's interface (CNI_IFNAME)
  bool pod_lo_up = false;
  std::vector<net::AddrInfo> pod_addrs;    // of pod_link
  std::vector<net::RouteInfo> pod_routes;  // main table, both families
};

// What the attachment should be.
struct Desired {
  std::string host_veth, ifname, alias;
  std::optional<std::string> pod_mac;  // CHECK: the MAC prevResult reports
  std::vector<cni::IpConfig> ips;      // the pod's addresses and gateways ([] before IPAM ran)
  std::vector<cni::Route> routes;      // the pod's routes as the result lists them
};

enum class Op {
  kCreateBridge,  // and make it up, MTU as configured
  kSetBridge,     // .link: up, mtu, promisc
  kReplaceVeth,   // a host end without its pod end: a crashed ADD's; delete it, then create
  kCreateVeth,    // host end a port of the bridge, pod end inside the pod
  kSetHostVeth,   // .link: up, alias; master set means "make it a port of the bridge"
  kSetPort,       // hairpin, isolation (only for a veth created by this plan)
  kSetPortVlan,   // PVID (idem)
  kDelGateway,    // .addr: a stale address of the gateway's subnet (forceAddress)
  kAddGateway,    // .addr
  kPodLoUp,
  kPodMac,        // CHECK only: the pod's MAC differs from prevResult's
  kPodAddress,    // .addr
  kPodUp,
  kPodRoute,      // .route (oif: the pod link, set by the executor)
};

struct Change {
  Op op;
  std::string why;  // what differs, for CHECK's report and logs
  net::LinkChange link{};
  net::IpNet addr{};
  net::RouteInfo route{};
};

struct Plan {
  std::vector<Change> changes;
  bool empty() const { return changes.empty(); }
  // The reasons, "; " separated.
  std::string str() const;
};

// The changes, in the order they must be applied. Code 7 when the kernel holds something
// only the operator may change: a non-bridge link with the bridge's name, another address
// of the gateway's subnet on the bridge without forceAddress.
Result<Plan> plan_attachment(const Config& c, const Desired& want, const Snapshot& have);

// The pod's routes as the result lists them: IPAM's, plus a default route per family via
// its gateway when isDefaultGateway and IPAM gave none.
std::vector<cni::Route> pod_routes(const Config& c, const cni::CniResult& ipam);

}  // namespace zl::bridge
