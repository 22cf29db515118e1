// What zl-meshd keeps in etcd, under <prefix> (default /zl-cni/v1/<network>/):
//   config          {"clusterCIDR", "subnetLength", "clusterCIDRv6"?, "subnetLengthV6"?}  create-only
//   subnets/<cidr>  {"node", "publicKey"}        ownership: persistent, never leased
//   nodes/<name>    {"publicKey", "endpoint", "subnets", "persistentKeepalive", "behindNAT"}
//   alive/<name>    a timestamp, under the node's lease (gone ~leaseTTL after the agent stops)
// Records are untrusted input: every decoder validates, build_view skips what is bad and says why.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "libcni/json.h"
#include "libnet/core/ip.h"
#include "libnet/wireguard/keys.h"
#include "libnet/wireguard/wireguard.h"
#include "plugins/zl-wg/meshd/etcd.h"

namespace zl::meshd {

inline constexpr size_t kMaxRecordBytes = 4096;

struct ClusterRecord {
  net::IpNet cidr;
  int len = 24;
  std::optional<net::IpNet> cidr6;
  int len6 = 64;
  bool operator==(const ClusterRecord&) const = default;
};

struct SubnetRecord {
  std::string node;
  net::Key public_key{};
  bool operator==(const SubnetRecord&) const = default;
};

struct NodeRecord {
  net::Key public_key{};
  std::optional<net::wg::Endpoint> endpoint;
  std::vector<net::IpNet> subnets;
  int keepalive = 0;
  bool behind_nat = false;
  bool operator==(const NodeRecord&) const = default;
};

// The keys under a prefix.
struct Keys {
  std::string prefix;
  std::string config() const { return prefix + "config"; }
  std::string subnets() const { return prefix + "subnets/"; }
  std::string nodes() const { return prefix + "nodes/"; }
  std::string alive() const { return prefix + "alive/"; }
  std::string subnet(const net::IpNet& n) const { return subnets() + n.str(); }
  std::string node(const std::string& name) const { return nodes() + name; }
  std::string alive(const std::string& name) const { return alive() + name; }
};

std::string encode(const ClusterRecord& r);
std::string encode(const SubnetRecord& r);
std::string encode(const NodeRecord& r);
Result<ClusterRecord> decode_cluster(const std::string& value);
Result<SubnetRecord> decode_subnet(const std::string& value);
Result<NodeRecord> decode_node(const std::string& value);

// One peer as this node sees the mesh.
struct MeshPeer {
  std::string node;
  NodeRecord record;
  bool up = false;
  bool operator==(const MeshPeer&) const = default;
};

// The validated mesh: every node whose record is sound and whose subnets it owns.
struct View {
  std::map<std::string, NodeRecord> nodes;       // every valid node, this one included
  std::map<std::string, SubnetRecord> subnets;   // cidr → owner (valid ones)
  std::set<std::string> alive;
  std::vector<std::string> skipped;              // "nodes/x: why" — logged once by the agent
};

struct Self {
  std::string node;
  net::Key public_key{};
  ClusterRecord cluster;
};

// The per-node subnet length `key` of `obj` for the pod space `space`: from the space's own
// length to /30 (IPv4) or /120 (IPv6), leaving room for a gateway and pods; when absent /24 or
// /64 (the space itself if it is smaller). The agent's config and the config record share it.
Result<int> subnet_length(const cni::JVal& obj, std::string_view key, std::string_view path, const net::IpNet& space);

// A node name: 1-63 of [A-Za-z0-9._-] (a key component, a log word, never a path).
bool valid_node_name(const std::string& name);

// The mesh from every key under the prefix (key → kv). Pure.
View build_view(const Keys& keys, const Self& self, const std::map<std::string, KeyValue>& kvs);

// Every other node of `v`, sorted by name.
std::vector<MeshPeer> peers_of(const View& v, const Self& self);

// The subnets of `space` cut at `len`, first free one from a start derived from `node`
// (agents joining at once mostly try different ones). nullopt: the space is full.
std::optional<net::IpNet> pick_free(const net::IpNet& space, int len, const std::set<std::string>& taken,
                                    const std::string& node);

}  // namespace zl::meshd
