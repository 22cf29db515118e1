// zl-meshd's node agent: joins the mesh in etcd (claims a subnet, publishes its node record,
// keeps a liveness lease), watches the other nodes, and serves the plugins through local files
// while applying the peers to the device with zl-wg's reconcile. etcd unreachable: nothing on
// the device changes; the last known peers stay.
#pragma once

#include <csignal>
#include <string>

#include "plugins/zl-wg/meshd/config.h"

namespace zl::meshd {

struct AgentOptions {
  bool device = true;  // false: files only, never the WireGuard device (--no-device)
};

// Runs until *stop is set (SIGTERM/SIGINT). Returns the process exit code.
int run_agent(const MeshConfig& cfg, const AgentOptions& o, const volatile std::sig_atomic_t* stop);

// Removes `node` from the mesh (its node record and subnets, in one transaction); refused while
// the node is alive. When it is this node, its local files go too and (device) its peers.
Status leave(const MeshConfig& cfg, const std::string& node, const AgentOptions& o);

}  // namespace zl::meshd
