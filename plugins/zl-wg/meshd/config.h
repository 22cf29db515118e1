// zl-meshd's settings: the "mesh" object of the zl-wg plugin in the network's conflist, plus
// what the agent takes from the rest of that conflist (peers file, IPAM subnet files, bridge).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcni/conf.h"
#include "libnet/core/ip.h"
#include "plugins/zl-wg/config.h"
#include "plugins/zl-wg/meshd/etcd.h"

namespace zl::meshd {

struct MeshConfig {
  std::string network;
  std::string node;    // this node's name in the mesh (default: the host name)
  std::string prefix;  // etcd key prefix, ends in '/' (default /zl-cni/v1/<network>/)
  EtcdOptions etcd;
  net::IpNet cluster_cidr;  // IPv4 pod space, cut into subnet_len subnets, one per node
  int subnet_len = 24;
  std::optional<net::IpNet> cluster_cidr6;  // optional IPv6 pod space
  int subnet_len6 = 64;
  std::optional<net::wg::Endpoint> endpoint;  // published; nullopt: detected from the default route
  bool behind_nat = false;
  int keepalive = 25;        // persistentKeepalive peers get for this node
  int lease_ttl = 30;        // seconds: alive/<node> expires this long after the agent stops
  int keepalive_interval = 10;
  int resync_interval = 300;
  int node_gc = 0;           // seconds a node may stay down before the reaper removes it; 0: never
  std::string state_dir;     // last known state (default /var/lib/zl-cni/mesh/<network>)
  std::vector<std::string> subnet_files;  // zl-ipam's subnetFile paths: [0] IPv4, [1] IPv6
  std::string bridge;        // zl-bridge's bridge (its addresses are the routes' preferred source)
  wg::Config wg;             // the zl-wg plugin's config (device, key, peersFile), peers not loaded
  std::string wg_conf;       // the zl-wg plugin's config as a runtime passes it (for reconcile)
};

// Overrides from the command line (empty: keep the conflist's).
struct Overrides {
  std::vector<std::string> endpoints;
  std::string node, state_dir;
};

// The agent's config from a conflist: code 7 naming the bad or unknown key.
Result<MeshConfig> load_mesh_config(const std::string& conflist, const Overrides& o);

// The pure part: the "mesh" object (unknown keys refused by name).
Status parse_mesh_object(const cni::JVal& mesh, MeshConfig& out);

}  // namespace zl::meshd
