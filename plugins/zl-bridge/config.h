// zl-bridge configuration (top-level keys of the network config).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libcni/skel.h"
#include "libnet/firewall/firewall.h"
#include "libnet/core/ip.h"
#include "libnet/core/names.h"
#include "libnet/netlink/netlink.h"

namespace zl::bridge {

struct Config {
  std::string network;
  std::string bridge;  // given or "zl-" + hash(network)
  bool is_gateway = false, is_default_gateway = false, force_address = false;
  bool ip_masq = false;
  std::vector<net::IpNet> masq_exclude;
  int mtu = 0;  // 0: kernel default
  bool hairpin = false, promisc = false, port_isolation = false, enable_dad = false;
  int vlan = 0;
  net::FirewallBackend firewall = net::FirewallBackend::kAuto;
  std::optional<net::Mac> mac;  // requested container MAC (runtimeConfig.mac, args.cni.mac, CNI_ARGS MAC)
};

// Parses and validates; code 7 naming the bad value.
Result<Config> parse_config(const cni::Context& ctx);

using net::host_veth_name;
using net::is_host_veth_name;
// IFLA_IFALIAS on host veths: marks ours for `network` and names the attachment (≤ 255 bytes).
std::string host_veth_alias(std::string_view network, std::string_view container_id, std::string_view ifname);
std::string alias_prefix(std::string_view network);

}  // namespace zl::bridge
